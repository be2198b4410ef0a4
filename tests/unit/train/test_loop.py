import json
import shutil

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from polyalign.config import TrainConfig
from polyalign.io import InputError
from polyalign.train.batching import IGNORE, Encoded, collate, pack
from polyalign.train.loop import fit, make_scheduler, supervised_loss_sum, warmup_steps


def tiny(vocab=97, seed=0):
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
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


def cfg(**kw):
    base = dict(
        finetuning_type="full",
        learning_rate=3e-3,
        per_device_train_batch_size=4,
        max_steps=6,
        warmup_steps=0,
        logging_steps=1,
    )
    return TrainConfig(**{**base, **kw})


SCHEDULERS = [
    "cosine",
    "linear",
    "constant",
    "constant_with_warmup",
    "polynomial",
    "inverse_sqrt",
    "cosine_with_restarts",
]


def _multipliers(scheduler, steps: int) -> list[float]:
    out = []
    for _ in range(steps):
        out.append(scheduler.get_last_lr()[0] / 1e-3)
        scheduler.optimizer.step()
        scheduler.step()
    return out


@pytest.mark.parametrize("name", SCHEDULERS)
@pytest.mark.parametrize("warmup", [0, 0.1, 0.25, 3])
def test_schedule_equals_the_trainers(tmp_path, name, warmup):
    """Every scheduler name gives, step by step, the multipliers the installed transformers'
    Trainer computes from the same TrainingArguments (warmup as a count or a ratio, rounded up)."""
    from transformers import TrainingArguments, get_scheduler

    total = 25
    args = TrainingArguments(
        output_dir=str(tmp_path), lr_scheduler_type=name, warmup_steps=warmup, learning_rate=1e-3, report_to=[]
    )
    theirs_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    theirs = get_scheduler(
        args.lr_scheduler_type,
        theirs_opt,
        num_warmup_steps=args.get_warmup_steps(total),
        num_training_steps=total,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    ours_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    ours = make_scheduler(ours_opt, cfg(lr_scheduler_type=name, warmup_steps=warmup, max_steps=total), total)
    assert _multipliers(ours, total) == pytest.approx(_multipliers(theirs, total), abs=1e-12)


def test_warmup_counts_and_ratios():
    assert warmup_steps(cfg(warmup_steps=0.1), 25) == 3  # ratio, rounded up as transformers does
    assert warmup_steps(cfg(warmup_steps=3), 25) == 3
    assert warmup_steps(cfg(warmup_steps=0.1), 25) == 3  # the alias
    sched = make_scheduler(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3),
        cfg(lr_scheduler_type="linear", warmup_steps=4, max_steps=10),
        10,
    )
    assert _multipliers(sched, 5) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])  # s / w, from 0


def test_supervised_loss_equals_full_logits_loss():
    model = tiny()
    examples = data(4)
    mine = supervised_loss_sum(model, collate(examples, pad_id=0))
    padded = collate(examples, pad_id=0)
    labels = torch.full_like(padded["input_ids"], IGNORE)
    for r, e in enumerate(examples):
        labels[r, : len(e.labels)] = torch.tensor(e.labels)
    n = sum(e.n_supervised for e in examples)
    reference = model(input_ids=padded["input_ids"], attention_mask=padded["attention_mask"], labels=labels).loss * n
    assert mine.item() == pytest.approx(reference.item(), rel=1e-5)


def test_packed_loss_and_gradients_equal_unpacked():
    model = tiny()
    examples = data(10, seed=3)

    def loss_and_grads(batch):
        model.zero_grad()
        loss = supervised_loss_sum(model, batch)
        loss.backward()
        return loss.item(), torch.cat([p.grad.flatten() for p in model.parameters()])

    padded, g_padded = loss_and_grads(collate(examples, pad_id=0))
    for row_length in (None, 40):  # one row (the varlen layout), and rows of <= 40 tokens
        batch = pack(examples, pad_id=0, row_length=row_length)
        assert batch["input_ids"].shape[0] < len(examples)
        packed, g_packed = loss_and_grads(batch)
        assert abs(packed - padded) <= 1e-5 * abs(padded)
        assert torch.allclose(g_packed, g_padded, rtol=1e-4, atol=1e-6)


def test_packing_has_no_attention_across_examples():
    # changing the tokens of one example leaves the other example's loss untouched when packed
    model = tiny()
    a, b = data(2, seed=5)
    b2 = Encoded([((t + 7) % 96) + 1 for t in b.input_ids], b.labels)
    alone = supervised_loss_sum(model, collate([a], pad_id=0)).item()
    with_b = supervised_loss_sum(model, pack([a, b], pad_id=0, row_length=None)).item()
    with_b2 = supervised_loss_sum(model, pack([a, b2], pad_id=0, row_length=None)).item()
    loss_b = supervised_loss_sum(model, collate([b], pad_id=0)).item()
    loss_b2 = supervised_loss_sum(model, collate([b2], pad_id=0)).item()
    assert with_b - loss_b == pytest.approx(alone, rel=1e-5)
    assert with_b2 - loss_b2 == pytest.approx(alone, rel=1e-5)


