"""`polyalign data translate`: whose output is whose, what is never journaled, what is refused
before any request, and what a failed job leaves behind (against a real local HTTP server)."""

from __future__ import annotations

import json

import chat_server
from chat_server import ChatServer, fake_translate
from polyalign.cli import main
from polyalign.data.translate import output_paths
from polyalign.data.translate_journal import Journal

ROWS = [
    {"id": "a1", "instruction": "Give three tips for staying healthy.", "input": "", "output": "Eat well."},
    {"id": "a2", "instruction": "Add 2 and 3.", "input": "", "output": "The sum is 5."},  # numbers: markers
]


def _write(path, rows=ROWS):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _translate(server, src, out, *extra):
    args = ["data", "translate", f"translate.input={src}", f"translate.base_url={server.url}", "translate.model=m"]
    return main(
        [*args, f"translate.output_dir={out}", "translate.target_languages=es", "translate.backoff=0.01", *extra]
    )


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _entries(journal):
    return [r for r in _lines(journal) if "k" in r]


def test_inputs_alike_up_to_their_last_suffix_get_outputs_of_their_own(tmp_path, capsys):
    v1 = _write(tmp_path / "tips.v1.jsonl", ROWS[:1])
    v2 = _write(tmp_path / "tips.v2.jsonl", ROWS[1:])
    out = tmp_path / "out"
    with ChatServer() as server:
        assert _translate(server, v1, out) == 0 and _translate(server, v2, out) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "tips.v1.es.journal.jsonl",
        "tips.v1.es.jsonl",
        "tips.v2.es.journal.jsonl",
        "tips.v2.es.jsonl",
    ]
    assert [r["id"] for r in _lines(out / "tips.v1.es.jsonl")] == ["a1"]
    assert [r["id"] for r in _lines(out / "tips.v2.es.jsonl")] == ["a2"]
    assert [p.name for p in output_paths("data/alpaca.jsonl", "t", "es")] == [
        "alpaca.es.jsonl",
        "alpaca.es.journal.jsonl",
    ]
    assert capsys.readouterr().err == ""


def test_another_inputs_output_is_refused_and_left_as_it_was(tmp_path, capsys):
    first = _write(tmp_path / "sub" / "tips.jsonl")
    out = tmp_path / "out"
    with ChatServer() as server:
        assert _translate(server, first, out) == 0
        capsys.readouterr()
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        other = _write(tmp_path / "tips.jsonl", ROWS[1:])  # the same output name, another file
        sent = server.requests
        assert _translate(server, other, out) == 2
        assert server.requests == sent
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        assert capsys.readouterr().err == (
            f"error: {out / 'tips.es.jsonl'}: is the translation of another input, {first} (its journal "
            f"tips.es.journal.jsonl says so), not of {other}: choose another translate.output_dir "
            "(nothing was changed)\n"
        )
        # the same bytes moved elsewhere, and the same file edited in place, keep their journal
        moved = _write(tmp_path / "tips.jsonl")
        assert _translate(server, moved, out) == 0 and server.requests == sent
        capsys.readouterr()
        _write(first, [*ROWS, {"id": "a3", "instruction": "Name a colour.", "input": "", "output": "Blue."}])
        assert _translate(server, first, out) == 0
        report = json.loads(capsys.readouterr().out)["languages"]["es"]
        assert report["reused"] == 4 and report["sent"] == 2 and report["written"] == 3


def test_a_journal_from_before_journals_named_their_input_is_reused_and_then_names_it(tmp_path):
    src = _write(tmp_path / "alpaca.jsonl", ROWS[:1])
    out = tmp_path / "out"
    with ChatServer() as server:
        assert _translate(server, src, out) == 0
        journal = out / "alpaca.es.journal.jsonl"
        lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
        assert json.loads(lines[0])["input"] == str(src.resolve())
        journal.write_text("".join(lines[1:]), encoding="utf-8")  # as an older polyalign wrote it
        sent = server.requests
        assert _translate(server, src, out) == 0 and server.requests == sent
    assert journal.read_text(encoding="utf-8").splitlines(keepends=True) == lines


