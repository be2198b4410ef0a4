"""LoRA training throughput: polyalign's trainer against ``transformers.Trainer`` + peft and TRL's ``SFTTrainer``.

Both sides tune the default model (``HuggingFaceTB/SmolLM2-135M-Instruct``, float32) with LoRA
rank 16 on every linear layer, on the same CoIT examples, for one pass, seed 0:

* **data**: CoIT mixtures for Spanish and French (``polyalign.data.mixtures.build``):
  gettext pairs wrapped in the versioned translation instructions, in both directions, and the
  shipped ``polyinstruct`` instructions in English and each language; plus instruction
  examples built here from the same strings (translate a numbered list of 2–8 strings; rewrite
  in capitals; count words; sort words), multi-turn ones included: 2,000+ examples of varied
  length, from which a seeded sample of ``--examples`` is trained (the same on both sides, so
  both learn from the same supervised tokens);
* **polyalign**: ``polyalign.train.loop.fit`` (packing, logits only at supervised positions);
* **Trainer**: ``Trainer`` + ``get_peft_model`` the way the transformers and peft documentation
  show it: tokenised examples with prompt labels set to -100, ``DataCollatorForSeq2Seq``
  (dynamic padding to the longest of each batch), no packing, ``save_strategy="no"``;
* **TRL** (the stronger peer, when ``trl`` is installed: the ``[bench]`` extra): ``SFTTrainer`` with
  the same LoRA (``peft_config``) on the same pre-tokenised examples and prompt masks (a ``labels``
  column), ``packing=True`` with its best-fit-decreasing strategy, which trains padding-free (one
  flattened row per batch, positions restarting per example); its batch is packed rows of
  ``MAX_LEN`` tokens, as many per step as carry the same tokens as polyalign's step, so both take
  about the same number of optimizer steps over one pass; float32 like the other sides
  (``bf16=False``: ``SFTConfig`` defaults to bf16 autocast, emulated on a CPU without native bf16).

After training, each side's tuned model is scored on the same ``HELDOUT`` examples none of them
trained on (mean cross-entropy over each example's supervised tokens): the held-out losses are
compared item by item, polyalign − TRL with a 95% interval, so "the same final loss" is read on the
same items rather than on each side's last batch (the sides pack their batches differently). That
interval holds the items' noise, not the training's: the order of the batches alone moves a tuned
model's held-out loss too, so polyalign trains again on the same examples in ``--orders`` other
seeded orders, and TRL's held-out loss is read against the range of polyalign's over the orders.

Each side runs in its own process; its peak resident memory (``ru_maxrss``, model loading
included for both) is reported. Supervised tokens/s = supervised tokens ÷ the seconds the
training call took.

**Model FLOP utilisation** of polyalign = the FLOPs the step must do for the examples it
trained on ÷ seconds ÷ the fp32 matmul peak measured here (2048² matmuls, best of several runs,
before and after the two sides; the higher is used). The FLOPs counted, per example of L
tokens with S supervised: linear layers 2·N per token forward and 2·N backward (input
gradients: the base is frozen), N = the decoder's linear weights; LoRA 2·n forward + 4·n
backward per token (n = adapter weights); attention 4·L(L+1)/2·d per layer forward (causal
QKᵀ and AV over the example only) and twice that backward; the vocabulary projection 2·d·V
forward + 2·d·V backward per supervised token. Padding, masked-out attention blocks,
element-wise work and the optimizer are not counted.

    python benchmarks/train_throughput.py            # prints figures, last line `ratio X`
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
LR, RANK, ALPHA, BATCH, MAX_LEN = 1e-3, 16, 32, 16, 512


# ---------------------------------------------------------------------------------------------
# Data: CoIT translation tasks + instruction examples


def build_examples(work: Path, seed: int = 0) -> list[dict]:
    from polyalign.data.corpora import gettext_pairs
    from polyalign.data.filters import PairFilter
    from polyalign.data.mixture_spec import MixtureSpec
    from polyalign.data.mixtures import build
    from polyalign.data.pairs import clean_pairs
    from polyalign.io import iter_jsonl

    translations = []
    for lang in ("es", "fr"):
        spec = MixtureSpec(
            builder="coit",
            languages=[lang],
            sources=["gettext"],
            instructions=["polyinstruct"],
            direction="both",
            max_train_pairs=400,
            test_size=50,
            seed=seed,
        )
        build(work / f"coit-{lang}", spec)
        translations += [row for _, row in iter_jsonl(work / f"coit-{lang}" / "train.jsonl")]
    rng = random.Random(seed)
    names = {"es": "Spanish", "fr": "French"}
    pairs = {
        lang: clean_pairs(
            gettext_pairs(lang), PairFilter(min_words=2, max_words=30, max_chars=300, max_length_ratio=None)
        )[0]
        for lang in names
    }
    instructions = []
    for i in range(900):
        lang = rng.choice(list(names))
        kind = i % 5
        if kind in (0, 1):  # a numbered list of strings to translate
            chosen = rng.sample(pairs[lang], rng.randint(2, 8))
            user = f"Translate each of these interface strings into {names[lang]}. Keep the numbering.\n\n" + "\n".join(
                f"{k + 1}. {p.src}" for k, p in enumerate(chosen)
            )
            answer = "\n".join(f"{k + 1}. {p.tgt}" for k, p in enumerate(chosen))
            messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
        elif kind == 2:  # two turns: translate, then put the translation in capitals
            p = rng.choice(pairs[lang])
            messages = [
                {"role": "user", "content": f"How do you say this in {names[lang]}?\n\n{p.src}"},
                {"role": "assistant", "content": p.tgt},
                {"role": "user", "content": "Now write that in capital letters."},
                {"role": "assistant", "content": p.tgt.upper()},
            ]
        elif kind == 3:
            p = rng.choice(pairs[lang])
            messages = [
                {
                    "role": "user",
                    "content": f"How many words are in this sentence? Answer with the number and the words.\n\n{p.src}",
                },
                {"role": "assistant", "content": f"{len(p.src.split())}: " + ", ".join(p.src.split())},
            ]
        else:
            p = rng.choice(pairs[lang])
            messages = [
                {
                    "role": "user",
                    "content": f"List the words of this text in alphabetical order, one per line.\n\n{p.src}",
                },
                {"role": "assistant", "content": "\n".join(sorted(p.src.split(), key=str.lower))},
            ]
        instructions.append({"messages": messages})
    return [{"messages": t["messages"]} for t in translations] + instructions


# ---------------------------------------------------------------------------------------------
# FLOPs and the matmul peak


def train_flops(model, encoded) -> float:
    """FLOPs polyalign's LoRA step must do for ``encoded`` (see the module docstring)."""
    cfg = model.config
    d, layers, vocab = cfg.hidden_size, cfg.num_hidden_layers, cfg.vocab_size
    lin = lora = 0
    for name, p in model.named_parameters():
        if "lora_" in name:
            lora += p.numel()
        elif p.ndim == 2 and ".layers." in name:
            lin += p.numel()
    total = 0.0
    for e in encoded:
        L, S = len(e.input_ids), e.n_supervised
        total += L * (4 * lin + 6 * lora)
        total += 3 * layers * 4 * d * L * (L + 1) / 2
        total += S * 4 * d * vocab
    return total


