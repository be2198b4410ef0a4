"""Evaluation tasks: what each benchmark is, where its data comes from, how it is prompted.

A task is named on the command line (``--tasks xquad,flores``) and evaluated per *language spec*:
a language code for most tasks, a ``src-tgt`` pair for translation (``en-es``; a bare ``es`` means
``en-es``), a ``context-question`` pair for MLQA (``es-en``; a bare ``es`` means ``es-es``).

Each task loads from its Hugging Face dataset by default, or from local files given with
``--data TASK=PATH``: a file in the benchmark's native format, a path holding ``{lang}`` (or
``{src}``/``{tgt}``, ``{context}``/``{question}``), a folder searched for the native file names,
or Hugging Face rows saved locally (``.parquet``, ``.arrow``, a ``save_to_disk`` folder).

Light module: no torch; ``datasets`` only when reading from the hub or parquet/arrow.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from polyalign import langs
from polyalign.data import resources
from polyalign.eval import datasets, sampling
from polyalign.eval.datasets import Row
from polyalign.eval.metrics import QANorm
from polyalign.io import InputError

Kind = Literal["qa", "translation", "classification", "math", "instruct"]


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
    load: Callable[[LangSpec, str, str | None], list[Row]] = field(repr=False)
    """``load(spec, split, source)``: rows; ``source`` None means the Hugging Face dataset."""
    parse: Callable[[str], LangSpec] = field(repr=False)
    description: str = ""
    shipped: str | None = None
    """The set shipped with polyalign that the task reads when no ``--data`` is given."""
    qa_norm: QANorm = "mlqa"
    """QA tasks: the answer normalisation scored by default (``squad_v1`` for XQuAD, as its
    authors score it; MLQA's per-language one elsewhere); ``--qa-norm`` overrides it."""


def _mono(spec: str) -> LangSpec:
    code = langs.check(spec)
    return LangSpec(code, code)


def _pair(default_src: str) -> Callable[[str], LangSpec]:
    """Parse ``src-tgt`` (a bare ``tgt`` means ``default_src-tgt``); locales use ``_`` (``en-pt_BR``)."""

    def parse(spec: str) -> LangSpec:
        a, sep, b = spec.partition("-")
        if not sep:
            a, b = default_src, spec
        a, b = langs.check(a), langs.check(b)
        return LangSpec(f"{a}-{b}", b, a, b)

    return parse


def _mlqa_parse(spec: str) -> LangSpec:
    """MLQA names a setting ``context-question``; the answer is in the context language."""
    c, sep, q = spec.partition("-")
    if not sep:
        q = c
    c, q = langs.check(c), langs.check(q)
    return LangSpec(f"{c}-{q}", c, src=q, tgt=c)


def _native_path(source: str, spec: LangSpec, names: list[str]) -> Path:
    """The native file for ``spec``: a path with placeholders, a file, or a folder to search."""
    if "{" in source:
        try:
            path = Path(source.format(**spec.placeholders()))
        except KeyError as e:
            raise InputError(f"unknown placeholder {{{e.args[0]}}} in the data path", source) from None
        if not path.exists():
            raise InputError("no such file", path)
        if path.is_dir():
            raise InputError("is a folder, expected a file", path)
        return path
    path = Path(source)
    if path.is_file():
        return path
    if path.is_dir():
        if not any(names):
            raise InputError("is a folder: name the data file itself (the path may hold {lang})", path)
        for name in names:
            found = sorted(path.rglob(name))
            if found:
                return found[0]
        raise InputError(f"no {' or '.join(names)} under this folder", path)
    raise InputError("no such file or folder", path)


def _hf_or_file(source: str | None, hf_id: str | None, config: str | None, split: str) -> list[Row] | None:
    """Hugging Face rows when the source is the hub (None) or a parquet/arrow file; else None."""
    if source is None:
        if hf_id is None:
            raise InputError("this task has no Hugging Face dataset: give its files with --data TASK=PATH")
        return datasets.hf_rows(hf_id, config, split)
    if datasets.is_hf_file(source):
        return datasets.hf_rows(source, config, split)
    return None


# ---------------------------------------------------------------------------------------------
# Loaders


def load_xquad(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    rows = _hf_or_file(source, "google/xquad", f"xquad.{spec.lang}", split)
    if rows is not None:
        return datasets.qa_from_hf(rows)
    return datasets.read_squad(_native_path(source, spec, [f"xquad.{spec.lang}.json"]))


def load_mlqa(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    rows = _hf_or_file(source, "facebook/mlqa", f"mlqa.{spec.tgt}.{spec.src}", split)
    if rows is not None:
        return datasets.qa_from_hf(rows)
    native = {"validation": "dev"}.get(split, split)
    return datasets.read_squad(_native_path(source, spec, [f"{native}-context-{spec.tgt}-question-{spec.src}.json"]))


def load_flores(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    s, t = langs.flores(spec.src), langs.flores(spec.tgt)
    if source is None:
        src = [r["text"] for r in datasets.hf_rows("openlanguagedata/flores_plus", s, split)]
        tgt = [r["text"] for r in datasets.hf_rows("openlanguagedata/flores_plus", t, split)]
        return datasets.flores_pairs(src, tgt)
    if datasets.is_hf_file(source):  # old facebook/flores rows: sentence_{code} columns
        return datasets.flores_from_hf(datasets.hf_rows(source, None, split), s, t)
    if "{" in source:
        fmt = {"split": split}
        src_path = Path(source.format(code=s, lang=spec.src, **fmt))
        tgt_path = Path(source.format(code=t, lang=spec.tgt, **fmt))
        return datasets.flores_pairs(datasets._read_sentences(src_path), datasets._read_sentences(tgt_path), src_path)
    return datasets.flores_pairs(
        datasets.read_flores_side(source, s, split), datasets.read_flores_side(source, t, split), source
    )


_PAWSX_FILES = {"test": ["test_2k.tsv"], "validation": ["dev_2k.tsv"], "train": ["translated_train.tsv", "train.tsv"]}


def load_pawsx(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    rows = _hf_or_file(source, "google-research-datasets/paws-x", spec.lang, split)
    if rows is not None:
        return datasets.pawsx_from_hf(rows)
    if "{" not in source and Path(source).is_dir():
        lang_dir = next((p for p in sorted(Path(source).rglob(spec.lang)) if p.is_dir()), None)
        if lang_dir is None:
            raise InputError(f"no {spec.lang}/ folder (PAWS-X layout x-final/{spec.lang}/) under this folder", source)
        source = str(lang_dir)
    return datasets.read_pawsx_tsv(_native_path(source, spec, _PAWSX_FILES[split]))


def load_xnli(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    rows = _hf_or_file(source, "facebook/xnli", spec.lang, split)
    if rows is not None:
        return datasets.xnli_from_hf(rows)
    native = {"validation": "dev"}.get(split, split)
    return datasets.read_xnli_tsv(_native_path(source, spec, [f"xnli.{native}.tsv"]), spec.lang)


def load_sentiment(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    rows = _hf_or_file(source, "mteb/amazon_reviews_multi", spec.lang, split)
    if rows is not None:
        return datasets.marc_from_hf(rows)
    native = {"validation": "dev"}.get(split, split)
    return datasets.read_marc_jsonl(
        _native_path(source, spec, [f"dataset_{spec.lang}_{native}.json", f"dataset_{spec.lang}_{native}.jsonl"])
    )


def load_mgsm(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    rows = _hf_or_file(source, "juletxara/mgsm", spec.lang, split)
    if rows is not None:
        return datasets.mgsm_from_hf(rows)
    if split != "test":
        raise InputError("MGSM's native files hold only the test split", source)
    return datasets.read_mgsm_tsv(_native_path(source, spec, [f"mgsm_{spec.lang}.tsv"]))


def load_polyinstruct(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    path = None if source is None else _native_path(source, spec, ["polyinstruct_v1.jsonl"])
    return resources.polyinstruct(spec.lang, split, path)


def load_polyqa(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    """polyqa_v1 (shipped), or your SQuAD/XQuAD-format file(s) (``{lang}`` in the path)."""
    path = None if source is None else _native_path(source, spec, [f"{spec.lang}.json"])
    return resources.polyqa(spec.lang, split, path)


def load_polyqa2(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    """polyqa_v2 (shipped), or your SQuAD/XQuAD-format file(s) (``{lang}`` in the path)."""
    path = None if source is None else _native_path(source, spec, [f"{spec.lang}.json"])
    return resources.polyqa(spec.lang, split, path, version=resources.POLYQA2_VERSION)


def load_polysent(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    """polysent_v1 (shipped), or your file in its format: label ids in the order of the sorted
    English label names, with those names and (when the file's header has them) the language's
    own label words."""
    path = None if source is None else _native_path(source, spec, ["polysent_v1.jsonl"])
    rows = resources.polysent(spec.lang, split, path)
    english = sorted(resources.polysent_labels("en", path))
    try:
        words = resources.polysent_labels(spec.lang, path)
        native = [words[label] for label in english]
    except (InputError, KeyError):
        native = None  # no label words for this language: English labels only
    out = []
    for r in rows:
        if r["label"] not in english:
            raise InputError(f"item {r['id']}: label {r['label']!r} is not one of {english}", path)
        out.append(
            {
                "id": r["id"],
                "text": r["text"],
                "text_pair": None,
                "label": english.index(r["label"]),
                "label_names": english,
                "label_names_native": native,
            }
        )
    return out


def load_polymt(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    """polymt_v1 (shipped), or a folder of ``<lang>.jsonl`` files in its format (or a path holding ``{lang}``)."""
    if source is not None and "{lang}" not in source and not Path(source).is_dir():
        raise InputError("polymt reads a folder of <lang>.jsonl files (or a path holding {lang})", source)
    return resources.polymt_pairs(spec.src or "en", spec.tgt or spec.lang, split, source)


def load_local_qa(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    if source is None:
        raise InputError("local_qa needs --data local_qa=PATH")
    return datasets.read_local_qa(_native_path(source, spec, []))


def load_local_translation(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    if source is None:
        raise InputError("local_translation needs --data local_translation=PATH")
    return datasets.read_local_translation(_native_path(source, spec, []))


def load_local_classification(spec: LangSpec, split: str, source: str | None) -> list[Row]:
    if source is None:
        raise InputError("local_classification needs --data local_classification=PATH")
    rows, names = datasets.read_local_classification(_native_path(source, spec, []))
    for r in rows:
        r["label_names"] = names
    return rows


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
        load_xquad,
        _mono,
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
        load_mlqa,
        _mlqa_parse,
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
        load_flores,
        _pair("en"),
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
        load_pawsx,
        _mono,
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
        load_xnli,
        _mono,
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
        load_sentiment,
        _mono,
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
        load_mgsm,
        _mono,
        "MGSM: 250 grade-school math problems; the answer is the last number written",
    ),
    "polyinstruct": Task(
        "polyinstruct",
        "instruct",
        "instruct",
        resources.POLYINSTRUCT_LANGUAGES,
        None,
        "test",
        "train",
        load_polyinstruct,
        _mono,
        "polyinstruct_v1: parallel instructions in 11 languages (MI-Eval style)",
        shipped=resources.POLYINSTRUCT_VERSION,
    ),
    "polyqa": Task(
        "polyqa",
        "qa",
        "qa",
        resources.POLYQA_LANGUAGES,
        None,
        "test",
        "dev",
        load_polyqa,
        _mono,
        "polyqa_v1: extractive QA written for polyalign, parallel in XQuAD's 12 languages (shipped; "
        "kept for comparability, easier than XQuAD)",
        shipped=resources.POLYQA_VERSION,
    ),
    "polyqa_v2": Task(
        "polyqa_v2",
        "qa",
        "qa",
        resources.POLYQA_LANGUAGES,
        None,
        "test",
        "dev",
        load_polyqa2,
        _mono,
        "polyqa_v2: harder extractive QA written for polyalign (XQuAD-like paragraphs, phrase answers), "
        "parallel in XQuAD's 12 languages (shipped)",
        shipped=resources.POLYQA2_VERSION,
    ),
    "polysent": Task(
        "polysent",
        "classification",
        "polysent",
        resources.POLYSENT_LANGUAGES,
        None,
        "test",
        "demo",
        load_polysent,
        _mono,
        "polysent_v1: binary sentiment written for polyalign, parallel in 16 "
        "languages (shipped); labels in English or with --label-lang target",
        shipped=resources.POLYSENT_VERSION,
    ),
    "polymt": Task(
        "polymt",
        "translation",
        "translation",
        resources.POLYMT_LANGUAGES,
        None,
        "test",
        "dev",
        load_polymt,
        _pair("en"),
        "polymt_v1: general-domain sentences (news, science, travel, health, daily life) written for "
        "polyalign, parallel in 16 languages (shipped); any direction, src-tgt",
        shipped=resources.POLYMT_VERSION,
    ),
    "local_qa": Task("local_qa", "qa", "qa", (), None, "test", None, load_local_qa, _mono, "any local QA file"),
    "local_translation": Task(
        "local_translation",
        "translation",
        "translation",
        (),
        None,
        "test",
        None,
        load_local_translation,
        _pair("en"),
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
        load_local_classification,
        _mono,
        "any local classification file",
    ),
}


def get(name: str) -> Task:
    """The task called ``name``; an :class:`InputError` listing the known ones otherwise."""
    if name not in TASKS:
        raise InputError(f"unknown task {name!r} (known: {', '.join(TASKS)})")
    return TASKS[name]


def default_specs(task: Task) -> list[str]:
    """Language specs evaluated when none are named: every language of the dataset (a shipped
    translation set: English into every other language)."""
    if not task.languages:
        raise InputError(f"{task.name}: name the languages with --langs")
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


def prepare(
    task: Task,
    spec: LangSpec,
    source: str | None,
    num_fewshot: int = 0,
    fewshot_lang: Literal["target", "en"] = "target",
    limit: int | None = None,
    seed: int = 0,
) -> Prepared:
    """Load a task's examples, choose its ``num_fewshot`` demonstrations, and draw ``limit`` of the rest.

    ``limit`` draws a seeded sample stratified over the rows' topic, label or domain
    (:mod:`polyalign.eval.sampling`): the same items for every model evaluated with ``seed``.
    Demonstrations come from the task's demonstration split when it has one, otherwise from the
    evaluated split; in that case (and whenever English demonstrations share ids with the
    evaluated examples, as parallel datasets do) those examples are not evaluated. The same seed
    picks the same demonstrations for every language.
    """
    missing = [c for c in dict.fromkeys((spec.src, spec.tgt, spec.lang)) if c and c not in task.languages]
    if task.languages and missing and source is None:
        where = "in its shipped set" if task.shipped else "on the hub"
        raise InputError(f"{task.name} has no {missing[0]} {where} (it has {', '.join(task.languages)})")
    rows = task.load(spec, task.eval_split, source)
    original = len(rows)
    demos: list[Row] = []
    if num_fewshot > 0:
        demo_spec = spec
        if fewshot_lang == "en" and task.kind != "translation":
            demo_spec = task.parse("en-en" if task.name == "mlqa" else "en")
        pool = None
        if task.demo_split is not None:
            try:
                pool = task.load(demo_spec, task.demo_split, source)
            except InputError:
                pool = None  # no such split locally: fall back to the evaluated one
            if not pool:
                pool = None
        same_split = pool is None
        if pool is None:
            pool = rows if demo_spec == spec else task.load(demo_spec, task.eval_split, source)
        if same_split and len(pool) <= num_fewshot:
            raise InputError(
                f"{task.name}/{spec.spec}: {len(pool)} examples leave none to evaluate after {num_fewshot} "
                "demonstrations"
            )
        rng = random.Random(seed * 1_000_003 + zlib.crc32(task.name.encode()))
        demos = rng.sample(pool, min(num_fewshot, len(pool)))
        if same_split:  # the demonstrations (or their parallel versions) are not evaluated
            ids = {d["id"] for d in demos}
            rows = [r for r in rows if r["id"] not in ids]
    excluded = original - len(rows)
    rows, drawn = sampling.sample(rows, limit, seed)
    where = source if source is not None else (task.hf_id or task.shipped or "")
    return Prepared(task, spec, rows, demos, where, task.eval_split, original, excluded, drawn)
