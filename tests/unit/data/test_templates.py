"""Versioned templates never change: these hashes pin them."""

import hashlib
import json

from polyalign.data import templates
from polyalign.data.build import translation_examples
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
