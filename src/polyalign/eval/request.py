"""What an evaluation runs (:class:`EvalRequest`), built from a recipe's ``eval`` section and flags.

``polyalign eval`` builds one from its flags on top of a recipe (flags win); ``polyalign run``
builds two from its recipe: the held-out translation pairs of the run and its ``eval.suite``.
Light module: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from polyalign import langs
from polyalign.eval import tasks as T
from polyalign.eval.mt import check_tokenizer
from polyalign.eval.types import QA_NORMS
from polyalign.hub import DEFAULT_MODEL
from polyalign.io import InputError


@dataclass
class EvalRequest:
    """What :func:`polyalign.eval.runner.run_eval` evaluates, and how."""

    model: str
    """Hub id or local folder."""
    tasks: list[str]
    """Task names (:data:`polyalign.eval.tasks.TASKS`)."""
    langs: list[str] = field(default_factory=list)
    """Language specs; empty or ``["all"]``: every language of each task."""
    data: dict[str, str] = field(default_factory=dict)
    """``task → local path`` (may hold ``{lang}``, ``{src}``, ``{tgt}``); other tasks use their default source."""
    adapter: str | None = None
    num_fewshot: int = 0
    fewshot_lang: str = "target"
    prompt_format: str = "chat"
    limit: int | None = None
    batch_size: int = 16
    max_new_tokens: int | None = None
    """Longest answer; ``None``: the task kind's own default."""
    backend: str = "auto"
    label_scoring: str = "first_token"
    label_lang: str = "en"
    """Classification labels in English (``en``) or in the evaluated language (``target``, polysent)."""
    tokenize: str | None = None
    """BLEU tokenizer of translation tasks: ``None`` chooses by target language; ``flores101`` /
    ``flores200`` is spBLEU (needs ``spm_model`` or sacrebleu's cached model)."""
    spm_model: str | None = None
    """spBLEU's SentencePiece model file."""
    comet_model: str | None = None
    """Translation tasks: also score COMET with this local checkpoint (needs ``polyalign[comet]``)."""
    qa_norm: str | None = None
    """QA answer normalisation, ``squad_v1`` or ``mlqa``; ``None``: each task's own default
    (``squad_v1`` for xquad, ``mlqa`` for the rest)."""
    task_limits: dict[str, int] = field(default_factory=dict)
    """``task → limit`` for tasks whose limit differs from ``limit`` (``polymt: 40``)."""
    fidelity_candidates: list[str] = field(default_factory=lambda: list(langs.COMMON_LANGUAGES))
    """Languages the fidelity identifier chooses among (the evaluated language is always added)."""
    rename: dict[str, str] = field(default_factory=dict)
    """Results key for a task under another name (``polyalign run`` keys its held-out
    ``local_translation`` pairs as ``translation/en-es``)."""
    judge_endpoint: str | None = None
    judge_model: str | None = None
    api_key_env: str | None = None
    seed: int = 0
    output: str = ""
    dtype: str = "float32"
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        if not self.tasks:
            raise InputError("name the tasks: --tasks xquad,flores,... (or eval.suite in the recipe)")
        for t in self.tasks:
            T.get(t)
        for t in self.data:
            T.get(t)
        for code in self.fidelity_candidates:
            langs.normalize(code)
        if self.label_lang not in ("en", "target"):
            raise InputError(f"label_lang must be 'en' or 'target', got {self.label_lang!r}")
        if self.tokenize is not None:
            check_tokenizer(self.tokenize)
        if self.qa_norm is not None and self.qa_norm not in QA_NORMS:
            raise InputError(f"qa_norm must be one of {', '.join(QA_NORMS)}, got {self.qa_norm!r}")
        for t, n in self.task_limits.items():
            T.get(t)
            if not isinstance(n, int) or n < 1:
                raise InputError(f"the limit of {t} must be a whole number >= 1, got {n!r}")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit must be >= 1, got {self.limit}")


# Settings that change no result: a rerun with another value finds its finished work.
NO_EFFECT = ("batch_size", "output")


