"""Batched greedy generation with Hugging Face models.

Prompts are sorted by length so each batch pads little, padded on the left so every sequence
ends where generation starts, and each sequence stops at its own end-of-turn token. Results come
back in the caller's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from polyalign.models import end_of_turn_ids


def chat_prompt(tokenizer: Any, user: str, system: str | None = None) -> str:
    """``user`` wrapped in the model's chat template, ready for the assistant's reply."""
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@torch.inference_mode()
def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    batch_size: int = 16,
    max_new_tokens: int = 128,
    desc: str = "generate",
) -> list[str]:
    """Greedy continuations of ``prompts`` (already formatted), decoded without special tokens."""
    stop = end_of_turn_ids(tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop[0]
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)
    outputs: list[str] = [""] * len(prompts)
    model.eval()
    with tqdm(total=len(prompts), desc=desc, unit="ex", dynamic_ncols=True) as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                n = len(encoded[i])
                ids[r, width - n :] = torch.tensor(encoded[i])
                mask[r, width - n :] = 1
            out = model.generate(
                input_ids=ids.to(model.device),
                attention_mask=mask.to(model.device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=stop,
                pad_token_id=pad_id,
            )
            for r, i in enumerate(idx):
                outputs[i] = tokenizer.decode(out[r, width:], skip_special_tokens=True).strip()
            bar.update(len(idx))
    return outputs
