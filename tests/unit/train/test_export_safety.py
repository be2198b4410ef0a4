"""`polyalign export` never removes or replaces what polyalign did not write (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyalign.cli import main
from polyalign.report.model_card import card_metadata
from polyalign.train.export import MARKER


def _adapter_run(root: Path) -> Path:
    """A training output folder holding a (small, fake-weighted) LoRA adapter: export copies it."""
    model = root / "model"
    model.mkdir(parents=True)
    (model / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "base-x", "r": 4}))
    (model / "adapter_model.safetensors").write_bytes(b"weights")
    (root / "train_log.jsonl").write_text('{"step": 1}\n')
    return root


def _full_run(root: Path) -> Path:
    model = root / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights")
    return root


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    return err.strip()


def test_export_refuses_a_folder_of_the_users_and_leaves_it_as_it_was(tmp_path, capsys):
    run = _adapter_run(tmp_path / "out_fr")
    mine = tmp_path / "mydir"
    mine.mkdir()
    (mine / "notes.txt").write_text("important")
    for flags in ([], ["--overwrite"]):
        assert main(["export", str(run), str(mine), "--mode", "adapter", *flags]) == 2
        assert (
            _err(capsys)
            == f"error: {mine}: exists and is not a polyalign export: choose a new folder (nothing was changed)"
        )
        assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
        assert (mine / "notes.txt").read_text() == "important"


def test_export_never_turns_a_file_into_a_folder(tmp_path, capsys):
    run = _adapter_run(tmp_path / "out_fr")
    data = tmp_path / "alpaca_en.jsonl"
    data.write_text('{"instruction": "Hi", "output": "Hello"}\n')
    assert main(["export", str(run), str(data), "--mode", "adapter", "--overwrite"]) == 2
    assert _err(capsys) == f"error: {data}: is a file: export writes a folder; choose a new path"
    assert data.read_text() == '{"instruction": "Hi", "output": "Hello"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpaca_en.jsonl", "out_fr"]


@pytest.mark.parametrize("where", ["itself", "inside", "above"])
def test_export_refuses_the_source_as_its_own_destination(tmp_path, capsys, where):
    run = _adapter_run(tmp_path / "runs" / "out_fr")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    out = {"itself": run, "inside": run / "exported", "above": tmp_path / "runs"}[where]
    assert main(["export", str(run), str(out), "--mode", "adapter", "--overwrite"]) == 2
    err = _err(capsys)
    assert {"itself": "is the source itself", "inside": "is inside the source", "above": "holds the source"}[
        where
    ] in err
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_an_earlier_export_is_replaced_only_with_overwrite_and_only_by_the_same_mode(tmp_path, capsys):
    run = _adapter_run(tmp_path / "out_fr")
    out = tmp_path / "adapter"
    assert main(["export", str(run), str(out), "--mode", "adapter"]) == 0
    capsys.readouterr()
    marker = json.loads((out / MARKER).read_text())
    assert marker == {  # no folder of this machine's: the marker goes up with `push`
        "mode": "adapter",
        "source": "out_fr",
        "base_model": "base-x",
        "files": ["README.md", "adapter_config.json", "adapter_model.safetensors"],
    }
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "adapter_config.json",
        "adapter_model.safetensors",
        MARKER,
    ]
    card = card_metadata((out / "README.md").read_text())  # the model card: the hub's metadata
    assert card["base_model"] == "base-x" and card["library_name"] == "peft"

    assert main(["export", str(run), str(out), "--mode", "adapter"]) == 2
    assert _err(capsys) == f"error: {out}: holds an earlier adapter export: pass --overwrite to replace it"
    (run / "model" / "adapter_model.safetensors").write_bytes(b"new weights")
    assert main(["export", str(run), str(out), "--mode", "adapter", "--overwrite"]) == 0
    assert (out / "adapter_model.safetensors").read_bytes() == b"new weights"

    full = _full_run(tmp_path / "full")
    capsys.readouterr()
    assert main(["export", str(full), str(out), "--overwrite"]) == 2
    assert _err(capsys) == f"error: {out}: holds an earlier adapter export, not merged: choose another folder"
    assert (out / "adapter_model.safetensors").read_bytes() == b"new weights"


def test_overwrite_never_loses_a_file_added_to_an_export(tmp_path, capsys):
    run = _adapter_run(tmp_path / "out_fr")
    out = tmp_path / "adapter"
    assert main(["export", str(run), str(out), "--mode", "adapter"]) == 0
    (out / "MYNOTES.txt").write_text("mine")
    (out / "sub").mkdir()
    (out / "sub" / "z.txt").write_text("also mine")
    capsys.readouterr()
    assert main(["export", str(run), str(out), "--mode", "adapter", "--overwrite"]) == 2
    assert _err(capsys) == (
        f"error: {out}: holds files the earlier export did not write (MYNOTES.txt, sub/z.txt): "
        "move them out or choose a new folder (nothing was changed)"
    )
    assert (out / "MYNOTES.txt").read_text() == "mine" and (out / "sub" / "z.txt").read_text() == "also mine"
    # an export by an older polyalign recorded no files: what is in it is not known, so it is not replaced
    marker = json.loads((out / MARKER).read_text())
    (out / "MYNOTES.txt").unlink()
    (out / "sub" / "z.txt").unlink()
    (out / MARKER).write_text(json.dumps({k: v for k, v in marker.items() if k != "files"}))
    assert main(["export", str(run), str(out), "--mode", "adapter", "--overwrite"]) == 2
    assert "holds an export by an older polyalign" in _err(capsys)


def test_an_adapter_export_refuses_a_dtype_and_is_as_readable_as_its_folder(tmp_path, capsys):
    run = _adapter_run(tmp_path / "out_fr")
    assert main(["export", str(run), str(tmp_path / "a16"), "--mode", "adapter", "--dtype", "float16"]) == 2
    assert _err(capsys) == ("error: --dtype float16 applies to --mode merged: an adapter is exported as it was trained")
    assert not (tmp_path / "a16").exists()
    (run / "model" / "adapter_model.safetensors").chmod(0o600)  # as safetensors writes it
    assert main(["export", str(run), str(tmp_path / "a"), "--mode", "adapter"]) == 0
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "a").iterdir()}
    assert len(set(modes.values())) == 1 and modes["adapter_model.safetensors"] != 0o600, modes


def test_an_empty_folder_or_a_new_path_is_written(tmp_path, capsys):
    full = _full_run(tmp_path / "full")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", str(full), str(empty)]) == 0
    assert main(["export", str(full), str(tmp_path / "new" / "deeper")]) == 0
    for out in (empty, tmp_path / "new" / "deeper"):
        assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors", MARKER]
        assert card_metadata((out / "README.md").read_text())["library_name"] == "transformers"


def test_an_unwritable_destination_is_one_line_before_any_work(tmp_path, capsys):
    full = _full_run(tmp_path / "full")
    assert main(["export", str(full), "/proc/x"]) == 2
    assert _err(capsys) == "error: /proc/x: cannot write here (no such file or folder)"
