"""A run resolves its base model once and holds to it (polyalign.frozen_model): a download into the hub
cache mid-run does not change what later stages load; files that changed under a started run are
refused in one line; the record says where the model came from and checksums what decides its numbers."""

from __future__ import annotations

import json

import pytest

from polyalign import frozen_model
from polyalign.hub import resolve
from polyalign.io import InputError

NAME = "acme/tiny"


def snapshot(cache, commit: str, weights: bytes, main: bool = True):
    """A hub-cache snapshot of NAME at ``commit`` (the layout huggingface_hub reads offline)."""
    repo = cache / "models--acme--tiny"
    folder = repo / "snapshots" / commit
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "README.md").write_text("not part of the numbers")
    if main:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(commit)
    return folder


@pytest.fixture
def hub(tmp_path, monkeypatch):
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(frozen_model.PIN_ENV, raising=False)
    return cache


def test_the_record_and_the_pin(tmp_path, hub, capsys):
    a = snapshot(hub, "a" * 40, b"weights A")
    run = tmp_path / "run"
    run.mkdir()
    got = frozen_model.freeze(NAME, run, started=False)
    record = json.loads((run / "model.json").read_text())
    assert record == got and record["path"] == str(a.resolve())
    assert record["source"] == f"the hub, revision {'a' * 12}"
    assert sorted(record["files"]) == ["config.json", "model.safetensors"]  # not the README
    assert record["sha256"] == frozen_model.digest(record["files"])
    assert (
        capsys.readouterr().err
        == f"[polyalign] run: model {NAME}: the hub, revision {'a' * 12} (files sha256 {record['sha256'][:12]})\n"
    )
    assert resolve(NAME) == a.resolve()


def test_a_download_mid_run_does_not_change_what_the_run_loads(tmp_path, hub, monkeypatch, capsys):
    a = snapshot(hub, "a" * 40, b"weights A")
    run = tmp_path / "run"
    run.mkdir()
    frozen_model.freeze(NAME, run, started=False)
    snapshot(hub, "b" * 40, b"weights B")  # refs/main now names b: a plain resolve would load it
    assert resolve(NAME) == a.resolve()  # this process: pinned
    monkeypatch.delenv(frozen_model.PIN_ENV)  # a later resume, a fresh process
    assert resolve(NAME).name == "b" * 40
    frozen_model.freeze(NAME, run, started=True)
    assert resolve(NAME) == a.resolve()  # held to the folder it started on
    assert json.loads((run / "model.json").read_text())["path"] == str(a.resolve())


def test_other_files_under_a_started_run_are_refused_in_one_line(tmp_path, hub, monkeypatch):
    a = snapshot(hub, "a" * 40, b"weights A")
    run = tmp_path / "run"
    run.mkdir()
    first = frozen_model.freeze(NAME, run, started=False)
    monkeypatch.delenv(frozen_model.PIN_ENV)
    (a / "model.safetensors").write_bytes(b"weights A, retrained")  # the recorded folder's files changed
    with pytest.raises(InputError) as e:
        frozen_model.freeze(NAME, run, started=True)
    assert str(e.value).startswith(f"{run / 'model.json'}: {NAME} now loads the hub, revision {'a' * 12}")
    assert f"this run started on the hub, revision {'a' * 12} (files sha256 {first['sha256'][:12]})" in str(e.value)
    assert str(e.value).endswith(f"start a new run (name=...), or put the recorded files back at {a.resolve()}")
    assert json.loads((run / "model.json").read_text()) == first  # the record is kept
    # not started yet: nothing was built on the old files, so the run takes the new ones
    again = frozen_model.freeze(NAME, run, started=False)
    assert again["sha256"] != first["sha256"]


def test_the_same_files_in_another_folder_are_the_same_model(tmp_path, hub, monkeypatch):
    """Resumed on another machine (or after the cache was cleared and filled again): the recorded folder
    is gone, the name resolves elsewhere, and the files are the same: the run goes on there."""
    a = snapshot(hub, "a" * 40, b"weights A", main=False)
    run = tmp_path / "run"
    run.mkdir()
    record = frozen_model.identify(str(a))  # a record as another machine wrote it, for a folder gone here
    record = {**record, "name": NAME, "path": str(tmp_path / "elsewhere"), "source": "the hub, revision x"}
    (run / "model.json").write_text(json.dumps(record))
    (hub / "models--acme--tiny" / "refs").mkdir()
    (hub / "models--acme--tiny" / "refs" / "main").write_text("a" * 40)
    got = frozen_model.freeze(NAME, run, started=True)
    assert got["sha256"] == record["sha256"] and got["path"] == str(a.resolve())


def test_a_local_folder_is_checked_not_pinned(tmp_path, monkeypatch):
    monkeypatch.delenv(frozen_model.PIN_ENV, raising=False)
    model = tmp_path / "mine"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"w")
    run = tmp_path / "run"
    run.mkdir()
    assert frozen_model.freeze(str(model), run, started=False)["source"] == "a local folder"
    assert frozen_model.PIN_ENV not in __import__("os").environ
    (model / "model.safetensors").write_bytes(b"w2")
    with pytest.raises(InputError, match="now loads a local folder"):
        frozen_model.freeze(str(model), run, started=True)


def test_the_bundled_copy_says_so_and_its_machine_note_is_not_hashed(tmp_path):
    folder = tmp_path / "SmolLM2-135M-Instruct-5dce440"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "polyalign_source.json").write_text(json.dumps({"gguf": "/somewhere/SmolLM2-135M-Instruct.Q4_1.gguf"}))
    assert frozen_model.describe(NAME, folder) == "the bundled SmolLM2-135M-Instruct.Q4_1.gguf copy, dequantised"
    assert list(frozen_model.files_of(folder)) == ["config.json"]


def test_a_long_checksum_says_so_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(frozen_model, "SAY_ABOVE", 10)
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"x" * 100)
    first = frozen_model.files_of(folder)
    assert capsys.readouterr().err == f"[polyalign] run: checksumming the model's 0.0 GiB once ({folder})\n"
    assert frozen_model.files_of(folder) == first and capsys.readouterr().err == ""  # hashed once a process


def test_what_an_evaluation_loaded_is_recorded_without_this_machines_folders(tmp_path, hub):
    a = snapshot(hub, "a" * 40, b"weights A")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.safetensors").write_bytes(b"lora")
    got = frozen_model.what_loaded(NAME, str(adapter))
    files = frozen_model.files_of(a)
    assert got == {
        "source": f"the hub, revision {'a' * 12}",
        "sha256": frozen_model.digest(files),
        "adapter_sha256": frozen_model.digest(frozen_model.files_of(adapter)),
    }
    assert str(tmp_path) not in json.dumps(got)
    assert frozen_model.what_loaded("a label, not a model") == {
        "source": "not resolved here (no such model folder, and not a hub id (ORG/NAME))"
    }


def test_an_adapter_folder_given_as_the_model_says_to_give_it_as_adapter(tmp_path):
    adapter = tmp_path / "model"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "acme/tiny-llama"}))
    with pytest.raises(InputError) as e:
        resolve(str(adapter))
    assert (
        str(e.value)
        == f"{adapter}: holds a LoRA adapter, not a model: give it as --adapter (its base: acme/tiny-llama)"
    )
    (adapter / "adapter_config.json").write_text("{")
    with pytest.raises(InputError, match=r"holds a LoRA adapter, not a model: give it as --adapter$"):
        resolve(str(adapter))
    (adapter / "adapter_config.json").unlink()
    with pytest.raises(InputError, match=r"not a model folder \(no config.json\)$"):
        resolve(str(adapter))
