"""`polyalign data translate` killed with SIGKILL mid-way, then resumed: nothing lost, nothing repeated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from chat_server import ChatServer

pytestmark = pytest.mark.slow


def _write_inputs(tmp_path, url, out_dir):
    things = [
        f"{a} {n}"
        for a in ("red", "green", "blue", "small", "large", "old")
        for n in ("cat", "dog", "house", "tree", "river", "boat", "lamp", "chair", "book", "cloud")
    ]
    rows = [
        {
            "id": f"r{i}",
            "instruction": f"Describe the {t} in a few words.",
            "input": "",
            "output": f"The {t} is a fine example, worth {i * 3} points.",
        }
        for i, t in enumerate(things)
    ]
    data = tmp_path / "alpaca.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    recipe = tmp_path / f"{out_dir}.yaml"
    recipe.write_text(f"""
translate:
  input: {data}
  target_languages: [es, de]
  output_dir: {tmp_path / out_dir}
  backend: http
  base_url: {url}
  model: fake-mt
  concurrency: 2
  max_batch: 1
  backoff: 0.01
""")
    return recipe


def _cli(recipe, cwd):
    return [sys.executable, "-m", "polyalign", "data", "translate", str(recipe)]


@pytest.mark.serial
def test_sigkill_then_resume_sends_only_missing_and_matches_uninterrupted_run(tmp_path):
    with ChatServer(delay=0.02) as server:
        # Reference: an uninterrupted run.
        ref = _write_inputs(tmp_path, server.url, "ref")
        done = subprocess.run(_cli(ref, tmp_path), capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["languages"]["es"]["sent"] == 120 and report["languages"]["de"]["written"] == 60
        server.texts.clear()

        # The same job, killed while the Spanish journal is filling up.
        recipe = _write_inputs(tmp_path, server.url, "job")
        journal = tmp_path / "job" / "alpaca.es.journal.jsonl"
        proc = subprocess.Popen(_cli(recipe, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
        deadline = time.time() + 120
        while time.time() < deadline:
            if journal.is_file() and journal.read_bytes().count(b"\n") >= 31:  # its first line names the input
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert not (tmp_path / "job" / "alpaca.es.jsonl").exists()  # no half-written output
        header, *entries = [
            json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines() if line.endswith("}")
        ]
        assert header["input"] == str((tmp_path / "alpaca.jsonl").resolve())
        journaled = {e["k"] for e in entries}
        assert 30 <= len(journaled) < 120
        time.sleep(0.5)  # requests the killed job had already sent reach the server and count as its own
        first_pass = dict(server.texts)
        server.texts.clear()

        again = subprocess.run(_cli(recipe, tmp_path), capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert again.returncode == 0, again.stderr
        rep = json.loads(again.stdout)["languages"]
        # Only what the journal lacked was sent again; at most the requests in flight at the kill repeat.
        assert rep["es"]["reused"] == len(journaled) and rep["es"]["sent"] == 120 - len(journaled)
        resent = set(first_pass) & set(server.texts)
        assert len(resent) <= 2  # concurrency 2: requests in flight when killed, never journaled
        assert all(n == 1 for n in server.texts.values())
        for lang in ("es", "de"):
            assert (tmp_path / "job" / f"alpaca.{lang}.jsonl").read_bytes() == (
                tmp_path / "ref" / f"alpaca.{lang}.jsonl"
            ).read_bytes()
        lines = (tmp_path / "job" / "alpaca.es.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 60 and json.loads(lines[5])["output"].endswith("15 POINTS.")