def test_accumulation_8x1_equals_1x8(tmp_path):
    one = cfg(per_device_train_batch_size=8, gradient_accumulation_steps=1)
    eight = cfg(per_device_train_batch_size=1, gradient_accumulation_steps=8)
    m1, r1 = fit(tiny(), Tok(), data(), one, tmp_path / "a", seed=0)
    m8, r8 = fit(tiny(), Tok(), data(), eight, tmp_path / "b", seed=0)
    assert len(r1.losses) == len(r8.losses) == 6
    assert max(abs(x - y) for x, y in zip(r1.losses, r8.losses)) <= 1e-6
    assert r1.supervised_tokens == r8.supervised_tokens
    for (n, a), (_, b) in zip(m1.state_dict().items(), m8.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-5), n


@pytest.mark.parametrize("attention", ["auto", "sdpa"])  # varlen one row; rows under a block-diagonal mask
def test_packed_training_follows_the_unpacked_loss_curve(tmp_path, attention):
    _, padded = fit(tiny(), Tok(), data(), cfg(packing=False), tmp_path / "a", seed=0)
    _, packed = fit(
        tiny(),
        Tok(),
        data(),
        cfg(packing=True, max_seq_length=40),
        tmp_path / "b",
        seed=0,
        attn_implementation=attention,
    )
    assert max(abs(x - y) / y for x, y in zip(padded.losses, packed.losses)) <= 1e-5
    assert packed.tokens == padded.tokens  # padding is not counted as work done


def test_full_training_lowers_loss_and_resume_is_exact(tmp_path):
    c = cfg(max_steps=8, save_steps=4, save_total_limit=3)
    ref, r1 = fit(tiny(), Tok(), data(), c, tmp_path / "a", seed=0)
    assert sum(r1.losses[-3:]) < sum(r1.losses[:3])
    fit(tiny(), Tok(), data(), c, tmp_path / "b", seed=0)
    shutil.rmtree(tmp_path / "b" / "checkpoints" / "step-8")  # as if stopped after step 4
    resumed, r2 = fit(tiny(), Tok(), data(), c, tmp_path / "b", seed=0, resume="latest")
    assert r2.resumed_from == 4
    assert r2.losses == r1.losses
    for (n, a), (_, b) in zip(ref.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), n
    steps = [json.loads(line)["step"] for line in (tmp_path / "b" / "train_log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 9))
    state = json.loads((tmp_path / "b" / "checkpoints" / "step-8" / "trainer_state.json").read_text())
    assert (state["epoch"], state["n_examples"], state["global_batch"], state["world"]) == (1, 24, 4, 1)


def test_save_total_limit_keeps_the_newest(tmp_path):
    fit(tiny(), Tok(), data(), cfg(max_steps=7, save_steps=2, save_total_limit=2), tmp_path, seed=0)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-6", "step-7"]
    files = sorted(p.name for p in (tmp_path / "checkpoints" / "step-7").iterdir())
    assert files == ["optimizer.pt", "rng.pt", "scheduler.pt", "trainer_state.json", "weights.safetensors"]


def test_fresh_run_refuses_a_folder_with_checkpoints(tmp_path):
    fit(tiny(), Tok(), data(), cfg(max_steps=2), tmp_path, seed=0)
    with pytest.raises(InputError, match="resume_from_checkpoint=latest"):
        fit(tiny(), Tok(), data(), cfg(max_steps=2), tmp_path, seed=0)


def test_lora_saves_an_adapter_peft_loads(tmp_path):
    from peft import PeftModel

    trained, _ = fit(
        tiny(), Tok(), data(), cfg(finetuning_type="lora", lora_rank=4, learning_rate=1e-2), tmp_path, seed=0
    )
    batch = collate(data(3, seed=9), pad_id=0)
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    loaded = PeftModel.from_pretrained(tiny(), str(tmp_path / "model")).eval()
    with torch.no_grad():
        assert torch.allclose(trained(**inputs).logits, loaded(**inputs).logits, atol=1e-5)
        assert not torch.allclose(tiny()(**inputs).logits, loaded(**inputs).logits, atol=1e-3)


def test_varlen_attention_and_fused_lora_equal_the_plain_computation():
    from peft import LoraConfig, get_peft_model

    from polyalign.train.kernels import VARLEN, fuse_lora, register_varlen

    examples = data(10, seed=4)

    def loss_and_grads(model, batch):
        model.zero_grad()
        loss = supervised_loss_sum(model, batch)
        loss.backward()
        return loss.item(), torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])

    plain = get_peft_model(tiny(), LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False))
    ref, g_ref = loss_and_grads(plain, collate(examples, pad_id=0))
    register_varlen()
    plain.get_base_model().set_attn_implementation(VARLEN)
    assert fuse_lora(plain) == 2 * 7  # every linear layer of both decoder layers
    fast, g_fast = loss_and_grads(plain, pack(examples, pad_id=0, row_length=None))
    assert abs(fast - ref) <= 1e-5 * abs(ref)
    assert torch.allclose(g_fast, g_ref, rtol=1e-4, atol=1e-6)


