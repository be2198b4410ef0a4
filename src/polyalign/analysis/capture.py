"""Per-layer pooled hidden states of any causal LM, streamed batch by batch.

A sentence becomes one vector per layer (the embedding output, then every block's output; the
last one carries the final norm, as transformers returns it): the mean over its content tokens
(``mean``), the mean over every real token (``mean-all``), or its last real token (``last``).
Padding and special tokens such as BOS are never pooled; means divide by the count of pooled
tokens, never by the padded length. Pooling runs in float32 whatever the model's dtype. Batches
are length-sorted to waste little on padding, and position ids come from the attention mask, so
left and right padding give the same vectors.

Content tokens (``mean``) leave out attention sinks, which otherwise dominate a mean: a causal
LM parks huge activations on the first position of a sequence (on BOS when the tokenizer adds
one, which is special and left out anyway; on the sentence's first word when it adds none, as
SmolLM2's does, where that word's state reaches 30-200 times the median token norm) and sometimes on a
few delimiter tokens ("massive activations", Sun et al. 2024, arXiv:2402.17762). Two rules:

1. with no BOS, the first token of the sentence is left out (unless it is the only one);
2. at every layer, a position whose hidden-state norm exceeds :data:`MASSIVE_FACTOR` × the
   (lower) median norm of that sentence's remaining tokens at that layer is left out there.
   The median token and every token below it remain, so at least half the tokens are pooled.

:class:`Dropped` counts what the rules left out, per layer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

Pool = Literal["mean", "mean-all", "last"]

MASSIVE_FACTOR = 10.0
"""A position is massive at a layer when its hidden-state norm exceeds this many times the
sentence's median token norm there. Measured on the bundled SmolLM2-135M-Instruct (40 English
and 40 Spanish polyinstruct sentences): the first token (the sink) is 30-200 times the median of
the others in layers 12-28; every other token stays within 3.6 times it, except in layers 3-9,
where a bare-space token or "the" reaches 8-12 times (a few positions, dropped at layers 3-4 and
counted). Sun et al. report massive activations thousands of times the median activation; 10
keeps a mean from being carried by one token and leaves ordinary tokens alone."""

CONTENT_RULE = (
    "mean over content tokens: special tokens left out; with no BOS the first token of each sentence "
    "left out (the attention sink) unless it is the only one; at each layer, positions whose hidden-state "
    "norm exceeds massive_factor x the lower median norm of the sentence's remaining tokens left out there"
)


@dataclass
class Dropped:
    """What content pooling left out: sentences seen, first tokens dropped, massive positions per layer."""

    sentences: int = 0
    """Sentences pooled."""
    tokens: int = 0
    """Content tokens before the massive-activation rule (summed over sentences)."""
    first: int = 0
    """Sentences whose first token was left out (no BOS: the attention sink)."""
    massive: list[int] = field(default_factory=list)
    """Per layer (embedding output first): positions left out as massive, summed over sentences."""

    def add_massive(self, counts: Sequence[int]) -> None:
        """Add one batch's per-layer counts."""
        if not self.massive:
            self.massive = [0] * len(counts)
        self.massive = [a + int(b) for a, b in zip(self.massive, counts)]


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


def drop_first_sink(keep: Sequence[int]) -> tuple[list[int], bool]:
    """``keep`` without position 0 when position 0 is a kept (not special) token and another remains.

    Position 0 not special means the tokenizer added no BOS, so the sentence's first word is the
    attention sink. Returns the new mask and whether it dropped anything.

    >>> drop_first_sink([1, 1, 1]), drop_first_sink([0, 1, 1]), drop_first_sink([1, 0])
    (([0, 1, 1], True), ([0, 1, 1], False), ([1, 0], False))
    """
    k = list(keep)
    if k and k[0] and sum(k) > 1:
        k[0] = 0
        return k, True
    return k, False


