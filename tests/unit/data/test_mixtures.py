"""CoIT, MuIT and question-alignment builders on small native fixtures."""

import json

import pytest

from helpers import spanish_locale, write_mo
from polyalign.data import resources
from polyalign.data.filters import PairFilter
from polyalign.data.mixture_spec import MixtureSpec
from polyalign.data.mixtures import allocate, build, scale
from polyalign.io import InputError

COMMON = dict(
    template="translate_v1",
    test_size=20,
    seed=0,
    pair_filter=PairFilter(min_words=3, max_words=30, max_chars=300, max_length_ratio=3.0, language_id=False),
)


def rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_coit_mixes_english_translated_and_translation_parts(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    m = build(
        tmp_path / "data",
        MixtureSpec(
            builder="coit",
            languages=["es"],
            sources=["gettext"],
            instructions=["polyinstruct"],
            direction="both",
            max_train_pairs=100,
            gettext_dirs=[str(locale)],
            **COMMON,
        ),
    )
    n_train = len(resources.polyinstruct("es", "train"))
    assert m["builder"] == "coit" and m["languages"]["es"]["train_pairs"] == 100
    assert m["languages"]["es"]["parts"] == {"translated": n_train, "translation": 200}
    assert m["parts"] == {"instruction": 2 * n_train, "translation": 200}
    assert m["languages"]["es"]["counts"]["read"] == 360 and m["languages"]["es"]["counts"]["kept"] == 360
    out = rows(tmp_path / "data" / "train.jsonl")
    assert len(out) == m["files"]["train.jsonl"]["rows"] == 2 * n_train + 200
    langs_seen = {(r["meta"]["task"], r["meta"].get("lang"), r["meta"].get("src_lang")) for r in out}
    assert ("instruction", "en", None) in langs_seen and ("instruction", "es", None) in langs_seen
    assert {r["meta"]["src_lang"] for r in out if r["meta"]["task"] == "translation"} == {"en", "es"}
    assert set(m["tasks"]) == {"translation/en-es", "translation/es-en"}
    # test-split polyinstruct items never reach training
    test_instr = {r["instruction"] for r in resources.polyinstruct("es", "test")} | {
        r["instruction"] for r in resources.polyinstruct("en", "test")
    }
    assert not any(r["messages"][0]["content"].split("\n\n")[0] in test_instr for r in out)
    # held-out parallel pairs never reach training
    test_src = {json.loads(x)["src"] for x in (tmp_path / "data" / "test_en-es.jsonl").read_text().splitlines()}
    assert all(
        not any(s in r["messages"][0]["content"] for s in test_src) for r in out if r["meta"]["task"] == "translation"
    )


def test_coit_ratios_scale_each_part(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    m = build(
        tmp_path / "d",
        MixtureSpec(
            builder="coit",
            languages=["es"],
            sources=["gettext"],
            instructions=["polyinstruct"],
            english_ratio=0.0,
            translated_ratio=2.0,
            translation_ratio=0.5,
            max_train_pairs=100,
            gettext_dirs=[str(locale)],
            **COMMON,
        ),
    )
    n_train = len(resources.polyinstruct("es", "train"))
    assert m["parts"] == {"instruction": 2 * n_train, "translation": 50}
    out = rows(tmp_path / "d" / "train.jsonl")
    assert {r["meta"]["lang"] for r in out if r["meta"]["task"] == "instruction"} == {"es"}


def test_coit_with_user_instruction_files(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    en = tmp_path / "en.jsonl"
    en.write_text(json.dumps({"id": "a", "instruction": "Say hi.", "output": "Hi!"}) + "\n", encoding="utf-8")
    es = tmp_path / "es.json"
    es.write_text(
        json.dumps(
            [{"id": "a", "conversations": [{"from": "human", "value": "Saluda."}, {"from": "gpt", "value": "¡Hola!"}]}]
        ),
        encoding="utf-8",
    )
    m = build(
        tmp_path / "d",
        MixtureSpec(
            builder="coit",
            languages=["es"],
            sources=["gettext"],
            instructions=[str(en), f"es={es}"],
            max_train_pairs=10,
            gettext_dirs=[str(locale)],
            **COMMON,
        ),
    )
    out = rows(tmp_path / "d" / "train.jsonl")
    inst = sorted((r["meta"]["lang"], r["messages"][0]["content"]) for r in out if r["meta"]["task"] == "instruction")
    assert inst == [("en", "Say hi."), ("es", "Saluda.")] and m["parts"]["translation"] == 10


def test_muit_uniform_proportional_and_plan(tmp_path):
    loc = tmp_path / "loc"
    spanish_locale(loc)
    write_mo(
        loc / "fr" / "LC_MESSAGES" / "a.mo",
        {
            f"Open the {w} number {n}": f"Ouvrir le {w} numéro {n}"
            for w in ("file", "folder", "window", "page", "table", "list")
            for n in ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
        },
    )
    common = dict(
        sources=["gettext"],
        instructions=["polyinstruct"],
        max_train_pairs=None,
        gettext_dirs=[str(loc)],
        **{**COMMON, "test_size": 5},
    )
    m = build(tmp_path / "u", MixtureSpec(builder="muit", languages=["es", "fr"], pair_budget=40, **common))
    assert {c: i["train_pairs"] for c, i in m["languages"].items()} == {"es": 20, "fr": 20}
    m = build(
        tmp_path / "p",
        MixtureSpec(builder="muit", languages=["es", "fr"], allocation="proportional", pair_budget=42, **common),
    )
    alloc = {c: i["allocated_pairs"] for c, i in m["languages"].items()}
    assert alloc == {"es": 36, "fr": 6}  # 360 vs 60 clean pairs
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"allocation": {"es": 7, "fr": 3}}))
    m = build(tmp_path / "x", MixtureSpec(builder="muit", languages=["es", "fr"], allocation=str(plan), **common))
    assert {c: i["train_pairs"] for c, i in m["languages"].items()} == {"es": 7, "fr": 3}
    out = rows(tmp_path / "x" / "train.jsonl")
    n = len(resources.polyinstruct("en", "train"))
    assert len(out) == 3 * n + 10 and {r["meta"].get("lang") for r in out if r["meta"]["task"] == "instruction"} == {
        "en",
        "es",
        "fr",
    }
    assert len({r["meta"].get("lang") for r in out[:20]}) == 3  # one shuffled set, not language blocks
    plan.write_text(json.dumps({"allocation": {"es": 7}}))
    with pytest.raises(InputError, match="the plan has no allocation for fr"):
        build(tmp_path / "y", MixtureSpec(builder="muit", languages=["es", "fr"], allocation=str(plan), **common))
    assert not (tmp_path / "y").exists()


