"""What ``polyalign analyze align`` costs on top of the forward passes it cannot avoid.

The default model (``HuggingFaceTB/SmolLM2-135M-Instruct``, float32) reads ``--pairs`` English–
Spanish gettext pairs (cleaned, 3–30 words, a seeded sample; both sides, so twice as many
sentences), loaded once for both sides:

* **analysis**: what ``analyze align`` does after loading the model: read the pairs file, pool
  every layer of every sentence (hidden states of all 31 layers), compute cosine, retrieval,
  margin retrieval and CKA for every layer, write ``alignment.json`` and the PNG;
* **forward** (the physical floor): the model's body alone over exactly the same token batches
  (same tokenisation, same length-sorted batches and padding), no hidden states kept.

The forward side runs before and after the analysis and the mean of the two is used, so load
that drifts during the run falls on both sides alike. Wall and CPU seconds are both printed; the
final ratio is of CPU seconds (process time, all threads), which other jobs on a shared machine
disturb far less than wall time. Peak resident memory (``ru_maxrss``) is of
the whole process.

    python benchmarks/analysis_overhead.py          # prints figures, last line `ratio X` (target <= 1.3)

``--memory-pairs N`` checks the memory bound instead: the model is loaded and
``align_report`` runs on ``N`` pairs through the real store and statistics, but each batch's
pooled vectors are random numbers of the real shape (31 × batch × 576) instead of a forward
pass (whose memory is bounded by one batch, and measured by the main mode). It prints the
storage chosen, the seconds the statistics took and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def write_pairs(path: Path, n: int, seed: int = 0) -> int:
    """``n`` cleaned English–Spanish gettext pairs as JSONL (babel names when gettext has too few)."""
    from polyalign.data.corpora import source_pairs
    from polyalign.data.filters import PairFilter
    from polyalign.data.pairs import clean_pairs, sample

    kept, _ = clean_pairs(
        source_pairs("gettext", "es"), PairFilter(min_words=3, max_words=30, max_chars=300, max_length_ratio=None)
    )
    if len(kept) < n:
        more, _ = clean_pairs(
            source_pairs("babel", "es"), PairFilter(min_words=1, max_words=30, max_chars=300, max_length_ratio=None)
        )
        kept += more
    chosen = sample(kept, n, seed)
    with open(path, "w", encoding="utf-8") as f:
        for p in chosen:
            f.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
    return len(chosen)


def forward_only(model, tok, texts: list[str], batch_size: int) -> tuple[float, float]:
    """Wall and CPU seconds for the model's body over the same batches ``analyze align`` runs, nothing kept."""
    import torch

    from polyalign.analysis.capture import batch_inputs, encode, length_batches

    start, cpu = time.perf_counter(), time.process_time()
    ids, _ = encode(tok, texts, 256)
    with torch.inference_mode():
        for rows in length_batches([len(x) for x in ids], batch_size):
            model.base_model(
                **batch_inputs([ids[i] for i in rows], tok.pad_token_id, tok.padding_side), use_cache=False
            )
    return time.perf_counter() - start, time.process_time() - cpu


def analysis(model, tok, pairs_path: Path, out: Path, batch_size: int) -> tuple[float, float, dict]:
    """Wall and CPU seconds for ``analyze align`` after model loading: pairs, capture, statistics, JSON, plot."""
    from polyalign.analysis.align import align_report, read_pairs
    from polyalign.io import write_json
    from polyalign.report.plots import alignment_plot

    start, cpu = time.perf_counter(), time.process_time()
    pairs = read_pairs(pairs_path)
    doc = {"model": MODEL, **align_report(model, tok, pairs, "mean", batch_size)}
    write_json(out / "alignment.json", doc)
    alignment_plot(doc, out / "alignment.png")
    return time.perf_counter() - start, time.process_time() - cpu, doc


def memory_check(n: int, batch_size: int) -> int:
    """Peak RSS of ``align_report`` on ``n`` pairs with the model loaded and random pooled batches."""
    import numpy as np

    from polyalign.analysis import capture
    from polyalign.analysis.align import align_report
    from polyalign.models import load_model

    model, tok = load_model(MODEL)
    layers, dim = capture.num_states(model), capture.hidden_size(model)
    rng = np.random.default_rng(0)
    shared = rng.normal(size=(layers, 1, dim)).astype(np.float32) * 4

    def fake_batches(model, tokenizer, texts, pool="mean", batch_size=32, **_):
        for start in range(0, len(texts), batch_size):
            rows = np.arange(start, min(start + batch_size, len(texts)))
            item = rows % (len(texts) // 2)  # parallel items share a component
            base = np.stack([np.random.default_rng(int(i)).normal(size=(layers, dim)) for i in item], axis=1)
            yield rows, (shared + base + rng.normal(size=base.shape)).astype(np.float32)

    capture.pooled_batches = fake_batches
    start = time.perf_counter()
    doc = align_report(model, tok, {"x": ["x"] * n, "en": ["e"] * n, "lang": "es", "en_lang": "en"}, "mean", batch_size)
    took = time.perf_counter() - start
    print(
        f"memory check: {n} pairs, {layers} layers x {dim}, storage {doc['settings']['storage']}, "
        f"store + statistics {took:.1f} s, retrieval at layer 0 {doc['layers'][0]['retrieval_x2en']:.3f}"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MiB (bound 2048 MiB: {'met' if rss < 2048 else 'NOT met'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    ap.add_argument("--memory-pairs", type=int, help="check the memory bound on this many pairs instead (see above)")
    args = ap.parse_args(argv)
    if args.memory_pairs:
        return memory_check(args.memory_pairs, args.batch_size)

    import torch

    from polyalign.analysis.align import read_pairs
    from polyalign.models import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="analysis-bench-"))
    n = write_pairs(work / "pairs.jsonl", args.pairs)
    model, tok = load_model(MODEL)
    pairs = read_pairs(work / "pairs.jsonl")
    texts = pairs["x"] + pairs["en"]
    forward_only(model, tok, texts[:8], 8)  # warm-up
    (f1, c1) = forward_only(model, tok, texts, args.batch_size)
    t, ct, doc = analysis(model, tok, work / "pairs.jsonl", work, args.batch_size)
    (f2, c2) = forward_only(model, tok, texts, args.batch_size)
    forward, forward_cpu = (f1 + f2) / 2, (c1 + c2) / 2
    tokens = sum(len(x) for x in tok(texts)["input_ids"])
    best = doc["best_layer"]
    print(
        f"data: {n} en-es gettext pairs, {len(texts)} sentences, {tokens} tokens, batch {args.batch_size}, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"forward alone   {f1:7.2f} s, {f2:7.2f} s after (mean {forward:.2f} s); CPU {c1:.2f} s, {c2:.2f} s")
    print(f"analyze align   {t:7.2f} s, CPU {ct:.2f} s  (31 layers, storage {doc['settings']['storage']})")
    print(f"wall ratio {t / forward:.2f}; the ratio below is of CPU seconds (steadier on a shared machine)")
    print(
        f"best layer {best['layer']}: retrieval es->en {best['retrieval_x2en']:.3f}, "
        f"en->es {best['retrieval_en2x']:.3f}"
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"ratio {ct / forward_cpu:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
