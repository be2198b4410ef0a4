"""The logit lens: which language a causal LM's layers point at while it translates a word.

Prompts are few-shot word translations from a source language S into L (``French: "lundi" -
Spanish: "lunes"``), built from CLDR display names (months, weekdays, countries, languages via
:func:`polyalign.data.corpora.babel_pairs`) in S, L and English, joined on the English name: each
item's L word is the answer and its English word is the "latent" answer the model never sees.

At every layer, the hidden state at the last position goes through the model's own final norm
and unembedding (and logit soft-capping, where the model has it); the last layer uses the model's
real logits, since transformers already applies the final norm to the last ``hidden_states``
entry. Per layer: the probability mass of each answer's token set and the entropy.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from polyalign import langs
from polyalign.analysis.capture import batch_inputs
from polyalign.data.corpora import babel_pairs
from polyalign.io import InputError

_WORD = re.compile(r"^[^\s\"'()\[\],.;:/-]+$")


def word_items(lang: str, source_lang: str) -> list[dict[str, str]]:
    """``{"en", "src", "tgt", "origin"}`` single-word CLDR names known in English, S and L.

    Words with spaces or punctuation, and items where any two of the three words are equal, are
    left out. Order is that of the CLDR tables (deterministic).
    """

    def table(code: str) -> dict[tuple[str, str], str]:
        return {(p.origin, p.src): p.tgt for p in babel_pairs(code)}

    tgt, src = table(lang), table(source_lang)
    out = []
    for (origin, en), t in tgt.items():
        s = src.get((origin, en))
        if s is None or not all(_WORD.match(w) for w in (en, s, t)):
            continue
        if len({en.casefold(), s.casefold(), t.casefold()}) < 3:
            continue
        out.append({"en": en, "src": s, "tgt": t, "origin": origin})
    return out


def prompt(item: dict[str, str], demos: Sequence[dict[str, str]], source_lang: str, lang: str) -> str:
    """A few-shot translation prompt ending just before the answer word.

    >>> prompt({"src": "mardi", "tgt": "martes"}, [{"src": "lundi", "tgt": "lunes"}], "fr", "es")
    'French: "lundi" - Spanish: "lunes"\\nFrench: "mardi" - Spanish: "'
    """
    s, t = langs.name(source_lang), langs.name(lang)
    lines = [f'{s}: "{d["src"]}" - {t}: "{d["tgt"]}"' for d in demos]
    return "\n".join([*lines, f'{s}: "{item["src"]}" - {t}: "'])


def _byte_level_chars() -> dict[int, str]:
    """The byte → printable character table of byte-level BPE vocabularies (GPT-2's scheme)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class VocabIndex:
    """Every token's text (as it reads after other text, so leading spaces survive), and byte tokens."""

    def __init__(self, tokenizer: Any) -> None:
        vocab = tokenizer.get_vocab()
        anchor = tokenizer.convert_tokens_to_ids(next(t for t in ("a", "▁a", "Ġa") if t in vocab))
        head = tokenizer.decode([anchor], clean_up_tokenization_spaces=False)
        texts = tokenizer.batch_decode([[anchor, i] for i in range(len(tokenizer))], clean_up_tokenization_spaces=False)
        self.by_text: dict[str, set[int]] = {}
        for i, text in enumerate(texts):
            if text.startswith(head):
                self.by_text.setdefault(text[len(head) :], set()).add(i)
        byte_level = "ByteLevel" in str(getattr(getattr(tokenizer, "backend_tokenizer", None), "decoder", ""))
        chars = _byte_level_chars()
        self.byte: dict[int, int] = {}
        for b in range(256):
            tid = vocab.get(f"<0x{b:02X}>")
            if tid is None and byte_level:
                tid = vocab.get(chars[b])
            if tid is not None:
                self.byte[b] = tid

    def token_set(self, word: str) -> set[int]:
        """Tokens that start ``word``: every prefix, with and without a leading space, and its first byte."""
        ids: set[int] = set()
        for i in range(1, len(word) + 1):
            for text in (word[:i], " " + word[:i]):
                ids |= self.by_text.get(text, set())
        first = word.encode("utf-8")[0]
        if first in self.byte:
            ids.add(self.byte[first])
        return ids


def overlapping(index: VocabIndex, a: str, b: str) -> bool:
    """Whether two words' token sets share a token, also with either word's first letter in the other case.

    CLDR writes "January" and "Mirandese" but "enero" and "mirandés": without the case check a
    model that writes " M" would count as thinking in English, though " M" may start either word.
    """

    def variants(w: str) -> set[int]:
        return index.token_set(w) | index.token_set(w[:1].swapcase() + w[1:])

    return bool(variants(a) & variants(b))


def output_head(model: Any) -> tuple[torch.nn.Module, torch.nn.Module, float | None]:
    """``(final norm, unembedding, soft-cap)`` of a causal LM; an unknown layout is an InputError."""
    body = model.base_model
    norm = next(
        (
            getattr(body, n)
            for n in ("norm", "ln_f", "final_layernorm", "final_layer_norm")
            if isinstance(getattr(body, n, None), torch.nn.Module)
        ),
        None,
    )
    if norm is None:
        raise InputError(f"the logit lens cannot find the final norm of {type(model).__name__}")
    cap = getattr(model.config, "final_logit_softcapping", None)
    return norm, model.get_output_embeddings(), float(cap) if cap else None


def lens_logits(
    h: torch.Tensor, head: tuple[torch.nn.Module, torch.nn.Module, float | None], normed: bool = False
) -> torch.Tensor:
    """float32 logits of hidden states ``h`` read through the output head (norm skipped when ``normed``)."""
    norm, unembed, cap = head
    logits = unembed(h if normed else norm(h)).float()
    return torch.tanh(logits / cap) * cap if cap else logits


@torch.inference_mode()
def layer_probabilities(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    sets: Sequence[tuple[list[int], list[int]]],
    batch_size: int = 16,
) -> np.ndarray:
    """``(items, layers, 3)``: per item and layer the mass of the English set, of the L set, and the entropy (bits).

    Layers are the embedding output, each block, and (last) the model's real next-token distribution.
    """
    head = output_head(model)
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out = []
    for start in range(0, len(prompts), batch_size):
        ids = tokenizer(list(prompts[start : start + batch_size]), add_special_tokens=True)["input_ids"]
        inputs = {k: v.to(device) for k, v in batch_inputs(ids, pad_id, "left").items()}
        res = model(**inputs, output_hidden_states=True, use_cache=False, logits_to_keep=1)
        real = res.logits[:, -1].float()
        check = lens_logits(res.hidden_states[-1][:, -1], head, normed=True)
        if not torch.allclose(check, real, atol=1e-3 * (1 + real.abs().max().item())):
            raise InputError(
                f"the logit lens does not reproduce {type(model).__name__}'s own logits from its last hidden state"
            )
        layers = [lens_logits(h[:, -1], head) for h in res.hidden_states[:-1]] + [real]
        logp = torch.stack(layers, dim=1).log_softmax(dim=-1)  # (batch, layers, vocab)
        p = logp.exp()
        entropy = -(p * logp).sum(dim=-1) / np.log(2)
        for b in range(len(ids)):
            en, tgt = sets[start + b]
            out.append(torch.stack([p[b][:, en].sum(-1), p[b][:, tgt].sum(-1), entropy[b]], dim=-1).cpu().numpy())
    return np.stack(out)


def mean_interval(
    values: np.ndarray, lower: float | None = None, upper: float | None = None
) -> tuple[float, float, float]:
    """Mean and its 95% normal interval (mean ± 1.96 standard errors) over the first axis, the
    interval clipped to ``[lower, upper]``.

    A mean of probabilities cannot leave ``[0, 1]``, but the normal interval of a few items near 0
    does (``p_lang_lo`` -0.052 over 4 items): the lens clips probabilities to ``[0, 1]`` and
    entropy at 0, so a bound is never one no value could take.

    >>> [round(v, 3) for v in mean_interval(np.array([0.0, 0.0, 0.0, 0.4]), 0.0, 1.0)]
    [0.1, 0.0, 0.296]
    """
    m = float(values.mean())
    half = 1.96 * float(values.std(ddof=1)) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    lo, hi = m - half, m + half
    if lower is not None:
        lo = max(lo, lower)
    if upper is not None:
        hi = min(hi, upper)
    return m, float(lo), float(hi)


def run_lens(
    model: Any,
    tokenizer: Any,
    lang: str,
    source_lang: str | None = None,
    shots: int = 5,
    limit: int = 200,
    batch_size: int = 16,
    seed: int = 0,
) -> dict[str, Any]:
    """The logit lens of ``model`` on word translation into ``lang``: what ``lens.json`` holds."""
    lang = langs.base(langs.normalize(lang))
    source_lang = langs.base(langs.normalize(source_lang or ("de" if lang == "fr" else "fr")))
    if "en" in (lang, source_lang) or lang == source_lang:
        raise InputError(
            f"the lens needs a target ({lang}) and a source ({source_lang}) that differ and are not English"
        )
    index = VocabIndex(tokenizer)
    items, dropped = [], 0
    for it in word_items(lang, source_lang):
        en, tgt = index.token_set(it["en"]), index.token_set(it["tgt"])
        if overlapping(index, it["en"], it["tgt"]) or not en or not tgt:
            dropped += 1
            continue
        items.append({**it, "en_tokens": sorted(en), "tgt_tokens": sorted(tgt)})
    if len(items) < shots + 2:
        raise InputError(
            f"only {len(items)} usable {source_lang}->{lang} words in CLDR (after dropping {dropped} "
            "whose English and target token sets overlap): too few for the lens"
        )
    rng = random.Random(seed)
    chosen = rng.sample(items, min(limit, len(items)))
    prompts = []
    for it in chosen:
        demos = rng.sample([d for d in items if d is not it], shots)
        prompts.append(prompt(it, demos, source_lang, lang))
    probs = layer_probabilities(
        model, tokenizer, prompts, [(it["en_tokens"], it["tgt_tokens"]) for it in chosen], batch_size
    )
    layers = []
    for layer in range(probs.shape[1]):
        row: dict[str, Any] = {"layer": layer}
        for k, name in enumerate(("p_en", "p_lang", "entropy")):
            m, lo, hi = mean_interval(probs[:, layer, k], 0.0, 1.0 if name != "entropy" else None)
            row |= {name: m, f"{name}_lo": lo, f"{name}_hi": hi}
        layers.append(row)
    return {
        "lang": lang,
        "source_lang": source_lang,
        "items": len(chosen),
        "usable_items": len(items),
        "dropped_overlap": dropped,
        "shots": shots,
        "seed": seed,
        "layers": layers,
        "dropped": "items whose English and target token sets overlap (first letter in either case)",
        "interval": "95% normal interval of the mean over items, clipped to [0, 1] (entropy: at 0)",
        "entropy_unit": "bits",
        "last_layer": "the model's real logits",
        "data": "CLDR display names (babel)",
        "examples": [{"prompt": p, "answer": it["tgt"], "english": it["en"]} for p, it in zip(prompts[:3], chosen[:3])],
    }
