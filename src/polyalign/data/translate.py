"""Translate instruction sets, journaled so that a killed job resumes without loss or repeats.

A :class:`Translator` turns strings of one language into another. Three backends:

* :class:`HttpTranslator`: an OpenAI-compatible ``/chat/completions`` endpoint (a hosted API or a
  local vLLM server) with a concurrency limit, retries with exponential backoff on 429, 5xx and
  timeouts, and short strings batched into one request. The API key is read from the
  environment variable the recipe names, and is never logged or written anywhere.
* ``seq2seq``: a Hugging Face MT model (MarianMT, NLLB, M2M100, T5), batched, with language codes
  mapped to the model's convention (:mod:`polyalign.data.translate_models`).
* ``self``: the model being tuned, prompted few-shot with polyinstruct's parallel items.

What gets translated is protected: fenced code blocks are never sent; inline code, URLs, numbers
and format placeholders are replaced by markers (``⟦0⟧``) that must come back unchanged, or the
translation is rejected and counted; so is a blank one. A rejected translation is never journaled,
so the next run sends it again.

Every translated segment is appended to a *journal* as soon as it arrives, keyed by a hash of
(backend signature, languages, text); its first line names the input it belongs to, so a job for
another input whose output would have the same name is refused. A rerun, after any crash or
``kill -9``, reads the journal and sends only the segments missing from it; the output file is
assembled from the journal alone and written atomically, so it is byte-identical to that of an
uninterrupted run.

This module imports neither torch nor transformers (the model backends do, inside).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from polyalign import langs
from polyalign.data.records import detect_format, read_instructions_as_written
from polyalign.data.translate_journal import Journal, input_identity, read_journal_header, segment_key
from polyalign.http import ChatClient, EndpointError
from polyalign.io import InputError, write_jsonl
from polyalign.outputs import check_output_dir


class TranslateError(EndpointError):
    """A translation backend failed for good (after its retries); the journal keeps what was done."""


class Translator(Protocol):
    """Translates strings; yields ``(index, translation)`` pairs as each one is ready, in any order."""

    signature: str
    """Names the backend, model and settings: journal keys include it, so a change re-translates."""

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> Iterator[tuple[int, str]]: ...


# ---------------------------------------------------------------------------------------------
# Protection: what must survive translation unchanged

_FENCE = re.compile(r"(```.*?```|~~~.*?~~~)", re.S)
_PROTECT = re.compile(
    r"`[^`\n]+`"  # inline code
    r"|https?://\S+|www\.\S+"  # URLs
    r"|%\([^)]+\)[-+ #0]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"  # %(name)s
    r"|%(?:\d+\$)?[-+ #0']*\d*(?:\.\d+)?[diouxXeEfFgGaAcspn]"  # printf
    r"|\{[A-Za-z0-9_]*(?:[:!][^{}]*)?\}"  # {name}, {0:>8}
    r"|\d+(?:[.,:]\d+)*"  # numbers, times, decimals
)
MARKER = "⟦{}⟧"
_MARKER_RE = re.compile(r"⟦(\d+)⟧")


def protect(text: str) -> tuple[str, list[str]]:
    """Replace protected spans with numbered markers; return the masked text and the spans.

    >>> protect("Run `ls -l` 3 times, then open https://example.org")
    ('Run ⟦0⟧ ⟦1⟧ times, then open ⟦2⟧', ['`ls -l`', '3', 'https://example.org'])
    """
    spans: list[str] = []

    def sub(m: re.Match) -> str:
        spans.append(m.group(0))
        return MARKER.format(len(spans) - 1)

    return _PROTECT.sub(sub, text), spans


def restore(translated: str, spans: list[str]) -> str | None:
    """Put the protected spans back; ``None`` when a marker is missing, repeated or unknown.

    >>> restore("Ejecuta ⟦0⟧ ⟦1⟧ veces", ["`ls`", "3"]), restore("Ejecuta veces", ["`ls`"])
    ('Ejecuta `ls` 3 veces', None)
    """
    found = [int(m.group(1)) for m in _MARKER_RE.finditer(translated)]
    if sorted(found) != list(range(len(spans))):
        return None
    return _MARKER_RE.sub(lambda m: spans[int(m.group(1))], translated)


def segments(text: str) -> list[tuple[bool, str]]:
    """Split text into ``(translate?, part)``: fenced code blocks and blank parts are kept as they are.

    >>> segments("Example:\\n```py\\nx = 1\\n```\\nDone.")
    [(True, 'Example:\\n'), (False, '```py\\nx = 1\\n```'), (True, '\\nDone.')]
    """
    out = []
    for i, part in enumerate(_FENCE.split(text)):
        if not part:
            continue
        translate = i % 2 == 0 and bool(_MARKER_RE.sub("", protect(part)[0]).strip(" \n\t.,:;!?-–—()[]\"'"))
        out.append((translate, part))
    return out


def _split_ws(part: str) -> tuple[str, str, str]:
    """Leading whitespace, core, trailing whitespace: only the core is sent."""
    core = part.strip()
    if not core:
        return part, "", ""
    start = part.index(core)
    return part[:start], core, part[start + len(core) :]


def usable(translation: str, spans: list[str]) -> bool:
    """A translation the journal may keep: not blank, and every protected marker back exactly once.

    >>> usable("Ejecuta ⟦0⟧", ["`ls`"]), usable("Ejecuta", ["`ls`"]), usable("  ", [])
    (True, False, False)
    """
    return bool(translation.strip()) and restore(translation, spans) is not None


# ---------------------------------------------------------------------------------------------
# Translating records


@dataclass
class _Slot:
    key: str
    masked: str
    spans: list[str]


def _fields(rec: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """``(path, index, text)`` of every translatable field of a record."""
    if "messages" in rec:
        return [
            ("messages", i, m["content"]) for i, m in enumerate(rec["messages"]) if isinstance(m.get("content"), str)
        ]
    if "conversations" in rec:  # sharegpt, as written: every turn's value, and a system prompt
        turns = [
            ("conversations", i, t["value"])
            for i, t in enumerate(rec["conversations"])
            if isinstance(t, dict) and isinstance(t.get("value"), str)
        ]
        return ([("system", None, rec["system"])] if isinstance(rec.get("system"), str) else []) + turns
    return [(f, None, rec[f]) for f in ("instruction", "input", "output", "system") if isinstance(rec.get(f), str)]


def translate_records(
    records: Iterable[dict[str, Any]],
    translator: Translator,
    src: str,
    tgt: str,
    journal_path: str | os.PathLike,
    chunk: int = 256,
    owner: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Translate every record's text fields into ``tgt``; return the records and the job's counts.

    Segments already in the journal are not sent again; identical segments are sent once. A
    translation that came back blank or without its protected markers is never journaled (see
    :func:`usable`), so the next run sends it again; its record is left out this time and counted
    under ``rejected``. ``owner``: the input the journal records as its own (:func:`input_identity`).
    """
    records = list(records)
    src_name, tgt_name = langs.name(src), langs.name(tgt)
    plans: list[list[tuple[str, Any, list[tuple[str, Any]]]]] = []
    pending: dict[str, _Slot] = {}
    journal = Journal(journal_path, owner)
    counts = {"records": len(records), "segments": 0, "reused": 0, "sent": 0, "rejected": 0}
    try:
        for rec in records:
            plan = []
            for path, idx, text in _fields(rec):
                parts: list[tuple[str, Any]] = []
                for translate, part in segments(text):
                    if not translate:
                        parts.append(("keep", part))
                        continue
                    lead, core, trail = _split_ws(part)
                    masked, spans = protect(core)
                    key = segment_key(translator.signature, src, tgt, masked)
                    parts += [("keep", lead), ("slot", _Slot(key, masked, spans)), ("keep", trail)]
                    counts["segments"] += 1
                    if key in journal.done and usable(journal.done[key], spans):
                        counts["reused"] += 1
                    else:  # new, or kept unusable by an older version: sent (again)
                        pending.setdefault(key, parts[-2][1])
                plan.append((path, idx, parts))
            plans.append(plan)

        keys = list(pending)
        counts["sent"] = len(keys)
        for start in range(0, len(keys), chunk):
            batch = keys[start : start + chunk]
            for i, out in translator.translate([pending[k].masked for k in batch], src_name, tgt_name):
                if usable(out, pending[batch[i]].spans):
                    journal.add(batch[i], out)
        journal.create()
    finally:
        journal.close()

    out_records = []
    for rec, plan in zip(records, plans):
        new = json.loads(json.dumps(rec))
        ok = True
        for path, idx, parts in plan:
            pieces = []
            for kind, value in parts:
                if kind == "keep":
                    pieces.append(value)
                    continue
                done = journal.done.get(value.key)
                restored = restore(done, value.spans) if done is not None and usable(done, value.spans) else None
                if restored is None:
                    ok = False
                    break
                pieces.append(restored)
            if not ok:
                break
            if path == "messages":
                new["messages"][idx]["content"] = "".join(pieces)
            elif path == "conversations":
                new["conversations"][idx]["value"] = "".join(pieces)
            else:
                new[path] = "".join(pieces)
        if ok:
            out_records.append(new)
        else:
            counts["rejected"] += 1
    counts["written"] = len(out_records)
    return out_records, counts