def test_empty_translations_are_rejected_never_journaled_and_retried(tmp_path, capsys, monkeypatch):
    src = _write(tmp_path / "alpaca.jsonl")
    out = tmp_path / "out"
    with ChatServer() as server:
        monkeypatch.setattr(chat_server, "fake_translate", lambda text, target: "")
        assert _translate(server, src, out) == 0
        got = capsys.readouterr()
        es = json.loads(got.out)["languages"]["es"]
        assert (es["records"], es["sent"], es["rejected"], es["written"]) == (2, 4, 2, 0)
        assert got.err == (
            f"warning: {out / 'alpaca.es.jsonl'}: 2 of 2 records left out: a translation came back empty or "
            "without its protected markers (⟦0⟧); those were not journaled, so running the same command again "
            "retries them\n"
        )
        assert _entries(out / "alpaca.es.journal.jsonl") == []
        assert (out / "alpaca.es.jsonl").read_text() == ""
        monkeypatch.undo()
        assert _translate(server, src, out) == 0
    got = capsys.readouterr()
    es = json.loads(got.out)["languages"]["es"]
    assert (es["reused"], es["sent"], es["rejected"], es["written"]) == (0, 4, 0, 2) and got.err == ""
    assert _lines(out / "alpaca.es.jsonl")[0]["output"] == fake_translate("Eat well.", "Spanish")


def test_lost_markers_are_rejected_never_journaled_and_only_they_are_retried(tmp_path, capsys, monkeypatch):
    src = _write(tmp_path / "alpaca.jsonl")
    out = tmp_path / "out"
    with ChatServer() as server:
        monkeypatch.setattr(chat_server, "fake_translate", lambda text, target: "Hola")
        assert _translate(server, src, out, "translate.max_batch=1") == 0
        got = capsys.readouterr()
        es = json.loads(got.out)["languages"]["es"]
        assert (es["segments"], es["sent"], es["rejected"], es["written"]) == (4, 4, 1, 1)
        assert got.err.startswith(f"warning: {out / 'alpaca.es.jsonl'}: 1 of 2 records left out: ")
        assert got.err.count("\n") == 1 and "running the same command again retries them" in got.err
        assert [r["t"] for r in _entries(out / "alpaca.es.journal.jsonl")] == ["Hola", "Hola"]  # a1's two only
        monkeypatch.undo()
        server.texts.clear()
        assert _translate(server, src, out, "translate.max_batch=1") == 0
    es = json.loads(capsys.readouterr().out)["languages"]["es"]
    assert (es["reused"], es["sent"], es["rejected"], es["written"]) == (2, 2, 0, 2)
    assert sorted(t for _, t in server.texts) == ["Add ⟦0⟧ and ⟦1⟧.", "The sum is ⟦0⟧."]
    assert _lines(out / "alpaca.es.jsonl")[1]["output"] == "<sp> tHE SUM IS 5."


def test_settings_no_job_can_run_with_are_refused_before_any_request(tmp_path, capsys):
    src = _write(tmp_path / "alpaca.jsonl")
    out = tmp_path / "out"
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"translate:\n  input: {src}\n  source_language: es\n  target_languages: [de, es]\n")
    with ChatServer() as server:
        assert _translate(server, src, out, "translate.target_languages=de,en") == 2
        assert capsys.readouterr().err == (
            "error: <command line>: translate.target_languages names the source language 'en' "
            "(translate.source_language): there is nothing to translate into it\n"
        )
        for bad in ("0", "-2"):
            assert _translate(server, src, out, f"translate.max_batch={bad}") == 2
            assert capsys.readouterr().err == (
                "error: <command line>: translate.max_batch must be at least 1 (1 sends one text a request), "
                f"got {bad}\n"
            )
        assert main(["data", "translate", str(recipe), f"translate.base_url={server.url}", "translate.model=m"]) == 2
        assert capsys.readouterr().err.startswith(f"error: {recipe}: translate.target_languages names the source")
        assert server.requests == 0
    assert not out.exists()


def test_a_job_that_failed_before_any_translation_leaves_no_journal(tmp_path, capsys):
    src = _write(tmp_path / "alpaca.jsonl")
    out = tmp_path / "out"
    with ChatServer() as server:
        server.fail_500 = 100
        assert _translate(server, src, out, "translate.max_retries=0") == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert not out.exists()
    journal = Journal(tmp_path / "j" / "j.jsonl", {"input": "x", "sha256": None})
    journal.close()
    assert not (tmp_path / "j").exists()
