"""Typed dataclasses from plain mappings: every key checked, every value checked against its annotation.

What a recipe (:mod:`polyalign.recipe`) and an arm's or the pilot's overrides (:mod:`polyalign.arms`)
are read with: an unknown key or a wrong type is an :class:`~polyalign.io.InputError` naming the
file and line (or the command line) the key came from, and the obvious safe conversions are made
(``1e-4`` read as a string by YAML 1.1 is a number, ``es,fr`` on the command line a list).

And back: :func:`config_to_dict` and :func:`dump_recipe` (a resolved recipe's ``config.yaml``).
Knows no recipe section: the checks that need more than a type (a suite's task names) are passed in.
This module imports neither torch nor transformers.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from polyalign.io import InputError

FROM_COMMAND_LINE = 0  # the "line" of a key given as key=value on the command line


def field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _where(path: Path, line: int | None) -> tuple[Path | str, int | None]:
    """Where a key came from: the recipe file and its line, or the command line."""
    return ("<command line>", None) if line == FROM_COMMAND_LINE else (path, line)


def build(
    cls: type,
    data: Any,
    lines: dict[str, int],
    path: Path,
    prefix: str = "",
    checks: Mapping[type, Callable[[Any], None]] | None = None,
    retired: Mapping[str, str] | None = None,
) -> Any:
    """Build dataclass ``cls`` from ``data``, checking every key and type.

    ``lines``: the line of each dotted key (``prefix`` + key) in ``path``, for the errors;
    ``checks``: per dataclass, a check run on the built object (a ``ValueError`` names the key it
    is about); ``retired``: dotted keys that are skipped with one warning line saying why.
    Nested dataclasses (and lists of them) are built the same way.
    """
    checks = checks or {}
    retired = retired or {}
    where = lines.get(prefix.rstrip(".")) if prefix else None
    if not isinstance(data, dict):
        raise InputError(_not_a_mapping(cls, prefix.rstrip("."), data, where), *_where(path, where))
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        line = lines.get(dotted)
        if dotted in retired and key not in hints:
            where_ = f"{path}:{line}: " if line else ""
            print(f"warning: {where_}'{dotted}' is gone: {retired[dotted]}; ignored", file=sys.stderr)
            continue
        if key not in hints:
            close = similar_key(str(key), names)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(names)})"
            raise InputError(f"unknown key '{dotted}'{hint}", *_where(path, line))
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = build(tp, value if value is not None else {}, lines, path, dotted + ".", checks, retired)
        elif typing.get_origin(tp) is list and dataclasses.is_dataclass(typing.get_args(tp)[0]):
            if not isinstance(value, list):
                raise InputError(f"'{dotted}' must be a list of mappings, got {_describe(value)}", *_where(path, line))
            kwargs[key] = [
                build(typing.get_args(tp)[0], v, lines, path, f"{dotted}.{i}.", checks, retired)
                for i, v in enumerate(value)
            ]
        else:
            kwargs[key] = _coerce(value, tp, dotted, path, line)
    try:
        obj = cls(**kwargs)
        if cls in checks:
            checks[cls](obj)
        return obj
    except ValueError as e:  # a check in __post_init__: name the key's origin when the message names the key
        found = {k: re.search(rf"(?<![\w.])({re.escape(prefix)})?{re.escape(str(k))}(?![\w])", str(e)) for k in data}
        named = sorted((k for k, m in found.items() if m), key=lambda k: found[k].start())  # the first one named
        origin = _where(path, lines.get(f"{prefix}{named[0]}", where)) if named else _where(path, where)
        raise InputError(str(e), *origin) from None


def flat_dict(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested settings mapping as dotted keys, for comparing two of them key by key.

    >>> flat_dict({"train": {"learning_rate": 0.1}, "seed": 0})
    {'train.learning_rate': 0.1, 'seed': 0}
    """
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out |= flat_dict(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A config dataclass as plain data (what :func:`build` reads back)."""
    return dataclasses.asdict(cfg)


def dump_recipe(cfg: Any) -> str:
    """The resolved recipe as YAML (what ``runs/<name>/config.yaml`` holds)."""
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False, allow_unicode=True)


# What other tools (and polyalign's other sections) call a key: a name no spelling distance finds.
SYNONYMS = {
    "endpoint": ("base_url",),
    "base_url": ("endpoint",),
    "url": ("base_url", "endpoint"),
    "lr": ("learning_rate",),
    "epochs": ("num_train_epochs",),
    "batch_size": ("per_device_train_batch_size",),
    "steps": ("max_steps",),
    "model": ("model_name_or_path",),
    "rank": ("lora_rank",),
    "r": ("lora_rank",),
}


def similar_key(key: str, names: Sequence[str]) -> list[str]:
    """The known key ``key`` most likely means: one spelled alike, else one it is another name for."""
    close = difflib.get_close_matches(key, list(names), n=1)
    return close or [s for s in SYNONYMS.get(key, ()) if s in names][:1]


def _not_a_mapping(cls: type, name: str, value: Any, line: int | None) -> str:
    """What to say of a section given a single value: on the command line (``model=acme/x``), which
    dotted key to write instead; in a file, that the section holds keys."""
    keys = [f.name for f in dataclasses.fields(cls)]
    if line == FROM_COMMAND_LINE:
        got = _describe(value)
        return f"'{name}' is a section, not a key, got {got}: set one of its keys, e.g. {name}.{keys[0]}=..."
    return f"'{name}' must be a mapping of its keys ({', '.join(keys[:3])}, ...), got {_describe(value)}"


def _describe(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r}"


def _coerce(value: Any, tp: Any, dotted: str, path: Path, line: int | None) -> Any:
    """Check ``value`` against annotation ``tp``; accept the obvious safe conversions."""

    def fail(expected: str) -> typing.NoReturn:
        raise InputError(f"'{dotted}' must be {expected}, got {_describe(value)}", *_where(path, line))

    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        errors = []
        for a in rest:
            try:
                return _coerce(value, a, dotted, path, line)
            except InputError as e:
                errors.append(e)
        if len(errors) == 1:
            raise errors[0]
        fail(" or ".join(_type_name(a) for a in args))
    if origin is Literal:
        if value in args:
            return value
        fail("one of " + ", ".join(repr(a) for a in args))
    if tp is dict:
        if isinstance(value, dict):
            return dict(value)
        fail("a mapping")
    if origin is list:
        if isinstance(value, str):  # "es,fr" or "50,100,200" on the command line: each item read as YAML
            value = [_scalar(v.strip()) for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            fail(f"a list of {_type_name(args[0])}")
        return [_coerce(v, args[0], dotted, path, line) for v in value]
    if tp is bool:
        if isinstance(value, bool):
            return value
        fail("true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        fail("an integer")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-4 as a string
            try:
                return float(value)
            except ValueError:
                pass
        fail("a number")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        fail("a string")
    raise TypeError(f"unsupported config type {tp!r}")  # a programming error, not user input


def _scalar(text: str) -> Any:
    """One item of a comma list as YAML reads it (``50`` an integer, ``es`` a string)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, str, bool)) else text


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))