def build_request(cfg: Any = None, **flags: Any) -> EvalRequest:
    """The request of recipe ``cfg`` (a :class:`~polyalign.run_config.RunConfig`, or ``None``) with
    ``flags`` on top: a flag that is ``None`` (not given) leaves the recipe's value.

    ``flags`` use :class:`EvalRequest`'s field names; ``tasks``/``langs`` may be comma-separated
    strings and ``data`` a list of ``TASK=PATH`` items (added to the recipe's ``eval.data_files``).
    """

    values: dict[str, Any] = {"model": DEFAULT_MODEL, "tasks": []}
    if cfg is not None:
        e = cfg.eval
        values.update(
            model=cfg.model.model_name_or_path,
            tasks=list(e.suite),
            langs=list(e.suite_langs),
            data=parse_data(e.data_files),
            num_fewshot=e.num_fewshot,
            fewshot_lang=e.fewshot_lang,
            prompt_format=e.prompt_format,
            limit=e.limit,
            batch_size=e.batch_size,
            max_new_tokens=e.max_new_tokens,
            backend=e.backend,
            label_scoring=e.label_scoring,
            label_lang=e.label_lang,
            tokenize=e.tokenize,
            spm_model=e.spm_model,
            comet_model=e.comet_model,
            qa_norm=e.qa_norm,
            task_limits=T.parse_limits(e.task_limits),
            seed=cfg.seed,
            dtype=cfg.model.dtype,
            trust_remote_code=cfg.model.trust_remote_code,
            fidelity_candidates=run_candidates(cfg),
            output=str(cfg.run_dir / "eval" / "suite"),
        )
    for key in ("tasks", "langs"):
        if isinstance(flags.get(key), str):
            flags[key] = split_list(flags[key])
    if flags.get("data"):
        flags["data"] = {**values.get("data", {}), **parse_data(flags["data"])}
    known = {f.name for f in fields(EvalRequest)}
    unknown = sorted(set(flags) - known)
    if unknown:
        raise TypeError(f"not EvalRequest fields: {unknown}")  # a programming error
    values.update({k: v for k, v in flags.items() if v is not None and v != []})
    if not values.get("output"):
        values["output"] = f"runs/eval-{Path(values['model']).name}"
    return EvalRequest(**values)


def run_candidates(cfg: Any) -> list[str]:
    """Fidelity candidates of a run: English, the run's languages and the drift languages."""
    out = ["en", *cfg.data.languages, *cfg.eval.drift_languages]
    return sorted({langs.base(c) for c in out})


def request_from_recipe(
    cfg: Any, output: str | Path, adapter: str | None = None, model: str | None = None
) -> EvalRequest:
    """The suite request of a ``polyalign run`` recipe (``eval.suite``), writing into ``output``.

    ``adapter``/``model`` record what was tuned (a LoRA folder, or a fully tuned model folder).
    Generation stays on the Hugging Face backend: the run evaluates the model it holds in memory.
    """
    return build_request(cfg, output=str(output), adapter=adapter, model=model, backend="hf")


def heldout_request(
    cfg: Any, run_dir: Path, specs: list[str], output: str | Path, adapter: str | None = None, model: str | None = None
) -> EvalRequest:
    """The held-out translation pairs of a run (``data/test_<src>-<tgt>.jsonl``) as
    ``local_translation`` tasks keyed ``translation/<src>-<tgt>``: zero-shot chat prompts
    (``eval_v1``'s translation prompt, which is ``mt_eval_v1``), the recipe's generation settings."""
    e = cfg.eval
    return EvalRequest(
        model=model or cfg.model.model_name_or_path,
        tasks=["local_translation"],
        langs=list(specs),
        data={"local_translation": str(run_dir / "data" / "test_{src}-{tgt}.jsonl")},
        adapter=adapter,
        limit=e.limit,
        batch_size=e.batch_size,
        max_new_tokens=e.max_new_tokens,
        backend="hf",
        fidelity_candidates=run_candidates(cfg),
        rename={"local_translation": "translation"},
        seed=cfg.seed,
        tokenize=e.tokenize,
        spm_model=e.spm_model,
        comet_model=e.comet_model,
        output=str(output),
        dtype=cfg.model.dtype,
        trust_remote_code=cfg.model.trust_remote_code,
    )


def split_list(text: str) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]``."""
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_data(items: list[str]) -> dict[str, str]:
    """``["xquad=PATH", ...]`` → ``{"xquad": "PATH"}``; unknown tasks are an :class:`InputError`."""
    out = {}
    for item in items:
        task, sep, path = item.partition("=")
        if not sep or not path:
            raise InputError(f"--data wants TASK=PATH, got {item!r}")
        T.get(task.strip())
        out[task.strip()] = path.strip()
    return out
