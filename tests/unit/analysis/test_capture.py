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
    arch, model, tok = tiny_arch
    ids = tok(TEXTS[1], return_tensors="pt")
    with torch.no_grad():
        states = model.base_model(**ids, output_hidden_states=True).hidden_states
    got = collect(model, tok, TEXTS, batch_size=2, padding_side="left")
    for layer, h in enumerate(states):
        np.testing.assert_allclose(got[layer, 1], h[0].mean(dim=0).numpy(), atol=2e-5, err_msg=f"{arch} {layer}")
