"""A Hugging Face model card (``README.md``) for a tuned model, from its run's JSON artefacts alone.

The card holds YAML metadata the hub reads (``base_model``, ``language``, ``library_name``,
``pipeline_tag``, ``license``, ``tags``, ``datasets``), what was trained (builder, languages, data
counts per language, steps, tokens, the training settings) and what the run measured for this model:
the before/after table against the untuned base, with each number's interval where the evaluation
recorded one and each delta's paired interval, and the experiment's claims with their verdicts.
Nothing that was not measured is written: a model trained by ``polyalign train`` alone has no
evaluation section, and says so.

Pure: JSON and YAML in, text out (no torch). ``export`` and ``push`` write it; ``polyalign run``
writes one into every tuned model's folder when it builds the report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from polyalign.io import InputError, atomic_write, read_json
from polyalign.report.collect import collect
from polyalign.report.deltas import delta_effects, with_interval
from polyalign.stats.bootstrap import RESAMPLES, Effect

CARD = "README.md"
NUMBERS = ("chrf", "bleu", "comet", "f1", "exact_match", "accuracy", "fidelity")


def locate(source: Path) -> tuple[Path | None, str | None, Path]:
    """``(run directory, arm name, training folder)`` of a model folder, a run, an arm or a checkpoint.

    The training folder holds ``train_summary.json``; the run directory is the ``polyalign run``
    folder the model belongs to (``None`` for a ``polyalign train`` output); the arm is ``None`` for a
    plain run (its one tuned model).
    """
    folder = source.resolve()
    if folder.parent.name == "checkpoints":  # OUTPUT_DIR/checkpoints/step-N
        folder = folder.parent.parent
    if folder.name == "model" and not (folder / "train_summary.json").is_file():
        folder = folder.parent
    if folder.parent.name == "arms" and (folder.parent.parent / "config.yaml").is_file():
        return folder.parent.parent, folder.name, folder
    if (folder / "config.yaml").is_file() and ((folder / "eval").is_dir() or (folder / "arms").is_dir()):
        return folder, None, folder
    return None, None, folder


def _yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        found = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return {}
    return found if isinstance(found, dict) else {}


def _json(path: Path) -> dict[str, Any]:
    try:
        found = read_json(path) if path.is_file() else {}
    except (ValueError, OSError):
        return {}
    return found if isinstance(found, dict) else {}


def _number(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, (int, float)) else "—"


def _interval(m: dict[str, Any], metric: str) -> str:
    """`` [lo, hi]`` or `` ± half-width`` from a result's recorded 95% interval (``<metric>_ci``: a pair,
    or the half-width sacrebleu's bootstrap gives corpus chrF++ and BLEU), else ``± 1.96 × stderr``,
    else nothing."""
    ci = m.get(f"{metric}_ci")
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(x, (int, float)) for x in ci):
        return f" [{ci[0]:.2f}, {ci[1]:.2f}]"
    if isinstance(ci, (int, float)) and not isinstance(ci, bool):
        return f" ± {ci:.2f}"
    se = m.get(f"{metric}_stderr")
    return f" ± {1.96 * se:.2f}" if isinstance(se, (int, float)) else ""


def evaluation_rows(
    base: dict[str, Any] | None, tuned: dict[str, Any] | None, effects: dict[str, dict[str, Effect]] | None = None
) -> list[str]:
    """Markdown rows ``| task | metric | base | tuned | Δ |`` for every metric measured on the tuned model;
    Δ with its paired interval from ``effects`` (task → metric, :func:`polyalign.report.deltas.delta_effects`)."""
    rows = []
    for task in sorted(tuned or {}):
        m, b = tuned[task], (base or {}).get(task) or {}
        for metric in NUMBERS:
            if not isinstance(m.get(metric), (int, float)):
                continue
            after, before = m[metric], b.get(metric)
            found = ((effects or {}).get(task) or {}).get(metric)
            delta = with_interval(found, after - before) if isinstance(before, (int, float)) else "—"
            rows.append(
                f"| {task} | {metric} | {_number(before)}{_interval(b, metric) if before is not None else ''} "
                f"| {_number(after)}{_interval(m, metric)} | {delta} |"
            )
    return rows


def _data_lines(manifest: dict[str, Any]) -> list[str]:
    lines = []
    for code, info in (manifest.get("languages") or {}).items():
        lines.append(
            f"| {code} | {info.get('train_pairs', 0)} | {info.get('test_pairs', 0)} | "
            f"{len(info.get('sources') or {})} |"
        )
    return lines


def hub_datasets(names: Sequence[str]) -> list[str]:
    """The recipe's data sources that are Hugging Face Hub datasets, as the hub's ``datasets`` field
    names them (``hf:ORG/NAME[:CONFIG][@SPLIT]`` → ``ORG/NAME``); offline sources (``gettext``, the
    shipped ``polyinstruct``, local files) are no hub id and are named in the card's text instead.

    >>> hub_datasets(["gettext", "hf:facebook/flores:spa_Latn@devtest", "polyinstruct"])
    ['facebook/flores']
    """
    out = []
    for name in names:
        if name.startswith("hf:"):
            repo = name[3:].split("@")[0].split(":")[0]
            if "/" in repo and repo not in out:
                out.append(repo)
    return out


def checkpoint_step(source: Path) -> int | None:
    """The step of a training checkpoint folder (``checkpoints/step-N``), else ``None``."""
    s = source.resolve()
    if s.parent.name != "checkpoints":
        return None
    step = _json(s / "trainer_state.json").get("step")
    if isinstance(step, int):
        return step
    tail = s.name.removeprefix("step-")
    return int(tail) if tail.isdigit() else None


def _lora_shape(train: dict[str, Any], model_folder: Path) -> str:
    """``rank / alpha`` from the training settings, else from the adapter's own config."""
    adapter = _json(model_folder / "adapter_config.json")
    rank = train.get("lora_rank", adapter.get("r"))
    alpha = train.get("lora_alpha", adapter.get("lora_alpha"))
    return f"{rank} / {alpha}" if rank is not None and alpha is not None else "—"


