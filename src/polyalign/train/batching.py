"""Tokenise conversations with prompt masking; plan steps; lay micro-batches out as tensors.

Only what the assistant says is learned: every other token gets the label ``-100``. The
assistant's span is found on the rendered chat text (by comparing the template's rendering of
the conversation up to each assistant turn) and mapped to tokens through the tokenizer's offsets,
so it is exact for any chat template, multi-turn included, whatever the tokenizer merges.

A micro-batch is a list of examples. It becomes tensors in one of two layouts that give the same
loss (a test holds them equal):

* **padded** (:func:`collate`): one row per example, right-padded to the longest;
* **packed** (:func:`pack`): examples laid end to end in rows of at most ``row_length`` tokens,
  positions restarting at 0 for each example. Given ``position_ids`` and no 2-D attention mask,
  transformers derives the block-diagonal causal mask from the restarts (SDPA and eager), or
  calls flash-attention's varlen kernel when everything is one row, so no token attends across
  examples. Packing wastes no compute on padding.

Both layouts carry ``targets``: the next token's label, shifted *within each example* (the last
token of an example predicts nothing), so the loss never crosses an example boundary.

Pure tensor code: no model here.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

IGNORE = -100


@dataclass(frozen=True)
class Encoded:
    """One tokenised example: ids and labels of equal length (``-100`` where not learned)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def n_supervised(self) -> int:
        """Tokens the loss is taken on: labels after the first (the first token has no context)."""
        return sum(1 for x in self.labels[1:] if x != IGNORE)