def massive_positions(norms: torch.Tensor, keep: torch.Tensor, factor: float = MASSIVE_FACTOR) -> torch.Tensor:
    """``(layers, batch, length)`` bool: kept positions whose norm exceeds ``factor`` × the lower
    median of the kept norms of their sentence at that layer.

    ``norms`` is ``(layers, batch, length)``, ``keep`` ``(batch, length)`` with 0 on padding and
    on tokens not pooled. A sentence whose median is 0 has no massive position.
    """
    kept = keep.to(norms.device).bool().unsqueeze(0).expand_as(norms)
    median = torch.nanmedian(torch.where(kept, norms, torch.full_like(norms, float("nan"))), dim=2).values
    limit = (factor * median).unsqueeze(2)
    return kept & (norms > limit) & (median > 0).unsqueeze(2)


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

    ``keep`` (batch, length), or (layers, batch, length) for a mask per layer, marks the tokens
    to pool; padding must be 0 there. ``mean`` and ``mean-all`` average what ``keep`` marks (the
    caller chooses the tokens); ``last`` takes the last marked token of the first layer's mask.
    """
    keep = keep.to(states[0].device)
    if pool in ("mean", "mean-all"):
        per_layer = keep if keep.dim() == 3 else keep.unsqueeze(0).expand(len(states), *keep.shape)
        weights = per_layer.float() / per_layer.sum(dim=2, keepdim=True).float()
        return torch.stack([torch.einsum("btd,bt->bd", h.float(), w) for h, w in zip(states, weights)])
    if keep.dim() == 3:
        keep = keep[0]
    if pool == "last":
        width = keep.shape[1]
        last = width - 1 - torch.argmax(keep.flip(1), dim=1)
        rows = torch.arange(keep.shape[0], device=keep.device)
        return torch.stack([h[rows, last].float() for h in states])
    raise ValueError(f"pool must be 'mean', 'mean-all' or 'last', not {pool!r}")


@torch.inference_mode()
def pooled_batches(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    pool: Pool = "mean",
    batch_size: int = 32,
    max_length: int = 256,
    padding_side: str | None = None,
    massive_factor: float = MASSIVE_FACTOR,
    dropped: Dropped | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(item indices, pooled (layers, len(indices), dim) float32)`` for each length-sorted batch.

    ``mean`` pools content tokens (the module's two rules, ``massive_factor`` the second's);
    ``dropped``, when given, counts what they left out. Runs the model's body only (no
    vocabulary projection: it is not needed here).
    """
    if pool not in ("mean", "mean-all", "last"):
        raise ValueError(f"pool must be 'mean', 'mean-all' or 'last', not {pool!r}")
    side = padding_side or getattr(tokenizer, "padding_side", "right")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids, keep = encode(tokenizer, texts, max_length)
    if pool == "mean":
        firsts = [drop_first_sink(k) for k in keep]
        keep = [k for k, _ in firsts]
        if dropped is not None:
            dropped.sentences += len(keep)
            dropped.first += sum(d for _, d in firsts)
            dropped.tokens += sum(map(sum, keep))
    body = model.base_model
    device = next(model.parameters()).device
    for rows in length_batches([len(x) for x in ids], batch_size):
        inputs = batch_inputs([ids[i] for i in rows], pad_id, side)
        keep_mask = pad_batch([keep[i] for i in rows], 0, side)
        out = body(**{k: v.to(device) for k, v in inputs.items()}, output_hidden_states=True, use_cache=False)
        states = out.hidden_states
        if pool == "mean":
            norms = torch.stack([h.float().norm(dim=-1) for h in states])
            massive = massive_positions(norms, keep_mask, massive_factor)
            if dropped is not None:
                dropped.add_massive(massive.sum(dim=(1, 2)).tolist())
            pooled = pool_states(states, keep_mask.to(massive.device).bool().unsqueeze(0) & ~massive, pool)
        else:
            pooled = pool_states(states, keep_mask, pool)
        yield rows, pooled.cpu().numpy()
