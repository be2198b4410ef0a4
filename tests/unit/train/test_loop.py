import math

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from polyalign.config import TrainConfig
from polyalign.train.batching import IGNORE, Encoded, collate
from polyalign.train.loop import fit, lr_lambda, supervised_loss_sum


def tiny(vocab=97, seed=0):
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    return LlamaForCausalLM(cfg)


class Tok:
    pad_token_id = 0


def data(n=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        L = int(torch.randint(6, 20, (1,), generator=g))
        ids = torch.randint(1, 97, (L,), generator=g).tolist()
        k = int(torch.randint(2, L - 1, (1,), generator=g))
        out.append(Encoded(ids, [IGNORE] * k + ids[k:]))
    return out


def test_lr_schedule_shapes():
    f = lr_lambda("cosine", warmup=2, total=10)
    assert [round(f(s), 6) for s in (0, 1)] == [round(1 / 3, 6), round(2 / 3, 6)]
    assert f(2) == pytest.approx(1.0)
    assert f(6) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_lambda("linear", 0, 10)(5) == pytest.approx(0.5)
    assert lr_lambda("constant_with_warmup", 4, 10)(9) == 1.0


def test_supervised_loss_equals_full_logits_loss():
    model = tiny()
    batch = collate(data(4), pad_id=0)
    mine = supervised_loss_sum(model, batch)
    n = (batch["labels"][:, 1:] != IGNORE).sum()
    reference = model(**batch).loss * n  # transformers: mean over shifted, non-ignored labels
    assert mine.item() == pytest.approx(reference.item(), rel=1e-5)


def test_full_training_lowers_loss_and_resume_is_exact(tmp_path):
    cfg = TrainConfig(finetuning_type="full", learning_rate=3e-3, per_device_train_batch_size=4,
                      max_steps=8, warmup_ratio=0.0, save_steps=4, save_total_limit=3, logging_steps=1)
    ref, r1 = fit(tiny(), Tok(), data(), cfg, tmp_path / "a", seed=0)
    assert sum(r1.losses[-3:]) < sum(r1.losses[:3])
    # stop after step 4 (as if killed), then resume from the checkpoint to step 8
    short = TrainConfig(**{**cfg.__dict__, "max_steps": 8})
    _, _ = fit(tiny(), Tok(), data(), short, tmp_path / "b", seed=0)
    import shutil
    shutil.rmtree(tmp_path / "b" / "checkpoints" / "step-8")
    resumed, r2 = fit(tiny(), Tok(), data(), cfg, tmp_path / "b", seed=0, resume="latest")
    assert r2.resumed_from == 4
    assert r2.losses == r1.losses
    for (n, a), (_, b) in zip(ref.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), n


def test_resumed_log_has_each_step_once(tmp_path):
    import json
    import shutil

    cfg = TrainConfig(finetuning_type="full", learning_rate=1e-3, per_device_train_batch_size=4,
                      max_steps=4, warmup_ratio=0.0, save_steps=2, save_total_limit=3)
    fit(tiny(), Tok(), data(), cfg, tmp_path, seed=0)
    shutil.rmtree(tmp_path / "checkpoints" / "step-4")
    fit(tiny(), Tok(), data(), cfg, tmp_path, seed=0, resume="latest")
    steps = [json.loads(line)["step"] for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
