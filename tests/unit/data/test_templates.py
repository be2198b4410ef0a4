"""Versioned templates never change: these hashes pin them."""

import hashlib
import json

from polyalign.data import templates
from polyalign.data.filters import PairFilter
from polyalign.data.pairs import translation_examples
from polyalign.data.records import ParallelPair

TRANSLATE_V1_SHA256 = "d825381609e66753d4637a9a23f471f8aa259771818fc3f846b2ee037718abe1"
RENDERED_V1_SHA256 = "b3114c8a7f0f31b3ffeb4f23e31a26e0efea6828730027549aef1cf80780c2a6"


def test_translate_v1_has_at_least_20_distinct_paraphrases_with_all_fields():
    v = templates.TRANSLATE_V1
    assert len(v) >= 20 and len(set(v)) == len(v)
    for pattern in v:
        assert "{text}" in pattern and "{tgt}" in pattern
        pattern.format(src="English", tgt="Spanish", text="x")  # no stray fields


def test_translate_v1_is_pinned():
    assert templates.template_sha256("translate_v1") == TRANSLATE_V1_SHA256


def test_rendered_examples_are_pinned_and_rotate():
    pairs = [ParallelPair(f"Open the file number {i}", f"Abrir el archivo número {i}", "en", "es") for i in range(200)]
    examples = translation_examples(pairs, "translate_v1")
    users = [e["messages"][0]["content"] for e in examples]
    used = {templates.pick("translate_v1", p.src) for p in pairs}
    assert len(used) == len(templates.TRANSLATE_V1)  # every paraphrase gets used
    blob = json.dumps(examples, ensure_ascii=False, sort_keys=True).encode()
    assert len(examples) == 200
    assert hashlib.sha256(blob).hexdigest() == RENDERED_V1_SHA256
    assert users[0] == templates.render_translation("translate_v1", pairs[0].src, "English", "Spanish")


def test_choice_depends_on_text_not_position():
    a = ParallelPair("Open file", "Abrir archivo", "en", "es")
    b = ParallelPair("Close file", "Cerrar archivo", "en", "es")
    first = translation_examples([a, b], "translate_v1")
    second = translation_examples([b, a], "translate_v1")
    assert first == second[::-1]


QALIGN_V1_SHA256 = "5ce285e88b9ceb0790a98085f2296022b9a1704faaa870d417bd937208d21cad"


def test_qalign_v1_is_pinned_and_asks_for_english_without_answers():
    v = templates.QALIGN_V1
    assert templates.template_sha256("qalign_v1") == QALIGN_V1_SHA256
    assert len(v) >= 10 and len(set(v)) == len(v)
    for pattern in v:
        assert "{text}" in pattern and "English" in pattern
        assert "{tgt}" not in pattern
        pattern.format(src="Chinese", text="x")


# A CoIT mixture built from a fixed fixture (the test helpers' Spanish catalog + polyinstruct v1),
# tokenised with the default model's tokenizer: its row count and token ids are pinned, so any
# change to the builders, templates, filters or the shipped instruction set shows up here.
COIT_FIXTURE_ROWS = 236  # 88 English + 88 Spanish instructions + 60 translation tasks
COIT_FIXTURE_TOKENS_SHA256 = "d34ba412ccd56e9a2f7dcadd91fa20874a3a0030456199116a8cb60b09fddfd5"


def test_coit_fixture_token_ids_are_pinned(tmp_path, default_tokenizer):
    from helpers import spanish_locale
    from polyalign.data.mixture_spec import MixtureSpec
    from polyalign.data.mixtures import build
    from polyalign.train.batching import encode

    locale = spanish_locale(tmp_path / "locale")
    spec = MixtureSpec(
        builder="coit",
        languages=["es"],
        sources=["gettext"],
        instructions=["polyinstruct"],
        direction="en-x",
        template="translate_v1",
        max_train_pairs=60,
        test_size=20,
        seed=0,
        gettext_dirs=[str(locale)],
        pair_filter=PairFilter(min_words=3, max_words=30, max_chars=300, max_length_ratio=3.0, language_id=True),
    )
    build(tmp_path / "data", spec)
    rows = [json.loads(line) for line in (tmp_path / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    h = hashlib.sha256()
    for r in rows:
        e = encode(default_tokenizer, r["messages"])
        h.update(json.dumps([e.input_ids, e.labels]).encode())
    assert (len(rows), h.hexdigest()) == (COIT_FIXTURE_ROWS, COIT_FIXTURE_TOKENS_SHA256)
