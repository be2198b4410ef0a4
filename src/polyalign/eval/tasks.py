"""Evaluation tasks: what each benchmark is, where its data comes from, how it is prompted.

A task is named on the command line (``--tasks xquad,flores``) and evaluated per *language spec*:
a language code for most tasks, a ``src-tgt`` pair for translation (``en-es``; a bare ``es`` means
``en-es``), a ``context-question`` pair for MLQA (``es-en``; a bare ``es`` means ``es-es``).

Each task loads from its Hugging Face dataset by default, or from local files given with
``--data TASK=PATH``: :mod:`polyalign.eval.loaders` reads its rows and prepares them
(:func:`polyalign.eval.loaders.prepare`). Each task parses its language specs (:class:`LangSpec`: the
codes checked and made canonical).
This table is what each task is, nothing of how its files are read.

Light module: no torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from polyalign import langs
from polyalign.data import shipped
from polyalign.eval.types import QANorm, Row
from polyalign.io import InputError

Kind = Literal["qa", "translation", "classification", "math", "instruct"]


# ---------------------------------------------------------------------------------------------
# Language specs: one evaluated language setting, and how each kind of task writes it


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


# ---------------------------------------------------------------------------------------------
# The tasks


@dataclass(frozen=True)
class Task:
    name: str
    kind: Kind
    template: str
    """Key of the prompt template in :mod:`polyalign.eval.prompts`."""
    languages: tuple[str, ...]
    """Languages the Hugging Face dataset has (empty: any language, local files only)."""
    hf_id: str | None
    eval_split: str
    demo_split: str | None
    """Split demonstrations come from; ``None``: from the evaluated split, those examples excluded."""
    parse: Callable[[str], LangSpec] = field(repr=False)
    description: str = ""
    shipped: str | None = None
    """The set shipped with polyalign that the task reads when no ``--data`` is given."""
    qa_norm: QANorm = "mlqa"
    """QA tasks: the answer normalisation scored by default (``squad_v1`` for XQuAD, as its
    authors score it; MLQA's per-language one elsewhere); ``--qa-norm`` overrides it."""


XQUAD_LANGS = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
MLQA_LANGS = ("en", "es", "de", "ar", "hi", "vi", "zh")

TASKS: dict[str, Task] = {
    "xquad": Task(
        "xquad",
        "qa",
        "qa",
        XQUAD_LANGS,
        "google/xquad",
        "validation",
        None,
        parse_mono,
        "XQuAD: SQuAD v1.1 dev questions professionally translated into 11 languages",
        qa_norm="squad_v1",
    ),
    "mlqa": Task(
        "mlqa",
        "qa",
        "qa",
        MLQA_LANGS,
        "facebook/mlqa",
        "test",
        "validation",
        parse_mlqa,
        "MLQA: extractive QA, context and question in any two of 7 languages",
    ),
    "flores": Task(
        "flores",
        "translation",
        "translation",
        (),
        "openlanguagedata/flores_plus",
        "devtest",
        "dev",
        pair_parser("en"),
        "FLORES-200 / FLORES+: 1012 devtest sentences in 200+ languages, any direction",
    ),
    "pawsx": Task(
        "pawsx",
        "classification",
        "pawsx",
        ("de", "en", "es", "fr", "ja", "ko", "zh"),
        "google-research-datasets/paws-x",
        "test",
        "validation",
        parse_mono,
        "PAWS-X: paraphrase identification (yes/no)",
    ),
    "xnli": Task(
        "xnli",
        "classification",
        "xnli",
        ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"),
        "facebook/xnli",
        "test",
        "validation",
        parse_mono,
        "XNLI: natural language inference (3 labels)",
    ),
    "sentiment": Task(
        "sentiment",
        "classification",
        "sentiment",
        ("de", "en", "es", "fr", "ja", "zh"),
        "mteb/amazon_reviews_multi",
        "test",
        "validation",
        parse_mono,
        "MARC product reviews, binarised: 1-2 stars negative, 4-5 positive, 3 dropped",
    ),
    "mgsm": Task(
        "mgsm",
        "math",
        "math",
        ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh"),
        "juletxara/mgsm",
        "test",
        "train",
        parse_mono,
        "MGSM: 250 grade-school math problems; the answer is the last number written",
    ),
    "polyinstruct": Task(
        "polyinstruct",
        "instruct",
        "instruct",
        shipped.POLYINSTRUCT_LANGUAGES,
        None,
        "test",
        "train",
        parse_mono,
        "polyinstruct_v1: parallel instructions in 11 languages (MI-Eval style)",
        shipped=shipped.POLYINSTRUCT_VERSION,
    ),
    "polyqa": Task(
        "polyqa",
        "qa",
        "qa",
        shipped.POLYQA_LANGUAGES,
        None,
        "test",
        "dev",
        parse_mono,
        "polyqa_v1: extractive QA written for polyalign, parallel in XQuAD's 12 languages (shipped; "
        "kept for comparability, easier than XQuAD)",
        shipped=shipped.POLYQA_VERSION,
    ),
    "polyqa_v2": Task(
        "polyqa_v2",
        "qa",
        "qa",
        shipped.POLYQA_LANGUAGES,
        None,
        "test",
        "dev",
        parse_mono,
        "polyqa_v2: harder extractive QA written for polyalign (XQuAD-like paragraphs, phrase answers), "
        "parallel in XQuAD's 12 languages (shipped)",
        shipped=shipped.POLYQA2_VERSION,
    ),
    "polysent": Task(
        "polysent",
        "classification",
        "polysent",
        shipped.POLYSENT_LANGUAGES,
        None,
        "test",
        "demo",
        parse_mono,
        "polysent_v1: binary sentiment written for polyalign, parallel in 16 "
        "languages (shipped); labels in English or with --label-lang target",
        shipped=shipped.POLYSENT_VERSION,
    ),
    "polymt": Task(
        "polymt",
        "translation",
        "translation",
        shipped.POLYMT_LANGUAGES,
        None,
        "test",
        "dev",
        pair_parser("en"),
        "polymt_v1: general-domain sentences (news, science, travel, health, daily life) written for "
        "polyalign, parallel in 16 languages (shipped); any direction, src-tgt",
        shipped=shipped.POLYMT_VERSION,
    ),
    "local_qa": Task("local_qa", "qa", "qa", (), None, "test", None, parse_mono, "any local QA file"),
    "local_translation": Task(
        "local_translation",
        "translation",
        "translation",
        (),
        None,
        "test",
        None,
        pair_parser("en"),
        "any local translation file",
    ),
    "local_classification": Task(
        "local_classification",
        "classification",
        "classification",
        (),
        None,
        "test",
        None,
        parse_mono,
        "any local classification file",
    ),
}


def get(name: str) -> Task:
    """The task called ``name``; an :class:`InputError` listing the known ones otherwise."""
    if name not in TASKS:
        raise InputError(f"unknown task {name!r} (known: {', '.join(TASKS)})")
    return TASKS[name]


def parse_limits(items: list[str]) -> dict[str, int]:
    """``["polymt=40", ...]`` → ``{"polymt": 40}``; unknown tasks and bad numbers are an :class:`InputError`."""
    out = {}
    for item in items:
        task, sep, n = item.partition("=")
        if not sep or not n.strip().isdigit() or int(n) < 1:
            raise InputError(f"a task limit is TASK=N with N >= 1, got {item!r}")
        get(task.strip())
        out[task.strip()] = int(n)
    return out


def default_specs(task: Task) -> list[str]:
    """Language specs evaluated when none are named: every language of the dataset (a shipped
    translation set: English into every other language)."""
    if not task.languages:
        raise InputError(f"{task.name}: name the languages with --langs (eval.suite_langs in a recipe)")
    if task.kind == "translation":
        return [f"en-{code}" for code in task.languages if code != "en"]
    return list(task.languages)


def specs_for(task: Task, asked: list[str]) -> list[str]:
    """The specs of ``task`` among the asked ones: ``TASK/SPEC`` items name one task's languages
    (``polymt/en-es``), plain items every task's; a task with neither gets :func:`default_specs`.

    >>> specs_for(TASKS["polymt"], ["polymt/en-es", "polymt/es-en"])
    ['en-es', 'es-en']
    >>> specs_for(TASKS["polysent"], ["polymt/en-es"])[:3]
    ['en', 'es', 'de']
    """
    own = [a.split("/", 1)[1] for a in asked if "/" in a and a.split("/", 1)[0] == task.name]
    if own:
        return own
    plain = [a for a in asked if "/" not in a]
    if plain and plain != ["all"]:
        return plain
    return default_specs(task)


@dataclass
class Prepared:
    """A task's examples for one language spec, with its demonstrations chosen."""

    task: Task
    spec: LangSpec
    rows: list[Row]
    demos: list[Row]
    source: str
    split: str
    original_n: int
    excluded: int
    sample: dict | None = None
    """What ``limit`` drew (:func:`polyalign.eval.sampling.sample`); ``None``: every row."""
