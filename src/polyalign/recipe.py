"""Recipes: YAML in, config dataclasses out, ``key=value`` overrides on top.

Overrides on the command line win over the file:

* ``train.learning_rate=1e-4`` names a field by its section, and
* ``learning_rate=1e-4`` works too when exactly one section has a field of that name.

Unknown keys and wrong types are :class:`~polyalign.io.InputError` with the recipe's path and
line: ``error: recipe.yaml:7: unknown key 'train.lerning_rate' (did you mean 'learning_rate'?)``.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from polyalign import coerce
from polyalign.coerce import FROM_COMMAND_LINE
from polyalign.config import DataConfig, EvalConfig, TrainJobConfig
from polyalign.eval.tasks import TASKS
from polyalign.io import InputError
from polyalign.old_keys import RENAMED, RETIRED, rename_old_keys
from polyalign.run_config import RunConfig


def default_recipe_path() -> Path:
    """The embedded default recipe shipped inside the package."""
    return Path(str(resources.files("polyalign") / "recipes" / "default.yaml"))


def load_recipe(
    path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    cls: type = RunConfig,
    embedded: bool = True,
) -> Any:
    """Read a recipe, apply ``key=value`` overrides, validate; return a ``cls``.

    With no ``path``, a :class:`RunConfig` starts from the embedded default recipe (``embedded``:
    ``polyalign run max_steps=80``) or, with ``embedded=False``, from its fields' defaults, as any other
    ``cls`` does (``polyalign eval seed=1``: overrides of a plain evaluation, not of the experiment's).
    """
    if path is None and cls is RunConfig and embedded:
        path = default_recipe_path()
    if path is None:
        data, lines, path = {}, {}, Path("<command line>")
    else:
        path = Path(path)
        if path.is_dir():
            raise InputError("is a folder, expected a recipe file (YAML)", path)
        if path.is_file():
            _check_not_data(path, cls)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise InputError("no such recipe file", path) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if path.suffix.lower() == ".json" and (text or "").lstrip().startswith("["):
            _check_not_data(path, cls, ".json")  # a JSON array: records, not a recipe's sections
        if text is None or "\x00" in text:
            raise InputError("not a text recipe: the file holds binary data (a recipe is YAML text)", path)
        data, lines = _parse_yaml(text, path)
        if not data:
            raise InputError("the recipe is empty: give it sections (for the embedded default, name no recipe)", path)
        _check_kind(data, lines, cls, path)
    if issubclass(cls, RunConfig):
        rename_old_keys(data, lines, path)
    for item in overrides:
        key, value = _parse_override(item)
        if issubclass(cls, RunConfig) and key in {old for old, _, _ in RENAMED}:
            new = next(n for o, n, _ in RENAMED if o == key)
            print(f"warning: <command line>: '{key}' is now '{new}' in a run recipe", file=sys.stderr)
            key = new
        _set_dotted(data, lines, _resolve_key(key, cls), value, where=None)
    return build(cls, data, lines, path)


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


# Data files a user may hand where a recipe goes, by suffix, named as what they are. A ``.json`` file
# is refused only when it holds an array: JSON is YAML, and a recipe may be written as a JSON object.
DATA_SUFFIXES = {".jsonl": "JSON Lines", ".parquet": "Parquet", ".tsv": "TSV", ".csv": "CSV", ".json": "JSON"}


def _check_not_data(path: Path, cls: type, suffix: str | None = None) -> None:
    """``polyalign train alpaca.jsonl``: a data file given as the recipe is named as one, with where it goes
    (``train_file=`` for ``polyalign train``, the recipe's data settings for the other commands), not
    reported as invalid YAML."""
    kind = DATA_SUFFIXES.get(suffix or path.suffix.lower())
    if kind is None or (suffix is None and path.suffix.lower() == ".json"):
        return
    where = (
        f"give it as train_file={path}" if cls is TrainJobConfig else "give it in the recipe's data/train_file setting"
    )
    raise InputError(f"is a data file ({kind}), not a recipe: {where}", path)


def _check_kind(data: dict, lines: dict[str, int], cls: type, path: Path) -> None:
    """A run recipe handed to ``polyalign train``, or a training job's to ``run``/``data build``, is named
    as what it is, with the command that reads it (not "unknown key 'name'")."""
    if cls is TrainJobConfig:
        first = ("name", "data", "eval", "arms", "runs_dir", "scaling")  # what a reader knows a run recipe by
        theirs = sorted(
            (k for k in data if k in _fields(RunConfig) - _fields(TrainJobConfig)),
            key=lambda k: (first.index(k) if k in first else len(first), k),
        )
        if theirs:
            raise InputError(
                f"a run recipe ({', '.join(theirs[:3])}), not a training job: `polyalign run {path}` runs it; "
                f"polyalign train reads {', '.join(sorted(_fields(TrainJobConfig)))}",
                path,
                lines.get(theirs[0]),
            )
    elif issubclass(cls, RunConfig) and "train_file" in data and not data.keys() & {"name", "arms", "data", "eval"}:
        raise InputError(
            f"a training job (train_file), not a run recipe: `polyalign train {path}` trains it",
            path,
            lines.get("train_file"),
        )


def _parse_yaml(text: str, path: Path) -> tuple[dict, dict[str, int]]:
    """Parse YAML, returning the mapping and the line number of every dotted key."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(f"invalid YAML: {problem}", path, line) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise InputError("a recipe must be a mapping of sections", path, 1)
    lines: dict[str, int] = {}

    def walk(n: yaml.Node, prefix: str) -> None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                dotted = f"{prefix}{k.value}"
                if dotted in lines:  # YAML keeps the last silently: a recipe must not say two things
                    raise InputError(
                        f"duplicate key {dotted!r} (first on line {lines[dotted]})", path, k.start_mark.line + 1
                    )
                lines[dotted] = k.start_mark.line + 1
                walk(v, dotted + ".")
        elif isinstance(n, yaml.SequenceNode):  # list items: arms.0.name, ...
            for i, v in enumerate(n.value):
                lines.setdefault(f"{prefix}{i}", v.start_mark.line + 1)
                walk(v, f"{prefix}{i}.")

    walk(node, "")
    return data, lines


def _parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise InputError(f"override {item!r} is not key=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def _resolve_key(key: str, cls: type) -> str:
    """Turn a bare field name into its dotted path when exactly one section has it."""
    if "." in key:
        return key
    top = {f.name for f in dataclasses.fields(cls)}
    if key in top:
        return key
    # judge.* always, and scaling.* in a run recipe, are named dotted: their ``languages``, ``train``,
    # ``limit`` ... would otherwise make the everyday bare overrides (``languages=fr``) ambiguous.
    dotted_only = {"judge"} | ({"scaling"} if cls is RunConfig else set())
    owners = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in dotted_only
        and dataclasses.is_dataclass(coerce.field_type(cls, f.name))
        and key in {g.name for g in dataclasses.fields(coerce.field_type(cls, f.name))}
    ]
    if len(owners) == 1:
        return f"{owners[0]}.{key}"
    if len(owners) > 1:
        raise InputError(f"override {key!r} is ambiguous: use one of " + ", ".join(f"{o}.{key}" for o in owners))
    known = top | {
        g.name
        for f in dataclasses.fields(cls)
        if dataclasses.is_dataclass(coerce.field_type(cls, f.name))
        for g in dataclasses.fields(coerce.field_type(cls, f.name))
    }
    close = coerce.similar_key(key, sorted(known))
    if close:
        raise InputError(f"unknown key '{key}' (did you mean '{close[0]}'?)", "<command line>")
    return key  # unknown; build() reports it with the known keys


def _set_dotted(data: dict, lines: dict, dotted: str, value: Any, where: int | None) -> None:
    parts = dotted.split(".")
    d = data
    for p in parts[:-1]:
        if not isinstance(d.get(p), dict):
            d[p] = {}
        d = d[p]
    d[parts[-1]] = value
    # an override has no line in the file: errors about it, and about anything inside it (``arms=[...]``'s
    # arms.0.builder), name the command line, not the line of what it replaced
    for key in [k for k in lines if k.startswith(dotted + ".")]:
        del lines[key]
    _mark(lines, dotted, value)


def _mark(lines: dict, dotted: str, value: Any) -> None:
    lines[dotted] = FROM_COMMAND_LINE
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        _mark(lines, f"{dotted}.{k}", v)


def _check_eval(e: EvalConfig) -> None:
    check_suite(e.suite, e.suite_langs, [d.partition("=")[0].strip() for d in e.data_files])
    check_task_limits(e.task_limits)


CHECKS = {EvalConfig: _check_eval, DataConfig: DataConfig.check_pool}
"""The checks of a recipe's sections that a type cannot say (run by :func:`build` on each one built)."""


def build(cls: type, data: Any, lines: dict[str, int], path: Path, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from recipe ``data``, checking every key and type
    (:func:`polyalign.coerce.build`) and the sections' :data:`CHECKS`; :data:`RETIRED` keys are skipped."""
    return coerce.build(cls, data, lines, path, prefix, checks=CHECKS, retired=RETIRED)


def check_suite(names: list[str], specs: list[str] = (), local: list[str] = ()) -> None:  # type: ignore[assignment]
    """Every ``eval.suite`` name is a task ``polyalign eval`` knows (the names live with the tasks;
    configs import no evaluation code, so the loader asks), and every ``eval.suite_langs`` spec is
    one some task of the suite evaluates: a language it has (or any, for a task read from
    ``local`` files), a pair key (``en-es``) only for translation and MLQA."""

    unknown = [t for t in names if t not in TASKS]
    if unknown:
        raise ValueError(f"unknown eval.suite task {unknown[0]!r} (known: {', '.join(TASKS)})")
    for raw in specs:
        only, _, spec = str(raw).rpartition("/")  # TASK/SPEC names one task's languages
        if only and only not in TASKS:
            raise ValueError(f"eval.suite_langs: {raw!r} names an unknown task {only!r} (known: {', '.join(TASKS)})")
        why = []
        for name in [only] if only else names:
            task = TASKS[name]
            paired = task.kind == "translation" or name == "mlqa"
            if not paired and re.fullmatch(r"[A-Za-z]{2,3}-[A-Za-z]{2,3}", spec):
                why.append(f"{name} takes single languages, not a pair")
                continue
            try:
                lang = task.parse(spec).lang
            except InputError as e:
                why.append(f"{name}: {e.message}")
                continue
            if task.languages and lang not in task.languages and name not in local:
                why.append(f"{name} has no {lang}")
                continue
            break
        else:
            if names:
                raise ValueError(f"eval.suite_langs: no task of the suite evaluates {raw!r} ({'; '.join(why)})")


def check_task_limits(items: list[str]) -> None:
    """Every ``eval.task_limits`` item is ``TASK=N``, a known task and a whole number >= 1."""

    for item in items:
        task, sep, n = str(item).partition("=")
        if not sep or not n.strip().isdigit() or int(n) < 1:
            raise ValueError(f"eval.task_limits: each item is TASK=N with N >= 1, got {item!r}")
        if task.strip() not in TASKS:
            raise ValueError(f"eval.task_limits: unknown task {task.strip()!r} (known: {', '.join(TASKS)})")
