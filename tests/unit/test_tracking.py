"""Experiment tracking against the real backends, offline: MLflow with a local SQLite store, wandb in
offline mode, TensorBoard event files; and the checks made before any work (:func:`check_trackers`)."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from polyalign.io import InputError
from polyalign.stages import track_results
from polyalign.tracking import Tracker, check_trackers, ids_of
from report_fixtures import write_finished_run

pytestmark = pytest.mark.slow


def _mlflow_runs(folder):
    mlflow = pytest.importorskip("mlflow")
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")
    return client, client.search_runs([e.experiment_id for e in client.search_experiments()])


def test_a_resumed_job_continues_its_mlflow_run(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("POLYALIGN_TRACKING_DIR", raising=False)
    first = Tracker(["mlflow"], tmp_path, "coit-es", "demo", {"train": {"learning_rate": 0.001}})
    for step, loss in enumerate([3.0, 2.5, 2.25], start=1):
        first.metrics({"train/loss": loss, "train/grad_norm": None}, step)
    first.close()
    again = Tracker(["mlflow"], tmp_path, "coit-es", "demo", {"train": {"learning_rate": 0.001}}, start=3)
    again.metrics({"train/loss": 2.0}, 4)
    again.close()

    client, runs = _mlflow_runs(tmp_path)
    assert len(runs) == 1 and runs[0].info.run_id == ids_of(tmp_path)["mlflow"]
    assert runs[0].data.params == {"train.learning_rate": "0.001"}
    history = client.get_metric_history(runs[0].info.run_id, "train/loss")
    assert [(m.step, m.value) for m in history] == [(1, 3.0), (2, 2.5), (3, 2.25), (4, 2.0)]
    assert "train/grad_norm" not in runs[0].data.metrics  # a value never measured is not logged


def test_a_finished_run_sends_results_claims_and_report_to_mlflow_and_wandb(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    pytest.importorskip("wandb")
    from polyalign.report.build import build_report

    for var in ("MLFLOW_TRACKING_URI", "WANDB_MODE", "WANDB_API_KEY", "POLYALIGN_TRACKING_DIR"):
        monkeypatch.delenv(var, raising=False)
    run = write_finished_run(tmp_path / "demo")
    build_report(run)
    track_results(run, ["mlflow", "wandb"])

    client, runs = _mlflow_runs(run)
    (only,) = runs
    assert only.info.run_name == "demo/results"
    assert only.data.metrics["eval/coit-es/translation/en-es/chrf"] == 30.0
    assert only.data.metrics["eval/base/polysent/de/accuracy"] == 40.0
    assert only.data.params["arms"].startswith("{'name': 'coit-es'")  # the resolved recipe
    assert only.data.tags["claim/coit"].startswith("CoIT raises translation")
    artefacts = {a.path for a in client.list_artifacts(only.info.run_id)}
    assert {"report.html", "report.md", "config.yaml"} <= artefacts and "transfer.png" in artefacts

    (offline,) = (run / "wandb").glob("offline-run-*/run-*.wandb")  # no key: offline, never a login prompt
    data = offline.read_bytes()
    assert b"eval/coit-es/translation/en-es/chrf" in data and b"claim/coit" in data


def test_a_missing_backend_is_one_line_naming_its_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(InputError) as e:
        Tracker(["wandb"], tmp_path, "x", "y")
    assert e.value.format() == "report_to=wandb needs Weights & Biases: pip install 'polyalign[wandb]'"
    with pytest.raises(InputError) as early:
        check_trackers(["wandb"])
    assert early.value.format() == e.value.format()
    check_trackers(["none"])
    assert Tracker(["none"], tmp_path, "x", "y").backends == {} and not list(tmp_path.iterdir())


def _free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_mlflow_file_store_is_one_line_saying_what_to_do(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    uri = (tmp_path / "mlstore").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    line = (
        f"<environment>: MLFLOW_TRACKING_URI={uri}: MLflow refuses a file store (in maintenance mode since "
        "MLflow 3): set MLFLOW_TRACKING_URI=sqlite:///PATH/mlflow.db, or unset it (a SQLite store in the run "
        "folder), or set MLFLOW_ALLOW_FILE_STORE=true"
    )
    with pytest.raises(InputError) as early:
        check_trackers(["mlflow"])
    assert early.value.format() == line
    with pytest.raises(InputError) as at_start:  # a tracker started without the check: the same line
        Tracker(["mlflow"], tmp_path / "job", "job", "demo")
    assert at_start.value.format() == line and not (tmp_path / "job").exists()


def test_an_unreachable_mlflow_server_is_one_line_without_its_password(monkeypatch):
    pytest.importorskip("mlflow")
    port = _free_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://me:s3cret@127.0.0.1:{port}")
    with pytest.raises(InputError) as e:
        check_trackers(["mlflow"])
    assert e.value.format() == (
        f"<environment>: MLFLOW_TRACKING_URI=http://me:***@127.0.0.1:{port}: nothing answers there "
        "(Connection refused): start the server (mlflow server --port N), or unset MLFLOW_TRACKING_URI"
    )


def test_a_database_store_passes_and_the_check_leaves_mlflow_settings_as_they_were(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "77")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    check_trackers(["mlflow", "none", "mlflow"])
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "77" and "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    check_trackers(["mlflow"])  # the run folder's own store: nothing to reach, nothing written
    assert [p.name for p in tmp_path.iterdir()] == ["mlflow.db"]


def test_wandb_settings_that_cannot_work_are_one_line(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "bogus")
    with pytest.raises(InputError) as e:
        check_trackers(["wandb"])
    assert e.value.format() == (
        "<environment>: WANDB_MODE=bogus: expected one of online, run, shared, offline, dryrun, disabled"
    )
    with pytest.raises(InputError) as at_start:
        Tracker(["wandb"], tmp_path, "x", "y")
    assert at_start.value.format().startswith("report_to=wandb: wandb did not start: 1 validation error")

    port = _free_port()
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(InputError) as e:
        check_trackers(["wandb"])
    assert e.value.format() == (
        f"<environment>: WANDB_BASE_URL=http://127.0.0.1:{port}: nothing answers there (Connection refused): "
        "check the network, or set WANDB_MODE=offline (`wandb sync` uploads the run later)"
    )
