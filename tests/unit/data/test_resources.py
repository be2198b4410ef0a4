"""The shipped multilingual instruction set: complete, parallel, split, and loadable."""

import functools
import hashlib
import json
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from helpers import load_script
from polyalign.data import instructions, resources
from polyalign.io import InputError

off_script = load_script("check_polyqa_drafts").off_script


def test_shipped_set_is_complete_and_split():
    items = resources.polyinstruct_items()
    assert len(items) >= 100
    assert [it["id"] for it in items] == [f"pi-{i:04d}" for i in range(1, len(items) + 1)]
    splits = [it["split"] for it in items]
    assert splits.count("test") >= 20 and splits.count("train") >= 80
    for it in items:
        assert set(it["langs"]) == set(resources.POLYINSTRUCT_LANGUAGES)
        en = it["langs"]["en"]
        for code, entry in it["langs"].items():
            assert (entry["input"] == "") == (en["input"] == ""), (it["id"], code)
            assert entry["output"].count("```") == en["output"].count("```"), (it["id"], code)
    # each language's text is its own (not English copied over)
    for code in resources.POLYINSTRUCT_LANGUAGES[1:]:
        same = sum(it["langs"][code]["instruction"] == it["langs"]["en"]["instruction"] for it in items)
        assert same == 0, code


def test_scripts_match_languages():
    ranges = {
        "zh": (0x4E00, 0x9FFF),
        "ar": (0x0600, 0x06FF),
        "ru": (0x0400, 0x04FF),
        "hi": (0x0900, 0x097F),
        "el": (0x0370, 0x03FF),
    }
    for it in resources.polyinstruct_items():
        for code, (lo, hi) in ranges.items():
            text = it["langs"][code]["instruction"] + it["langs"][code]["output"]
            assert sum(lo <= ord(ch) <= hi for ch in text) >= 2, (it["id"], code)


def test_load_returns_alpaca_records_per_language_and_split():
    train, test = resources.polyinstruct("fr", "train"), resources.polyinstruct("fr", "test")
    assert len(train) + len(test) == len(resources.polyinstruct("fr"))
    assert {r["id"] for r in train}.isdisjoint({r["id"] for r in test})
    assert set(train[0]) == {"id", "instruction", "input", "output", "category"}
    assert resources.polyinstruct("es", "train")[0]["id"] == resources.polyinstruct("en", "train")[0]["id"]
    assert resources.polyinstruct("es")[0]["instruction"].startswith("¿")
    with pytest.raises(InputError, match="no 'ja'"):
        resources.polyinstruct("ja")
    with pytest.raises(InputError, match="split must be"):
        resources.polyinstruct("es", "dev")


