"""Pooled hidden states: real tokens only, the same under either padding side, batch or none."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from polyalign.analysis import capture

TEXTS = [
    "Open the file",
    "Abrir el archivo seleccionado ahora mismo, por favor",
    "Hi",
    "The quick brown fox jumps over the lazy dog",
    "Guardar",
]


def collect(model, tok, texts, **kw):
    out = np.zeros((capture.num_states(model), len(texts), capture.hidden_size(model)), dtype=np.float32)
    for rows, pooled in capture.pooled_batches(model, tok, texts, **kw):
        out[:, rows] = pooled
    return out


def test_pool_states_divides_by_real_tokens_not_padded_length():
    h = torch.tensor([[[1.0], [3.0], [100.0], [100.0]], [[2.0], [4.0], [6.0], [8.0]]])  # (batch 2, len 4, dim 1)
    keep = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    assert capture.pool_states([h], keep, "mean")[0, :, 0].tolist() == [2.0, 5.0]
    assert capture.pool_states([h], keep, "last")[0, :, 0].tolist() == [3.0, 8.0]
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert capture.pool_states([h], left, "last")[0, :, 0].tolist() == [100.0, 8.0]
    assert capture.pool_states([h.half()], keep, "mean").dtype == torch.float32


def test_batches_are_length_sorted_and_cover_every_item():
    batches = capture.length_batches([3, 9, 1, 9, 5], 2)
    assert [b.tolist() for b in batches] == [[1, 3], [4, 0], [2]]
    inputs = capture.batch_inputs([[5, 6, 7], [8]], pad_id=0, side="left")
    assert inputs["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8]]
    assert inputs["position_ids"].tolist() == [[0, 1, 2], [0, 0, 0]]


@pytest.mark.parametrize("pool", ["mean", "last"])
def test_same_vectors_under_left_right_padding_and_alone(tiny_arch, pool):
    arch, model, tok = tiny_arch
    right = collect(model, tok, TEXTS, pool=pool, batch_size=5, padding_side="right")
    left = collect(model, tok, TEXTS, pool=pool, batch_size=5, padding_side="left")
    alone = collect(model, tok, TEXTS, pool=pool, batch_size=1)
    assert right.shape == (4, 5, 64)
    np.testing.assert_allclose(left, right, atol=2e-5, err_msg=arch)
    np.testing.assert_allclose(alone, right, atol=2e-5, err_msg=arch)
    assert np.abs(right[:, 0] - right[:, 1]).max() > 1e-3  # different sentences, different vectors


def test_mean_pool_equals_the_hand_mean_of_a_single_sentence(tiny_arch):
    """``mean-all``: every token; ``mean``: the first token left out (this tokenizer adds no BOS)."""
    arch, model, tok = tiny_arch
    ids = tok(TEXTS[1], return_tensors="pt")
    with torch.no_grad():
        states = model.base_model(**ids, output_hidden_states=True).hidden_states
    every = collect(model, tok, TEXTS, pool="mean-all", batch_size=2, padding_side="left")
    content = collect(model, tok, TEXTS, pool="mean", batch_size=2, padding_side="left")
    for layer, h in enumerate(states):
        np.testing.assert_allclose(every[layer, 1], h[0].mean(dim=0).numpy(), atol=2e-5, err_msg=f"{arch} {layer}")
        np.testing.assert_allclose(content[layer, 1], h[0, 1:].mean(dim=0).numpy(), atol=2e-5, err_msg=arch)


def test_drop_first_sink_only_without_bos_and_never_the_only_token():
    assert capture.drop_first_sink([1, 1, 1]) == ([0, 1, 1], True)  # no BOS: the first word is the sink
    assert capture.drop_first_sink([0, 1, 1]) == ([0, 1, 1], False)  # BOS (special) is the sink: already out
    assert capture.drop_first_sink([1]) == ([1], False)
    assert capture.drop_first_sink([1, 0]) == ([1, 0], False)  # one content token and a special one


def test_massive_positions_are_ten_times_the_lower_median_of_their_sentence():
    norms = torch.tensor(
        [
            [[1.0, 2.0, 3.0, 31.0, 500.0], [1.0, 12.0, 0.0, 0.0, 0.0], [5.0, 5.0, 49.0, 51.0, 0.0]],
            [[0.0, 0.0, 0.0, 9.0, 9.0], [4.0, 4.0, 4.0, 4.0, 4.0], [1.0, 1.0, 1.0, 1.0, 1.0]],
        ]
    )  # (layers 2, batch 3, length 5)
    keep = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]])
    got = capture.massive_positions(norms, keep, 10.0)
    # sentence 0: median of 1, 2, 3, 31 is 2 (the lower one): 31 > 20 is massive; 500 is not kept
    # sentence 1: the lower median of 1, 12 is 1: 12 > 10; sentence 2: median 5, so 51 but not 49
    assert got[0].int().tolist() == [[0, 0, 0, 1, 0], [0, 1, 0, 0, 0], [0, 0, 0, 1, 0]]
    # layer 1: a median of 0 marks nothing; equal norms are never massive
    assert got[1].int().tolist() == [[0] * 5, [0] * 5, [0] * 5]
    assert capture.massive_positions(norms, keep, 5.0)[0, 2].int().tolist() == [0, 0, 1, 1, 0]


def test_pool_states_takes_a_mask_per_layer():
    h = torch.tensor([[[1.0], [3.0], [100.0]]])  # (batch 1, length 3, dim 1)
    keep = torch.tensor([[[1, 1, 1]], [[1, 1, 0]]])  # layer 0 pools all, layer 1 leaves the 100 out
    assert capture.pool_states([h, h], keep, "mean")[:, 0, 0].tolist() == [pytest.approx(104 / 3), 2.0]


def _plant(model, layer: int, position: int, size: float):
    """A forward hook adding ``size`` along hidden dimension 0 at ``position`` of every sequence
    to the output of block ``layer``: a massive activation the real capture path sees."""

    def hook(_module, _inputs, output):
        h = output[0] if isinstance(output, tuple) else output
        h[:, position, 0] += size
        return output

    return model.model.layers[layer].register_forward_hook(hook)


def test_a_planted_massive_activation_carries_the_raw_mean_but_not_the_content_mean(default_tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = default_tokenizer
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(cfg).eval()
    lengths = [len(tok(t)["input_ids"]) for t in TEXTS]
    assert lengths == [3, 18, 1, 9, 2]
    long = [0, 1, 3]  # "Hi" and "Guardar" have no position 2

    clean = {i: model.base_model(**tok(TEXTS[i], return_tensors="pt"), output_hidden_states=True).hidden_states
             for i in long}  # fmt: skip
    handle = _plant(model, layer=0, position=2, size=1000.0)
    try:
        raw = collect(model, tok, TEXTS, pool="mean-all", batch_size=5, padding_side="right")
        dropped = capture.Dropped()
        content = np.zeros_like(raw)
        for rows, pooled in capture.pooled_batches(
            model, tok, TEXTS, pool="mean", batch_size=5, padding_side="right", dropped=dropped
        ):
            content[:, rows] = pooled
    finally:
        handle.remove()

    # the plant sits in the residual stream after block 0 (states 1 and 2); the final norm rescales it
    assert dropped.massive == [0, 3, 3, 0]
    assert (dropped.sentences, dropped.first) == (5, 4)  # "Hi" is one token: kept
    assert dropped.tokens == sum(lengths) - 4

    def cos(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    pairs = [(a, b) for a in long for b in long if a < b]
    assert min(cos(raw[1, a], raw[1, b]) for a, b in pairs) > 0.99  # one token decides the raw mean
    assert max(cos(content[1, a], content[1, b]) for a, b in pairs) < 0.9
    for i in long:  # after block 0 the other tokens are untouched: the content mean is the clean one's
        h = clean[i][1][0]
        want = torch.cat([h[1:2], h[3:]]).mean(dim=0).detach().numpy()  # "Open the file": " the" alone
        np.testing.assert_allclose(content[1, i], want, atol=2e-5)