def _evaluation(run_dir: Path | None, arm: str | None, step: int | None) -> list[str]:
    """The card's evaluation section: the run's before/after rows of this model with their intervals,
    or one line saying why no number is claimed."""
    if step is not None:
        return [
            f"This is the checkpoint at step {step}; the run evaluated its final model, not this checkpoint: "
            "no numbers are claimed."
        ]
    rows: list[str] = []
    if run_dir is not None:
        try:
            doc = collect(run_dir)
        except (InputError, ValueError, OSError):
            doc = {}
        arms = doc.get("arms") or {}
        name = arm if arm else next(iter(arms), None)
        mine = arms.get(name) if name else None
        effects = delta_effects(doc, arms=[name]).get(name) if mine and doc.get("base") else None
        rows = evaluation_rows(doc.get("base"), (mine or {}).get("results"), effects)
    if not rows:
        return ["This model was not evaluated by the run that trained it: no numbers are claimed."]
    return [
        "Measured by the run that trained this model, on the same items for the untuned base and this model. "
        "Beside each score, its 95% interval as the evaluation recorded it; Δ is this model − the base with "
        f"its 95% interval from a paired bootstrap over the items ({RESAMPLES} resamples, seeded).",
        "",
        "| task | metric | base | this model | Δ |",
        "|---|---|---|---|---|",
        *rows,
    ]


def _use(library: str, base_model: str) -> list[str]:
    if library == "peft":
        code = [
            "from peft import AutoPeftModelForCausalLM",
            "from transformers import AutoTokenizer",
            "",
            'model = AutoPeftModelForCausalLM.from_pretrained("REPO_OR_FOLDER")',
            f'tokenizer = AutoTokenizer.from_pretrained("{base_model}")',
        ]
    else:
        code = [
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            'model = AutoModelForCausalLM.from_pretrained("REPO_OR_FOLDER")',
            'tokenizer = AutoTokenizer.from_pretrained("REPO_OR_FOLDER")',
        ]
    return ["", "## Use", "", "```python", *code, "```", ""]


