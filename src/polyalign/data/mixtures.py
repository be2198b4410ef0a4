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

Library functions take plain arguments; :func:`build_from_config` maps a recipe onto them.
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Literal

from polyalign import langs
from polyalign.data import filters, records, resources, templates
from polyalign.data.pairs import (
    Direction,
    directed,
    seeded_rank,
    select_pairs,
    task_name,
    translation_examples,
)
from polyalign.data.pool import Pool, SourceSupply, Supply, pool_summary
from polyalign.data.records import ParallelPair, alpaca_user, make_example
from polyalign.io import (
    InputError,
    atomic_dir,
    provenance,
    read_json,
    sha256_file,
    write_json,
    write_jsonl,
)
from polyalign.rows import split_columns

Builder = Literal["coit", "muit", "qalign"]


# ---------------------------------------------------------------------------------------------
# Instructions


def instruction_records(specs: Iterable[str], lang: str, split: str = "train") -> list[dict[str, Any]]:
    """Instruction records in ``lang`` from each spec: ``polyinstruct`` or a file (any format).

    Alpaca records stay ``{"id", "instruction", "input", "output"}``; conversations come back as
    ``{"id", "messages"}``. For a file, ``spec`` may be ``LANG=PATH``, and only specs of ``lang``
    (or without a language, for English) are read; a column mapping may follow
    (``hf:ORG/NAME#instruction=question,output=answer``; alpaca fields then).
    """

    code = langs.base(lang)
    out: list[dict[str, Any]] = []
    for spec in specs:
        if spec == "polyinstruct":
            out.extend({**r, "origin": resources.POLYINSTRUCT_VERSION} for r in resources.polyinstruct(code, split))
            continue
        source, columns = split_columns(spec, code)
        spec_lang, _, path = source.partition("=") if _has_lang_prefix(source) else ("en", "", source)
        if langs.base(spec_lang) != code:
            continue
        fmt = "alpaca" if columns else records.detect_format(path)
        before = len(out)
        for r in records.read_instructions(path, fmt, columns):
            out.append({**r, "origin": f"file:{Path(path).name}"})
        if len(out) == before:
            raise InputError("holds no instruction records (an empty file)", path)
    return out


def _has_lang_prefix(spec: str) -> bool:
    """``es=path`` names a language; ``path`` alone is English."""
    head, sep, _ = spec.partition("=")
    if not sep or "/" in head or "." in head:
        return False
    try:
        langs.normalize(head)
        return True
    except InputError:
        return False


