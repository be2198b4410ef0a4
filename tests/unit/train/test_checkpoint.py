"""Checkpoints hold the trainable weights only, by every name they have, and load back checked."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from polyalign.io import InputError
from polyalign.models import load_model, set_trainable
from polyalign.train import checkpoint as ckpt
from polyalign.train.distributed import Dist
from polyalign.train.loop import SupervisedLM


def lora_net(model_dir, rank: int = 4):
    model, _ = load_model(str(model_dir))
    model = set_trainable(
        model, "lora", lora_rank=rank, lora_alpha=8, lora_dropout=0.0, lora_target="all-linear",
        gradient_checkpointing=False,
    )  # fmt: skip
    net = SupervisedLM(model)
    optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    return net, optimizer, scheduler


def test_a_lora_checkpoint_holds_the_adapter_only_and_an_old_one_with_the_tied_embedding_loads(
    tmp_path, tiny_model_dir
):
    net, optimizer, scheduler = lora_net(tiny_model_dir)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "lora_B" in name:
                p.normal_()
    path = ckpt.save_checkpoint(tmp_path, 1, net, optimizer, scheduler, {"losses": []}, 2, Dist())
    with safe_open(path / "weights.safetensors", "pt") as f:
        stored = set(f.keys())
    trainable = {name for name, p in net.named_parameters() if p.requires_grad}
    assert stored == trainable  # not lm_head.weight: the output projection is the frozen, tied embedding

    # before the fix: the frozen tied embedding stored as lm_head.weight (altered here: it must not be loaded)
    weights = load_file(path / "weights.safetensors")
    embedding = net.lm.get_input_embeddings().weight.detach().clone()
    save_file({**weights, "lm.base_model.model.lm_head.weight": embedding + 1}, path / "weights.safetensors")
    fresh, fresh_opt, fresh_sched = lora_net(tiny_model_dir)
    assert ckpt.load_checkpoint(path, fresh, fresh_opt, fresh_sched, Dist())["step"] == 1
    mine = dict(fresh.named_parameters())
    assert all(torch.equal(mine[k], weights[k]) for k in stored)
    assert torch.equal(fresh.lm.get_input_embeddings().weight, embedding)


def test_a_checkpoint_of_other_settings_is_refused_in_one_line(tmp_path, tiny_model_dir):
    path = ckpt.save_checkpoint(tmp_path, 1, *lora_net(tiny_model_dir, rank=4), {"losses": []}, 2, Dist())
    with pytest.raises(InputError, match=r"checkpoint does not match .* weights of another shape \(e\.g\. .*lora_A"):
        ckpt.load_checkpoint(path, *lora_net(tiny_model_dir, rank=8), Dist())
    weights = load_file(path / "weights.safetensors")
    save_file(dict(list(weights.items())[1:]), path / "weights.safetensors")
    with pytest.raises(InputError, match=r"1 trainable weights missing"):
        ckpt.load_checkpoint(path, *lora_net(tiny_model_dir, rank=4), Dist())