def assistant_spans(tokenizer: Any, messages: Sequence[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of each assistant reply.

    A span covers the reply text and its end-of-turn marker, not the template's trailing
    newline, so the model learns to stop exactly where generation stops.
    """
    full = tokenizer.apply_chat_template(list(messages), tokenize=False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(list(messages[:i]), tokenize=False, add_generation_prompt=True)
        through = tokenizer.apply_chat_template(list(messages[: i + 1]), tokenize=False)
        if not through.startswith(before) or not full.startswith(through):
            raise ValueError("chat template does not render conversations prefix by prefix; cannot mask prompts")
        end = len(through.rstrip())
        spans.append((len(before), end))
    return full, spans


def encode(tokenizer: Any, messages: Sequence[dict]) -> Encoded:
    """Token ids and labels for one conversation; labels keep assistant tokens only.

    A token is learned when it starts inside an assistant span.
    """
    text, spans = assistant_spans(tokenizer, messages)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    labels = [IGNORE] * len(ids)
    k = 0
    for t, (start, _end) in enumerate(enc["offset_mapping"]):
        while k < len(spans) and start >= spans[k][1]:
            k += 1
        if k == len(spans):
            break
        if spans[k][0] <= start < spans[k][1]:
            labels[t] = ids[t]
    return Encoded(ids, labels)


def encode_all(
    tokenizer: Any,
    examples: Sequence[dict],
    max_seq_length: int,
    truncation: Literal["drop", "truncate"] = "drop",
) -> tuple[list[Encoded], dict[str, int]]:
    """Encode every example; handle (and count) those too long, drop those with nothing to learn.

    ``truncation="drop"`` drops an example longer than ``max_seq_length`` tokens;
    ``"truncate"`` keeps its first ``max_seq_length`` tokens (and drops it only if no learned
    token is left).
    """
    out: list[Encoded] = []
    counts = {"examples": len(examples), "too_long": 0, "truncated": 0, "dropped_too_long": 0, "dropped_no_target": 0}
    for ex in examples:
        e = encode(tokenizer, ex["messages"])
        if len(e.input_ids) > max_seq_length:
            counts["too_long"] += 1
            if truncation == "drop":
                counts["dropped_too_long"] += 1
                continue
            e = Encoded(e.input_ids[:max_seq_length], e.labels[:max_seq_length])
            counts["truncated"] += 1
        if e.n_supervised == 0:
            counts["dropped_no_target"] += 1
            continue
        out.append(e)
    counts["kept"] = len(out)
    return out, counts


# ---------------------------------------------------------------------------------------------
# Which examples each step, each process and each micro-batch sees


def epoch_steps(n_examples: int, per_step: int, seed: int, epoch: int) -> list[list[int]]:
    """Example indices of each optimizer step of one epoch: a seeded shuffle, cut in order.

    ``per_step`` is the global batch (processes x micro-batch x accumulation). The plan is a pure
    function of its arguments, so a resumed run rebuilds it and skips what it already did; the
    last step of an epoch may be short.

    >>> epoch_steps(5, 2, seed=0, epoch=0)
    [[2, 3], [1, 0], [4]]
    """
    order = list(range(n_examples))
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return [order[i : i + per_step] for i in range(0, n_examples, per_step)]


def shard_step(step: Sequence[int], world: int, rank: int, accum: int) -> list[list[int]]:
    """The ``accum`` micro-batches process ``rank`` runs for one step (some may be empty).

    The step's examples are cut into ``world * accum`` near-equal contiguous chunks; micro-batch
    ``j`` of rank ``r`` is chunk ``j * world + r``. Since the loss is a sum over the step's
    supervised tokens divided by their count, any such partition gives the same step.

    >>> shard_step([10, 11, 12, 13, 14], world=2, rank=0, accum=2)
    [[10, 11], [13]]
    >>> shard_step([10, 11, 12], world=2, rank=1, accum=2)
    [[11], []]
    """
    parts = world * accum
    base, extra = divmod(len(step), parts)
    bounds = [0]
    for c in range(parts):
        bounds.append(bounds[-1] + base + (1 if c < extra else 0))
    chunks = [list(step[bounds[c] : bounds[c + 1]]) for c in range(parts)]
    return [chunks[j * world + rank] for j in range(accum)]


# ---------------------------------------------------------------------------------------------
# Layouts


def _shifted(e: Encoded) -> list[int]:
    """Targets of one example: ``labels[t + 1]`` at position ``t``, nothing at the last token."""
    return list(e.labels[1:]) + [IGNORE]


def collate(batch: Sequence[Encoded], pad_id: int) -> dict[str, Any]:
    """Right-pad a micro-batch: ``input_ids``, ``attention_mask``, ``position_ids``, ``targets``."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    targets = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for r, e in enumerate(batch):
        n = len(e.input_ids)
        ids[r, :n] = torch.tensor(e.input_ids)
        targets[r, :n] = torch.tensor(_shifted(e))
        mask[r, :n] = 1
    positions = torch.arange(width).expand(len(batch), width).clone()
    return {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "targets": targets}


def pack_rows(lengths: Sequence[int], row_length: int) -> list[list[int]]:
    """Assign examples to rows of at most ``row_length`` tokens: first fit, longest first.

    Returns the example indices of each row. An example longer than ``row_length`` gets a row of
    its own.

    >>> pack_rows([5, 3, 4, 2, 6], row_length=8)
    [[4, 3], [0, 1], [2]]
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        for r, free in enumerate(room):
            if lengths[i] <= free:
                rows[r].append(i)
                room[r] -= lengths[i]
                break
        else:
            rows.append([i])
            room.append(row_length - lengths[i])
    return rows


def pack(batch: Sequence[Encoded], pad_id: int, row_length: int | None = None) -> dict[str, Any]:
    """Lay a micro-batch end to end: ``input_ids``, ``position_ids``, ``targets`` (no mask).

    ``row_length=None`` puts everything in one row, with ``cu_seq_lens``: the examples' start
    offsets and the total (the layout varlen attention kernels read). Rows shorter than the
    longest are padded with a segment of their own (positions restart there too, and its
    targets are ignored).
    """
    import torch

    lengths = [len(e.input_ids) for e in batch]
    rows = [list(range(len(batch)))] if row_length is None else pack_rows(lengths, row_length)
    width = max(sum(lengths[i] for i in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    targets = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        at = 0
        for i in row:
            e, n = batch[i], lengths[i]
            ids[r, at : at + n] = torch.tensor(e.input_ids)
            targets[r, at : at + n] = torch.tensor(_shifted(e))
            positions[r, at : at + n] = torch.arange(n)
            at += n
        positions[r, at:] = torch.arange(width - at)
    out = {"input_ids": ids, "position_ids": positions, "targets": targets}
    if row_length is None:
        starts = [0]
        for n in lengths:
            starts.append(starts[-1] + n)
        out["cu_seq_lens"] = torch.tensor(starts, dtype=torch.int32)
    return out


def layout(batch: Sequence[Encoded], pad_id: int, packing: bool, row_length: int | None) -> dict[str, Any]:
    """The micro-batch as tensors: :func:`pack` when ``packing``, else :func:`collate`."""
    return pack(batch, pad_id, row_length) if packing else collate(batch, pad_id)
