"""Batched greedy generation: Hugging Face models on any device, vLLM when installed with a GPU.

The Hugging Face path is a plain greedy decoding loop with a KV cache:

* prompts are sorted by length so each batch pads little, and padded on the left so every row
  ends where generation starts;
* the prefix all prompts share (chat header, instruction, few-shot demonstrations) is computed once
  and reused by every batch (:mod:`polyalign.eval.prefix`);
* logits are computed for the last position only;
* each step writes its keys and values into room reserved after the prefill, instead of copying the
  whole cache to append one column (:func:`polyalign.eval.prefix.reserve`);
* a row stops at an end-of-turn token or when its text contains a stop string, and finished rows
  leave the batch, so a batch costs what its longest answer costs only while that answer is alone;
* with ``first_line`` (short answers, where only the first non-empty line is read) a row also stops
  once that line is complete, and its output is that line: decoding on could not change it.

Outputs come back in the caller's order, cut before the first stop string, stripped.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import torch

from polyalign.eval.prefix import Prefix, PrefixCache, call, forward, reserve
from polyalign.io import progress
from polyalign.models import end_of_turn_ids


def chat_prompt(tokenizer: Any, user: str | list[dict[str, str]], system: str | None = None) -> str:
    """``user`` (a message, or a whole conversation) in the model's chat template, ready for the reply."""
    messages = user if isinstance(user, list) else [{"role": "user", "content": user}]
    if system:
        messages = [{"role": "system", "content": system}, *messages]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` before the first stop string, and whether one was found.

    >>> cut_at_stop("Madrid\\nQuestion: next", ["\\nQuestion:"])
    ('Madrid', True)
    """
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def complete_first_line(text: str) -> str | None:
    """The first non-empty line of ``text`` (stripped) once a line break ends it, else ``None``.

    Lines are split as :meth:`str.splitlines` splits them, so the line is the one a reader taking
    ``next(l.strip() for l in out.splitlines() if l.strip())`` of any longer output would get.

    >>> complete_first_line("\\n Madrid \\nQuestion"), complete_first_line("\\nMadrid")
    ('Madrid', None)
    """
    for line in text.splitlines(keepends=True):
        if line.strip():
            return line.strip() if line.splitlines()[0] != line else None
    return None


def line_safe(stop: Sequence[str]) -> bool:
    """Whether no stop string can match across the end of a line and so cut a complete first line
    short: none holds a line break after its first character."""
    return all(len(s) < 2 or s[1:].splitlines() == [s[1:]] for s in stop)


def per_prompt(max_new_tokens: int | Sequence[int], n: int) -> list[int]:
    """``max_new_tokens`` as one cap per prompt of ``n`` (one number: the same for all)."""
    caps = [max_new_tokens] * n if isinstance(max_new_tokens, int) else list(max_new_tokens)
    if len(caps) != n:
        raise ValueError(f"{len(caps)} max_new_tokens for {n} prompts")
    return caps


@torch.inference_mode()
def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    batch_size: int = 16,
    max_new_tokens: int | Sequence[int] = 128,
    desc: str = "generate",
    stop: Sequence[str] = (),
    share_prefix: bool = True,
    first_line: bool = False,
    prefix_cache: PrefixCache | None = None,
) -> list[str]:
    """Greedy continuations of ``prompts`` (already formatted), decoded without special tokens.

    ``max_new_tokens``: the longest continuation, for every prompt or one per prompt.
    ``first_line``: stop each row at the end of its first non-empty line and return that line (the
    same line the full continuation starts with), for answers of which only that line is read.
    ``prefix_cache``: shared prefixes run before for this model (see :class:`PrefixCache`)."""
    caps = per_prompt(max_new_tokens, len(prompts))
    eot = end_of_turn_ids(tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eot[0]
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    prefix = Prefix.build(model, encoded, cache=prefix_cache) if share_prefix and len(encoded) > 1 else Prefix.empty()
    suffixes = [e[prefix.length :] for e in encoded]
    order = sorted(range(len(prompts)), key=lambda i: len(suffixes[i]), reverse=True)
    outputs: list[str] = [""] * len(prompts)
    eot_t = torch.tensor(eot, device=model.device)
    first_line = first_line and line_safe(stop)
    model.eval()
    with progress(len(prompts), desc, "ex") as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            texts = _decode_batch(
                model,
                tokenizer,
                [suffixes[i] for i in idx],
                prefix,
                pad_id,
                eot_t,
                [caps[i] for i in idx],
                stop,
                first_line,
            )
            for i, t in zip(idx, texts):
                outputs[i] = t
            bar.update(len(idx))
    return outputs


def _decode_batch(model, tokenizer, suffixes, prefix, pad_id, eot_t, caps, stop, first_line=False) -> list[str]:
    """Greedy decoding of one batch; row ``i`` stops after ``caps[i]`` tokens at most."""
    logits, cache, mask, pos = forward(model, suffixes, prefix, pad_id, logits_to_keep=1, use_cache=True)
    max_new_tokens = max(caps)
    cache = reserve(cache, max_new_tokens)
    n = len(suffixes)
    generated: list[list[int]] = [[] for _ in range(n)]
    texts = [""] * n
    alive = list(range(n))  # rows of the original batch still decoding, in cache order
    mask = mask.to(model.device)
    pos = pos.to(model.device)
    for step in range(max_new_tokens):
        nxt = logits[:, -1, :].argmax(dim=-1)
        finished = torch.isin(nxt, eot_t).tolist()
        tokens = nxt.tolist()
        keep = []
        for j, row in enumerate(alive):
            if finished[j]:
                continue
            generated[row].append(tokens[j])
            if stop or first_line:
                text, hit = cut_at_stop(tokenizer.decode(generated[row], skip_special_tokens=True), stop)
                if hit:
                    texts[row] = text
                    continue
                line = complete_first_line(text) if first_line else None
                if line is not None:
                    texts[row] = line
                    continue
            if len(generated[row]) < caps[row]:
                keep.append(j)
        if not keep or step == max_new_tokens - 1:
            break
        if len(keep) < len(alive):
            sel = torch.tensor(keep, device=model.device)
            cache.batch_select_indices(sel)
            nxt, mask, pos = nxt[sel], mask[sel], pos[sel]
            alive = [alive[j] for j in keep]
        mask = torch.cat([mask, torch.ones((len(alive), 1), dtype=mask.dtype, device=mask.device)], dim=1)
        pos = pos + 1
        out = call(
            model,
            input_ids=nxt[:, None],
            attention_mask=mask,
            position_ids=pos[:, None],
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        logits = out.logits
    for row in range(n):
        if not texts[row]:
            texts[row] = cut_at_stop(tokenizer.decode(generated[row], skip_special_tokens=True), stop)[0]
    return [t.strip() for t in texts]


# ---------------------------------------------------------------------------------------------
# vLLM


def vllm_available() -> bool:
    """vLLM is installed and a CUDA device is visible."""
    return importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()


def generate_vllm(
    model_path: str,
    tokenizer: Any,
    prompts: Sequence[str],
    max_new_tokens: int | Sequence[int] = 128,
    stop: Sequence[str] = (),
    seed: int = 0,
    adapter: str | None = None,
    dtype: str = "auto",
    trust_remote_code: bool = False,
) -> list[str]:
    """Greedy continuations with vLLM (prompts already formatted); needs vLLM and a GPU.

    Prompts go in as token ids from ``tokenizer`` (no special tokens added), exactly as the
    Hugging Face path sees them; vLLM's prefix caching plays the part of the shared prefix.
    """
    from vllm import LLM, SamplingParams

    llm = LLM(
        model=str(model_path),
        dtype=dtype,
        seed=seed,
        enable_lora=adapter is not None,
        trust_remote_code=trust_remote_code,
        enable_prefix_caching=True,
    )
    caps = per_prompt(max_new_tokens, len(prompts))
    params = [SamplingParams(temperature=0.0, max_tokens=c, stop=list(stop) or None) for c in caps]
    kwargs: dict[str, Any] = {}
    if adapter is not None:
        from vllm.lora.request import LoRARequest

        kwargs["lora_request"] = LoRARequest("adapter", 1, str(adapter))
    inputs = [{"prompt_token_ids": tokenizer(p, add_special_tokens=False)["input_ids"]} for p in prompts]
    results = llm.generate(inputs, params, **kwargs)
    return [r.outputs[0].text.strip() for r in results]
