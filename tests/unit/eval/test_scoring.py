"""Label scoring: batched, prefix-shared passes give what one plain forward pass per prompt gives."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from polyalign.eval import prompts
from polyalign.eval.prefix import Prefix, PrefixCache, common_prefix_len
from polyalign.eval.scoring import (
    classify,
    continuation_split,
    first_token_scores,
    first_tokens_overlap,
    label_first_tokens,
    loglik_scores,
)

DEMO = "Review: Great phone.\nSentiment: positive\n\nReview: Broke at once.\nSentiment: negative\n\n"
TEXTS = [
    "Love it!",
    "It stopped working after a week and support never answered.",
    "Fine.",
    "Worst purchase ever made, sadly.",
]
PROMPTS = [DEMO + f"Review: {t}\nSentiment:" for t in TEXTS]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()


def plain_next_token_probs(model, tok, prompt):
    ids = torch.tensor([tok(prompt, add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        return torch.softmax(model(input_ids=ids).logits[0, -1].float(), dim=-1)


def test_label_first_tokens_of_the_default_tokenizer(default_tokenizer):
    tok = default_tokenizer
    for label in ("yes", "no", "positive"):
        expected = {
            tok(label, add_special_tokens=False)["input_ids"][0],
            tok(" " + label, add_special_tokens=False)["input_ids"][0],
        }
        assert set(label_first_tokens(tok, label)) == expected
    assert label_first_tokens(tok, "yes") == [9805, 10407]
    assert not first_tokens_overlap(tok, ["true", "neither", "false"])
    assert first_tokens_overlap(tok, ["yes", "yes indeed"])


def test_byte_fallback_token_is_a_candidate():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {
        "<unk>": 0,
        **{f"<0x{b:02X}>": 1 + b for b in range(256)},
        "▁": 257,
        "y": 258,
        "e": 259,
        "s": 260,
        "▁yes": 261,
        "ye": 262,
        "yes": 263,
    }
    bpe = models.BPE(vocab=vocab, merges=[("y", "e"), ("ye", "s"), ("▁", "yes")], byte_fallback=True, unk_token="<unk>")
    t = Tokenizer(bpe)
    t.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="never")
    t.decoder = decoders.ByteFallback()
    tok = PreTrainedTokenizerFast(tokenizer_object=t, unk_token="<unk>")
    # "yes" and "▁yes" begin two tokenisations; <0x79> ("y" as a byte) is the byte-fallback start.
    assert label_first_tokens(tok, "yes") == [1 + 0x79, 261, 263]
    # A label the vocabulary cannot spell starts with its first UTF-8 byte.
    assert label_first_tokens(tok, "是")[0] == 1 + 0xE6


def test_first_token_scores_equal_one_plain_pass_per_prompt(tiny, default_tokenizer):
    tok = default_tokenizer
    labels = ["negative", "positive"]
    got = first_token_scores(tiny, tok, PROMPTS, labels, batch_size=3)
    for prompt, row in zip(PROMPTS, got):
        probs = plain_next_token_probs(tiny, tok, prompt)
        want = [float(probs[label_first_tokens(tok, lab)].sum()) for lab in labels]
        assert row == pytest.approx(want, rel=1e-4, abs=1e-7)
    plain = first_token_scores(tiny, tok, PROMPTS, labels, batch_size=2, share_prefix=False)
    assert sum(plain, []) == pytest.approx(sum(got, []), rel=1e-4, abs=1e-7)


def test_loglik_scores_equal_plain_continuation_logprob(tiny, default_tokenizer):
    tok = default_tokenizer
    labels = ["negative", "very positive"]
    got = loglik_scores(tiny, tok, PROMPTS, labels, batch_size=3)
    for prompt, row in zip(PROMPTS, got):
        for lab, score in zip(labels, row):
            ctx, cont = continuation_split(tok, prompt, " " + lab)
            ids = torch.tensor([ctx + cont])
            with torch.no_grad():
                logp = torch.log_softmax(tiny(input_ids=ids).logits[0].float(), dim=-1)
            lp = sum(float(logp[len(ctx) - 1 + k, t]) for k, t in enumerate(cont))
            assert score == pytest.approx(lp / len(cont), rel=1e-4)


def test_prefix_is_the_shared_tokens(tiny, default_tokenizer):
    enc = [default_tokenizer(p, add_special_tokens=False)["input_ids"] for p in PROMPTS]
    prefix = Prefix.build(tiny, enc)
    assert prefix.length == common_prefix_len(enc) > 10
    assert prefix.layers[0][0].shape[2] == prefix.length
    assert Prefix.build(tiny, enc[:1] * 2).length == len(enc[0]) - 1  # identical prompts keep one own token


@pytest.mark.parametrize("method", ["first_token", "loglik"])
def test_a_cached_prefix_gives_the_same_scores(tiny, default_tokenizer, method):
    tok, cache = default_tokenizer, PrefixCache()
    first, second = PROMPTS[:3], PROMPTS[1:]
    labels = ["yes", "no"]
    got = [classify(tiny, tok, p, labels, method, batch_size=2, prefix_cache=cache) for p in (first, second)]
    assert cache.hits == 1
    assert got == [classify(tiny, tok, p, labels, method, batch_size=2) for p in (first, second)]


def test_classify_falls_back_to_loglik_when_first_tokens_collide(tiny, default_tokenizer):
    preds, scores, used = classify(tiny, default_tokenizer, PROMPTS, ["yes", "yes indeed"], "first_token", batch_size=4)
    assert used == "loglik" and len(preds) == len(PROMPTS) and all(s[0] <= 0 for s in scores)


@pytest.mark.slow
def test_real_model_constrained_sentiment(default_tokenizer):
    """The bundled SmolLM2 tells obvious English sentiment apart with one forward pass per review."""
    from polyalign.config import DEFAULT_MODEL
    from polyalign.models import load_model

    model, tok = load_model(DEFAULT_MODEL)
    reviews = [
        ("I love it, it is wonderful and works perfectly!", 1),
        ("Terrible. It broke after one day, total waste of money.", 0),
        ("Absolutely fantastic, best purchase this year.", 1),
        ("Awful quality, I hate it and want a refund.", 0),
        ("Great product, very happy with it.", 1),
        ("Horrible experience, never again.", 0),
        ("Excellent value, highly recommended!", 1),
        ("Bad, disappointing and useless.", 0),
    ]
    texts = [prompts.build("sentiment", {"text": t}, fmt="raw") for t, _ in reviews]
    preds, _, used = classify(model, tok, texts, prompts.labels("sentiment"), "first_token")
    assert used == "first_token"
    assert sum(p == y for p, (_, y) in zip(preds, reviews)) >= 7
