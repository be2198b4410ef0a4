"""`polyalign train`'s checks made before anything loads or is written: a resume with other settings,
a user's folder or recipe in the way, a bad max_steps, a data file given as the recipe (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyalign.cli import main
from polyalign.config import ModelConfig, TrainConfig, TrainJobConfig
from polyalign.train.job import JOB_CONFIG, RECORD_HEADER, write_job_config


def alpaca(path: Path) -> Path:
    path.write_text(json.dumps({"instruction": "Say hi.", "input": "", "output": "hi"}) + "\n", encoding="utf-8")
    return path


def trained_output(tmp_path: Path, **train) -> tuple[Path, list[str]]:
    """An output_dir as a finished 4-step run leaves it (its record and a checkpoint), and the
    command line that made it."""
    data = alpaca(tmp_path / "a.jsonl")
    out = tmp_path / "out"
    settings = {"max_steps": 4, "learning_rate": 2e-4, "per_device_train_batch_size": 2, **train}
    job = TrainJobConfig(
        train_file=str(data),
        output_dir=str(out),
        model=ModelConfig(model_name_or_path=str(tmp_path / "model")),
        train=TrainConfig(**settings),
    )
    (tmp_path / "model").mkdir()
    step = out / "checkpoints" / "step-4"
    step.mkdir(parents=True)
    (step / "trainer_state.json").write_text(json.dumps({"step": 4, "global_batch": 2}), encoding="utf-8")
    write_job_config(job, out / JOB_CONFIG)
    argv = [
        "train",
        f"train_file={data}",
        f"output_dir={out}",
        f"model_name_or_path={tmp_path / 'model'}",
        *(f"{k}={v}" for k, v in settings.items()),
    ]
    return out, argv


def run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


def test_a_resume_with_other_settings_is_refused_naming_each_change_and_nothing_is_rewritten(tmp_path, capsys):
    out, argv = trained_output(tmp_path)
    before = (out / JOB_CONFIG).read_bytes()
    code, err = run([*argv, "max_steps=6", "learning_rate=1e-2", "resume_from_checkpoint=latest"], capsys)
    assert code == 2
    assert err == (
        f"error: {out}: resume_from_checkpoint: the checkpoints were trained with learning_rate 0.0002, "
        "max_steps 4; this command asks 0.01, 6: resume with the same settings, or train into another output_dir"
    )
    assert (out / JOB_CONFIG).read_bytes() == before


def test_a_resume_on_another_base_model_is_refused_before_it_loads(tmp_path, capsys):
    out, argv = trained_output(tmp_path)
    other = tmp_path / "other-model"
    other.mkdir()
    code, err = run([*argv, f"model_name_or_path={other}", "resume_from_checkpoint=latest"], capsys)
    assert code == 2
    assert f"trained with model_name_or_path {tmp_path / 'model'}; this command asks {other}:" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("key", "named"),
    [
        ("lora_rank=4", "lora_rank 8; this command asks 4"),
        ("seed=1", "seed 0; this command asks 1"),
        ("max_seq_length=64", "max_seq_length 512; this command asks 64"),
        ("lr_scheduler_type=linear", "lr_scheduler_type cosine; this command asks linear"),
        ("per_device_train_batch_size=4", "global batch 2; this command asks 4"),
        ("gradient_accumulation_steps=2", "global batch 2; this command asks 4"),
    ],
)
def test_every_setting_that_defines_the_run_is_checked_on_resume(tmp_path, capsys, key, named):
    out, argv = trained_output(tmp_path, lora_rank=8)
    code, err = run([*argv, key, "resume_from_checkpoint=latest"], capsys)
    assert code == 2 and f"trained with {named}:" in err, err


def test_what_does_not_change_the_result_may_change_on_resume(tmp_path):
    from polyalign.recipe import load_recipe
    from polyalign.train.job import check_output

    out, argv = trained_output(tmp_path)
    keep = ["save_steps=3", "logging_steps=1", "gradient_checkpointing=true", "resume_from_checkpoint=latest"]
    job = load_recipe(None, [a for a in argv[1:]] + keep, cls=TrainJobConfig)
    assert check_output(job) == out / "checkpoints" / "step-4"
    # the same global batch on two processes (a run resumed under torchrun): per-device 1 × 2
    job = load_recipe(None, [*argv[1:], *keep, "per_device_train_batch_size=1"], cls=TrainJobConfig)
    assert check_output(job, world=2) == out / "checkpoints" / "step-4"


def test_a_fresh_run_into_an_output_with_checkpoints_is_refused_before_the_model_loads(tmp_path, capsys):
    out, argv = trained_output(tmp_path)
    code, err = run(argv, capsys)  # the model folder is empty: loading it would be a traceback
    assert (code, err) == (
        2,
        f"error: {out}: has checkpoints of an earlier run: pass resume_from_checkpoint=latest, "
        "or use another output_dir",
    )


def test_a_users_own_train_config_yaml_does_not_make_their_folder_a_training_output(tmp_path, capsys):
    data = alpaca(tmp_path / "a.jsonl")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my thesis\n")
    (mine / JOB_CONFIG).write_text("a: 1\n")
    code, err = run(["train", f"train_file={data}", f"output_dir={mine}", "max_steps=2"], capsys)
    assert code == 2 and "exists and is not a training output polyalign made" in err
    assert (mine / JOB_CONFIG).read_text() == "a: 1\n"


def test_the_recipe_is_never_written_over(tmp_path, capsys):
    alpaca(tmp_path / "a.jsonl")
    proj = tmp_path / "proj"
    proj.mkdir()
    text = f"# my recipe, with my notes\ntrain_file: {tmp_path / 'a.jsonl'}\noutput_dir: {proj}\n"
    (proj / JOB_CONFIG).write_text(text)
    code, err = run(["train", str(proj / JOB_CONFIG)], capsys)
    assert code == 2
    assert err == (
        f"error: {proj / JOB_CONFIG}: the recipe is inside output_dir ({proj}) where train writes train_config.yaml: "
        "choose another output_dir or move the recipe (nothing was changed)"
    )
    assert (proj / JOB_CONFIG).read_text() == text


def test_polyalign_marks_the_settings_it_records(tmp_path):
    path = tmp_path / JOB_CONFIG
    write_job_config(TrainJobConfig(train_file="a.jsonl"), path)
    assert path.read_text().startswith(RECORD_HEADER)


@pytest.mark.parametrize("steps", [-3, -2, 0])
def test_max_steps_is_positive_or_minus_one(tmp_path, capsys, steps):
    data = alpaca(tmp_path / "a.jsonl")
    code, err = run(["train", f"train_file={data}", f"output_dir={tmp_path / 'o'}", f"max_steps={steps}"], capsys)
    assert code == 2 and "max_steps" in err and len(err.splitlines()) == 1
    assert TrainConfig(max_steps=-1).max_steps == -1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("name", "kind"), [("a.jsonl", "JSON Lines"), ("a.json", "JSON"), ("a.tsv", "TSV")])
def test_a_data_file_given_as_the_recipe_is_named_as_one(tmp_path, capsys, monkeypatch, name, kind):
    monkeypatch.chdir(tmp_path)
    record = {"instruction": "Say hi.", "input": "", "output": "hi"}
    Path(name).write_text(json.dumps([record]) if name.endswith(".json") else json.dumps(record) + "\n")
    code, err = run(["train", name, "output_dir=y6"], capsys)
    assert (code, err) == (2, f"error: {name}: is a data file ({kind}), not a recipe: give it as train_file={name}")
    code, err = run(["run", name], capsys)
    assert (code, err) == (
        2,
        f"error: {name}: is a data file ({kind}), not a recipe: give it in the recipe's data/train_file setting",
    )
    assert not Path("y6").exists()
