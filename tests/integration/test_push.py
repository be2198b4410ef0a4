"""``polyalign push`` as a user runs it, against a hub that speaks the upload protocol on 127.0.0.1
(``tests/hub_server.py``): the files, the card and the marker arrive in one commit; the token comes
from the environment and is never printed or written; a repository polyalign did not make is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub_server import Hub
from polyalign.report.model_card import card_metadata
from report_fixtures import write_finished_run

pytestmark = pytest.mark.slow
TOKEN = "hf_test_write_token_do_not_print"


def push(*args, cwd: Path, hub: Hub, token: str | None = TOKEN) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HOME": str(cwd / "hf-home")}
    env.pop("HF_TOKEN", None)
    env.pop("HUGGING_FACE_HUB_TOKEN", None)
    if token is not None:
        env["HF_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "polyalign", "push", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


@pytest.fixture()
def run_with_adapter(tmp_path, tiny_model_dir):
    """The fixture run, with a real LoRA adapter (peft, on the tiny Llama) as coit-es's model."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    run = write_finished_run(tmp_path / "runs" / "demo")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    peft_model.save_pretrained(run / "arms" / "coit-es" / "model", safe_serialization=True)
    return run


def test_push_publishes_files_card_and_marker_and_never_shows_the_token(tmp_path, run_with_adapter):
    hub = Hub(models={"acme/not-ours": {"README.md": b"someone else's model\n"}}, token=TOKEN)
    try:
        model = run_with_adapter / "arms" / "coit-es" / "model"
        done = push(run_with_adapter / "arms" / "coit-es", "acme/coit-es", "--private", cwd=tmp_path, hub=hub)
        assert done.returncode == 0, done.stderr[-3000:]
        files = hub.repos["models"]["acme/coit-es"]
        assert files["adapter_model.safetensors"] == (model / "adapter_model.safetensors").read_bytes()
        assert files["adapter_config.json"] == (model / "adapter_config.json").read_bytes()
        meta = card_metadata(files["README.md"].decode())
        assert meta["library_name"] == "peft" and meta["language"] == ["en", "es"]
        assert "| translation/en-es | chrf | 25.00 | 30.00 | +5.00 [" in files["README.md"].decode()
        assert b'"mode": "adapter"' in files["polyalign_export.json"]
        assert hub.private["acme/coit-es"] is True and len(hub.commits) == 1
        assert done.stdout.strip() == f"{hub.url}/acme/coit-es/commit/{hub.commits[0]['oid']}"
        assert all(h.get("authorization") == f"Bearer {TOKEN}" for h in hub.write_headers)
        # The token is nowhere but in the environment: not on the terminal, not in any file written.
        assert TOKEN not in done.stdout + done.stderr
        written = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert not [p for p in written if TOKEN.encode() in p.read_bytes()]

        again = push(run_with_adapter / "arms" / "coit-es", "acme/coit-es", cwd=tmp_path, hub=hub)
        assert again.returncode == 0, again.stderr[-3000:]  # a repository polyalign made takes a new push

        foreign = push(run_with_adapter / "arms" / "coit-es", "acme/not-ours", cwd=tmp_path, hub=hub)
        assert foreign.returncode == 2 and "Traceback" not in foreign.stderr
        assert foreign.stderr.strip().splitlines()[-1] == (
            "error: acme/not-ours: the repository exists, holds files and was not made by polyalign push; "
            "pass --allow-existing to push into it"
        )
        assert set(hub.repos["models"]["acme/not-ours"]) == {"README.md"}
        allowed = push(
            run_with_adapter / "arms" / "coit-es", "acme/not-ours", "--allow-existing", cwd=tmp_path, hub=hub
        )
        assert allowed.returncode == 0, allowed.stderr[-3000:]
    finally:
        hub.close()


@pytest.mark.parametrize(
    ("args", "token", "line"),
    [
        (
            ["arms/coit-es", "acme/x"],
            None,
            "error: <environment>: no HF_TOKEN: set it to a Hugging Face write token to push",
        ),
        (["arms/coit-es", "acme/x"], "hf_wrong", "error: acme/x: the hub answered 401: the token was refused"),
        (
            ["arms/coit-es", "not a repo"],
            TOKEN,
            "error: not a repository id 'not a repo': expected OWNER/NAME (letters, digits, '-', '_', '.')",
        ),
        (["arms/coit-zh", "acme/x"], TOKEN, "holds no trained model"),
        (["nowhere", "acme/x"], TOKEN, "error: nowhere: no such folder"),
        (["config.yaml", "acme/x"], TOKEN, "error: config.yaml: is a file, expected a folder"),
    ],
)
def test_push_mistakes_are_one_line_and_exit_2(tmp_path, run_with_adapter, args, token, line):
    hub = Hub(token=TOKEN)
    try:
        proc = push(*args, cwd=run_with_adapter, hub=hub, token=token)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        assert line in proc.stderr.strip().splitlines()[-1]
        assert hub.commits == [] and (token is None or token not in proc.stderr)
    finally:
        hub.close()


def test_a_failed_push_is_retried_by_the_same_command(tmp_path, run_with_adapter):
    """The hub fails the commit once: the repository it had just created is empty, and the same command
    then pushes into it (an empty repository holds nothing anyone could lose)."""
    hub = Hub(token=TOKEN)
    try:
        hub.fail_commits = 1
        first = push(run_with_adapter / "arms" / "coit-es", "acme/flaky", cwd=tmp_path, hub=hub)
        assert first.returncode == 2 and "the hub answered 500" in first.stderr.strip().splitlines()[-1]
        assert hub.repos["models"]["acme/flaky"] == {}
        again = push(run_with_adapter / "arms" / "coit-es", "acme/flaky", cwd=tmp_path, hub=hub)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "adapter_model.safetensors" in hub.repos["models"]["acme/flaky"]
    finally:
        hub.close()


def test_a_merged_model_pushed_over_an_adapter_leaves_no_adapter_files(tmp_path, run_with_adapter, tiny_model_dir):
    """Into polyalign's own repository the commit deletes what the new model does not have: an adapter
    left beside merged weights would load as a different model."""
    hub = Hub(token=TOKEN)
    merged = tmp_path / "merged-export"
    merged.mkdir()
    for f in Path(tiny_model_dir).iterdir():
        if f.is_file():
            (merged / f.name).write_bytes(f.read_bytes())
    (merged / "polyalign_export.json").write_text(
        '{"mode": "merged", "base_model": "tiny", "files": '
        + json.dumps(sorted(p.name for p in merged.iterdir() if p.name != "polyalign_export.json"))
        + "}"
    )
    (merged / "MY_NOTES.txt").write_text("private")  # added after the export: stays behind
    try:
        assert push(run_with_adapter / "arms" / "coit-es", "acme/m", cwd=tmp_path, hub=hub).returncode == 0
        assert "adapter_config.json" in hub.repos["models"]["acme/m"]
        done = push(merged, "acme/m", "--license", "apache-2.0", cwd=tmp_path, hub=hub)
        assert done.returncode == 0, done.stderr[-3000:]
        files = set(hub.repos["models"]["acme/m"])
        assert not files & {"adapter_config.json", "adapter_model.safetensors", "MY_NOTES.txt"}
        assert "config.json" in files and "model.safetensors" in files
        assert "left out MY_NOTES.txt" in done.stderr and "deletes adapter_config.json" in done.stderr
        assert card_metadata(hub.repos["models"]["acme/m"]["README.md"].decode())["license"] == "apache-2.0"
    finally:
        hub.close()
