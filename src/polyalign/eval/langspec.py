"""Language specs of the evaluation tasks: what one evaluated language setting is and how each kind is written.

Most tasks take a language code (``es``); translation takes a ``src-tgt`` pair (``en-es``; a bare
``es`` means ``en-es``); MLQA takes a ``context-question`` pair (``es-en``; a bare ``es`` means
``es-es``). Each parser checks the codes and returns the canonical :class:`LangSpec`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from polyalign import langs


@dataclass(frozen=True)
class LangSpec:
    """One evaluation language setting of a task."""

    spec: str
    """Canonical name used in results keys (``es``, ``en-es``, ``es-en``)."""
    lang: str
    """Language the answer is expected in (scoring normalisation, fidelity)."""
    src: str | None = None
    """Translation source / MLQA question language."""
    tgt: str | None = None
    """Translation target / MLQA context language."""

    def placeholders(self) -> dict[str, str]:
        d = {"lang": self.spec}
        if self.src and self.tgt:
            d.update(src=self.src, tgt=self.tgt, context=self.tgt, question=self.src)
        return d


def parse_mono(spec: str) -> LangSpec:
    """A one-language spec (``es``), the language checked and made canonical."""
    code = langs.check(spec)
    return LangSpec(code, code)


def pair_parser(default_src: str) -> Callable[[str], LangSpec]:
    """Parse ``src-tgt`` (a bare ``tgt`` means ``default_src-tgt``); locales use ``_`` (``en-pt_BR``)."""

    def parse(spec: str) -> LangSpec:
        a, sep, b = spec.partition("-")
        if not sep:
            a, b = default_src, spec
        a, b = langs.check(a), langs.check(b)
        return LangSpec(f"{a}-{b}", b, a, b)

    return parse


def parse_mlqa(spec: str) -> LangSpec:
    """MLQA names a setting ``context-question``; the answer is in the context language."""
    c, sep, q = spec.partition("-")
    if not sep:
        q = c
    c, q = langs.check(c), langs.check(q)
    return LangSpec(f"{c}-{q}", c, src=q, tgt=c)
