"""Batched forward passes that share one cached prompt prefix.

The prompts of one evaluation task usually begin alike: the chat template's header, the
instruction, the same few-shot demonstrations. That shared prefix is run through the model once;
its keys and values are then reused by every batch, so each example pays only for its own tokens.
Each row of a batch is laid out as ``[prefix][left padding][own tokens]``, with an attention mask
that hides the padding and position ids that continue the prefix, so the last column of every
row is its last real token and logits are computed for that column alone.

A :class:`PrefixCache` keeps the last few prefixes by their tokens, so the tasks and languages of
one evaluation that open alike (the same chat header and instruction) run that prefix once.

Only models whose every layer attends to the full context can reuse a prefix this way; for the
others (sliding-window layers) the prefix is simply empty and nothing changes but speed.
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch


def call(model: Any, **kwargs: Any) -> Any:
    """``model(**kwargs)``; a model that does not take ``logits_to_keep`` computes all logits instead
    (callers read logits counted from the end, so the result is the same).

    ``past_key_values`` goes in under the name the model's ``forward`` takes: transformers 5.x
    renamed it ``cache`` (the old name still works, with a FutureWarning on every call)."""
    if "past_key_values" in kwargs and cache_kwarg(model) != "past_key_values":
        kwargs["cache"] = kwargs.pop("past_key_values")
    try:
        return model(**kwargs)
    except TypeError as e:
        if "logits_to_keep" not in str(e):
            raise
        kwargs.pop("logits_to_keep")
        return model(**kwargs)


def cache_kwarg(model: Any) -> str:
    """The name under which ``model.forward`` takes the key/value cache (through a peft wrapper)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return _cache_kwarg(type(base))


