"""An evaluation request is built from a recipe's eval section with flags on top, never from argparse."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyalign.config import DEFAULT_MODEL
from polyalign.eval.request import EvalRequest, build_request, heldout_request, request_from_recipe
from polyalign.io import InputError
from polyalign.langs import COMMON_LANGUAGES
from polyalign.recipe import load_recipe


def recipe(tmp_path: Path, body: str):
    path = tmp_path / "r.yaml"
    path.write_text(body)
    return load_recipe(path)


def test_flags_alone(tmp_path):
    req = build_request(None, tasks="xquad, mgsm", langs="es,de", data=["xquad=/d/{lang}.json"], limit=3)
    assert (req.model, req.tasks, req.langs, req.data, req.limit) == (
        DEFAULT_MODEL,
        ["xquad", "mgsm"],
        ["es", "de"],
        {"xquad": "/d/{lang}.json"},
        3,
    )
    assert req.output == "runs/eval-SmolLM2-135M-Instruct" and req.fidelity_candidates == list(COMMON_LANGUAGES)
    with pytest.raises(InputError, match="name the tasks"):
        build_request(None)
    with pytest.raises(InputError, match="unknown task 'squad'"):
        build_request(None, tasks="squad")


def test_recipe_then_flags_win(tmp_path):
    cfg = recipe(
        tmp_path,
        f"""
name: r
runs_dir: {tmp_path}
seed: 7
data:
  languages: [de, gl]
eval:
  suite: [xquad]
  suite_langs: [de]
  data_files: ["xquad=/x/{{lang}}.json"]
  num_fewshot: 2
  drift_languages: [fr]
""",
    )
    req = build_request(cfg, num_fewshot=None, limit=5, data=["mgsm=/m"])
    assert (req.tasks, req.langs, req.num_fewshot, req.limit, req.seed) == (["xquad"], ["de"], 2, 5, 7)
    assert req.data == {"xquad": "/x/{lang}.json", "mgsm": "/m"}
    assert req.output == str(tmp_path / "r" / "eval" / "suite")
    assert req.fidelity_candidates == ["de", "en", "fr", "gl"]  # English + the run's languages + drift
    tuned = request_from_recipe(cfg, tmp_path / "o", adapter="/a")
    assert (tuned.adapter, tuned.backend, tuned.output, tuned.num_fewshot) == ("/a", "hf", str(tmp_path / "o"), 2)


def test_heldout_pairs_are_local_translation_keyed_translation(tmp_path):
    cfg = recipe(tmp_path, f"name: h\nruns_dir: {tmp_path}\neval:\n  limit: 4\n  max_new_tokens: 9\n")
    req = heldout_request(cfg, tmp_path / "h", ["en-es", "es-en"], tmp_path / "h" / "eval" / "before")
    assert req.tasks == ["local_translation"] and req.rename == {"local_translation": "translation"}
    assert req.data == {"local_translation": str(tmp_path / "h" / "data" / "test_{src}-{tgt}.jsonl")}
    assert (req.langs, req.limit, req.max_new_tokens, req.num_fewshot, req.prompt_format) == (
        ["en-es", "es-en"],
        4,
        9,
        0,
        "chat",
    )


def test_request_checks_its_fields():
    with pytest.raises(InputError, match="unknown task 'nope'"):
        EvalRequest(model="m", tasks=["xquad"], data={"nope": "/p"})
    with pytest.raises(InputError, match="unknown language code 'klingon'"):
        EvalRequest(model="m", tasks=["xquad"], fidelity_candidates=["klingon"])


def test_issue_20_fields_from_recipe_and_flags(tmp_path):
    cfg = recipe(
        tmp_path,
        f"""
name: q
runs_dir: {tmp_path}
eval:
  suite: [xquad, polymt]
  suite_langs: [polymt/en-es, es]
  task_limits: [polymt=40]
  limit: 5
  qa_norm: mlqa
  comet_model: /models/comet.ckpt
""",
    )
    req = build_request(cfg)
    assert (req.qa_norm, req.task_limits, req.comet_model, req.limit) == (
        "mlqa",
        {"polymt": 40},
        "/models/comet.ckpt",
        5,
    )
    assert build_request(cfg, qa_norm="squad_v1").qa_norm == "squad_v1"
    held = heldout_request(cfg, tmp_path / "q", ["en-es"], tmp_path / "q" / "eval" / "before")
    assert held.comet_model == "/models/comet.ckpt"
    assert build_request(None, tasks="xquad").qa_norm is None  # each task's own default
    with pytest.raises(InputError, match="qa_norm must be one of squad_v1, mlqa, got 'squad'"):
        build_request(None, tasks="xquad", qa_norm="squad")
    with pytest.raises(InputError, match="the limit of polymt must be a whole number >= 1, got 0"):
        EvalRequest(model="m", tasks=["polymt"], task_limits={"polymt": 0})
    with pytest.raises(InputError, match="limit must be >= 1, got 0"):
        EvalRequest(model="m", tasks=["polymt"], limit=0)
