"""Translation backends that run a model here: a Hugging Face MT model, or the model being tuned.

Both implement :class:`polyalign.data.translate.Translator` and import torch and transformers
only when built.

Language codes follow each MT family's convention (:func:`lang_code`):

* **M2M100**: ``__es__`` tokens; the source token starts the input, the target token is forced
  as the first generated token;
* **NLLB**: FLORES-200 codes (``spa_Latn``), same mechanics;
* **Marian**: one model per pair; multi-target models take a ``>>spa<<`` prefix;
* **T5**: a ``translate English to German:`` prefix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

from polyalign import langs
from polyalign.data import resources
from polyalign.hub import resolve

Convention = Literal["auto", "m2m100", "nllb", "marian", "t5", "none"]

_NAME_TO_CODE = {langs.name(c): c for c in langs.known()}


def lang_code(convention: str, lang: str) -> str:
    """The code a model family uses for language ``lang`` (a code or an English name).

    >>> lang_code("m2m100", "es"), lang_code("nllb", "Spanish"), lang_code("marian", "zh"), lang_code("t5", "de")
    ('__es__', 'spa_Latn', '>>zho<<', 'German')
    """
    code = _NAME_TO_CODE.get(lang, lang)
    if convention == "m2m100":
        return f"__{langs.base(code)}__"
    if convention == "nllb":
        return langs.flores(code)
    if convention == "marian":
        return f">>{langs.flores(code).split('_')[0]}<<"
    if convention == "t5":
        return langs.name(code)
    return ""


def detect_convention(model: Any, tokenizer: Any) -> str:
    """Which convention a loaded MT model follows, from its tokenizer and config."""
    kind = type(tokenizer).__name__.lower()
    vocab = tokenizer.get_vocab()
    if "nllb" in kind or "spa_Latn" in vocab or "eng_Latn" in vocab:
        return "nllb"
    if "m2m" in kind or "__en__" in vocab:
        return "m2m100"
    model_type = getattr(model.config, "model_type", "")
    if model_type == "marian":
        return "marian"
    if model_type in ("t5", "mt5"):
        return "t5"
    return "none"


class Seq2SeqTranslator:
    """Any Hugging Face encoder-decoder MT model, batched greedy (or beam) decoding on its device."""

    def __init__(
        self,
        model_name_or_path: str,
        batch_size: int = 16,
        max_new_tokens: int = 256,
        convention: Convention = "auto",
        num_beams: int = 1,
    ):
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        from polyalign.models import require_safetensors

        path = require_safetensors(resolve(model_name_or_path), model_name_or_path)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(path, use_safetensors=True).eval()
        self.convention = detect_convention(self.model, self.tokenizer) if convention == "auto" else convention
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.num_beams = num_beams
        self.signature = f"seq2seq|{model_name_or_path}|{self.convention}|b{num_beams}|n{max_new_tokens}"
        self.batches_run = 0
        self._torch = torch

    def encode(self, texts: Sequence[str], src: str, tgt: str) -> tuple[list[list[int]], int | None]:
        """Token ids of each source text with the convention's markers, and the forced BOS id."""
        tok = self.tokenizer
        conv = self.convention
        forced = None
        if conv in ("m2m100", "nllb"):
            src_code, tgt_code = lang_code(conv, src), lang_code(conv, tgt)
            forced = tok.convert_tokens_to_ids(tgt_code)
            if hasattr(tok, "src_lang"):  # the real M2M100/NLLB tokenizers add the markers themselves
                tok.src_lang = src_code
                ids = [tok(t)["input_ids"] for t in texts]
            else:
                start = tok.convert_tokens_to_ids(src_code)
                end = [tok.eos_token_id] if tok.eos_token_id is not None else []
                ids = [[start, *tok(t, add_special_tokens=False)["input_ids"], *end] for t in texts]
        elif conv == "marian":
            prefix = lang_code(conv, tgt)
            use = prefix in tok.get_vocab()
            ids = [tok((prefix + " " + t) if use else t)["input_ids"] for t in texts]
        elif conv == "t5":
            ids = [tok(f"translate {src} to {tgt}: {t}")["input_ids"] for t in texts]
        else:
            ids = [tok(t)["input_ids"] for t in texts]
        return ids, forced

    def generate_ids(self, ids: list[list[int]], forced: int | None) -> list[list[int]]:
        """Generated ids for one batch (right-padded encoder inputs)."""
        torch = self._torch
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        width = max(len(x) for x in ids)
        input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for r, x in enumerate(ids):
            input_ids[r, : len(x)] = torch.tensor(x)
            mask[r, : len(x)] = 1
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "num_beams": self.num_beams,
            "do_sample": False,
        }
        if forced is not None:
            kwargs["forced_bos_token_id"] = forced
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids, attention_mask=mask, **kwargs)
        return out.tolist()

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> Iterator[tuple[int, str]]:
        ids, forced = self.encode(texts, src, tgt)
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]), reverse=True)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            outs = self.generate_ids([ids[i] for i in idx], forced)
            self.batches_run += 1
            for i, seq in zip(idx, outs):
                yield i, self.tokenizer.decode(seq, skip_special_tokens=True).strip()


class SelfTranslator:
    """The model being tuned, as a translator: a few-shot chat prompt, batched greedy decoding.

    The shots are parallel items of polyinstruct's train split (its instructions in both
    languages), when it has both languages; otherwise the prompt is zero-shot.
    """

    def __init__(
        self,
        model_name_or_path: str,
        batch_size: int = 8,
        max_new_tokens: int = 256,
        shots: int = 3,
        dtype: str = "float32",
    ):
        from polyalign.models import load_model

        self.model, self.tokenizer = load_model(model_name_or_path, dtype)
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.shots = shots
        self.signature = f"self|{model_name_or_path}|shots{shots}|n{max_new_tokens}"

    def examples(self, src: str, tgt: str) -> list[tuple[str, str]]:
        """Up to ``shots`` (source, target) example pairs for the prompt."""

        s, t = _NAME_TO_CODE.get(src, src), _NAME_TO_CODE.get(tgt, tgt)
        if (
            self.shots == 0
            or langs.base(s) not in resources.POLYINSTRUCT_LANGUAGES
            or langs.base(t) not in resources.POLYINSTRUCT_LANGUAGES
        ):
            return []
        a, b = resources.polyinstruct(s, "train"), resources.polyinstruct(t, "train")
        return [(x["instruction"], y["instruction"]) for x, y in zip(a, b)][: self.shots]

    def prompt(self, text: str, src: str, tgt: str, shots: list[tuple[str, str]]) -> str:
        ask = (
            f"Translate from {src} to {tgt}. Keep every marker such as ⟦0⟧ unchanged. "
            "Reply with the translation only.\n\n"
        )
        messages = []
        for a, b in shots:
            messages += [{"role": "user", "content": ask + a}, {"role": "assistant", "content": b}]
        messages.append({"role": "user", "content": ask + text})
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> Iterator[tuple[int, str]]:
        from polyalign.eval.generate import generate

        shots = self.examples(src, tgt)
        for start in range(0, len(texts), self.batch_size):
            chunk = list(range(start, min(start + self.batch_size, len(texts))))
            prompts = [self.prompt(texts[i], src, tgt, shots) for i in chunk]
            outs = generate(
                self.model,
                self.tokenizer,
                prompts,
                batch_size=self.batch_size,
                max_new_tokens=self.max_new_tokens,
                desc="translate",
            )
            yield from zip(chunk, outs)
