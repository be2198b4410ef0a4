"""Per-layer pooled hidden states of any causal LM, streamed batch by batch.

A sentence becomes one vector per layer (the embedding output, then every block's output; the
last one carries the final norm, as transformers returns it): the mean over its real tokens
(padding and special tokens such as BOS left out, divided by their count, never by the padded
length) or its last real token. Pooling runs in float32 whatever the model's dtype. Batches are
length-sorted to waste little on padding, and position ids come from the attention mask, so left
and right padding give the same vectors.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import torch

Pool = Literal["mean", "last"]


def num_states(model: Any) -> int:
    """How many pooled vectors a sentence gets: the embedding output plus one per block."""
    return int(model.config.num_hidden_layers) + 1


def hidden_size(model: Any) -> int:
    """Width of the hidden states."""
    return int(model.get_input_embeddings().weight.shape[1])


def encode(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], list[list[int]]]:
    """Token ids of every text (with the tokenizer's own special tokens) and which of them to pool.

    A token is pooled unless it is a special token; a text of special tokens only pools them all.
    """
    enc = tokenizer(
        list(texts), add_special_tokens=True, truncation=True, max_length=max_length, return_special_tokens_mask=True
    )
    ids = [list(x) for x in enc["input_ids"]]
    keep = []
    for special in enc["special_tokens_mask"]:
        k = [0 if s else 1 for s in special]
        keep.append(k if any(k) else [1] * len(k))
    return ids, keep


def length_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Item indices in batches of similar length, longest first (a memory error shows at once)."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(rows: Sequence[Sequence[int]], pad: int, side: str, dtype: torch.dtype = torch.long) -> torch.Tensor:
    """Rows padded with ``pad`` on the ``left`` or ``right`` into one tensor."""
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad, dtype=dtype)
    for i, r in enumerate(rows):
        if r:
            if side == "left":
                out[i, width - len(r) :] = torch.tensor(r, dtype=dtype)
            else:
                out[i, : len(r)] = torch.tensor(r, dtype=dtype)
    return out


def batch_inputs(ids: Sequence[Sequence[int]], pad_id: int, side: str) -> dict[str, torch.Tensor]:
    """``input_ids``, ``attention_mask`` and mask-derived ``position_ids`` for one padded batch."""
    input_ids = pad_batch(ids, pad_id, side)
    mask = pad_batch([[1] * len(r) for r in ids], 0, side)
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return {"input_ids": input_ids, "attention_mask": mask, "position_ids": positions}


def pool_states(states: Sequence[torch.Tensor], keep: torch.Tensor, pool: Pool) -> torch.Tensor:
    """``(layers, batch, dim)`` float32 pooled vectors from a model's ``hidden_states``.

    ``keep`` (batch, length) marks the tokens to pool; padding must be 0 there.
    """
    keep = keep.to(states[0].device)
    if pool == "mean":
        weights = keep.float() / keep.sum(dim=1, keepdim=True).float()
        return torch.stack([torch.einsum("btd,bt->bd", h.float(), weights) for h in states])
    if pool == "last":
        width = keep.shape[1]
        last = width - 1 - torch.argmax(keep.flip(1), dim=1)
        rows = torch.arange(keep.shape[0], device=keep.device)
        return torch.stack([h[rows, last].float() for h in states])
    raise ValueError(f"pool must be 'mean' or 'last', not {pool!r}")


@torch.inference_mode()
def pooled_batches(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    pool: Pool = "mean",
    batch_size: int = 32,
    max_length: int = 256,
    padding_side: str | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(item indices, pooled (layers, len(indices), dim) float32)`` for each length-sorted batch.

    Runs the model's body only (no vocabulary projection: it is not needed here).
    """
    side = padding_side or getattr(tokenizer, "padding_side", "right")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids, keep = encode(tokenizer, texts, max_length)
    body = model.base_model
    device = next(model.parameters()).device
    for rows in length_batches([len(x) for x in ids], batch_size):
        inputs = batch_inputs([ids[i] for i in rows], pad_id, side)
        keep_mask = pad_batch([keep[i] for i in rows], 0, side)
        out = body(**{k: v.to(device) for k, v in inputs.items()}, output_hidden_states=True, use_cache=False)
        pooled = pool_states(out.hidden_states, keep_mask, pool)
        yield rows, pooled.cpu().numpy()
