"""Greedy generation: the same text as transformers' generate, with stop strings and shared prefixes."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from polyalign.eval.generate import chat_prompt, complete_first_line, cut_at_stop, generate, line_safe
from polyalign.eval.kinds import _first_line
from polyalign.eval.prefix import Prefix, PrefixCache, call, reserve
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


def test_complete_first_line():
    assert complete_first_line("\n Madrid \nQuestion") == "Madrid"
    assert complete_first_line("\n\nMadrid") is None
    assert complete_first_line("  \r\n") is None
    assert complete_first_line("Lisboa\u2028next") == "Lisboa"  # a break str.splitlines knows
    assert complete_first_line("Lisboa\r") == "Lisboa"


def test_line_safe():
    assert line_safe([]) and line_safe(["\n", "\nQuestion:", "###"])
    assert not line_safe(["\n\n\n"]) and not line_safe(["a\nb"])


@pytest.fixture(scope="module")
def chatty(tiny_model_dir, default_tokenizer):
    """The tiny model, untied, each answer's third token outscored by a line-break token (its output
    row a copy of that token's, a little larger): its answers now break lines."""
    tok = default_tokenizer
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    breaks = [i for i in range(len(tok)) if "\n" in tok.decode([i])]
    head = torch.nn.Parameter(model.lm_head.weight.detach().clone())
    for q, brk in zip(QUESTIONS, breaks):
        ids = tok(chat_prompt(tok, q), add_special_tokens=False, return_tensors="pt")["input_ids"]
        out = model.generate(input_ids=ids, max_new_tokens=3, do_sample=False, pad_token_id=tok.pad_token_id)
        with torch.no_grad():
            head[brk] = 1.05 * head[int(out[0, -1])]
    model.lm_head.weight = head
    return model


def test_first_line_stops_at_the_line_the_full_answer_starts_with(chatty, default_tokenizer):
    tok = default_tokenizer
    prompts = [chat_prompt(tok, q) for q in QUESTIONS]
    full = generate(chatty, tok, prompts, batch_size=3, max_new_tokens=16)
    got = generate(chatty, tok, prompts, batch_size=3, max_new_tokens=16, first_line=True)
    assert got == [_first_line(f) for f in full]
    # The test is about early stops: some answers go on after their first line.
    assert sum(g != f for g, f in zip(got, full)) >= 2, full
    # With a stop string that could match across a line end, rows run on as before.
    stop = ["zz\nzz"]
    assert generate(chatty, tok, prompts, batch_size=3, max_new_tokens=16, stop=stop, first_line=True) == full


def test_a_cached_prefix_gives_the_same_text(tiny, default_tokenizer):
    tok = default_tokenizer
    prompts = [chat_prompt(tok, q) for q in QUESTIONS]
    first, second = prompts[:3], prompts[2:]  # two "tasks" that open with the same header
    cache = PrefixCache()
    got = [generate(tiny, tok, p, batch_size=2, max_new_tokens=10, prefix_cache=cache) for p in (first, second)]
    assert len(cache) == 1 and cache.hits == 1
    assert got == [generate(tiny, tok, p, batch_size=2, max_new_tokens=10) for p in (first, second)]


def test_prefix_cache_keeps_the_last_ones():
    cache = PrefixCache(size=2)
    a, b, c = Prefix(4, []), Prefix(5, []), Prefix(6, [])
    cache.put((1, 2, 3, 4), a)
    cache.put((1, 2, 3, 4, 5), b)
    assert cache.get((1, 2, 3, 4)) is a  # now the most recent
    cache.put((9, 9, 9, 9, 9, 9), c)
    assert cache.get((1, 2, 3, 4, 5)) is None and cache.get((1, 2, 3, 4)) is a and cache.get((9,) * 6) is c
    assert len(cache) == 2 and cache.hits == 3


@torch.inference_mode()
def test_a_reserved_cache_steps_to_the_same_logits_and_grows_past_its_room(tiny):
    """Decoding steps on a reserved cache (room for 2 columns, then growth; a row dropped midway)
    give the logits and keys the dynamic cache gives."""
    from transformers import DynamicCache

    torch.manual_seed(0)
    ids = torch.randint(5, tiny.config.vocab_size, (3, 7))
    plain = call(tiny, input_ids=ids, past_key_values=DynamicCache(), use_cache=True)
    mine = call(tiny, input_ids=ids, past_key_values=DynamicCache(), use_cache=True)
    caches = [plain.past_key_values, reserve(mine.past_key_values, 2)]
    assert type(caches[1].layers[0]).__name__ == "ReservedLayer"
    nxt = plain.logits[:, -1].argmax(-1)
    for step in range(5):
        if step == 3:
            for cache in caches:
                cache.batch_select_indices(torch.tensor([0, 2]))
            nxt = nxt[[0, 2]]
        a, b = (call(tiny, input_ids=nxt[:, None], past_key_values=c, use_cache=True).logits[:, -1] for c in caches)
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        nxt = a.argmax(-1)
    want, got = caches[0].layers, caches[1].layers
    assert got[0].keys.shape == want[0].keys.shape and want[0].keys.shape[0] == 2 and want[0].keys.shape[2] == 12
    assert all(torch.equal(g.keys, w.keys) and torch.equal(g.values, w.values) for g, w in zip(got, want))


def test_each_prompt_stops_at_its_own_cap(tiny, default_tokenizer):
    tok = default_tokenizer
    prompts = [chat_prompt(tok, q) for q in QUESTIONS]
    full = generate(tiny, tok, prompts, batch_size=5, max_new_tokens=12)
    caps = [2, 12, 5, 1, 12]
    got = generate(tiny, tok, prompts, batch_size=5, max_new_tokens=caps)
    want = [reference(tiny, tok, p, c).strip() for p, c in zip(prompts, caps)]
    assert got == want and got[1] == full[1] and got[4] == full[4]
    with pytest.raises(ValueError, match="2 max_new_tokens for 5 prompts"):
        generate(tiny, tok, prompts, max_new_tokens=[1, 2])
