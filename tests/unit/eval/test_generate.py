"""Greedy generation: the same text as transformers' generate, with stop strings and shared prefixes."""

from __future__ import annotations

import pytest
from transformers import AutoModelForCausalLM

from polyalign.eval.generate import chat_prompt, cut_at_stop, generate
from polyalign.models import end_of_turn_ids

QUESTIONS = [
    "What is 2+2?",
    "Name a colour of the sky on a clear day, please.",
    "Hi",
    "Translate to Spanish: the cat sleeps on the mat all day long.",
    "Why?",
]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()


def reference(model, tok, prompt, n):
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    out = model.generate(
        input_ids=ids,
        max_new_tokens=n,
        do_sample=False,
        eos_token_id=end_of_turn_ids(tok),
        pad_token_id=tok.pad_token_id,
    )
    return tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


def test_matches_transformers_generate(tiny, default_tokenizer):
    tok = default_tokenizer
    prompts = [chat_prompt(tok, q) for q in QUESTIONS]
    want = [reference(tiny, tok, p, 10).strip() for p in prompts]
    assert generate(tiny, tok, prompts, batch_size=2, max_new_tokens=10) == want
    assert generate(tiny, tok, prompts, batch_size=5, max_new_tokens=10, share_prefix=False) == want


def test_stop_strings_cut_and_free_the_row(tiny, default_tokenizer):
    tok = default_tokenizer
    prompts = [chat_prompt(tok, q) for q in QUESTIONS]
    full = [reference(tiny, tok, p, 12) for p in prompts]
    stop = full[1].split()[2]  # a word from the middle of one answer
    got = generate(tiny, tok, prompts, batch_size=5, max_new_tokens=12, stop=[stop])
    assert got == [f[: f.find(stop)].strip() if stop in f else f.strip() for f in full]
    assert stop not in got[1] and len(got[1]) < len(full[1].strip())


def test_cut_at_stop():
    assert cut_at_stop("a\nb", ["\n"]) == ("a", True)
    assert cut_at_stop("abc", ["x", "c", "b"]) == ("a", True)
    assert cut_at_stop("abc", []) == ("abc", False)