def test_a_broken_copy_is_an_input_error(tmp_path):
    items = resources.polyinstruct_items()
    bad = json.loads(json.dumps(items[0]))
    del bad["langs"]["el"]
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps(items[1], ensure_ascii=False) + "\n" + json.dumps(bad, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as e:
        resources.polyinstruct_items(path)
    assert str(e.value) == f"{path}:2: language 'el' needs string fields instruction, input, output"
    with pytest.raises(InputError) as e:
        resources.polyinstruct("el", path=path)
    assert str(e.value) == f"{path}:2: language 'el' needs string fields instruction, input, output"
    # a file of your own needs only the languages read from it
    assert [r["id"] for r in resources.polyinstruct("en", path=path)] == [items[1]["id"], items[0]["id"]]


# --- polyqa v1 and polysent v1 ----------------------------------------------------------------

POLYQA_SHA256 = {
    "ar": "a3a6d3a3b95da99833adce5a810cc83c10733154898c55fe22c2fe165b01f396",
    "de": "c57efeceb16a71512634436c8393d103b405e9b02d23096eb58fe976b65e7919",
    "el": "fc8ef18a1a22cbb0123e4180b77aec42a339bfa0c86d472cd6f5cdea7f94bb03",
    "en": "c150bc452a54aab3593b8bb463a7eb58880d77ba5b867df16f43d0be427dcd46",
    "es": "bd1fff5d5f98a4cc32b797bbcdd71f5438aa8fc04162a41c7799975b7827bb77",
    "hi": "9212b98c94886e724f00d870c44cd3549ef60472898970068013760eacbf6b78",
    "ro": "1b2d549ccb65344b912a2c4d9ee65684c89f747c08ee1347c6c771daae9fd43d",
    "ru": "04d96de6903e55198f804ab10515ae8f034d82589f3b35b2e03cf9626425f7f7",
    "th": "d2c9b54ffb334632f36d40c28040e10c2cfd307da5a3a940310e80c1a8a939e8",
    "tr": "e8fe71ab437aecdf584d1143f78dfe36bace679a408c4069c9aeccdd62a388c7",
    "vi": "5d4282070c2c1a8bb8d764ccfd2a687318653939fbbf58f8c63ceaba42c737f2",
    "zh": "900242f15d6c589abb50b410ff4ee35d94ad1ce62f8b83b98d9862c2719962b2",
}
POLYSENT_SHA256 = "ac86b0e3afd657e93f763c077de2efc1be6f1e6311ef277cd41a77318107b560"


# Short questions made mostly of names, which langid (restricted to polyqa's languages) misreads; each was
# read by hand and is in its language. The test asserts the misreadings are exactly these.
QUESTIONS_READ_BY_HAND = {
    ("pq003-2", "vi"): "es",  # Núi Kilimanjaro cao bao nhiêu mét?
    ("pq089-1", "en"): "de",  # When did Mount Keral last erupt?
    ("pq120-1", "tr"): "de",  # Karl Weber'in bisikleti ne renkti?
    ("pq142-1", "en"): "es",  # How many trees did Teodor Lupu plant?
}


@functools.lru_cache(maxsize=1)
def _identifier():
    langid = pytest.importorskip("langid.langid")
    return langid.LanguageIdentifier.from_modelstring(langid.model, norm_probs=True)


def misidentified(fields: list[tuple[str, str, str]], languages: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """``{(key, lang): guess}`` for each ``(key, lang, text)`` that langid, choosing among ``languages``, puts
    in another language (langid's own argmax, computed over the text's non-zero features)."""
    ident = _identifier()
    ident.set_languages(list(languages))
    out = {}
    for key, lang, text in fields:
        fv = ident.instance2fv(text)
        nz = np.flatnonzero(fv)
        guess = ident.nb_classes[int(np.argmax(fv[nz] @ ident.nb_ptc[nz] + ident.nb_pc))]
        if guess != lang:
            out[(key, lang)] = guess
    return out


def _qa_docs() -> dict[str, dict]:
    return {
        code: json.loads(resources.polyqa_path(code).read_text(encoding="utf-8")) for code in resources.POLYQA_LANGUAGES
    }


def _qa_fields(docs: dict[str, dict]) -> list[tuple[str, str, str, str]]:
    """``(kind, key, lang, text)`` for every context, question and answer of every language."""
    out = []
    for code, doc in docs.items():
        for article in doc["data"]:
            for para in article["paragraphs"]:
                out.append(("context", para["id"], code, para["context"]))
                for qa in para["qas"]:
                    out.append(("question", qa["id"], code, qa["question"]))
                    out += [("answer", qa["id"], code, ans["text"]) for ans in qa["answers"]]
    return out


def test_shipped_qa_and_sentiment_files_are_pinned():
    for code in resources.POLYQA_LANGUAGES:
        path = resources.polyqa_path(code)
        assert path.parent.name == "polyqa_v1" and path.name == f"{code}.json"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == POLYQA_SHA256[code], code
        assert len(resources.polyqa(code)) == 235
    path = resources.polysent_path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == POLYSENT_SHA256
    assert len(path.read_bytes().splitlines()) == 305  # the header and 304 items


def test_every_answer_is_at_its_answer_start_once():
    for code in resources.POLYQA_LANGUAGES:
        for row in resources.polyqa(code):
            (answer,), (start,) = row["answers"], row["answer_starts"]
            assert row["context"][start : start + len(answer)] == answer, (row["id"], code)
            assert row["context"].count(answer) == 1, (row["id"], code)


def test_qa_languages_are_parallel_and_split_alike():
    docs = _qa_docs()
    shape = {
        code: [
            (a["title"], p["id"], p["split"], [(q["id"], len(q["answers"])) for q in p["qas"]])
            for a in doc["data"]
            for p in a["paragraphs"]
        ]
        for code, doc in docs.items()
    }
    assert all(shape[code] == shape["en"] for code in resources.POLYQA_LANGUAGES)
    assert {doc["version"] for doc in docs.values()} == {"polyqa_v1"}
    assert "not professional translations" in docs["en"]["provenance"]
    paragraphs = sorted(p for _, p, _, _ in shape["en"])
    assert paragraphs == [f"pq{i:03d}" for i in range(1, 151)]
    dev = sorted(p for _, p, split, _ in shape["en"] if split == "dev")
    assert dev == [f"pq{i:03d}" for i in range(5, 151, 5)]  # ten from each draft part of 50
    assert len({title for title, _, split, _ in shape["en"] if split == "dev"}) == 16
    assert (len(resources.polyqa("en", "dev")), len(resources.polyqa("en", "test"))) == (45, 190)
    assert {len(qas) for *_, qas in shape["en"]} == {1, 2}
    fields = _qa_fields(docs)
    english = {(kind, key): text for kind, key, code, text in fields if code == "en"}
    copied = [
        (kind, key, code)
        for kind, key, code, text in fields
        if code != "en" and kind != "answer" and text == english[(kind, key)]
    ]
    assert copied == []


def test_sentiment_items_are_parallel_balanced_and_split():
    header = resources.polysent_header()
    assert header["version"] == "polysent_v1" and header["languages"] == list(resources.POLYSENT_LANGUAGES)
    assert "not professional translations" in header["provenance"]
    items = resources.polysent_items()
    assert [it["id"] for it in items] == [f"ps{i:03d}" for i in range(1, 305)]
    counts = Counter((it["split"], it["label"]) for it in items)
    assert counts == {
        ("demo", "positive"): 20,
        ("demo", "negative"): 20,
        ("test", "positive"): 132,
        ("test", "negative"): 132,
    }
    for it in items:
        assert list(it["text"]) == list(resources.POLYSENT_LANGUAGES), it["id"]
        assert all(it["text"][c] != it["text"]["en"] for c in resources.POLYSENT_LANGUAGES[1:]), it["id"]
    for code in resources.POLYSENT_LANGUAGES:
        words = resources.polysent_labels(code)
        assert list(words) == ["positive", "negative"] and words["positive"] != words["negative"], code
        assert not off_script(words["positive"] + words["negative"], code), code
        assert [r["label"] for r in resources.polysent(code, "demo")] == [
            it["label"] for it in items if it["split"] == "demo"
        ]


def test_every_field_is_in_its_languages_script():
    fields = [(key, code, text) for _, key, code, text in _qa_fields(_qa_docs())]
    fields += [(it["id"], code, text) for it in resources.polysent_items() for code, text in it["text"].items()]
    assert [(key, code, off_script(text, code)) for key, code, text in fields if off_script(text, code)] == []
    kana = ("HIRAGANA", "KATAKANA")
    assert all(
        any(unicodedata.name(ch, "?").startswith(kana) for ch in it["text"]["ja"]) for it in resources.polysent_items()
    )


def test_language_identification_over_every_field():
    qa = [
        (kind, key, code, text)
        for kind, key, code, text in _qa_fields(_qa_docs())
        # an answer is a span of its (identified) context, mostly a name or a number: langid judges
        # only the answers long enough to mean something
        if kind != "answer" or sum(ch.isalpha() for ch in text) >= 20
    ]
    wrong = misidentified(
        [(key, code, text) for kind, key, code, text in qa if kind == "context"], resources.POLYQA_LANGUAGES
    )
    assert wrong == {}
    wrong = misidentified(
        [(key, code, text) for kind, key, code, text in qa if kind != "context"], resources.POLYQA_LANGUAGES
    )
    assert wrong == QUESTIONS_READ_BY_HAND
    sent = [(it["id"], code, text) for it in resources.polysent_items() for code, text in it["text"].items()]
    assert misidentified(sent, resources.POLYSENT_LANGUAGES) == {}


def test_the_checks_catch_a_pasted_sentence():
    docs = _qa_docs()
    en_q = docs["en"]["data"][0]["paragraphs"][0]["qas"][0]["question"]
    es_ctx = docs["es"]["data"][0]["paragraphs"][0]["context"]
    assert off_script(en_q, "th") == "".join(ch for ch in en_q if ch.isalpha())
    assert off_script(en_q, "en") == ""
    wrong = misidentified(
        [("pq001-1", "es", en_q), ("pq001", "ro", es_ctx), ("ps001", "fr", "Ce couteau coupe bien.")],
        resources.POLYSENT_LANGUAGES,
    )
    assert wrong == {("pq001-1", "es"): "en", ("pq001", "ro"): "es"}


def test_qa_loaders():
    rows = resources.polyqa("zh", "dev")
    assert set(rows[0]) == {"id", "title", "split", "context", "question", "answers", "answer_starts"}
    assert [r["id"] for r in rows] == [r["id"] for r in resources.polyqa("en", "dev")]
    assert {r["split"] for r in rows} == {"dev"}
    pairs = instructions.polyqa_questions("th")
    assert len(pairs) == 45
    en = {r["id"]: r["question"] for r in resources.polyqa("en", "dev")}
    th = {r["id"]: r["question"] for r in resources.polyqa("th", "dev")}
    assert all(p.src == th[p.meta["id"]] and p.tgt == en[p.meta["id"]] for p in pairs)
    assert (pairs[0].src_lang, pairs[0].tgt_lang, pairs[0].origin) == ("th", "en", "polyqa_v1:dev")
    assert len(instructions.polyqa_questions("ro", "test")) == 190
    table = resources.parallel_sentences(["en", "hi", "ru"], source="polyqa", split="test")
    assert len(table) == 190 and table[0]["hi"] == resources.polyqa("hi", "test")[0]["question"]
    assert len(resources.parallel_sentences(["en", "bn", "sw"])) == 304
    with pytest.raises(InputError, match="polyqa_v1 has no 'fr'"):
        resources.polyqa_path("fr")
    with pytest.raises(InputError, match="split must be 'dev' or 'test'"):
        resources.polyqa("en", "train")
    with pytest.raises(InputError, match="into English"):
        instructions.polyqa_questions("en")
    with pytest.raises(InputError, match="source must be"):
        resources.parallel_sentences(["en"], source="flores")


def test_qa_reads_a_squad_file_of_your_own(tmp_path):
    path = tmp_path / "mine.json"
    para = {
        "context": "Oslo is in Norway.",
        "qas": [{"id": "q1", "question": "Where is Oslo?", "answers": [{"text": "Norway", "answer_start": 11}]}],
    }
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [para]}]}), encoding="utf-8")
    assert resources.polyqa("nb", path=path) == [
        {
            "id": "q1",
            "title": "t",
            "split": "test",
            "context": para["context"],
            "question": "Where is Oslo?",
            "answers": ["Norway"],
            "answer_starts": [11],
        }
    ]
    assert resources.polyqa("nb", "dev", path=path) == []
    del para["qas"][0]["answers"]
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [para]}]}), encoding="utf-8")
    with pytest.raises(InputError) as e:
        resources.polyqa("nb", path=path)
    assert str(e.value) == f"{path}: data[0].paragraphs[0].qas[0]: needs 'id', 'question' and gold 'answers'"