def model_card(
    source: str | Path,
    base_model: str,
    library: str,
    license: str = "other",
    title: str | None = None,
    claims: Sequence[str] = (),
) -> str:
    """The card's text for the model trained in ``source`` (see :func:`locate`); ``claims``: the
    experiment's claims with their verdicts, one line each, as its report judged them
    (:func:`polyalign.report.claims.run_claims`).

    A checkpoint's card gives its own step and claims none of the final model's numbers (the last
    checkpoint, which holds the final model's weights, carries them); a folder
    with no polyalign training record beside it (no run, no ``train_summary.json``) gets a card
    that says so and claims nothing about how the model was trained or how it scores.
    """
    source = Path(source)
    run_dir, arm, folder = locate(source)
    step = checkpoint_step(source)
    recipe = _yaml(run_dir / "config.yaml") if run_dir else {}
    train_cfg = _yaml(folder / "train_config.yaml") or recipe
    train_summary = _json(folder / "train_summary.json")
    manifest = _json(folder / "data" / "manifest.json")
    trained = run_dir is not None or bool(train_summary)
    last = step is not None and step == train_summary.get("steps")
    if last:  # the last checkpoint holds the final model's weights: the run's numbers are its own
        step = None
    arm_spec = next((a for a in recipe.get("arms") or [] if isinstance(a, dict) and a.get("name") == arm), {})
    data_cfg = recipe.get("data") or {}
    builder = arm_spec.get("builder") or manifest.get("builder") or data_cfg.get("builder")
    languages = list(arm_spec.get("languages") or data_cfg.get("languages") or manifest.get("languages") or [])
    sources = [str(s) for s in arm_spec.get("sources") or data_cfg.get("sources") or []]
    instructions = list(data_cfg.get("instructions") or [])
    train = train_cfg.get("train") or {}
    lora = library == "peft" or (trained and train.get("finetuning_type", "lora") == "lora")
    known_base = base_model if base_model and base_model != "unknown" else None

    meta = {
        "base_model": known_base,
        "language": ["en", *[x for x in languages if x != "en"]],
        "library_name": library,
        "pipeline_tag": "text-generation",
        "license": license,
        "tags": ["polyalign", *([builder] if builder else []), *(["lora"] if lora else []), "multilingual"],
        "datasets": hub_datasets([*sources, *instructions]) or None,
    }
    head = yaml.safe_dump({k: v for k, v in meta.items() if v}, sort_keys=False, allow_unicode=True)
    name = title or (arm or recipe.get("name") or folder.name)
    if step is not None or last:
        name = f"{name}, checkpoint at step {step or train_summary.get('steps')}{' (the final step)' if last else ''}"
    out = ["---", head.rstrip(), "---", "", f"# {name}", ""]
    if not trained:
        out += [
            f"Exported with polyalign{f' (base model `{known_base}`)' if known_base else ''}. No polyalign "
            "training record was found with this model (no run folder, no train_summary.json), so nothing "
            "about how it was trained or how it scores is claimed here."
        ]
        return "\n".join([*out, *_use(library, known_base or "REPO_OR_FOLDER")])
    out += [
        f"`{known_base or 'the base model'}` tuned with polyalign "
        f"({builder or 'instruction tuning'}{' on ' + ', '.join(languages) if languages else ''}; "
        f"{'LoRA' if lora else 'full fine-tuning'}).",
        "",
        "## Training",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    adapter_dir = next(
        (d for d in (source, source / "model", folder / "model") if (d / "adapter_config.json").is_file()), source
    )
    final = step is None  # a checkpoint saw part of the run: the run's totals and losses are not its own
    facts = {
        "steps": train_summary.get("steps") if final else step,
        "training examples": train_summary.get("examples"),
        "tokens": train_summary.get("tokens") if final else None,
        "supervised tokens": train_summary.get("supervised_tokens") if final else None,
        "first → last loss": (
            f"{train_summary['first_loss']:.3f} → {train_summary['last_loss']:.3f}"
            if final
            and isinstance(train_summary.get("first_loss"), (int, float))
            and isinstance(train_summary.get("last_loss"), (int, float))
            else None
        ),
        "finetuning": train.get("finetuning_type"),
        "LoRA rank / alpha": _lora_shape(train, adapter_dir) if lora else None,
        "learning rate": train.get("learning_rate"),
        "batch × accumulation": (
            f"{train.get('per_device_train_batch_size')} × {train.get('gradient_accumulation_steps')}"
            if train.get("per_device_train_batch_size")
            else None
        ),
        "max sequence length": train.get("max_seq_length"),
        "seed": train_cfg.get("seed", recipe.get("seed")),
    }
    out += [f"| {k} | {v} |" for k, v in facts.items() if v is not None]
    if sources or instructions:
        out += ["", f"Data: {', '.join(f'`{x}`' for x in [*sources, *instructions])} (as the recipe names them)."]
    data_rows = _data_lines(manifest)
    if data_rows:
        out += [
            "",
            "Parallel pairs per language:",
            "",
            "| language | train pairs | test pairs | source files |",
            "|---|---|---|---|",
        ]
        out += data_rows

    out += ["", "## Evaluation", "", *_evaluation(run_dir, arm, step)]
    if claims and step is None:
        out += ["", "## The experiment's claims", ""]
        out += [f"- {line}" for line in claims]
    return "\n".join([*out, *_use(library, known_base or "REPO_OR_FOLDER")])


def with_license(text: str, license: str) -> str:
    """The card ``text`` with ``license`` as its metadata's license field (added when it has none).

    >>> with_license("---\\nbase_model: x\\nlicense: other\\n---\\n# m\\n", "apache-2.0").splitlines()[2]
    'license: apache-2.0'
    """
    meta = card_metadata(text)
    if not meta:
        return text
    end = text.find("\n---\n", 4)
    head = yaml.safe_dump({**meta, "license": license}, sort_keys=False, allow_unicode=True)
    return "---\n" + head + text[end + 1 :]


def card_metadata(text: str) -> dict[str, Any]:
    """The YAML metadata block of a card (what the hub reads); ``{}`` when there is none."""
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---\n", 4)
    return yaml.safe_load(text[4:end]) or {} if end > 0 else {}


def library_of(folder: Path) -> str:
    """``peft`` for an adapter folder, ``transformers`` for a full model."""
    return "peft" if (folder / "adapter_config.json").is_file() else "transformers"


def base_of(folder: Path, fallback: str | None = None) -> str:
    """The base model a model folder names (an adapter's ``base_model_name_or_path``, a model's
    ``_name_or_path``), else ``fallback``."""
    for name, key in (("adapter_config.json", "base_model_name_or_path"), ("config.json", "_name_or_path")):
        path = folder / name
        if path.is_file():
            try:
                value = json.loads(path.read_text(encoding="utf-8")).get(key)
            except ValueError:
                value = None
            if value:
                return str(value)
    return fallback or "unknown"


def write_model_cards(run_dir: str | Path, claims: Sequence[str] = ()) -> list[Path]:
    """A card in every tuned model folder of a run (``model/``, ``arms/<arm>/model/``), each with the
    run's ``claims`` (see :func:`model_card`); their paths."""

    run_dir = Path(run_dir)
    base = (_yaml(run_dir / "config.yaml").get("model") or {}).get("model_name_or_path")
    written = []
    for folder in [run_dir / "model", *sorted((run_dir / "arms").glob("*/model"))]:
        if not ((folder / "adapter_config.json").is_file() or (folder / "config.json").is_file()):
            continue
        with atomic_write(folder / CARD) as f:
            f.write(model_card(folder, base or base_of(folder), library_of(folder), claims=claims))
        written.append(folder / CARD)
    return written