# ---------------------------------------------------------------------------------------------
# The HTTP backend (OpenAI-compatible chat completions)

SYSTEM_ONE = (
    "You are a translation engine. Translate the user's text from {src} to {tgt}. Keep every "
    "marker such as ⟦0⟧ exactly as it is. Reply with the translation only."
)
SYSTEM_BATCH = (
    "You are a translation engine. The user sends a JSON array of texts in {src}. Translate each "
    "one to {tgt}, keeping every marker such as ⟦0⟧ exactly as it is. Reply with a JSON array of "
    "the translations only, with the same length and order."
)


class HttpTranslator:
    """Translation over an OpenAI-compatible endpoint (:class:`~polyalign.http.ChatClient`: its
    retries, concurrency and key handling), with batching.

    Short texts are packed (up to ``max_batch`` texts and ``batch_chars`` characters) into one
    request that asks for a JSON array back; if the reply is not such an array, those texts are
    sent one by one.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        concurrency: int = 4,
        max_retries: int = 5,
        timeout: float = 60.0,
        backoff: float = 1.0,
        batch_chars: int = 1200,
        max_batch: int = 8,
        temperature: float = 0.0,
    ):
        self.client = ChatClient(
            base_url,
            model,
            api_key_env,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            concurrency=concurrency,
            what="translation endpoint",
            error=TranslateError,
            key_setting="translate.api_key_env",
        )
        self.batch_chars = batch_chars
        self.max_batch = max(1, max_batch)
        self.temperature = temperature
        self.signature = f"http|{model}|t{temperature}|prompt-v1"

    @property
    def stats(self) -> dict[str, int]:
        return self.client.stats

    def batches(self, texts: Sequence[str]) -> list[list[int]]:
        """Indices grouped into requests: short texts together, long ones alone, in order."""
        out: list[list[int]] = []
        cur: list[int] = []
        size = 0
        for i, t in enumerate(texts):
            if len(t) * 2 > self.batch_chars or self.max_batch == 1:
                out.append([i])
                continue
            if cur and (len(cur) >= self.max_batch or size + len(t) > self.batch_chars):
                out.append(cur)
                cur, size = [], 0
            cur.append(i)
            size += len(t)
        if cur:
            out.append(cur)
        return out

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> Iterator[tuple[int, str]]:
        groups = self.batches(texts)
        for g, translated in self.client.map(lambda b: self._one_batch([texts[i] for i in b], src, tgt), groups):
            yield from zip(groups[g], translated)

    def _one_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        if len(texts) == 1:
            return [self._complete(SYSTEM_ONE.format(src=src, tgt=tgt), texts[0])]
        reply = self._complete(SYSTEM_BATCH.format(src=src, tgt=tgt), json.dumps(texts, ensure_ascii=False))
        parsed = _json_array(reply)
        if parsed is not None and len(parsed) == len(texts):
            return parsed
        return [self._complete(SYSTEM_ONE.format(src=src, tgt=tgt), t) for t in texts]

    def _complete(self, system: str, user: str) -> str:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return self.client.chat(messages, temperature=self.temperature).strip()


def _json_array(reply: str) -> list[str] | None:
    text = reply.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text.split("\n", 1)[1] if "\n" in text else text
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


# ---------------------------------------------------------------------------------------------
# The job behind `polyalign data translate`


def make_translator(t: Any, model_fallback: str) -> Translator:
    """The backend a recipe's ``translate`` section names (a :class:`~polyalign.config.TranslateConfig`)."""
    if t.backend == "http":
        if not t.model:
            raise InputError("translate.model must name the endpoint's model for backend http")
        return HttpTranslator(
            t.base_url,
            t.model,
            t.api_key_env,
            t.concurrency,
            t.max_retries,
            t.timeout,
            t.backoff,
            t.batch_chars,
            t.max_batch,
        )
    from polyalign.data import translate_models

    if t.backend == "seq2seq":
        if not t.model:
            raise InputError("translate.model must name a Hugging Face MT model (id or folder) for backend seq2seq")
        return translate_models.Seq2SeqTranslator(t.model, t.batch_size, t.max_new_tokens, t.lang_codes)
    return translate_models.SelfTranslator(t.model or model_fallback, t.batch_size, t.max_new_tokens, t.shots)


