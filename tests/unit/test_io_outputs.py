"""What polyalign writes: the user's umask, never a file turned into a folder, one line per OSError."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from polyalign.io import InputError, atomic_dir, atomic_write, describe_os_error, write_json
from polyalign.outputs import check_output_dir


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_files_and_folders_follow_the_umask(tmp_path, umask_022):
    write_json(tmp_path / "a.json", {"x": 1})
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "inner.txt").write_text("x")
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
    os.umask(0o077)
    write_json(tmp_path / "b.json", {"x": 1})
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o600


def test_a_replaced_file_keeps_its_permissions(tmp_path, umask_022):
    path = tmp_path / "shared.txt"
    path.write_text("old")
    path.chmod(0o664)
    with atomic_write(path) as f:
        f.write("new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o664


def test_atomic_dir_never_turns_a_file_into_a_folder(tmp_path):
    path = tmp_path / "alpaca_en.jsonl"
    path.write_text("data\n")
    with pytest.raises(InputError, match="is a file, expected a folder"), atomic_dir(path):
        pass
    assert path.read_text() == "data\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpaca_en.jsonl"]


def test_atomic_write_onto_a_folder_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="is a folder, expected a file"), atomic_write(tmp_path / "d"):
        pass


def test_check_output_dir(tmp_path):
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # nothing created
    (tmp_path / "f.jsonl").write_text("x")
    with pytest.raises(InputError) as e:
        check_output_dir(tmp_path / "f.jsonl" / "out")
    assert str(e.value) == f"{tmp_path / 'f.jsonl'}: is a file, expected a folder"
    with pytest.raises(InputError) as e:
        check_output_dir("/proc/x")
    assert str(e.value) == "/proc/x: cannot write here (no such file or folder)"


def test_describe_os_error(tmp_path):
    (tmp_path / "f").write_text("x")
    cases = [
        (IsADirectoryError(errno.EISDIR, "Is a directory", str(tmp_path)), f"{tmp_path}: is a folder, expected a file"),
        (
            NotADirectoryError(errno.ENOTDIR, "Not a directory", str(tmp_path / "f" / "x")),
            f"{tmp_path / 'f'}: is a file, expected a folder",
        ),
        (PermissionError(errno.EACCES, "Permission denied", "/root/x"), "/root/x: permission denied"),
        (OSError(errno.EROFS, "Read-only file system", "/ro/x"), "/ro/x: read-only file system"),
        (
            FileNotFoundError(errno.ENOENT, "No such file", "/proc/x"),
            "/proc/x: cannot be created here (no such file or folder)",
        ),
        (
            FileNotFoundError(errno.ENOENT, "No such file", str(tmp_path / "gone")),
            f"{tmp_path / 'gone'}: no such file or folder",
        ),
    ]
    for e, line in cases:
        assert str(describe_os_error(e)) == line
    assert describe_os_error(ConnectionResetError(errno.ECONNRESET, "reset")) is None


def test_sigterm_ends_a_command_as_ctrl_c_does(tmp_path, monkeypatch, capsys):
    # `kill PID` during `data snapshot` killed it where it stood: a hidden .pool.*.tmp folder stayed behind
    import signal
    import time

    import polyalign.cli.data as data_cli
    from polyalign.cli import main

    def snapshot(args):
        with atomic_dir(tmp_path / "pool") as tmp:
            (tmp / "es.jsonl.gz").write_text("half written")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)  # the signal arrives here

    monkeypatch.setattr(data_cli, "cmd_data_snapshot", snapshot)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["data", "snapshot", "--languages", "es", "-o", str(tmp_path / "pool")]) == 130
    assert capsys.readouterr().err == "interrupted; run the same command again to resume\n"
    assert list(tmp_path.iterdir()) == []  # no output, no temporary folder beside it
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is this command's only