def test_tied_embeddings_checkpoint_once_and_resume_exactly(tmp_path):
    from safetensors import safe_open

    def tied():
        torch.manual_seed(0)
        return LlamaForCausalLM(
            LlamaConfig(
                vocab_size=97,
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,
                tie_word_embeddings=True,
            )
        )

    c = cfg(max_steps=4, save_steps=2, save_total_limit=3)
    ref, _ = fit(tied(), Tok(), data(), c, tmp_path / "a", seed=0)
    with safe_open(tmp_path / "a" / "checkpoints" / "step-2" / "weights.safetensors", "pt") as f:
        assert json.loads(f.metadata()["aliases"]) == {"lm.lm_head.weight": "lm.model.embed_tokens.weight"}
    fit(tied(), Tok(), data(), c, tmp_path / "b", seed=0)
    shutil.rmtree(tmp_path / "b" / "checkpoints" / "step-4")
    resumed, _ = fit(tied(), Tok(), data(), c, tmp_path / "b", seed=0, resume="latest")
    assert resumed.lm_head.weight.data_ptr() == resumed.model.embed_tokens.weight.data_ptr()
    for (n, a), (_, b) in zip(ref.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), n


def test_gradient_checkpointing_recomputes_the_same_steps(tmp_path):
    _, plain = fit(tiny(), Tok(), data(), cfg(), tmp_path / "a", seed=0)
    _, ckpt = fit(tiny(), Tok(), data(), cfg(gradient_checkpointing=True), tmp_path / "b", seed=0)
    assert max(abs(x - y) for x, y in zip(plain.losses, ckpt.losses)) <= 1e-6


def test_bf16_autocast_trains_close_to_float32(tmp_path):
    _, f32 = fit(tiny(), Tok(), data(), cfg(), tmp_path / "a", seed=0)
    _, b16 = fit(tiny(), Tok(), data(), cfg(bf16=True), tmp_path / "b", seed=0)
    assert f32.losses != b16.losses  # bf16 really was used
    assert max(abs(x - y) / x for x, y in zip(f32.losses, b16.losses)) <= 2e-2


def _adapter(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_a_kept_model_is_the_run_stopped_there_and_the_last_is_the_final_model(tmp_path):
    """``keep_at_examples``: at a constant rate, the model kept once 8 of 24 examples were seen is the
    model of the same run stopped after its second step, weight for weight (the scaling pilot's
    snapshots are runs of their sizes); the one kept at 24 is the run's final model."""
    lora = dict(finetuning_type="lora", lora_rank=4, learning_rate=1e-2, lr_scheduler_type="constant", max_steps=-1)
    fit(tiny(), Tok(), data(), cfg(**lora, num_train_epochs=1, keep_at_examples=[8, 24]), tmp_path / "a", seed=0)
    fit(tiny(), Tok(), data(), cfg(**{**lora, "max_steps": 2}), tmp_path / "b", seed=0)
    kept8, kept24 = (_adapter(tmp_path / "a" / "model-at" / n) for n in ("8", "24"))
    stopped, final = _adapter(tmp_path / "b" / "model"), _adapter(tmp_path / "a" / "model")
    assert kept8.keys() == stopped.keys() == final.keys()
    assert all(torch.equal(kept8[k], stopped[k]) for k in kept8)
    assert all(torch.equal(kept24[k], final[k]) for k in final)
    assert not all(torch.equal(kept8[k], kept24[k]) for k in kept8)
    # no peft template card ("[More Information Needed]") left in a kept or final model folder
    assert not [p for p in (tmp_path / "a").rglob("README.md")]


def test_kept_steps_need_multiples_of_the_batch_and_stop_at_the_data():
    from polyalign.train.loop import kept_steps

    assert kept_steps([8, 4, 16], 16, 4, 4) == {1: [4], 2: [8], 4: [16]}
    assert kept_steps([20], 14, 4, 4) == {4: [20]}  # past the data: kept once every example was seen
    with pytest.raises(InputError, match="multiple of the global batch 4"):
        kept_steps([6], 16, 4, 4)
    with pytest.raises(InputError, match="ends after 2 steps"):
        kept_steps([16], 16, 4, 2)