def check_settings(t: Any) -> None:
    """The ``translate`` settings no job can run with, refused before any request: a ``ValueError``
    that names the key (as a config's own checks do)."""
    if t.max_batch < 1:
        raise ValueError(f"translate.max_batch must be at least 1 (1 sends one text a request), got {t.max_batch}")
    src = langs.normalize(t.source_language)
    if any(langs.normalize(lang) == src for lang in t.target_languages):
        raise ValueError(
            f"translate.target_languages names the source language {src!r} (translate.source_language): "
            "there is nothing to translate into it"
        )


def output_paths(source: str, out_dir: str | os.PathLike, tgt: str) -> tuple[Path, Path]:
    """The output and the journal of ``source`` translated into ``tgt``: the input's name less its
    last suffix, then the language, so inputs that differ before it never share an output.

    >>> [p.name for p in output_paths("data/tips.v1.jsonl", "translated", "es")]
    ['tips.v1.es.jsonl', 'tips.v1.es.journal.jsonl']
    """
    stem = "dataset" if source.startswith("hf:") else Path(source).stem
    return Path(out_dir) / f"{stem}.{tgt}.jsonl", Path(out_dir) / f"{stem}.{tgt}.journal.jsonl"


def run_translation_job(t: Any, model_fallback: str) -> dict[str, Any]:
    """Translate ``t.input`` into every target language; write outputs; return a report."""

    if not t.input:
        raise InputError("translate.input names no file to translate")
    try:
        check_settings(t)
    except ValueError as e:
        raise InputError(str(e)) from None
    fmt = t.format
    if fmt == "auto":
        fmt = detect_format(t.input)
    src = langs.check(t.source_language)
    targets = [langs.check(lang) for lang in t.target_languages]  # every code, before any work
    records = list(read_instructions_as_written(t.input, fmt))
    if not records:
        raise InputError("holds no records to translate (an empty file)", t.input)
    out_dir = check_output_dir(t.output_dir)
    owner = input_identity(t.input)
    for tgt in targets:
        _check_translation_output(*output_paths(t.input, out_dir, tgt), t.input, owner)
    translator = make_translator(t, model_fallback)
    report: dict[str, Any] = {"input": t.input, "format": fmt, "backend": translator.signature, "languages": {}}
    for tgt in targets:
        out_path, journal = output_paths(t.input, out_dir, tgt)
        rows, counts = translate_records(records, translator, src, tgt, journal, owner=owner)
        write_jsonl(out_path, rows)
        report["languages"][tgt] = {**counts, "output": str(out_path), "journal": str(journal)}
    if isinstance(translator, HttpTranslator):
        report["http"] = dict(translator.stats)
    return report


def _check_translation_output(out_path: Path, journal: Path, source: str, owner: dict[str, Any]) -> None:
    """An output is written only where this job wrote before (its journal is beside it and names
    this input, or none), never over the input, a file of the user's or another input's translation."""
    if not source.startswith("hf:") and out_path.resolve() == Path(source).resolve():
        raise InputError("would be overwritten by its own translation: choose another translate.output_dir", source)
    if out_path.is_dir():
        raise InputError("is a folder, expected a file", out_path)
    if out_path.exists() and not journal.is_file():
        raise InputError(
            f"exists and was not written by a translation job (no {journal.name} beside it): "
            "move it, or choose another translate.output_dir",
            out_path,
        )
    theirs = read_journal_header(journal) if journal.is_file() else None
    if theirs is None:  # no journal, or one from before journals named their input
        return
    same_bytes = owner["sha256"] is not None and theirs.get("sha256") == owner["sha256"]
    if theirs["input"] != owner["input"] and not same_bytes:
        raise InputError(
            f"is the translation of another input, {theirs['input']} (its journal {journal.name} says so), "
            f"not of {owner['input']}: choose another translate.output_dir (nothing was changed)",
            out_path if out_path.exists() else journal,
        )
