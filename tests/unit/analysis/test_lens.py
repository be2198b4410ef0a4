"""The logit lens: token sets, the final-norm trap, soft-capping, four architectures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from polyalign.analysis import lens


@pytest.fixture(scope="module")
def index(default_tokenizer):
    return lens.VocabIndex(default_tokenizer)


def test_token_set_holds_prefixes_with_and_without_space_and_the_first_byte(index, default_tokenizer):
    ids = default_tokenizer.convert_tokens_to_ids
    got = index.token_set("lunes")
    for tok in ("l", "Ġl", "lun", "Ġlun", "Ġlunes"):
        if tok in default_tokenizer.get_vocab():
            assert ids(tok) in got, tok
    assert ids("Ġlun") in got and ids("l") in got and ids("Ġl") in got
    assert ids("Ġm") not in got and ids("unes") not in got
    chinese = index.token_set("星期一")
    assert ids("æ") in chinese  # the byte-level token of 0xE6, the first byte of 星
    assert index.byte[0xE6] == ids("æ") and index.byte[ord("A")] == ids("A")
    assert index.token_set("Monday") & index.token_set("Montag")
    assert not index.token_set("Monday") & index.token_set("lunes")
    assert not index.token_set("Mirandese") & index.token_set("mirandés")
    assert lens.overlapping(index, "Mirandese", "mirandés") and lens.overlapping(index, "mirandés", "Mirandese")
    assert not lens.overlapping(index, "January", "enero") and not lens.overlapping(index, "Monday", "星期一")


def test_word_items_are_single_distinct_words():
    items = lens.word_items("es", "fr")
    assert len(items) > 200
    months = {it["en"]: (it["src"], it["tgt"]) for it in items if it["origin"] == "babel:months"}
    assert months["March"] == ("mars", "marzo")
    for it in items:
        assert all(" " not in it[k] for k in ("en", "src", "tgt"))
        assert len({it["en"].lower(), it["src"].lower(), it["tgt"].lower()}) == 3


def block_outputs(model, inputs):
    """Each block's output at the last position, captured by forward hooks (the ground truth)."""
    body = model.base_model
    blocks = body.layers if hasattr(body, "layers") else body.h
    seen = []
    hooks = [
        b.register_forward_hook(lambda m, a, out: seen.append((out[0] if isinstance(out, tuple) else out)[:, -1]))
        for b in blocks
    ]
    with torch.no_grad():
        res = model(**inputs, output_hidden_states=True)
    for h in hooks:
        h.remove()
    return seen, res


def test_final_norm_trap_and_intermediate_layers_match_hooks(tiny_arch):
    arch, model, tok = tiny_arch
    text = 'French: "lundi" - Spanish: "lunes"\nFrench: "mars" - Spanish: "'
    inputs = tok(text, return_tensors="pt")
    blocks, res = block_outputs(model, inputs)
    head = lens.output_head(model)
    en, es = sorted(tok.encode(" March") + tok.encode("March")), sorted(tok.encode("marzo"))
    got = lens.layer_probabilities(model, tok, [text], [(en, es)])[0]
    n = model.config.num_hidden_layers
    assert got.shape == (n + 1, 3)
    real = res.logits[0, -1].float().softmax(-1)
    assert got[n, 0] == pytest.approx(real[en].sum().item(), rel=1e-4)
    assert got[n, 2] == pytest.approx(-(real * real.log()).sum().item() / math.log(2), rel=1e-4)
    # the trap: the last hidden state is already normed; norming it again gives another distribution
    with torch.no_grad():
        twice = lens.lens_logits(res.hidden_states[-1][:, -1], head)[0].log_softmax(-1)
    assert (twice - real.log()).abs().max().item() > 0.01, arch
    # intermediate layers: hidden_states[i] is block i's raw output, read through norm + head
    for i in range(1, n):
        assert torch.allclose(res.hidden_states[i][0, -1], blocks[i - 1][0], atol=1e-5), (arch, i)
        p = lens.lens_logits(blocks[i - 1], head)[0].softmax(-1)
        assert got[i, 1] == pytest.approx(p[es].sum().item(), rel=1e-4), (arch, i)
    if arch == "gemma2":  # soft-capping: no logit exceeds the cap, and leaving it out changes the numbers
        capped = lens.lens_logits(blocks[0], head)
        raw = head[1](head[0](blocks[0])).float()
        assert capped.abs().max().item() <= 0.5 < raw.abs().max().item()
        assert torch.allclose(capped, torch.tanh(raw / 0.5) * 0.5)
    else:
        assert head[2] is None


def test_batched_lens_matches_one_prompt_at_a_time(tiny_arch):
    arch, model, tok = tiny_arch
    prompts = ['French: "mars" - Spanish: "', 'French: "lundi" - Spanish: "lunes"\nFrench: "mardi" - Spanish: "']
    sets = [([1, 2], [3, 4]), ([5], [6, 7])]
    both = lens.layer_probabilities(model, tok, prompts, sets, batch_size=2)
    one = np.concatenate([lens.layer_probabilities(model, tok, [p], [s]) for p, s in zip(prompts, sets)])
    np.testing.assert_allclose(both, one, rtol=1e-4, atol=1e-7, err_msg=arch)


def test_run_lens_on_a_tiny_model(default_tokenizer):
    from conftest import build_tiny

    model = build_tiny("llama", default_tokenizer)
    doc = lens.run_lens(model, default_tokenizer, "zh", shots=2, limit=12, batch_size=6)
    assert doc["lang"] == "zh" and doc["source_lang"] == "fr" and doc["items"] == 12
    assert doc["usable_items"] > 100 and len(doc["layers"]) == 4
    for row in doc["layers"]:
        assert 0 <= row["p_en_lo"] <= row["p_en"] <= row["p_en_hi"] <= 1
        assert 0 < row["entropy"] <= math.log2(len(default_tokenizer))
    assert doc["examples"][0]["prompt"].count("\n") == 2
    with pytest.raises(Exception, match="not English"):
        lens.run_lens(model, default_tokenizer, "es", source_lang="en")


def test_a_head_the_lens_cannot_reproduce_is_refused(default_tokenizer, monkeypatch):
    from conftest import build_tiny
    from polyalign.io import InputError

    model = build_tiny("gemma2", default_tokenizer)
    found = lens.output_head
    monkeypatch.setattr(lens, "output_head", lambda m: (*found(m)[:2], None))  # a lens that forgets the soft-cap
    with pytest.raises(InputError, match="does not reproduce"):
        lens.layer_probabilities(model, default_tokenizer, ['French: "mars" - Spanish: "'], [([1], [2])])


def test_probability_intervals_stay_inside_zero_and_one():
    # p_lang_lo was -0.052 over 4 items: a normal interval of a mean near 0 crosses it
    m, lo, hi = lens.mean_interval(np.array([0.0, 0.0, 0.0, 0.4]), 0.0, 1.0)
    assert (m, lo) == (pytest.approx(0.1), 0.0) and hi == pytest.approx(0.1 + 1.96 * 0.2 / 2)
    assert lens.mean_interval(np.array([1.0, 1.0, 0.6]), 0.0, 1.0)[2] == 1.0
    assert lens.mean_interval(np.array([0.0, 0.0, 0.0, 0.4]))[1] < 0  # no bounds: the plain interval
