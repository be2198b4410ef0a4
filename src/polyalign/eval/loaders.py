"""Where each evaluation task's rows come from: its Hugging Face dataset, or local files in the
benchmark's native format (a file, a path holding ``{lang}``, ``{src}``/``{tgt}`` or
``{context}``/``{question}``, a folder searched for the native names), or Hugging Face rows saved
locally (``.parquet``, ``.arrow``, a ``save_to_disk`` folder), or the sets shipped with polyalign.

Every loader is ``load(spec, split, source)`` → rows (:data:`polyalign.eval.types.Row`), with
``source`` ``None`` for the hub (or the shipped set); :data:`LOADERS` gives each task of
:data:`polyalign.eval.tasks.TASKS` its loader, and :func:`prepare` loads a task's rows, chooses its
demonstrations and draws its sample.
Light module: no torch; ``datasets`` only when reading from the hub or parquet/arrow.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from polyalign import langs
from polyalign.data import resources
from polyalign.eval import datasets, sampling
from polyalign.eval.tasks import LangSpec, Prepared, Task
from polyalign.eval.types import Row
from polyalign.io import InputError


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


Loader = Callable[[LangSpec, str, str | None], list[Row]]
"""``load(spec, split, source)``: rows; ``source`` None means the Hugging Face dataset (or the shipped set)."""

LOADERS: dict[str, Loader] = {
    "xquad": load_xquad,
    "mlqa": load_mlqa,
    "flores": load_flores,
    "pawsx": load_pawsx,
    "xnli": load_xnli,
    "sentiment": load_sentiment,
    "mgsm": load_mgsm,
    "polyinstruct": load_polyinstruct,
    "polyqa": load_polyqa,
    "polyqa_v2": load_polyqa2,
    "polysent": load_polysent,
    "polymt": load_polymt,
    "local_qa": load_local_qa,
    "local_translation": load_local_translation,
    "local_classification": load_local_classification,
}


def load(task: Task, spec: LangSpec, split: str, source: str | None) -> list[Row]:
    """The rows of ``task`` for ``spec`` in ``split``, from ``source`` (``None``: its dataset or shipped set)."""
    return LOADERS[task.name](spec, split, source)


def _balanced_demos(pool: list[Row], k: int, seed: int, rng: random.Random) -> list[Row]:
    """``k`` demonstrations of a classification task, the labels as even as ``k`` allows (the
    stratified draw of :func:`polyalign.eval.sampling.sample`, by label), in a seeded order.

    Drawn uniformly, two demonstrations share a label half the time: polysent's two ``dev`` draws for
    seed 0 were both negative, a prompt that shows the model one answer only.

    >>> pool = [{"id": f"d{i}", "label": i // 10} for i in range(20)]
    >>> sorted(d["label"] for d in _balanced_demos(pool, 2, 0, random.Random(0)))
    [0, 1]
    """
    by_label = [{"id": r.get("id", i), "label": r["label"], "at": i} for i, r in enumerate(pool)]
    drawn, _ = sampling.sample(by_label, min(k, len(pool)), seed)
    demos = [pool[d["at"]] for d in drawn]
    rng.shuffle(demos)
    return demos


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
    picks the same demonstrations for every language; a classification task's are balanced by label
    (:func:`_balanced_demos`).
    """
    missing = [c for c in dict.fromkeys((spec.src, spec.tgt, spec.lang)) if c and c not in task.languages]
    if task.languages and missing and source is None:
        where = "in its shipped set" if task.shipped else "on the hub"
        raise InputError(f"{task.name} has no {missing[0]} {where} (it has {', '.join(task.languages)})")
    rows = load(task, spec, task.eval_split, source)
    original = len(rows)
    demos: list[Row] = []
    if num_fewshot > 0:
        demo_spec = spec
        if fewshot_lang == "en" and task.kind != "translation":
            demo_spec = task.parse("en-en" if task.name == "mlqa" else "en")
        pool = None
        if task.demo_split is not None:
            try:
                pool = load(task, demo_spec, task.demo_split, source)
            except InputError:
                pool = None  # no such split locally: fall back to the evaluated one
            if not pool:
                pool = None
        same_split = pool is None
        if pool is None:
            pool = rows if demo_spec == spec else load(task, demo_spec, task.eval_split, source)
        if same_split and len(pool) <= num_fewshot:
            raise InputError(
                f"{task.name}/{spec.spec}: {len(pool)} examples leave none to evaluate after {num_fewshot} "
                "demonstrations"
            )
        rng = random.Random(seed * 1_000_003 + zlib.crc32(task.name.encode()))
        if task.kind == "classification" and all("label" in r for r in pool):
            demos = _balanced_demos(pool, num_fewshot, seed, rng)
        else:
            demos = rng.sample(pool, min(num_fewshot, len(pool)))
        if same_split:  # the demonstrations (or their parallel versions) are not evaluated
            ids = {d["id"] for d in demos}
            rows = [r for r in rows if r["id"] not in ids]
    excluded = original - len(rows)
    rows, drawn = sampling.sample(rows, limit, seed)
    where = source if source is not None else (task.hf_id or task.shipped or "")
    return Prepared(task, spec, rows, demos, where, task.eval_split, original, excluded, drawn)
