"""Tokenise conversations with prompt masking, and cut them into batches.

Only what the assistant says is learned: every other token gets the label ``-100``. The
assistant's span is found on the rendered chat text (by comparing the template's rendering of
the conversation up to each assistant turn) and mapped to tokens through the tokenizer's offsets,
so it is exact for any chat template, multi-turn included, whatever the tokenizer merges.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

IGNORE = -100


@dataclass(frozen=True)
class Encoded:
    """One tokenised example: ids and labels of equal length (``-100`` where not learned)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def n_supervised(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


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
    tokenizer: Any, examples: Sequence[dict], max_seq_length: int
) -> tuple[list[Encoded], dict[str, int]]:
    """Encode every example; drop (and count) those too long or with nothing to learn."""
    out: list[Encoded] = []
    counts = {"examples": len(examples), "dropped_too_long": 0, "dropped_no_target": 0}
    for ex in examples:
        e = encode(tokenizer, ex["messages"])
        if len(e.input_ids) > max_seq_length:
            counts["dropped_too_long"] += 1
            continue
        if e.n_supervised == 0:
            counts["dropped_no_target"] += 1
            continue
        out.append(e)
    counts["kept"] = len(out)
    return out, counts


def epoch_batches(n_examples: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Micro-batches of example indices for one epoch: a seeded shuffle, cut in order.

    The plan is a pure function of ``(n, batch_size, seed, epoch)``, so a resumed run rebuilds it
    and skips what it already did.
    """
    order = list(range(n_examples))
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return [order[i : i + batch_size] for i in range(0, n_examples, batch_size)]


def collate(batch: Sequence[Encoded], pad_id: int) -> dict[str, Any]:
    """Right-pad a micro-batch into tensors ``input_ids``, ``attention_mask``, ``labels``."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for r, e in enumerate(batch):
        n = len(e.input_ids)
        ids[r, :n] = torch.tensor(e.input_ids)
        labels[r, :n] = torch.tensor(e.labels)
        mask[r, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
