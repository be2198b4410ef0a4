from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from polyalign.coerce import dump_recipe
from polyalign.io import InputError
from polyalign.recipe import load_recipe
from polyalign.run_config import RunConfig


def write(tmp_path, text):
    p = tmp_path / "recipe.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_default_recipe_loads_and_matches_dataclass_defaults_where_unset():
    cfg = load_recipe()
    assert cfg.name == "default"
    assert cfg.data.languages == ["es"]
    assert cfg.train.finetuning_type == "lora"
    assert cfg.train.max_steps > 0
    assert cfg.model.model_name_or_path == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_overrides_dotted_and_bare_names(tmp_path):
    p = write(
        tmp_path,
        """
        name: t
        train:
          learning_rate: 1.0e-3
    """,
    )
    cfg = load_recipe(p, ["train.learning_rate=1e-4", "max_steps=7", "languages=fr,de", "seed=3"])
    assert cfg.train.learning_rate == pytest.approx(1e-4)
    assert cfg.train.max_steps == 7
    assert cfg.data.languages == ["fr", "de"]
    assert cfg.seed == 3


def test_unknown_key_names_file_line_and_suggestion(tmp_path):
    p = write(
        tmp_path,
        """
        name: t
        train:
          lerning_rate: 0.1
    """,
    )
    with pytest.raises(InputError) as e:
        load_recipe(p)
    assert str(e.value) == f"{p}:4: unknown key 'train.lerning_rate' (did you mean 'learning_rate'?)"


def test_wrong_type_names_file_and_line(tmp_path):
    p = write(
        tmp_path,
        """
        name: t
        train:
          max_steps: ten
    """,
    )
    with pytest.raises(InputError) as e:
        load_recipe(p)
    assert str(e.value) == f"{p}:4: 'train.max_steps' must be an integer, got str 'ten'"


def test_literal_choice_and_post_init_checks(tmp_path):
    with pytest.raises(InputError, match="'train.finetuning_type' must be one of 'lora', 'full'"):
        load_recipe(write(tmp_path, "train:\n  finetuning_type: qlora\n"))
    with pytest.raises(InputError, match="warmup_steps must be a whole number"):
        load_recipe(write(tmp_path, "train:\n  warmup_steps: 1.5\n"))
    with pytest.raises(InputError, match=r"warmup_ratio must be in \[0, 1\)"):
        load_recipe(write(tmp_path, "train:\n  warmup_ratio: 1.5\n"))
    assert load_recipe(write(tmp_path, "train:\n  warmup_ratio: 0.2\n")).train.warmup_steps == 0.2


def test_bad_override_is_input_error(tmp_path):
    p = write(tmp_path, "name: t\n")
    with pytest.raises(InputError, match="unknown key 'nope'"):
        load_recipe(p, ["nope=1"])
    with pytest.raises(InputError, match="not key=value"):
        load_recipe(p, ["justaword"])


def test_a_section_given_one_value_names_where_and_the_key_to_write(tmp_path):
    # `model=acme/x` named the embedded default recipe at line 0 ("'model' must be a mapping")
    with pytest.raises(InputError) as e:
        load_recipe(None, ["model=acme/other"])
    assert str(e.value) == (
        "<command line>: 'model' is a section, not a key, got str 'acme/other': set one of its keys, "
        "e.g. model.model_name_or_path=..."
    )
    with pytest.raises(InputError, match=r"^<command line>: 'arms' must be a list of mappings, got int 3$"):
        load_recipe(None, ["arms=3"])
    p = tmp_path / "r.yaml"
    p.write_text("name: x\nmodel: acme/other\n")
    with pytest.raises(InputError) as e:
        load_recipe(p)
    assert str(e.value) == (
        f"{p}:2: 'model' must be a mapping of its keys (model_name_or_path, dtype, trust_remote_code, ...), "
        "got str 'acme/other'"
    )


