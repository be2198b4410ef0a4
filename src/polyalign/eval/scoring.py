"""Classification by scoring labels: constrained decoding and log-likelihood.

``first_token`` (the default): one forward pass per example. The model's next-token distribution
after the prompt is read once; each label scores the probability mass of the first tokens of all
its tokenisations (the label as written, the label after a space, and the byte-fallback token of
its first byte where the vocabulary has byte tokens); the label with the most mass wins. A
sampled answer would have to start with one of those tokens, so this is what greedy decoding
constrained to the labels picks, without generating.

``loglik``: the log-likelihood of each full label string after the prompt, divided by its
number of tokens (length-normalised), as lm-evaluation-harness scores multiple choice; one row per
example and label. It is used when labels share a first token, or on request.

Both reuse the prompts' shared prefix (:mod:`polyalign.eval.prefix`) and compute logits only
where they are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from polyalign.eval.prefix import Prefix, PrefixCache, forward
from polyalign.io import progress
from polyalign.models import end_of_turn_ids

Method = Literal["first_token", "loglik"]


def label_first_tokens(tokenizer: Any, label: str) -> list[int]:
    """Token ids that can begin ``label``: first tokens of ``label`` and `` label``, plus the
    byte-fallback token of its first byte (``<0xNN>``) where the vocabulary has one."""
    ids: set[int] = set()
    for text in (label, " " + label):
        toks = tokenizer(text, add_special_tokens=False)["input_ids"]
        if toks:
            ids.add(int(toks[0]))
    byte_tok = f"<0x{label.encode('utf-8')[0]:02X}>" if label else None
    if byte_tok is not None:
        tid = tokenizer.convert_tokens_to_ids(byte_tok)
        if isinstance(tid, int) and tid >= 0 and tid != tokenizer.unk_token_id:
            ids.add(tid)
    return sorted(ids)


def first_tokens_overlap(tokenizer: Any, labels: Sequence[str]) -> bool:
    """Whether two labels can begin with the same token (then first-token scoring cannot tell them apart)."""
    seen: set[int] = set()
    for label in labels:
        ids = set(label_first_tokens(tokenizer, label))
        if ids & seen:
            return True
        seen |= ids
    return False


def _pad_id(tokenizer: Any) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end_of_turn_ids(tokenizer)[0]


@torch.inference_mode()
def first_token_scores(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    labels: Sequence[str],
    batch_size: int = 16,
    share_prefix: bool = True,
    desc: str = "score",
    prefix_cache: PrefixCache | None = None,
) -> list[list[float]]:
    """Per prompt, each label's next-token probability mass (one forward pass per prompt)."""
    groups = [label_first_tokens(tokenizer, lab) for lab in labels]
    flat = torch.tensor(sorted({t for g in groups for t in g}))
    col = {int(t): i for i, t in enumerate(flat.tolist())}
    gather = [[col[t] for t in g] for g in groups]
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    prefix = Prefix.build(model, encoded, cache=prefix_cache) if share_prefix and len(encoded) > 1 else Prefix.empty()
    suffixes = [e[prefix.length :] for e in encoded]
    order = sorted(range(len(prompts)), key=lambda i: len(suffixes[i]), reverse=True)
    out: list[list[float]] = [[] for _ in prompts]
    pad = _pad_id(tokenizer)
    model.eval()
    with progress(len(prompts), desc, "ex") as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            logits, *_ = forward(model, [suffixes[i] for i in idx], prefix, pad, logits_to_keep=1)
            probs = torch.softmax(logits[:, -1, :].float(), dim=-1)[:, flat.to(logits.device)].cpu()
            for r, i in enumerate(idx):
                out[i] = [float(probs[r, g].sum()) for g in gather]
            bar.update(len(idx))
    return out


def continuation_split(tokenizer: Any, prompt: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of ``prompt`` and of ``continuation`` after it, as lm-evaluation-harness splits
    them: the whole string is encoded and the continuation is what follows the prompt's tokens."""
    whole = tokenizer(prompt + continuation, add_special_tokens=False)["input_ids"]
    ctx = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    return whole[: len(ctx)], whole[len(ctx) :]


def label_continuation(prompt: str, label: str) -> str:
    """The text the model should produce for ``label``: after a space unless the prompt ends in one."""
    return label if not prompt or prompt[-1].isspace() else " " + label


@torch.inference_mode()
def loglik_scores(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    labels: Sequence[str],
    batch_size: int = 16,
    normalize: bool = True,
    share_prefix: bool = True,
    desc: str = "score",
    prefix_cache: PrefixCache | None = None,
) -> list[list[float]]:
    """Per prompt, each label's log-likelihood (divided by its token count when ``normalize``)."""
    rows: list[tuple[int, int, list[int], int]] = []  # (prompt, label, ids, continuation length)
    for i, p in enumerate(prompts):
        for j, lab in enumerate(labels):
            ctx, cont = continuation_split(tokenizer, p, label_continuation(p, lab))
            if not cont:
                raise ValueError(f"label {lab!r} adds no token after the prompt")
            rows.append((i, j, ctx + cont, len(cont)))
    seqs = [r[2] for r in rows]
    # Leave every row its whole continuation plus the token that predicts its first token.
    prefix = (
        Prefix.build(model, [s[: len(s) - c] for s, (_, _, _, c) in zip(seqs, rows)], cache=prefix_cache)
        if share_prefix
        else Prefix.empty()
    )
    order = sorted(range(len(rows)), key=lambda k: len(seqs[k]), reverse=True)
    scores = [[0.0] * len(labels) for _ in prompts]
    pad = _pad_id(tokenizer)
    model.eval()
    with progress(len(rows), desc, "row") as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            keep = max(rows[k][3] for k in idx) + 1
            logits, *_ = forward(model, [seqs[k][prefix.length :] for k in idx], prefix, pad, logits_to_keep=keep)
            logp = torch.log_softmax(logits.float(), dim=-1)
            for r, k in enumerate(idx):
                i, j, seq, c = rows[k]
                target = torch.tensor(seq[-c:], device=logp.device)
                lp = logp[r, -c - 1 : -1, :].gather(1, target[:, None]).sum().item()
                scores[i][j] = lp / c if normalize else lp
            bar.update(len(idx))
    return scores


def classify(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    labels: Sequence[str],
    method: Method = "first_token",
    batch_size: int = 16,
    desc: str = "score",
    prefix_cache: PrefixCache | None = None,
) -> tuple[list[int], list[list[float]], str]:
    """Predicted label index per prompt, the label scores, and the method actually used.

    ``first_token`` falls back to ``loglik`` when two labels can begin with the same token.
    """
    used = method
    if method == "first_token" and first_tokens_overlap(tokenizer, labels):
        used = "loglik"
    if used == "first_token":
        scores = first_token_scores(model, tokenizer, prompts, labels, batch_size, desc=desc, prefix_cache=prefix_cache)
    else:
        scores = loglik_scores(model, tokenizer, prompts, labels, batch_size, desc=desc, prefix_cache=prefix_cache)
    preds = [max(range(len(labels)), key=lambda j: s[j]) for s in scores]
    return preds, scores, used
