"""Alignment mixtures: CoIT for one language, MuIT for many, and question alignment.

* **CoIT** (cross-lingual instruction tuning), one language X: English instructions, the same
  instructions in X, and translation tasks from parallel pairs (En→X by default, X→En or both).
  Each part is scaled by its ratio: ``0.5`` keeps half of it (a seeded sample), ``2.0`` repeats it.
* **MuIT** (multilingual instruction tuning): the CoIT parts of every language in one shuffled
  set, English instructions once, with the number of parallel pairs per language from
  ``uniform``, ``proportional`` (to the clean pairs each language has) or a plan file
  ``{"allocation": {LANG: PAIRS}}``.
* **Question alignment**: questions in each training language paired with their English
  translation, *no answers*, in a "translate this question into English" instruction
  (``qalign_v1``). The held-out questions of the evaluation languages, which may differ from
  the training languages, become the test files.

Every builder writes ``train.jsonl`` (messages form), one ``test_<src>-<tgt>.jsonl`` per
translation direction, and ``manifest.json``: what was read from where, what every filter
dropped, what each part contributed, and the sha256 of every file. Files are written
atomically, so an error leaves nothing half-built.

One frozen :class:`~polyalign.data.mixture_spec.MixtureSpec` holds every setting of a build
(:meth:`~polyalign.data.mixture_spec.MixtureSpec.from_config` makes it from a recipe);
:func:`build` takes it whole and records it in the manifest under ``"spec"``. The instruction
records and question pairs come from :mod:`polyalign.data.instructions`.
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.data import filters, templates
from polyalign.data.corpora import SourceSupply, Supply
from polyalign.data.frozen import Pool, pool_summary
from polyalign.data.instructions import instruction_examples, instruction_records, question_pairs
from polyalign.data.mixture_spec import MixtureSpec
from polyalign.data.pairs import (
    directed,
    seeded_rank,
    select_pairs,
    task_name,
    translation_examples,
)
from polyalign.data.records import Direction, ParallelPair, make_example
from polyalign.io import (
    InputError,
    atomic_dir,
    provenance,
    read_json,
    sha256_file,
    write_json,
    write_jsonl,
)

# ---------------------------------------------------------------------------------------------
# Mixing


def scale(rows: list[dict[str, Any]], ratio: float, seed: int, salt: str) -> list[dict[str, Any]]:
    """``ratio`` × the rows: a seeded sample below 1, whole copies plus a sample above 1.

    >>> rows = [{"id": str(i)} for i in range(10)]
    >>> len(scale(rows, 0.5, 0, "x")), len(scale(rows, 2.5, 0, "x")), len(scale(rows, 0.0, 0, "x"))
    (5, 25, 0)
    """
    if ratio < 0:
        raise ValueError("a mixing ratio cannot be negative")
    whole, frac = divmod(ratio, 1.0)
    ranked = sorted(rows, key=lambda r: seeded_rank(f"{salt}\x00{r['id']}", seed))
    out = [r for _ in range(int(whole)) for r in rows]
    out += ranked[: round(frac * len(rows))]
    return out


def _shuffled(rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows


# ---------------------------------------------------------------------------------------------
# Parallel pairs per language


def language_pairs(
    lang: str,
    sources: list[str],
    n_train: int | None,
    n_test: int,
    seed: int,
    f: filters.PairFilter,
    langid: filters.LanguageId | None = None,
    gettext_dirs: list[str] | tuple[str, ...] = (),
    supply: Supply | None = None,
) -> tuple[list[ParallelPair], list[ParallelPair], dict[str, Any]]:
    """Train and test English→``lang`` pairs and the language's manifest entry.

    The pairs come from ``supply`` (a frozen pool), else from ``sources`` read now; either way the
    same selection runs over them, and the counts include what the supply left out before.
    """
    supply = supply or SourceSupply(sources, gettext_dirs)
    origins: Counter = Counter()

    def stream() -> Iterable[ParallelPair]:
        origins.clear()
        for p in supply.pairs(lang):
            origins[p.origin] += 1
            yield p

    train, test, counts = select_pairs(stream, n_train, n_test, seed, f, langid)
    extra_origins, extra_counts = supply.left_out(lang)
    origins.update(extra_origins)
    counts.update(extra_counts)
    if len(test) < n_test or (n_test > 0 and not train and n_train != 0):
        raise InputError(
            f"only {counts['kept']} clean English-{lang} pairs found in {supply.where}; "
            f"need more than test_size={n_test}"
        )
    info = {
        "name": langs.name(lang),
        "sources": dict(sorted(origins.items())),
        "counts": dict(sorted(counts.items(), key=_count_order)),
        "train_pairs": len(train),
        "test_pairs": len(test),
    }
    return train, test, info


# read, the per-pair drops (by name), then the selection's counts in the order it makes them
_COUNT_ORDER = {"read": 0, "kept": 2, "language_checked": 3, "dropped_language": 4, "dropped_similar": 5, "test": 6}


def _count_order(kv: tuple[str, int]) -> tuple[int, str]:
    return _COUNT_ORDER.get(kv[0], 1 if kv[0].startswith("dropped_") else 7), kv[0]


def available_clean(
    lang: str,
    sources: list[str],
    f: filters.PairFilter,
    gettext_dirs: list[str] | tuple[str, ...] = (),
    supply: Supply | None = None,
) -> int:
    """How many clean, de-duplicated pairs ``lang`` has (what ``proportional`` allocates by)."""
    supply = supply or SourceSupply(sources, gettext_dirs)
    _, _, counts = select_pairs(lambda: supply.pairs(lang), 0, 0, 0, replace(f, language_id=False, max_similarity=None))
    return counts["kept"]


def allocate(
    languages: list[str], allocation: str, budget: int | None, cap: int | None, available: dict[str, int] | None = None
) -> dict[str, int | None]:
    """Training pairs per language: ``uniform``, ``proportional`` or a plan file's numbers.

    ``budget`` is the total over languages (``None``: no total, each language gets ``cap``);
    ``cap`` bounds any one language.

    >>> allocate(["es", "fr", "de"], "uniform", 900, None)
    {'es': 300, 'fr': 300, 'de': 300}
    >>> allocate(["es", "fr"], "proportional", 100, None, {"es": 3000, "fr": 1000})
    {'es': 75, 'fr': 25}
    """

    def capped(n: int | None) -> int | None:
        if n is None or cap is None:
            return cap if n is None else n
        return min(n, cap)

    if allocation == "uniform":
        if budget is None:
            return {code: capped(None) for code in languages}
        share, extra = divmod(budget, len(languages))
        return {code: capped(share + (i < extra)) for i, code in enumerate(languages)}
    if allocation == "proportional":
        assert available is not None
        total = sum(available.values())
        if budget is None or total == 0:
            return {code: capped(available[code]) for code in languages}
        raw = {code: budget * available[code] / total for code in languages}
        out = {code: int(v) for code, v in raw.items()}
        for code in sorted(languages, key=lambda c: raw[c] - out[c], reverse=True)[: budget - sum(out.values())]:
            out[code] += 1  # largest remainders, so the shares add up to the budget
        return {code: capped(n) for code, n in out.items()}
    plan = read_json(allocation)
    table = plan.get("allocation") if isinstance(plan, dict) else None
    if not isinstance(table, dict):
        raise InputError('a plan file must be {"allocation": {LANG: PAIRS}}', allocation)
    normalized = {}
    for code, n in table.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InputError(f"allocation for {code!r} must be a non-negative integer, got {n!r}", allocation)
        normalized[langs.normalize(code)] = n
    missing = [c for c in languages if c not in normalized]
    if missing:
        raise InputError(f"the plan has no allocation for {', '.join(missing)}", allocation)
    extra = sorted(set(normalized) - set(languages))
    if extra:
        raise InputError(f"the plan allocates to {', '.join(extra)}, which data.languages does not name", allocation)
    return {code: capped(normalized[code]) for code in languages}


# ---------------------------------------------------------------------------------------------
# Writing


def write_build(
    out_dir: str | Path,
    examples: list[dict[str, Any]],
    tests: dict[str, list[ParallelPair]],
    manifest: dict[str, Any],
    templates_used: list[str],
) -> dict[str, Any]:
    """Write train, test files and the manifest into ``out_dir`` as one atomic folder."""
    with atomic_dir(out_dir) as tmp:
        n = write_jsonl(tmp / "train.jsonl", examples)
        manifest["files"] = {"train.jsonl": {"rows": n, "sha256": sha256_file(tmp / "train.jsonl")}}
        for name, pairs in tests.items():
            fname = f"test_{name}.jsonl"
            rows = write_jsonl(tmp / fname, (p.to_json() for p in pairs))
            manifest["files"][fname] = {"rows": rows, "sha256": sha256_file(tmp / fname)}
        manifest["tasks"] = {task_name(*name.split("-", 1)): f"test_{name}.jsonl" for name in tests}
        manifest["parts"] = dict(Counter(e["meta"]["task"] for e in examples))
        manifest["template_sha256"] = {t: templates.template_sha256(t) for t in templates_used}
        manifest["provenance"] = provenance()
        write_json(tmp / "manifest.json", manifest)
    return manifest


def _collect_tests(tests: dict[str, list[ParallelPair]], pairs: list[ParallelPair], direction: Direction) -> None:
    for p in directed(pairs, direction):
        tests.setdefault(f"{p.src_lang}-{p.tgt_lang}", []).append(p)


# ---------------------------------------------------------------------------------------------
# Builders


def build(out_dir: str | Path, spec: MixtureSpec, pool: Pool | None = None) -> dict[str, Any]:
    """Build the mixture ``spec`` describes into ``out_dir``; return its manifest (also written there).

    ``pool``: read the pairs from this frozen pool instead of the spec's sources (recorded in the
    manifest); question alignment reads no pairs."""
    if spec.builder == "qalign":
        return build_qalign(out_dir, spec)
    return build_pairs(out_dir, spec, pool)


def build_pairs(out_dir: str | Path, spec: MixtureSpec, pool: Pool | None = None) -> dict[str, Any]:
    """A CoIT (one language) or MuIT (several) mixture: English instructions, each language's
    translated instructions and its translation tasks, each part scaled by its ratio."""
    s = spec
    f = s.pair_filter
    langid = filters.LanguageId() if f.language_id else None
    sources = list(s.sources)
    supply = pool.view(sources, f) if pool is not None else SourceSupply(sources, s.gettext_dirs)
    available = None
    if s.allocation == "proportional":
        available = {c: available_clean(c, sources, f, supply=supply) for c in s.languages}
    plan = allocate(list(s.languages), s.allocation, s.pair_budget, s.max_train_pairs, available)
    manifest: dict[str, Any] = {
        "builder": s.builder,
        "template": s.template,
        "direction": s.direction,
        "seed": s.seed,
        "allocation": s.allocation,
        "pair_budget": s.pair_budget,
        "ratios": {"english": s.english_ratio, "translated": s.translated_ratio, "translation": s.translation_ratio},
        "filters": asdict(f),
        "instructions": list(s.instructions),
        "spec": s.to_manifest(),
        "languages": {},
    }
    if pool is not None:
        manifest["pool"] = pool_summary(pool)
    english = instruction_examples(instruction_records(s.instructions, "en"), "en")
    examples = scale(english, s.english_ratio, s.seed, "english")
    tests: dict[str, list[ParallelPair]] = {}
    for code in s.languages:
        train, test, info = language_pairs(code, sources, plan[code], s.test_size, s.seed, f, langid, supply=supply)
        translated = (
            instruction_examples(instruction_records(s.instructions, code), code) if langs.base(code) != "en" else []
        )
        if s.instructions and s.translated_ratio > 0 and not translated and langs.base(code) != "en":
            print(
                f"[polyalign] data: warning: {code}: 0 translated instructions (no data.instructions entry is in "
                f"{code}: add {code}=PATH, or translate them with `polyalign data translate`)",
                file=sys.stderr,
                flush=True,
            )
        translation = translation_examples(directed(train, s.direction), s.template)
        info["allocated_pairs"] = plan[code]
        info["parts"] = {
            "translated": len(part_t := scale(translated, s.translated_ratio, s.seed, f"translated-{code}")),
            "translation": len(part_m := scale(translation, s.translation_ratio, s.seed, f"translation-{code}")),
        }
        examples += part_t + part_m
        manifest["languages"][code] = info
        _collect_tests(tests, test, s.direction)
    manifest["english_instructions"] = len(english)
    return write_build(out_dir, _shuffled(examples, s.seed), tests, manifest, [s.template])


def build_qalign(out_dir: str | Path, spec: MixtureSpec) -> dict[str, Any]:
    """Build question-alignment data: X question → English question, no answers.

    Training questions come from the train split of the spec's instructions in each training
    language; the test split's questions of each evaluation language become ``test_<lang>-en.jsonl``.
    """
    s = spec
    eval_codes = list(s.eval_languages or s.languages)
    manifest: dict[str, Any] = {
        "builder": "qalign",
        "template": s.template,
        "seed": s.seed,
        "direction": "x-en",
        "instructions": list(s.instructions),
        "eval_languages": eval_codes,
        "spec": s.to_manifest(),
        "languages": {},
    }
    examples: list[dict[str, Any]] = []
    tests: dict[str, list[ParallelPair]] = {}
    for code in s.languages:
        pairs, counts = question_pairs(s.instructions, code, "train")
        for p in pairs:
            user = templates.render_qalign(s.template, p.src, langs.name(code))
            digest = hashlib.sha256(f"{code}\x00{p.src}".encode()).hexdigest()[:16]
            examples.append(
                make_example(
                    f"qa-{code}-{digest}",
                    user,
                    p.tgt,
                    {"task": "question_alignment", "lang": code, "template": s.template, "origin": p.origin},
                )
            )
        manifest["languages"][code] = {
            "name": langs.name(code),
            "sources": dict(Counter(p.origin for p in pairs)),
            "counts": dict(counts),
            "train_pairs": len(pairs),
            "test_pairs": 0,
        }
    for code in eval_codes:
        pairs, _ = question_pairs(s.instructions, code, "test")
        tests[f"{code}-en"] = pairs
        manifest["languages"].setdefault(
            code, {"name": langs.name(code), "sources": {}, "counts": {}, "train_pairs": 0}
        )
        manifest["languages"][code]["test_pairs"] = len(pairs)
    return write_build(out_dir, _shuffled(examples, s.seed), tests, manifest, [s.template])