def test_a_run_recipe_to_train_and_a_training_job_to_run_are_named_with_their_command(tmp_path):
    from polyalign.config import TrainJobConfig

    run = tmp_path / "config.yaml"
    run.write_text("seed: 0\nname: x\narms: []\ndata:\n  languages: [es]\n")
    with pytest.raises(InputError) as e:
        load_recipe(run, cls=TrainJobConfig)
    assert str(e.value) == (
        f"{run}:2: a run recipe (name, data, arms), not a training job: `polyalign run {run}` runs it; "
        "polyalign train reads model, output_dir, seed, train, train_file"
    )
    job = tmp_path / "train_config.yaml"
    job.write_text("train_file: data/train.jsonl\noutput_dir: runs/x\n")
    with pytest.raises(InputError) as e:
        load_recipe(job)  # it had said "unknown key 'train_file' (did you mean 'train'?)" after a rename warning
    assert str(e.value) == f"{job}:1: a training job (train_file), not a run recipe: `polyalign train {job}` trains it"
    assert load_recipe(job, cls=TrainJobConfig).train_file == "data/train.jsonl"


def test_errors_inside_an_overridden_list_name_the_command_line(tmp_path):
    # `arms=[...]` replaced the default recipe's arms, but errors inside it named default.yaml's lines
    bad = "arms=[{name: x, builder: cot, languages: [fr]}]"
    with pytest.raises(InputError, match=r"^<command line>: 'arms.0.builder' must be one of 'coit', 'muit', "):
        load_recipe(None, [bad])
    with pytest.raises(InputError, match=r"^<command line>: arms.x.languages: unknown language code 'french'"):
        load_recipe(None, ["arms=[{name: x, builder: coit, languages: [french]}]"])
    twice = "arms=[{name: x, builder: coit, languages: [fr]}, {name: x, builder: coit, languages: [es]}]"
    with pytest.raises(InputError, match=r"^<command line>: arms: two arms share the name x$"):
        load_recipe(None, [twice])
    p = tmp_path / "r.yaml"
    p.write_text(
        "name: r\narms:\n  - {name: x, builder: coit, languages: [es]}\n  - {name: x, builder: coit, languages: [fr]}\n"
    )
    with pytest.raises(InputError) as e:  # the key the message names first (arms), not 'name' further on
        load_recipe(p)
    assert str(e.value) == f"{p}:2: arms: two arms share the name x"


@pytest.mark.parametrize(
    ("override", "meant"),
    [
        ("lr=1e-4", "learning_rate"),
        ("epochs=2", "num_train_epochs"),
        ("translate.endpoint=http://127.0.0.1:1/v1", "base_url"),  # the judge's name for it
        ("judge.base_url=http://127.0.0.1:1/v1", "endpoint"),  # the translator's
        ("lerning_rate=1e-4", "learning_rate"),  # spelled alike first
    ],
)
def test_an_unknown_key_suggests_what_other_tools_call_it(override, meant):
    with pytest.raises(InputError, match=rf"unknown key '[\w.]+' \(did you mean '{meant}'\?\)$"):
        load_recipe(None, [override])


def test_invalid_yaml_reports_line(tmp_path):
    p = write(tmp_path, "name: t\ntrain: [1, 2\n")
    with pytest.raises(InputError) as e:
        load_recipe(p)
    assert str(e.value).startswith(f"{p}:")
    assert "invalid YAML" in str(e.value)


def test_a_key_given_twice_is_refused_not_silently_overwritten(tmp_path):
    p = write(tmp_path, "name: t\ntrain:\n  max_steps: 3\n  packing: true\n  max_steps: 30\n")
    with pytest.raises(InputError) as e:
        load_recipe(p)
    assert str(e.value) == f"{p}:5: duplicate key 'train.max_steps' (first on line 3)"


