"""Training on a CUDA device: bf16 autocast, and flash-attention's varlen path when installed.

Skipped without CUDA (CI has none); run them where a GPU is lent.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def tiny(attn: str):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=97,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        attn_implementation=attn,
    )
    return LlamaForCausalLM(cfg).cuda()


def examples(n=12):
    from polyalign.train.batching import IGNORE, Encoded

    g = torch.Generator().manual_seed(1)
    out = []
    for _ in range(n):
        L = int(torch.randint(8, 40, (1,), generator=g))
        ids = torch.randint(1, 97, (L,), generator=g).tolist()
        out.append(Encoded(ids, [IGNORE] * 4 + ids[4:]))
    return out


def loss(model, batch):
    from polyalign.train.loop import supervised_loss_sum

    with torch.autocast("cuda", dtype=torch.bfloat16):
        return supervised_loss_sum(model, {k: v.cuda() for k, v in batch.items()}).item()


@pytest.mark.parametrize("attn", ["sdpa", "flash_attention_2"])
def test_packed_equals_padded_in_bf16_on_cuda(attn):
    if attn == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        pytest.skip("flash-attn is not installed")
    from polyalign.train.batching import collate, pack

    data = examples()
    padded = loss(tiny("sdpa"), collate(data, pad_id=0))
    row_length = None if attn.startswith("flash") else 64  # varlen reads one row
    packed = loss(tiny(attn), pack(data, pad_id=0, row_length=row_length))
    assert abs(packed - padded) <= 2e-2 * abs(padded)  # bf16 rounding, not contamination


def test_fit_bf16_on_cuda_lowers_the_loss(tmp_path):
    from polyalign.config import TrainConfig
    from polyalign.train.distributed import setup
    from polyalign.train.loop import fit

    class Tok:
        pad_token_id = 0

    cfg = TrainConfig(
        finetuning_type="full",
        learning_rate=3e-3,
        per_device_train_batch_size=4,
        max_steps=12,
        warmup_steps=0.0,
        bf16=True,
    )
    _, result = fit(tiny("sdpa"), Tok(), examples(), cfg, tmp_path, seed=0, d=setup())
    assert sum(result.losses[-3:]) < sum(result.losses[:3])