def test_allocate_rules():
    assert allocate(["es", "fr", "de"], "uniform", 10, None) == {"es": 4, "fr": 3, "de": 3}
    assert allocate(["es", "fr"], "uniform", None, 50) == {"es": 50, "fr": 50}
    assert allocate(["es", "fr"], "uniform", 1000, 100) == {"es": 100, "fr": 100}
    assert allocate(["es", "fr", "de"], "proportional", 10, None, {"es": 1, "fr": 1, "de": 1}) == {
        "es": 4,
        "fr": 3,
        "de": 3,
    }
    assert scale([{"id": str(i)} for i in range(4)], 1.5, 0, "s")[:4] == [{"id": str(i)} for i in range(4)]


def test_qalign_pairs_questions_with_english_and_no_answers(tmp_path):
    spec = MixtureSpec(
        builder="qalign",
        languages=["zh", "de"],
        eval_languages=["es", "fr"],
        instructions=["polyinstruct"],
        direction="x-en",
        template="qalign_v1",
        seed=0,
    )
    m = build(tmp_path / "q", spec)
    out = rows(tmp_path / "q" / "train.jsonl")
    n = len(resources.polyinstruct("en", "train"))
    assert len(out) == 2 * n and m["parts"] == {"question_alignment": 2 * n}
    en_questions = {
        r["instruction"] + (f"\n\n{r['input']}" if r["input"] else "") for r in resources.polyinstruct("en", "train")
    }
    answers = {r["output"] for code in ("en", "zh", "de") for r in resources.polyinstruct(code)}
    for r in out:
        assert r["messages"][1]["content"] in en_questions  # the target is the English question ...
        assert r["messages"][1]["content"] not in answers and not any(a in r["messages"][0]["content"] for a in answers)
    zh = next(r for r in out if r["meta"]["lang"] == "zh")
    assert (
        "English" in zh["messages"][0]["content"]
        and "Chinese" in zh["messages"][0]["content"]
        or "English question" in zh["messages"][0]["content"]
    )
    # evaluation languages are independent of training languages
    assert set(m["tasks"]) == {"translation/es-en", "translation/fr-en"}
    assert (
        m["languages"]["es"]["test_pairs"] == len(resources.polyinstruct("es", "test"))
        and m["languages"]["es"]["train_pairs"] == 0
    )
    test_q = [json.loads(x) for x in (tmp_path / "q" / "test_es-en.jsonl").read_text(encoding="utf-8").splitlines()]
    assert test_q[0]["src_lang"] == "es" and test_q[0]["tgt_lang"] == "en"


def test_sources_and_instructions_with_column_mappings(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    words = [
        "file",
        "folder",
        "window",
        "page",
        "table",
        "list",
        "report",
        "message",
        "image",
        "account",
        "project",
        "drawing",
    ]
    es = [
        "archivo",
        "carpeta",
        "ventana",
        "página",
        "tabla",
        "lista",
        "informe",
        "mensaje",
        "imagen",
        "cuenta",
        "proyecto",
        "dibujo",
    ]
    fr = [
        "fichier",
        "dossier",
        "fenêtre",
        "page",
        "tableau",
        "liste",
        "rapport",
        "message",
        "image",
        "compte",
        "projet",
        "dessin",
    ]
    pq.write_table(
        pa.table(
            {
                "translation": [
                    {"en": f"Open the {w} now", "es": f"Abrir {e} ahora", "fr": f"Ouvrir {f} maintenant"}
                    for w, e, f in zip(words, es, fr)
                ]
            }
        ),
        tmp_path / "opus.parquet",
    )
    pq.write_table(pa.table({"q": ["Say hi."], "a": ["Hi!"]}), tmp_path / "inst.parquet")
    source = f"{tmp_path / 'opus.parquet'}#src=translation.en,tgt=translation.{{lang}}"
    spec = MixtureSpec(
        builder="muit",
        languages=["es", "fr"],
        sources=[source],
        instructions=[f"{tmp_path / 'inst.parquet'}#instruction=q,output=a"],
        allocation="uniform",
        pair_budget=None,
        max_train_pairs=8,
        **{**COMMON, "test_size": 2},
    )
    m = build(tmp_path / "d", spec)
    assert {c: i["train_pairs"] for c, i in m["languages"].items()} == {"es": 8, "fr": 8}
    out = rows(tmp_path / "d" / "train.jsonl")
    fr_targets = {r["messages"][1]["content"] for r in out if r["meta"].get("tgt_lang") == "fr"}
    assert fr_targets and all(t.startswith("Ouvrir") for t in fr_targets)
    assert [r["messages"][0]["content"] for r in out if r["meta"]["task"] == "instruction"] == ["Say hi."]