def instruction_examples(records: Iterable[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Chat examples from instruction records: the instruction (and its input) asks, the output answers."""
    out = []
    for r in records:
        meta = {"task": "instruction", "lang": lang, "origin": r.get("origin", "")}
        if "messages" in r:
            out.append({"id": f"inst-{lang}-{r['id']}", "messages": r["messages"], "meta": meta})
            continue
        user = alpaca_user(r["instruction"], r.get("input", ""))
        out.append(make_example(f"inst-{lang}-{r['id']}", user, r["output"], meta))
    return out


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


DEFAULT_FILTER = filters.PairFilter()


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


def build_coit(
    out_dir: str | Path,
    lang: str,
    *,
    sources: list[str],
    instructions: list[str],
    direction: Direction = "en-x",
    template: str = "translate_v1",
    english_ratio: float = 1.0,
    translated_ratio: float = 1.0,
    translation_ratio: float = 1.0,
    max_train_pairs: int | None = 2000,
    test_size: int = 100,
    seed: int = 0,
    pair_filter: filters.PairFilter = DEFAULT_FILTER,
    gettext_dirs: list[str] | tuple[str, ...] = (),
    pool: Pool | None = None,
) -> dict[str, Any]:
    """Build a CoIT mixture for one language; return the manifest (also written to ``out_dir``).

    ``pool``: read the pairs from this frozen pool instead of ``sources`` (recorded in the manifest)."""
    return build_muit(
        out_dir,
        [lang],
        sources=sources,
        instructions=instructions,
        direction=direction,
        template=template,
        english_ratio=english_ratio,
        translated_ratio=translated_ratio,
        translation_ratio=translation_ratio,
        allocation="uniform",
        pair_budget=None,
        max_train_pairs=max_train_pairs,
        test_size=test_size,
        seed=seed,
        pair_filter=pair_filter,
        gettext_dirs=gettext_dirs,
        builder="coit",
        pool=pool,
    )


def build_muit(
    out_dir: str | Path,
    languages: list[str],
    *,
    sources: list[str],
    instructions: list[str],
    direction: Direction = "en-x",
    template: str = "translate_v1",
    english_ratio: float = 1.0,
    translated_ratio: float = 1.0,
    translation_ratio: float = 1.0,
    allocation: str = "uniform",
    pair_budget: int | None = None,
    max_train_pairs: int | None = 2000,
    test_size: int = 100,
    seed: int = 0,
    pair_filter: filters.PairFilter = DEFAULT_FILTER,
    gettext_dirs: list[str] | tuple[str, ...] = (),
    builder: Builder = "muit",
    pool: Pool | None = None,
) -> dict[str, Any]:
    """Build a MuIT mixture over ``languages``; return the manifest (also written to ``out_dir``).

    ``pool``: read the pairs from this frozen pool instead of ``sources`` (recorded in the manifest)."""
    codes = [langs.normalize(c) for c in languages]
    langid = filters.LanguageId() if pair_filter.language_id else None
    supply = pool.view(sources, pair_filter) if pool is not None else SourceSupply(sources, gettext_dirs)
    available = None
    if allocation == "proportional":
        available = {c: available_clean(c, sources, pair_filter, supply=supply) for c in codes}
    plan = allocate(codes, allocation, pair_budget, max_train_pairs, available)
    manifest: dict[str, Any] = {
        "builder": builder,
        "template": template,
        "direction": direction,
        "seed": seed,
        "allocation": allocation,
        "pair_budget": pair_budget,
        "ratios": {"english": english_ratio, "translated": translated_ratio, "translation": translation_ratio},
        "filters": asdict(pair_filter),
        "instructions": instructions,
        "languages": {},
    }
    if pool is not None:
        manifest["pool"] = pool_summary(pool)
    english = instruction_examples(instruction_records(instructions, "en"), "en")
    examples = scale(english, english_ratio, seed, "english")
    tests: dict[str, list[ParallelPair]] = {}
    for code in codes:
        train, test, info = language_pairs(
            code, sources, plan[code], test_size, seed, pair_filter, langid, supply=supply
        )
        translated = (
            instruction_examples(instruction_records(instructions, code), code) if langs.base(code) != "en" else []
        )
        if instructions and translated_ratio > 0 and not translated and langs.base(code) != "en":
            print(
                f"[polyalign] data: warning: {code}: 0 translated instructions (no data.instructions entry is in "
                f"{code}: add {code}=PATH, or translate them with `polyalign data translate`)",
                file=sys.stderr,
                flush=True,
            )
        translation = translation_examples(directed(train, direction), template)
        info["allocated_pairs"] = plan[code]
        info["parts"] = {
            "translated": len(part_t := scale(translated, translated_ratio, seed, f"translated-{code}")),
            "translation": len(part_m := scale(translation, translation_ratio, seed, f"translation-{code}")),
        }
        examples += part_t + part_m
        manifest["languages"][code] = info
        _collect_tests(tests, test, direction)
    manifest["english_instructions"] = len(english)
    return write_build(out_dir, _shuffled(examples, seed), tests, manifest, [template])


def build_qalign(
    out_dir: str | Path,
    languages: list[str],
    eval_languages: list[str],
    *,
    instructions: list[str],
    template: str = "qalign_v1",
    seed: int = 0,
) -> dict[str, Any]:
    """Build question-alignment data: X question → English question, no answers.

    Training questions come from the train split of ``instructions`` in each training language;
    the test split's questions of each evaluation language become ``test_<lang>-en.jsonl``.
    """
    codes = [langs.normalize(c) for c in languages]
    eval_codes = [langs.normalize(c) for c in eval_languages] or codes
    manifest: dict[str, Any] = {
        "builder": "qalign",
        "template": template,
        "seed": seed,
        "direction": "x-en",
        "instructions": instructions,
        "eval_languages": eval_codes,
        "languages": {},
    }
    examples: list[dict[str, Any]] = []
    tests: dict[str, list[ParallelPair]] = {}
    for code in codes:
        pairs, counts = question_pairs(instructions, code, "train")
        for p in pairs:
            user = templates.render_qalign(template, p.src, langs.name(code))
            digest = hashlib.sha256(f"{code}\x00{p.src}".encode()).hexdigest()[:16]
            examples.append(
                make_example(
                    f"qa-{code}-{digest}",
                    user,
                    p.tgt,
                    {"task": "question_alignment", "lang": code, "template": template, "origin": p.origin},
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
        pairs, _ = question_pairs(instructions, code, "test")
        tests[f"{code}-en"] = pairs
        manifest["languages"].setdefault(
            code, {"name": langs.name(code), "sources": {}, "counts": {}, "train_pairs": 0}
        )
        manifest["languages"][code]["test_pairs"] = len(pairs)
    return write_build(out_dir, _shuffled(examples, seed), tests, manifest, [template])


def question_pairs(instructions: list[str], lang: str, split: str) -> tuple[list[ParallelPair], Counter]:
    """``(question in lang, English question)`` pairs, matched by record id, de-duplicated."""
    counts: Counter = Counter()
    english = {r["id"]: r for r in instruction_records(instructions, "en", split) if "instruction" in r}
    seen: set[str] = set()
    out = []
    for r in instruction_records(instructions, lang, split):
        counts["read"] += 1
        en = english.get(r["id"])
        if en is None or "instruction" not in r:
            counts["dropped_unmatched"] += 1
            continue
        q = _question(r)
        key = filters.dedup_key(q)
        if key in seen:
            counts["dropped_duplicate"] += 1
            continue
        seen.add(key)
        out.append(ParallelPair(q, _question(en), langs.normalize(lang), "en", r.get("origin", "")))
    counts["kept"] = len(out)
    return out, counts


def _question(r: dict[str, Any]) -> str:
    return r["instruction"] + (f"\n\n{r['input']}" if r.get("input") else "")


def build_from_config(out_dir: str | Path, d: Any, pool: Pool | None = None) -> dict[str, Any]:
    """Build the data a recipe's ``data`` section asks for (a :class:`~polyalign.config.DataConfig`),
    its pairs from ``pool`` when given (question alignment reads none)."""
    common = dict(
        sources=d.sources,
        instructions=d.instructions,
        direction=d.direction,
        template=d.template,
        english_ratio=d.english_ratio,
        translated_ratio=d.translated_ratio,
        translation_ratio=d.translation_ratio,
        max_train_pairs=d.max_train_pairs,
        test_size=d.test_size,
        seed=d.split_seed,
        pair_filter=d.pair_filter(),
        gettext_dirs=d.gettext_dirs,
        pool=pool,
    )
    if d.builder == "coit":
        if len(d.languages) != 1:
            raise InputError(
                f"builder 'coit' builds one language, data.languages names {len(d.languages)}: use builder: muit"
            )
        return build_coit(out_dir, d.languages[0], **common)
    if d.builder == "muit":
        return build_muit(out_dir, d.languages, allocation=d.allocation, pair_budget=d.pair_budget, **common)
    return build_qalign(
        out_dir,
        d.languages,
        d.eval_languages,
        instructions=d.instructions,
        template=d.qalign_template,
        seed=d.split_seed,
    )
