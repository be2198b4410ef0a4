"""Evaluation speed where the demo spends it: polyqa and polysent, the plain path against the fast one.

``polyalign run``'s default recipe evaluates every model on polyqa in 12 languages (5 items each,
48 new tokens, batch 8, chat prompts), polysent in 16 and 6 translation directions. Measured on
SmolLM2-135M, CPU, one thread, a loaded machine: a polyqa key cost about 15 CPU seconds (the prompt
forward about 40%, 47 decoding steps about 60%), a translation direction about 9, a polysent key
about 2.5. Each polyqa batch decoded to ``max_new_tokens``, yet only the first non-empty line of an
answer is scored, and a decoding step's cost grows with the rows still in the batch.

Each prompt also opened with a chat header and instruction that every language of a task shares,
and that prefix was run again for every task × language.

Both sides run here in one process on the same prompts and the same model, alternating per
key: *before* is the plain path (generate the whole continuation, then take its first line, as
``kinds.evaluate_qa`` did; classify with the prefix run afresh), *after* stops each QA row at the
end of its first line (``generate(..., first_line=True)``) and takes shared prefixes from one
:class:`~polyalign.eval.prefix.PrefixCache` kept across keys, as the evaluation runner keeps one.
Answers and label scores must be identical; the script says so and exits 1 when they are not.
Times are CPU seconds of this process (steadier than wall time on a shared machine); wall seconds
are printed beside them. Last line: ``ratio X`` = before / after.

    HF_HUB_OFFLINE=1 python benchmarks/eval_speed.py --threads 1
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

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

    from polyalign.eval import kinds, loaders, runner
    from polyalign.eval import tasks as T
    from polyalign.eval.generate import generate
    from polyalign.eval.prefix import PrefixCache
    from polyalign.eval.scoring import classify
    from polyalign.models import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    model, tok = load_model(args.model)
    qa, sent = T.get("polyqa"), T.get("polysent")
    langs = T.default_specs(qa) if args.langs == "all" else [s.strip() for s in args.langs.split(",") if s.strip()]
    cache = PrefixCache()  # the after side's, kept across keys as an evaluation's runner keeps it

    def timed(fn: Any) -> tuple[Any, float, float]:
        c, w = time.process_time(), time.perf_counter()
        out = fn()
        return out, time.process_time() - c, time.perf_counter() - w

    print(
        f"model {args.model}, torch threads {torch.get_num_threads()}, limit {args.limit}, "
        f"batch {args.batch_size}, max_new_tokens {args.max_new_tokens}"
    )
    print(f"{'key':<14} {'before cpu s':>12} {'after cpu s':>12} {'before wall':>12} {'after wall':>12}")
    tot = [0.0, 0.0, 0.0, 0.0]
    same = True
    keys = [(qa, lang) for lang in langs] + [(sent, lang) for lang in langs if lang in sent.languages]
    for task, lang in keys:
        prep = loaders.prepare(task, task.parse(lang), None, 0, "target", args.limit, 0)
        bs, n = args.batch_size, args.max_new_tokens
        if task.kind == "qa":
            texts = runner.render(tok, prep, "chat", None)
            full, bc, bw = timed(lambda: generate(model, tok, texts, bs, n, desc="before"))  # noqa: B023
            fast, ac, aw = timed(
                lambda: generate(model, tok, texts, bs, n, desc="after", first_line=True, prefix_cache=cache)  # noqa: B023
            )
            before = [kinds._first_line(o) for o in full]
            after = [kinds._first_line(o) for o in fast]
        else:
            names = kinds.label_names(prep)
            texts = runner.render(tok, prep, "chat", names)
            before, bc, bw = timed(lambda: classify(model, tok, texts, names, "first_token", bs, desc="before"))  # noqa: B023
            after, ac, aw = timed(
                lambda: classify(model, tok, texts, names, "first_token", bs, desc="after", prefix_cache=cache)  # noqa: B023
            )
        same &= before == after
        for i, v in enumerate((bc, ac, bw, aw)):
            tot[i] += v
        key = f"{task.name}/{lang}"
        print(f"{key:<14} {bc:12.2f} {ac:12.2f} {bw:12.2f} {aw:12.2f}" + ("" if before == after else "  DIFFER"))
    print(f"{'total':<14} {tot[0]:12.2f} {tot[1]:12.2f} {tot[2]:12.2f} {tot[3]:12.2f}")
    print(f"prefixes reused: {cache.hits}")
    print(f"same answers and scores: {same}")
    print(f"wall ratio {tot[2] / max(tot[3], 1e-9):.2f}; the ratio below is of CPU seconds")
    print(f"ratio {tot[0] / max(tot[1], 1e-9):.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
