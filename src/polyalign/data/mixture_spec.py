"""What one alignment mixture is: every setting of a CoIT, MuIT or question-alignment build, in one frozen spec.

A :class:`MixtureSpec` is built once (from a recipe's ``data`` section with :meth:`MixtureSpec.from_config`,
or directly), passed whole to :func:`polyalign.data.mixtures.build`, and written to the build's
``manifest.json`` under ``"spec"`` as it is, the way :class:`~polyalign.data.filters.PairFilter` is
written under ``"filters"``: a manifest says exactly which settings made its data, and
:meth:`MixtureSpec.from_manifest` reads them back.

Light module: no torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from polyalign import langs
from polyalign.data.filters import PairFilter
from polyalign.data.records import Direction
from polyalign.data.templates import TEMPLATES
from polyalign.io import InputError

Builder = Literal["coit", "muit", "qalign"]
BUILDERS: tuple[str, ...] = ("coit", "muit", "qalign")
DIRECTIONS: tuple[str, ...] = ("en-x", "x-en", "both")
_TEMPLATE_FAMILY = {"coit": "translate_", "muit": "translate_", "qalign": "qalign_"}
_LISTS = ("languages", "sources", "instructions", "gettext_dirs", "eval_languages")


@dataclass(frozen=True)
class MixtureSpec:
    """Every setting that decides what a mixture holds (the frozen pool it reads from is not one: it
    is where the pairs come from, recorded in the manifest beside the spec).

    Lists are kept as tuples and language codes in their canonical form, so two specs of the same
    mixture are equal. Question alignment (``qalign``) reads ``languages``, ``eval_languages``,
    ``instructions``, ``template`` and ``seed``; the parallel-pair settings are CoIT's and MuIT's.
    """

    builder: Builder = "coit"
    """``coit``: one language; ``muit``: several in one shuffled set; ``qalign``: questions → English."""
    languages: tuple[str, ...] = ("es",)
    """Training languages (CoIT: exactly one)."""
    sources: tuple[str, ...] = ()
    """Where the parallel pairs come from (``gettext``, ``po:PATH``, a parallel file, ``hf:...``)."""
    instructions: tuple[str, ...] = ()
    """Instruction sets: ``polyinstruct`` or files, English unless written ``LANG=PATH``."""
    gettext_dirs: tuple[str, ...] = ()
    """Locale folders searched for ``*.mo`` catalogs (empty: the system's usual places)."""
    direction: Direction = "en-x"
    """Direction of the translation tasks and the held-out tests (question alignment: ``x-en``)."""
    template: str = "translate_v1"
    """The versioned wording (:data:`polyalign.data.templates.TEMPLATES`) of the builder's prompts."""
    english_ratio: float = 1.0
    """Share of the English instructions: 0.5 keeps a seeded half, 2.0 repeats them twice."""
    translated_ratio: float = 1.0
    """Share of the instructions in each training language, as ``english_ratio``."""
    translation_ratio: float = 1.0
    """Share of the translation tasks, as ``english_ratio``."""
    allocation: str = "uniform"
    """MuIT pairs per language: ``uniform``, ``proportional`` or a plan file's path (CoIT: ``uniform``)."""
    pair_budget: int | None = None
    """MuIT total of training pairs over the languages (``None``: each gets ``max_train_pairs``)."""
    max_train_pairs: int | None = 2000
    """Most training pairs of any one language (``None``: all it has)."""
    test_size: int = 100
    """Held-out pairs per language, disjoint from training by English source string."""
    seed: int = 0
    """Seed of the train/test split, of the samples and of the mixture's order."""
    pair_filter: PairFilter = field(default_factory=PairFilter)
    """What makes a parallel pair clean enough to use."""
    eval_languages: tuple[str, ...] = ()
    """Question alignment: languages whose held-out questions become the tests (empty: the training ones)."""

    def __post_init__(self) -> None:
        for name in _LISTS:
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise InputError(f"mixture spec: {name} must be a list, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        object.__setattr__(self, "languages", tuple(langs.normalize(c) for c in self.languages))
        object.__setattr__(self, "eval_languages", tuple(langs.normalize(c) for c in self.eval_languages))
        _check(self)

    # --- recipes and manifests -------------------------------------------------------------------

    @classmethod
    def from_config(cls, d: Any) -> MixtureSpec:
        """The spec a recipe's ``data`` section (a :class:`~polyalign.config.DataConfig`) asks for.

        CoIT builds its one language at no budget (``allocation``/``pair_budget`` are MuIT's, which an
        arm's recipe may carry); question alignment takes its own template and reads no pairs."""
        if d.builder == "qalign":
            return cls(
                builder="qalign",
                languages=d.languages,
                instructions=d.instructions,
                direction="x-en",
                template=d.qalign_template,
                seed=d.split_seed,
                eval_languages=d.eval_languages,
            )
        muit = d.builder == "muit"
        return cls(
            builder=d.builder,
            languages=d.languages,
            sources=d.sources,
            instructions=d.instructions,
            gettext_dirs=d.gettext_dirs,
            direction=d.direction,
            template=d.template,
            english_ratio=d.english_ratio,
            translated_ratio=d.translated_ratio,
            translation_ratio=d.translation_ratio,
            allocation=d.allocation if muit else "uniform",
            pair_budget=d.pair_budget if muit else None,
            max_train_pairs=d.max_train_pairs,
            test_size=d.test_size,
            seed=d.split_seed,
            pair_filter=PairFilter.from_config(d),
        )

    def to_manifest(self) -> dict[str, Any]:
        """The spec as the manifest records it: plain JSON values, lists for tuples, the filter as a dict.

        >>> MixtureSpec(languages=["ES"], sources=["gettext"]).to_manifest()["languages"]
        ['es']
        """
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out.update({name: list(out[name]) for name in _LISTS})
        out["pair_filter"] = dataclasses.asdict(self.pair_filter)
        return out

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], path: str | Path | None = None) -> MixtureSpec | None:
        """The spec a build's manifest records; ``None`` for a manifest written before specs were
        recorded (its other keys read as they always did). ``path``: the manifest, named in errors."""
        doc = manifest.get("spec")
        if doc is None:
            return None
        if not isinstance(doc, dict):
            raise InputError(f"the manifest's spec must be an object, got {type(doc).__name__}", path)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(doc) - names)
        if unknown:
            raise InputError(f"the manifest's spec has unknown settings: {', '.join(unknown)}", path)
        filter_names = {f.name for f in dataclasses.fields(PairFilter)}
        f = doc.get("pair_filter", {})
        if not isinstance(f, dict) or set(f) - filter_names:
            raise InputError(f"the manifest's spec has a bad pair_filter: {f!r}", path)
        try:
            return cls(**{**doc, "pair_filter": PairFilter(**f)})
        except InputError as e:
            raise InputError(e.message, path) from None


