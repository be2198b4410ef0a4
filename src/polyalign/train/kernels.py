"""Two speed-ups for training, each equal to the plain computation within float rounding.

* :func:`fuse_lora`: peft computes a LoRA layer as ``base(x) + lora_B(lora_A(x)) * scaling``:
  three passes over a ``tokens x out_features`` tensor (the rank-r product, the scaling, the
  sum). Here the scaled rank-r product is added to the base output by one ``addmm``, which on a
  CPU is about three times cheaper for those shapes (memory-bound, not compute-bound). Only
  the forward changes: parameters, names and saved adapters stay peft's.
* :func:`varlen_sdpa`: attention over packed examples, one example at a time, causal, with
  PyTorch's SDPA: the block-diagonal mask is never built and no time goes to the masked-out
  blocks. It reads the example boundaries from ``cu_seq_lens_q`` (the keyword flash-attention's
  varlen path reads too) and is registered with transformers as ``polyalign_varlen``.

Tests hold both equal to the plain versions.
"""

from __future__ import annotations

import types
from typing import Any

import torch
import torch.nn.functional as F

VARLEN = "polyalign_varlen"


def _fused_lora_forward(self: Any, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    name = self.active_adapters[0]
    base = self.base_layer
    y = F.linear(x, base.weight, base.bias)
    a = F.linear(self.lora_dropout[name](x.to(self.lora_A[name].weight.dtype)), self.lora_A[name].weight)
    out = y.shape[-1]
    flat = torch.addmm(
        y.reshape(-1, out),
        a.reshape(-1, a.shape[-1]).to(y.dtype),
        self.lora_B[name].weight.t().to(y.dtype),
        alpha=self.scaling[name],
    )
    return flat.view(y.shape)


def fuse_lora(model: torch.nn.Module) -> int:
    """Give every plain LoRA linear layer of ``model`` the fused forward; return how many.

    Layers with several active adapters, a merged adapter, DoRA or another variant, a LoRA
    bias, or a base layer that is not ``nn.Linear`` keep peft's forward.
    """
    try:
        from peft.tuners.lora.layer import Linear as LoraLinear
    except ImportError:
        return 0
    n = 0
    for m in model.modules():
        if not isinstance(m, LoraLinear) or len(m.active_adapters) != 1 or m.merged or m.disable_adapters:
            continue
        name = m.active_adapters[0]
        if (
            name not in m.lora_A
            or name in getattr(m, "lora_variant", {})
            or getattr(m, "lora_bias", {}).get(name)
            or type(m.base_layer) is not torch.nn.Linear
        ):
            continue
        m.forward = types.MethodType(_fused_lora_forward, m)
        n += 1
    return n


def varlen_sdpa(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Causal attention within each packed example of a one-row batch.

    ``query``: ``(1, heads, tokens, dim)``, ``key``/``value``: ``(1, kv_heads, tokens, dim)``;
    ``cu_seq_lens_q``: the examples' start offsets and the total, e.g. ``[0, 5, 9]``. Without
    it, every row is one causal sequence (generation, evaluation).
    """
    cu = kwargs.get("cu_seq_lens_q")
    if attention_mask is not None and attention_mask.ndim == 2 and not bool(attention_mask.all()):
        raise ValueError("polyalign_varlen attention takes packed rows, not padded ones")
    if cu is None:
        bounds = [0, query.shape[2]]
        rows = range(query.shape[0])
    else:
        if query.shape[0] != 1:
            raise ValueError("packed varlen attention expects one row")
        bounds = cu.tolist() if isinstance(cu, torch.Tensor) else list(cu)
        rows = range(1)
    gqa = query.shape[1] != key.shape[1]
    outs = []
    for r in rows:
        parts = [
            F.scaled_dot_product_attention(
                query[r : r + 1, :, s:e],
                key[r : r + 1, :, s:e],
                value[r : r + 1, :, s:e],
                is_causal=True,
                scale=scaling,
                dropout_p=dropout if module.training else 0.0,
                enable_gqa=gqa,
            )
            for s, e in zip(bounds[:-1], bounds[1:])
        ]
        outs.append(torch.cat(parts, dim=2) if len(parts) > 1 else parts[0])
    out = torch.cat(outs, dim=0) if len(outs) > 1 else outs[0]
    return out.transpose(1, 2).contiguous(), None


def register_varlen() -> str:
    """Make ``attn_implementation="polyalign_varlen"`` known to transformers; return the name."""
    from transformers import AttentionInterface

    AttentionInterface.register(VARLEN, varlen_sdpa)
    return VARLEN
