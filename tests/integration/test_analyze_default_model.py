"""The bundled default model (SmolLM2-135M-Instruct) on English–Spanish polyinstruct instructions."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_default_model_aligns_parallel_sentences_in_the_middle_layers():
    from polyalign.analysis.align import align_report, multiway_texts
    from polyalign.config import DEFAULT_MODEL
    from polyalign.models import load_model

    texts = multiway_texts(["en", "es"], limit=40)
    model, tok = load_model(DEFAULT_MODEL)
    doc = align_report(model, tok, {"x": texts["es"], "en": texts["en"], "lang": "es", "en_lang": "en"}, batch_size=40)
    layers = doc["layers"]
    assert len(layers) == 31
    middle = layers[8:23]
    for row in middle:
        assert row["cosine_parallel_centred"] > row["cosine_random_centred"] + 0.2, row["layer"]
    # parallel sentences are found far more often than chance (1/40) somewhere in the stack
    best = doc["best_layer"]
    assert (best["retrieval_x2en"] + best["retrieval_en2x"]) / 2 > 3 / 40