def _check(s: MixtureSpec) -> None:
    """Refuse a spec no builder can make, with the setting and its value named."""
    if s.builder not in BUILDERS:
        raise InputError(f"mixture spec: builder must be one of {', '.join(BUILDERS)}, got {s.builder!r}")
    if not s.languages:
        raise InputError("mixture spec: languages must name at least one language")
    if s.builder == "coit" and len(s.languages) != 1:
        raise InputError(
            f"builder 'coit' builds one language, data.languages names {len(s.languages)}: use builder: muit"
        )
    if s.direction not in DIRECTIONS:
        raise InputError(f"mixture spec: direction must be one of {', '.join(DIRECTIONS)}, got {s.direction!r}")
    family = _TEMPLATE_FAMILY[s.builder]
    if s.template not in TEMPLATES or not s.template.startswith(family):
        known = ", ".join(t for t in TEMPLATES if t.startswith(family))
        raise InputError(f"mixture spec: builder {s.builder!r} takes template {known}, got {s.template!r}")
    for name in ("english_ratio", "translated_ratio", "translation_ratio"):
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise InputError(f"mixture spec: {name} must be a number ≥ 0 (a mixing ratio), got {value!r}")
    for name, least in (("pair_budget", 0), ("max_train_pairs", 0), ("test_size", 0), ("seed", None)):
        value = getattr(s, name)
        if value is None and name in ("pair_budget", "max_train_pairs"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or (least is not None and value < least):
            bound = "an integer" if least is None else f"an integer ≥ {least}"
            raise InputError(f"mixture spec: {name} must be {bound}, got {value!r}")
    if not isinstance(s.pair_filter, PairFilter):
        raise InputError(f"mixture spec: pair_filter must be a PairFilter, got {type(s.pair_filter).__name__}")
    if not s.allocation or not isinstance(s.allocation, str):
        raise InputError("mixture spec: allocation must be uniform, proportional or a plan file's path")
    if s.builder == "qalign":
        if s.direction != "x-en":
            raise InputError(f"mixture spec: question alignment translates into English (x-en), got {s.direction!r}")
        return
    if s.builder == "coit" and (s.allocation != "uniform" or s.pair_budget is not None):
        raise InputError("mixture spec: builder 'coit' builds one language: no allocation or pair_budget")
    if not s.sources:
        raise InputError(f"mixture spec: builder {s.builder!r} needs at least one source of parallel pairs")
    if s.pair_budget is not None and s.pair_budget < len(s.languages):
        raise InputError(
            f"mixture spec: pair_budget {s.pair_budget} is below one parallel pair for each of the "
            f"{len(s.languages)} languages ({', '.join(s.languages)})"
        )
    if s.eval_languages:
        raise InputError("mixture spec: eval_languages is question alignment's (builder 'qalign')")