HELDOUT = 32  # examples none of the sides trains on: every side's tuned model is scored on the same ones


def heldout_losses(model, tok, examples: list[dict]) -> list[float]:
    """Each held-out example's mean cross-entropy over its supervised tokens, from the tuned ``model``
    (the same tokens and prompt masks as training: ``encode_all``)."""
    import torch

    from polyalign.train.batching import encode_all

    encoded, _ = encode_all(tok, examples, MAX_LEN)
    device = next(model.parameters()).device
    model.eval()
    out = []
    with torch.inference_mode():
        for e in encoded:
            ids = torch.tensor([e.input_ids], device=device)
            labels = torch.tensor(e.labels[1:], device=device)
            logits = model(input_ids=ids).logits[0, :-1].float()
            keep = labels != -100
            out.append(float(torch.nn.functional.cross_entropy(logits[keep], labels[keep])))
    return out


def held(side: dict) -> float:
    """A side's mean held-out loss."""
    return sum(side["heldout"]) / len(side["heldout"])


def reading(lo: float, hi: float) -> str:
    """What a polyalign − TRL interval says."""
    return "same within noise" if lo <= 0 <= hi else "polyalign lower" if hi < 0 else "polyalign HIGHER"


def paired_interval(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Mean of ``a - b`` item by item and its 95% normal interval."""
    d = [x - y for x, y in zip(a, b)]
    m = sum(d) / len(d)
    sd = (sum((x - m) ** 2 for x in d) / max(1, len(d) - 1)) ** 0.5
    half = 1.96 * sd / len(d) ** 0.5
    return m, m - half, m + half


# ---------------------------------------------------------------------------------------------
# The sides (each in its own process)


def side_polyalign(examples: list[dict], work: Path, heldout: list[dict]) -> dict:
    from polyalign.config import TrainConfig
    from polyalign.models import load_model
    from polyalign.train.batching import encode_all
    from polyalign.train.loop import fit

    model, tok = load_model(MODEL)
    encoded, _ = encode_all(tok, examples, MAX_LEN)
    cfg = TrainConfig(
        finetuning_type="lora",
        lora_rank=RANK,
        lora_alpha=ALPHA,
        learning_rate=LR,
        per_device_train_batch_size=BATCH,
        num_train_epochs=1,
        warmup_steps=0.1,
        max_seq_length=MAX_LEN,
        packing=True,
        logging_steps=1,
    )
    t = time.perf_counter()
    model, result = fit(model, tok, encoded, cfg, work / "polyalign", seed=0)
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "supervised_tokens": result.supervised_tokens,
        "tokens": result.tokens,
        "flops": train_flops(model, encoded),
        "first_loss": result.losses[0],
        "last_loss": result.losses[-1],
        "steps": len(result.losses),  # logging_steps=1: one loss an optimizer step
        "heldout": heldout_losses(model, tok, heldout),
    }


def side_trainer(examples: list[dict], work: Path, heldout: list[dict]) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainingArguments,
    )

    from polyalign.hub import resolve
    from polyalign.models import load_tokenizer
    from polyalign.train.batching import encode_all

    tok = load_tokenizer(MODEL)
    encoded, _ = encode_all(tok, examples, MAX_LEN)  # the same tokens and prompt masks
    dataset = [
        {"input_ids": e.input_ids, "attention_mask": [1] * len(e.input_ids), "labels": e.labels} for e in encoded
    ]
    model = AutoModelForCausalLM.from_pretrained(resolve(MODEL), dtype=torch.float32)
    model = get_peft_model(
        model,
        LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"),
    )
    args = TrainingArguments(
        output_dir=str(work / "trainer"),
        per_device_train_batch_size=BATCH,
        num_train_epochs=1,
        learning_rate=LR,
        lr_scheduler_type="cosine",
        seed=0,
        warmup_steps=int(0.1 * math.ceil(len(dataset) / BATCH)),
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        remove_unused_columns=False,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100),
    )
    t = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - t
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {
        "seconds": seconds,
        "supervised_tokens": sum(e.n_supervised for e in encoded),
        "tokens": sum(len(e.input_ids) for e in encoded),
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "train_loss": out.training_loss,
        "heldout": heldout_losses(trainer.model, tok, heldout),
    }


def side_trl(examples: list[dict], work: Path, heldout: list[dict]) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from polyalign.hub import resolve
    from polyalign.models import load_tokenizer
    from polyalign.train.batching import encode_all

    tok = load_tokenizer(MODEL)
    encoded, _ = encode_all(tok, examples, MAX_LEN)  # the same tokens and prompt masks
    dataset = Dataset.from_list([{"input_ids": e.input_ids, "labels": e.labels} for e in encoded])
    tokens = sum(len(e.input_ids) for e in encoded)
    rows = max(1, round(BATCH * tokens / len(encoded) / MAX_LEN))  # packed rows carrying one polyalign step
    model = AutoModelForCausalLM.from_pretrained(resolve(MODEL), dtype=torch.float32)
    steps = math.ceil(tokens / (rows * MAX_LEN))
    args = SFTConfig(
        output_dir=str(work / "trl"),
        per_device_train_batch_size=rows,
        num_train_epochs=1,
        learning_rate=LR,
        lr_scheduler_type="cosine",
        warmup_steps=int(0.1 * steps),
        seed=0,
        max_length=MAX_LEN,
        packing=True,
        packing_strategy="bfd",
        padding_free=True,
        gradient_checkpointing=False,  # SFTConfig's default trades speed for memory; neither other side does
        bf16=False,  # SFTConfig's default is bf16 autocast, emulated on a CPU without native bf16: 12× slower
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tok,
        peft_config=LoraConfig(
            r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"
        ),
    )
    t = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - t
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    supervised = sum(int((torch.tensor(r["labels"]) != -100).sum()) for r in trainer.train_dataset)
    return {
        "seconds": seconds,
        "supervised_tokens": supervised,
        "tokens": tokens,
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "train_loss": out.training_loss,
        "steps": trainer.state.global_step,
        "heldout": heldout_losses(trainer.model, tok, heldout),
    }


def run_side(name: str, data: Path, work: Path, threads: int | None, batch: int | None = None) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    proc = subprocess.run(
        [sys.executable, __file__, "--side", name, "--data", str(data), "--work", str(work), "--model", MODEL]
        + (["--batch", str(batch)] if batch else []),
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        sys.exit(f"{name} side failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    global MODEL, BATCH
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=192, help="examples trained on (one pass), sampled from the 2,000+")
    ap.add_argument("--threads", type=int, help="torch threads for both sides and the peak (default: torch's)")
    ap.add_argument(
        "--orders",
        type=int,
        default=2,
        help="polyalign trained again on the same examples in this many other seeded orders: the noise the "
        "held-out loss has from the batch order alone, against which polyalign − TRL is read (0: not measured)",
    )
    ap.add_argument(
        "--model", default=MODEL, help="the model both sides tune (default: the bundled one; the tests pass a tiny one)"
    )
    ap.add_argument("--side", choices=["polyalign", "trainer", "trl"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, help=argparse.SUPPRESS)  # a child: examples a step, instead of BATCH
    args = ap.parse_args()
    MODEL = args.model
    if args.batch:
        BATCH = args.batch
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    if args.side:  # a child: train one side, print one JSON line
        examples = [json.loads(line) for line in Path(args.data).read_text().splitlines()]
        heldout = [json.loads(line) for line in (Path(args.data).parent / "heldout.jsonl").read_text().splitlines()]
        side = {"polyalign": side_polyalign, "trainer": side_trainer, "trl": side_trl}[args.side]
        out = side(examples, Path(args.work), heldout)
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
        return

    import torch

    from polyalign.estimate import matmul_gflops

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        examples = build_examples(work)
        drawn = random.Random(0).sample(examples, args.examples + HELDOUT)
        chosen, heldout = drawn[: args.examples], drawn[args.examples :]
        data = work / "bench.jsonl"
        data.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in chosen))
        (work / "heldout.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in heldout))
        print(
            f"data: {len(examples)} CoIT examples (translation + instructions); training on a seeded sample "
            f"of {len(chosen)}"
        )
        print(f"threads: {torch.get_num_threads()} per side (one side at a time)")
        # the peak: the best fp32 2048² product, before and after the sides (the dry run's probe, more repeats)
        peak = matmul_gflops(2048, repeats=8)
        mine = run_side("polyalign", data, work, args.threads)
        theirs = run_side("trainer", data, work, args.threads)
        trl = run_side("trl", data, work, args.threads) if importlib.util.find_spec("trl") else None
        peak = max(peak, matmul_gflops(2048, repeats=8))
        matched = None  # polyalign at TRL's number of optimizer steps: the loss compared update for update
        if trl and trl["steps"] != mine["steps"]:
            matched = run_side("polyalign", data, work / "matched", args.threads, math.ceil(len(chosen) / trl["steps"]))
        reordered = []  # the same examples in other orders: the held-out loss's noise from the order alone
        for seed in range(1, (args.orders if trl else 0) + 1):  # read against TRL's loss
            again = list(chosen)
            random.Random(seed).shuffle(again)
            path = work / f"bench_order{seed}.jsonl"
            path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in again))
            reordered.append(run_side("polyalign", path, work / f"order{seed}", args.threads))  # its own output

    sides = [("polyalign", mine), ("Trainer+peft", theirs)] + ([("TRL SFTTrainer", trl)] if trl else [])
    for name, r in sides:
        print(
            f"{name:13s} {r['supervised_tokens'] / r['seconds']:7.1f} supervised tok/s  "
            f"({r['supervised_tokens']} supervised of {r['tokens']} tokens in {r['seconds']:.1f} s)  "
            f"peak memory {r['peak_rss_mb']:.0f} MB  loss {r['first_loss']:.3f} -> {r['last_loss']:.3f}  "
            f"held-out loss {held(r):.3f}"
        )
    assert mine["supervised_tokens"] == theirs["supervised_tokens"], "both sides must learn from the same tokens"
    achieved = mine["flops"] / mine["seconds"] / 1e9
    print(f"matmul peak (fp32, 2048x2048, measured now): {peak:.1f} GFLOP/s")
    print(f"polyalign model FLOP utilisation: {achieved:.1f} GFLOP/s = {100 * achieved / peak:.1f}% of the matmul peak")
    print(
        f"peak memory: polyalign {mine['peak_rss_mb']:.0f} MB, Trainer {theirs['peak_rss_mb']:.0f} MB "
        f"({'no higher' if mine['peak_rss_mb'] <= theirs['peak_rss_mb'] else 'HIGHER'})"
    )
    if trl is None:
        print("TRL: not installed (pip install 'polyalign[bench]'): no TRL ratio")
    else:
        assert trl["supervised_tokens"] == mine["supervised_tokens"], "TRL must learn from the same tokens"
        vs_trl = (mine["supervised_tokens"] / mine["seconds"]) / (trl["supervised_tokens"] / trl["seconds"])
        d, lo, hi = paired_interval(mine["heldout"], trl["heldout"])
        print(
            f"vs TRL: ratio {vs_trl:.2f} (target >= 1.5), peak memory "
            f"{'no higher' if mine['peak_rss_mb'] <= trl['peak_rss_mb'] else 'HIGHER'} than TRL's, "
            f"held-out loss polyalign − TRL {d:+.3f} [{lo:+.3f}, {hi:+.3f}] over {len(mine['heldout'])} examples "
            f"({reading(lo, hi)}; {trl['steps']} TRL steps)"
        )
        if matched is not None:
            d, lo, hi = paired_interval(matched["heldout"], trl["heldout"])
            print(
                f"polyalign in {matched['steps']} steps (TRL's {trl['steps']}): held-out loss {held(matched):.3f}, "
                f"polyalign − TRL {d:+.3f} [{lo:+.3f}, {hi:+.3f}] ({reading(lo, hi)})"
            )
        if reordered:
            means = [held(r) for r in [mine, *reordered]]
            theirs_mean = held(trl)
            inside = min(means) <= theirs_mean <= max(means)
            print(
                f"held-out loss of polyalign over {len(means)} orders of the same examples: "
                + ", ".join(f"{m:.3f}" for m in means)
                + f" (range {max(means) - min(means):.3f}); TRL's {theirs_mean:.3f} "
                + ("lies inside it: the same within the order's noise" if inside else "lies OUTSIDE it")
            )
    ratio = (mine["supervised_tokens"] / mine["seconds"]) / (theirs["supervised_tokens"] / theirs["seconds"])
    print(f"ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