def test_resolved_recipe_round_trips(tmp_path):
    cfg = load_recipe(None, ["max_steps=3"])
    p = tmp_path / "again.yaml"
    p.write_text(dump_recipe(cfg))
    assert load_recipe(p) == cfg
    assert isinstance(cfg, RunConfig)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("train:\n  lerning_rate: 1\n", ":2: unknown key 'train.lerning_rate'"),
        ("data:\n  min_words: many\n", ":2: 'data.min_words' must be an integer"),
    ],
)
def test_cli_bad_recipe_one_line_exit_2_no_traceback(tmp_path, body, expected):
    p = tmp_path / "recipe.yaml"
    p.write_text(body)
    out_dir = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", "run", str(p), f"runs_dir={out_dir}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {p}") and expected in lines[0]
    assert not out_dir.exists()  # nothing half-written


def test_train_job_takes_flat_huggingface_keys():
    from polyalign.config import TrainJobConfig
    from polyalign.recipe import load_recipe

    job = load_recipe(
        None,
        [
            "model_name_or_path=org/model",
            "train_file=data.jsonl",
            "output_dir=out",
            "learning_rate=2e-4",
            "seed=3",
            "strategy=fsdp",
            "packing=false",
            "resume_from_checkpoint=latest",
            "report_to=tensorboard",
        ],
        cls=TrainJobConfig,
    )
    assert (job.model.model_name_or_path, job.train_file, job.output_dir, job.seed) == (
        "org/model",
        "data.jsonl",
        "out",
        3,
    )
    assert (job.train.learning_rate, job.train.strategy, job.train.packing) == (2e-4, "fsdp", False)
    assert (job.train.resume_from_checkpoint, job.train.report_to) == ("latest", ["tensorboard"])


def test_train_job_errors_are_one_line():
    from polyalign.config import TrainJobConfig
    from polyalign.io import InputError
    from polyalign.recipe import load_recipe

    with pytest.raises(InputError, match=r"^<command line>: train_file is required"):
        load_recipe(None, ["learning_rate=1e-4"], cls=TrainJobConfig)
    with pytest.raises(InputError, match=r"unknown key 'packin' \(did you mean 'packing'\?\)"):
        load_recipe(None, ["train_file=x", "packin=true"], cls=TrainJobConfig)
    with pytest.raises(InputError, match=r"'train.strategy' must be one of 'ddp', 'fsdp', got str 'zero3'"):
        load_recipe(None, ["train_file=x", "strategy=zero3"], cls=TrainJobConfig)


def test_retired_eval_tasks_is_one_warning_line(tmp_path, capsys):
    path = tmp_path / "old.yaml"
    path.write_text("name: old\neval:\n  tasks: [translation]\n  batch_size: 4\n")
    cfg = load_recipe(path)
    assert cfg.eval.batch_size == 4 and not hasattr(cfg.eval, "tasks")
    err = capsys.readouterr().err
    assert err == (
        f"warning: {path}:3: 'eval.tasks' is gone: the held-out translation pairs are always evaluated; "
        "other tasks go in eval.suite; ignored\n"
    )


