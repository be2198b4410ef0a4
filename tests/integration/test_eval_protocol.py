"""The suite's protocol in a run with a question-alignment arm (few-shot, the same for the base and
every arm), and classification results that say when they cannot move (majority baseline, constant)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from polyalign.arms import arm_recipe, suite_protocol
from polyalign.config import DataConfig, EvalConfig, ModelConfig
from polyalign.eval.request import request_from_recipe
from polyalign.run_config import ArmConfig, RunConfig


def recipe(model: str, tmp_path, arms=None, **eval_kw) -> RunConfig:
    arms = arms if arms is not None else [ArmConfig(name="coit-es", builder="coit", languages=["es"]), QALIGN]
    ev = EvalConfig(suite=["polysent"], suite_langs=["es", "sw"], limit=3, batch_size=4, **eval_kw)
    return RunConfig(model=ModelConfig(model_name_or_path=model), runs_dir=str(tmp_path / "runs"), arms=arms, eval=ev)


QALIGN = ArmConfig(name="qalign-zh-de", builder="qalign", languages=["zh", "de"])


def test_a_qalign_run_evaluates_the_base_and_every_arm_few_shot(tmp_path):
    cfg = suite_protocol(recipe("m", tmp_path, qalign_fewshot=2, arm_tasks="all"))
    base = request_from_recipe(cfg, tmp_path / "base")
    arms = {a.name: request_from_recipe(arm_recipe(cfg, a), tmp_path / a.name) for a in cfg.arms}
    assert base.num_fewshot == 2 and all(r.num_fewshot == 2 for r in arms.values())
    for req in arms.values():  # one protocol: the requests differ only in where they write
        assert dataclasses.replace(req, output="") == dataclasses.replace(base, output="")
    # the default, arm_tasks: claims: the CoIT arm's claims read no classification, so it is not scored on
    # polysent; the question-alignment arm is, with the base's very protocol
    claims = suite_protocol(recipe("m", tmp_path, qalign_fewshot=2))
    assert arm_recipe(claims, claims.arms[0]).eval.suite == []
    qalign = request_from_recipe(arm_recipe(claims, QALIGN), tmp_path / "q")
    assert dataclasses.replace(qalign, output="") == dataclasses.replace(base, output="")
    # no qalign arm, qalign_fewshot 0, or more shots asked already: the recipe's num_fewshot stands
    coit_only = recipe("m", tmp_path, arms=[ArmConfig(name="coit-es", builder="coit", languages=["es"])])
    assert suite_protocol(coit_only).eval.num_fewshot == 0
    assert suite_protocol(recipe("m", tmp_path, qalign_fewshot=0)).eval.num_fewshot == 0
    assert suite_protocol(recipe("m", tmp_path, num_fewshot=4, qalign_fewshot=2)).eval.num_fewshot == 4
    plain = dataclasses.replace(recipe("m", tmp_path, arms=[]), data=DataConfig(builder="qalign", languages=["zh"]))
    assert suite_protocol(plain).eval.num_fewshot == 3  # the field's default


def test_base_and_qalign_arm_share_prompts_items_and_demonstrations(tmp_path, tiny_model_dir, tiny_adapter, capsys):
    from polyalign.eval.runner import run_eval
    from polyalign.models import load_model

    cfg = suite_protocol(recipe(str(tiny_model_dir), tmp_path, qalign_fewshot=2))
    base_req = request_from_recipe(cfg, tmp_path / "base")
    arm_req = request_from_recipe(arm_recipe(cfg, QALIGN), tmp_path / "arm", adapter=str(tiny_adapter))
    base = run_eval(base_req, load=lambda: load_model(str(tiny_model_dir)))
    arm = run_eval(arm_req, load=lambda: load_model(str(tiny_model_dir), adapter=str(tiny_adapter)))
    for key in ("polysent/es", "polysent/sw"):
        b, a = base["configs"][key], arm["configs"][key]
        assert b["num_fewshot"] == a["num_fewshot"] == 2 and b["demo_ids"] == a["demo_ids"] and len(b["demo_ids"]) == 2
        lang = key.split("/")[1]
        rows = [json.loads(line) for line in (tmp_path / "base" / f"samples_polysent_{lang}.jsonl").open()]
        arm_rows = [json.loads(line) for line in (tmp_path / "arm" / f"samples_polysent_{lang}.jsonl").open()]
        assert [r["prompt"] for r in rows] == [r["prompt"] for r in arm_rows]  # same items, same prompts
        assert all(r["prompt"].count("Sentiment") >= 1 for r in rows)
        assert all(r["prompt"].count("<|im_start|>assistant") == 3 for r in rows)  # 2 answered demos + the query
        for doc, samples in ((base, rows), (arm, arm_rows)):
            result = doc["results"][key]
            refs, labels = [s["reference"] for s in samples], doc["configs"][key]["labels"]
            top = min(set(refs), key=lambda x: (-refs.count(x), labels.index(x)))
            assert result["majority_label"] == top
            assert result["majority_baseline"] == pytest.approx(100 * refs.count(top) / len(refs))
            outputs = {s["output"] for s in samples}
            assert result["constant_prediction"] == (outputs.pop() if len(outputs) == 1 else None)
    printed = capsys.readouterr().out
    assert "majority %" in printed.splitlines()[0]


def test_the_printed_table_marks_a_constant_predictor():
    from polyalign.eval.runner import table

    got = table(
        {"polysent/es": {"n": 5, "accuracy": 60.0, "majority_baseline": 60.0, "constant_prediction": "positive"}}
    )
    assert got.splitlines()[0].split() == ["task/lang", "n", "acc", "majority", "%", "fidelity", "%"]
    assert got.splitlines()[2].split() == ["polysent/es", "5", "60.00", "(constant:", "positive)", "60.00", "—"]


def test_the_default_dry_run_states_the_few_shot_protocol():
    from polyalign.dry_run import dry_run
    from polyalign.recipe import load_recipe

    few = dry_run(load_recipe()).splitlines()[1]
    zero = dry_run(load_recipe(None, ["eval.qalign_fewshot=0"])).splitlines()[1]
    assert "suite prompts 2-shot for the base and every arm" in few
    assert "suite prompts 0-shot for the base and every arm" in zero
    # the time: each task's seconds per item as the last run measured them, demonstrations included
    # (the shared prefix is read once per language), so the protocol changes the text, not the arithmetic