def test_sentiment_reads_a_file_of_your_own(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [
        {"id": "a", "label": "positive", "text": {"it": "Ottimo."}},
        {"id": "b", "label": "negative", "split": "demo", "text": {"it": "Pessimo."}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert resources.polysent("it", path=path) == [
        {"id": "a", "split": "test", "label": "positive", "text": "Ottimo."},
        {"id": "b", "split": "demo", "label": "negative", "text": "Pessimo."},
    ]
    assert resources.polysent_labels("en", path=path) == {"positive": "positive", "negative": "negative"}
    assert resources.polysent_header(path) == {}
    with pytest.raises(InputError) as e:
        resources.polysent_labels("it", path=path)
    assert str(e.value) == f"{path}:1: no label words for 'it' in the header"
    with pytest.raises(InputError) as e:
        resources.polysent("de", path=path)
    assert str(e.value) == f"{path}:1: missing text in 'de'"
    with pytest.raises(InputError, match="polysent_v1 has no 'it'"):
        resources.polysent("it")
    with pytest.raises(InputError, match="split must be 'demo' or 'test'"):
        resources.polysent_items("dev")


def test_package_data_ships_every_resource():
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[3]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["polyalign"]
    package = root / "src" / "polyalign"
    shipped = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    assert {p for p in (package / "resources").rglob("*") if p.is_file()} <= shipped
