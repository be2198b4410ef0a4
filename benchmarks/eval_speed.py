"""Evaluation speed where the demo spends it: short-answer QA (polyqa), before and after the early stop.

``polyalign run``'s default recipe evaluates every model on polyqa in 12 languages (5 items each,
48 new tokens, batch 8, chat prompts). Measured on SmolLM2-135M, CPU, one thread: a polyqa key
cost about as much as three polysent keys or 1.5 translation directions, and most of it was decoding
past the answer: only the first non-empty line of an answer is scored, yet rows ran on to the
end-of-turn token or ``max_new_tokens``.

Both sides run here in one process on the same prompts and the same model, alternating per
language: *before* is the plain path (generate the whole continuation, then take its first line, as
``kinds.evaluate_qa`` did), *after* stops each row at the end of its first line
(``generate(..., first_line=True)``). The answers must be identical; the script says so and exits 1
when they are not. Times are CPU seconds of this process (steadier than wall time on a shared
machine); wall seconds are printed beside them. Last line: ``ratio X`` = before / after.

    HF_HUB_OFFLINE=1 python benchmarks/eval_speed.py --threads 1
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="HuggingFaceTB/SmolLM2-135M-Instruct")
    ap.add_argument("--langs", default="all", help="polyqa languages, comma-separated (default: all 12)")
    ap.add_argument("--limit", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = ap.parse_args()

    import torch

    from polyalign.eval import runner
    from polyalign.eval import tasks as T
    from polyalign.eval.generate import generate
    from polyalign.eval.kinds import _first_line
    from polyalign.models import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    model, tok = load_model(args.model)
    task = T.get("polyqa")
    langs = T.default_specs(task) if args.langs == "all" else [s.strip() for s in args.langs.split(",") if s.strip()]

    def timed(texts: list[str], first_line: bool, desc: str) -> tuple[list[str], float, float]:
        c, w = time.process_time(), time.perf_counter()
        out = generate(model, tok, texts, args.batch_size, args.max_new_tokens, desc=desc, first_line=first_line)
        return out, time.process_time() - c, time.perf_counter() - w

    print(
        f"model {args.model}, torch threads {torch.get_num_threads()}, limit {args.limit}, "
        f"batch {args.batch_size}, max_new_tokens {args.max_new_tokens}"
    )
    print(f"{'key':<12} {'before cpu s':>12} {'after cpu s':>12} {'before wall':>12} {'after wall':>12}")
    tot = [0.0, 0.0, 0.0, 0.0]
    same = True
    for lang in langs:
        spec = task.parse(lang)
        prep = T.prepare(task, spec, None, 0, "target", args.limit, 0)
        texts = runner.render(tok, prep, "chat", None)
        full, bc, bw = timed(texts, False, f"polyqa/{lang}")
        fast, ac, aw = timed(texts, True, f"polyqa/{lang}")
        before = [_first_line(o) for o in full]
        after = [_first_line(o) for o in fast]
        same &= before == after
        for i, v in enumerate((bc, ac, bw, aw)):
            tot[i] += v
        print(f"polyqa/{lang:<5} {bc:12.2f} {ac:12.2f} {bw:12.2f} {aw:12.2f}" + ("" if before == after else "  DIFFER"))
    print(f"{'total':<12} {tot[0]:12.2f} {tot[1]:12.2f} {tot[2]:12.2f} {tot[3]:12.2f}")
    print(f"same answers: {same}")
    print(f"wall ratio {tot[2] / max(tot[3], 1e-9):.2f}; the ratio below is of CPU seconds")
    print(f"ratio {tot[0] / max(tot[1], 1e-9):.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