@functools.lru_cache(maxsize=64)
def _cache_kwarg(cls: type) -> str:
    try:
        params = inspect.signature(cls.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix that every sequence shares.

    >>> common_prefix_len([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]])
    2
    """
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for s in seqs[1:]:
        i = 0
        while i < n and s[i] == first[i]:
            i += 1
        n = i
    return n


def full_attention_only(model: Any) -> bool:
    """Whether every layer of ``model`` attends to the whole context (no sliding window)."""
    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    types = getattr(cfg, "layer_types", None)
    if types is not None:
        return all(t == "full_attention" for t in types)
    window = getattr(cfg, "sliding_window", None)
    return window is None or getattr(cfg, "use_sliding_window", True) is False


@dataclass
class Prefix:
    """Keys and values of a shared prefix (``length`` 0: no prefix)."""

    length: int
    layers: list[tuple[torch.Tensor, torch.Tensor]]

    @classmethod
    def empty(cls) -> Prefix:
        return cls(0, [])

    @classmethod
    @torch.inference_mode()
    def build(
        cls, model: Any, seqs: Sequence[Sequence[int]], min_len: int = 4, cache: PrefixCache | None = None
    ) -> Prefix:
        """Run the prefix shared by ``seqs`` (leaving each at least one own token) once, or take it
        from ``cache`` when the same tokens were run before."""
        n = min(common_prefix_len(seqs), min(len(s) for s in seqs) - 1) if seqs else 0
        if n < min_len or not full_attention_only(model):
            return cls.empty()
        key = tuple(seqs[0][:n])
        if cache is not None and (hit := cache.get(key)) is not None:
            return hit
        from transformers import DynamicCache

        ids = torch.tensor([list(key)], device=model.device)
        kv = DynamicCache()
        call(model, input_ids=ids, past_key_values=kv, use_cache=True, logits_to_keep=1)
        prefix = cls(n, [(layer.keys, layer.values) for layer in kv.layers])
        if cache is not None:
            cache.put(key, prefix)
        return prefix

    def cache(self, batch: int) -> Any:
        """A fresh cache holding the prefix for ``batch`` rows (``None`` without a prefix)."""
        if not self.length:
            return None
        from transformers import DynamicCache

        return DynamicCache([(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in self.layers])


class PrefixCache:
    """The last ``size`` prefixes run, by their exact tokens (reused whole, never cut, so a reused
    prefix gives the very numbers a fresh run would).

    For one model whose weights stay as they are while the cache lives: an evaluation's runner
    holds one for the model it evaluates."""

    def __init__(self, size: int = 4):
        self.size = size
        self._items: OrderedDict[tuple[int, ...], Prefix] = OrderedDict()
        self.hits = 0

    def get(self, key: tuple[int, ...]) -> Prefix | None:
        prefix = self._items.get(key)
        if prefix is not None:
            self._items.move_to_end(key)
            self.hits += 1
        return prefix

    def put(self, key: tuple[int, ...], prefix: Prefix) -> None:
        self._items[key] = prefix
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@functools.cache
def reserved_layer_class() -> type:
    """A dynamic cache layer whose keys and values are views into buffers with room to grow.

    transformers' dynamic layer concatenates each new step onto the whole cache, copying every key
    and value of the batch at every step (a sixth of a CPU decoding step at 40 rows). This one
    writes a step's column in place; the views the model reads hold exactly the positions written,
    so attention sees the same numbers. Out of room, it grows by half at once. Built on first use:
    transformers is heavy to import."""
    from transformers.cache_utils import DynamicLayer

    class ReservedLayer(DynamicLayer):
        @classmethod
        def holding(cls, keys: torch.Tensor, values: torch.Tensor, extra: int) -> ReservedLayer:
            layer = cls()
            layer.device, layer.is_initialized, layer._n = keys.device, True, keys.shape[-2]
            layer._k = keys.new_empty(*keys.shape[:2], keys.shape[-2] + extra, keys.shape[-1])
            layer._v = torch.empty_like(layer._k)
            layer._k[:, :, : layer._n] = keys
            layer._v[:, :, : layer._n] = values
            layer._views()
            return layer

        def _views(self) -> None:
            self.keys, self.values = self._k[:, :, : self._n], self._v[:, :, : self._n]

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any):
            end = self._n + key_states.shape[-2]
            if end > self._k.shape[-2]:
                grow = max(end - self._k.shape[-2], self._k.shape[-2] // 2)
                more = self._k.new_empty(*self._k.shape[:2], grow, self._k.shape[-1])
                self._k, self._v = torch.cat([self._k, more], dim=-2), torch.cat([self._v, more], dim=-2)
            self._k[:, :, self._n : end] = key_states
            self._v[:, :, self._n : end] = value_states
            self._n = end
            self._views()
            return self.keys, self.values

        def batch_select_indices(self, indices: torch.Tensor) -> None:
            self._k, self._v = self._k[indices], self._v[indices]
            self._views()

        def crop(self, tokens_to_remove: int) -> None:
            raise NotImplementedError("a reserved decoding cache is not cropped")

    return ReservedLayer


def reserve(cache: Any, extra: int) -> Any:
    """``cache`` (a dynamic cache after its prefill) with room for ``extra`` more positions in each
    full-attention layer (:func:`reserved_layer_class`); layers of other kinds stay as they are."""
    from transformers.cache_utils import DynamicLayer

    layers = getattr(cache, "layers", None)
    if layers:
        cls = reserved_layer_class()
        cache.layers = [
            cls.holding(x.keys, x.values, extra) if type(x) is DynamicLayer and x.get_seq_length() else x
            for x in layers
        ]
    return cache


def left_pad(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, mask)`` with every sequence padded on the left to the longest."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        if s:
            ids[r, width - len(s) :] = torch.tensor(list(s), dtype=torch.long)
            mask[r, width - len(s) :] = 1
    return ids, mask


@torch.inference_mode()
def forward(
    model: Any,
    suffixes: Sequence[Sequence[int]],
    prefix: Prefix,
    pad_id: int,
    logits_to_keep: int = 1,
    use_cache: bool = False,
) -> tuple[torch.Tensor, Any, torch.Tensor, torch.Tensor]:
    """One batched forward pass of ``suffixes`` after the cached ``prefix``.

    Returns ``(logits, cache, attention_mask, last_position)``: logits of the last
    ``logits_to_keep`` columns, the cache (when ``use_cache``) and the mask and per-row position
    of the last token, which a decoding loop continues from.
    """
    ids, mask = left_pad(suffixes, pad_id)
    batch = len(suffixes)
    pos = prefix.length + (mask.cumsum(dim=1) - 1).clamp(min=0)
    full_mask = torch.cat([torch.ones((batch, prefix.length), dtype=torch.long), mask], dim=1)
    cache = prefix.cache(batch)
    if cache is None and use_cache:
        from transformers import DynamicCache

        cache = DynamicCache()
    out = call(
        model,
        input_ids=ids.to(model.device),
        attention_mask=full_mask.to(model.device),
        position_ids=pos.to(model.device),
        past_key_values=cache,
        use_cache=use_cache or cache is not None,
        logits_to_keep=logits_to_keep,
    )
    return out.logits, (cache if use_cache else None), full_mask, pos[:, -1]