def test_drift_languages_must_be_known_to_the_identifier(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("eval:\n  drift_languages: [fr, tlh]\n")
    with pytest.raises(
        InputError, match="eval.drift_languages: the language identifier \\(langid\\) does not know 'tlh'"
    ):
        load_recipe(path)


def test_an_unknown_suite_task_is_named_at_its_line(tmp_path):
    path = write(tmp_path, "eval:\n  batch_size: 4\n  suite: [polyqa, squad]\n")
    with pytest.raises(InputError, match=r"unknown eval.suite task 'squad' \(known: .*polyqa") as e:
        load_recipe(path)
    assert e.value.line == 3
    assert load_recipe(path, ["eval.suite=polyqa,polysent"]).eval.suite == ["polyqa", "polysent"]


def test_eval_fields_of_issue_20_are_checked_at_their_line(tmp_path):
    path = write(tmp_path, "eval:\n  suite: [polymt]\n  task_limits: [polymt=0]\n")
    with pytest.raises(InputError, match=r"eval.task_limits: each item is TASK=N with N >= 1, got 'polymt=0'") as e:
        load_recipe(path)
    assert e.value.line == 3
    path = write(tmp_path, "eval:\n  task_limits: [flores200=4]\n")
    with pytest.raises(InputError, match=r"eval.task_limits: unknown task 'flores200'"):
        load_recipe(path)
    path = write(tmp_path, "eval:\n  qa_norm: squad\n")
    with pytest.raises(InputError, match="qa_norm"):
        load_recipe(path)
    path = write(tmp_path, "eval:\n  suite_langs: [polymt/en-xx]\n")
    with pytest.raises(InputError, match="eval.suite_langs"):
        load_recipe(path)
    path = write(
        tmp_path, "eval:\n  suite_langs: [polymt/en-es, es]\n  task_limits: [polymt=40]\n  qa_norm: squad_v1\n"
    )
    cfg = load_recipe(path).eval
    assert (cfg.suite_langs, cfg.task_limits, cfg.qa_norm) == (["polymt/en-es", "es"], ["polymt=40"], "squad_v1")


def test_output_dir_in_a_run_recipe_is_read_as_runs_dir_with_a_warning(tmp_path, capsys):
    """One name, one meaning: output_dir is a job's own folder (polyalign train); the folder that
    holds run directories is runs_dir. An older run recipe still works, and says so."""
    path = write(tmp_path, "name: old\noutput_dir: elsewhere\n")
    cfg = load_recipe(path)
    assert cfg.runs_dir == "elsewhere" and str(cfg.run_dir) == "elsewhere/old"
    assert f"warning: {path}:2: 'output_dir' is now 'runs_dir'" in capsys.readouterr().err
    assert load_recipe(None, ["output_dir=x"]).runs_dir == "x"
    assert "'output_dir' is now 'runs_dir' in a run recipe" in capsys.readouterr().err
    assert "\noutput_dir:" not in dump_recipe(cfg) and "\nruns_dir: elsewhere" in dump_recipe(cfg)


def test_analysis_pairs_is_a_recipe_field_sized_per_recipe(tmp_path):
    """The look inside reads ``analysis_pairs`` held-out pairs: CPU-sized by default, ≥ 1,000 at real scale."""
    from pathlib import Path

    from polyalign.arms import analysis_pairs_limit, quick

    default = load_recipe()
    assert default.analysis_pairs == 40 and analysis_pairs_limit(default) == 40
    assert default.data.test_size == 120  # the pilot scores all 120; the look inside reads the first 40
    # --quick asks for 16 pairs of a 6-pair held-out set: the look inside is planned on the 6 it reads
    assert quick(default).analysis_pairs == 16 and analysis_pairs_limit(quick(default)) == 6
    recipes = Path(__file__).resolve().parents[2] / "recipes"
    for name in ("paper_xllama_7b.yaml", "paper_qalign_lora.yaml"):
        cfg = load_recipe(recipes / name)
        assert cfg.analysis_pairs >= 1000 and cfg.data.test_size >= cfg.analysis_pairs, name
    assert load_recipe(write(tmp_path, "analysis_pairs: 500\n")).analysis_pairs == 500
    with pytest.raises(InputError, match="analysis_pairs must be at least 2"):
        load_recipe(write(tmp_path, "analysis_pairs: 1\n"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seed=-1", "seed must be at least 0 (numpy's and torch's generators take no negative seed), got -1"),
        ("scaling.budget=0", "scaling.budget must be between 1 and 10^15 parallel pairs, got 0"),
        ("scaling.budget=100000000000000000000", "scaling.budget must be between 1 and 10^15 parallel pairs"),
    ],
)
def test_a_pilot_setting_that_could_only_fail_after_training_is_refused_at_load(override, message):
    with pytest.raises(InputError) as e:
        load_recipe(None, [override])
    assert message in str(e.value)
