"""Every command, every path argument: a folder, a missing path and an unwritable path each give one
line, ``error: ...``, exit 2, no traceback, and no model load (issue 9)."""

from __future__ import annotations

import json

import pytest

from polyalign.cli import main

BAD = {
    "folder": lambda d: str(d / "adir"),
    "missing": lambda d: str(d / "missing.jsonl"),
    "unwritable": lambda d: "/proc/x/y",
}


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """A working folder with one good file of each kind, so only the argument under test is bad."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    (tmp_path / "good.jsonl").write_text(json.dumps({"instruction": "Hi", "output": "Hello"}) + "\n")
    (tmp_path / "pairs.jsonl").write_text(
        json.dumps({"src": "Hi", "tgt": "Hola", "src_lang": "en", "tgt_lang": "es"})
        + "\n"
        + json.dumps({"src": "Bye", "tgt": "Adiós", "src_lang": "en", "tgt_lang": "es"})
        + "\n"
    )
    (tmp_path / "hyp.txt").write_text("Hola\n")
    (tmp_path / "recipe.yaml").write_text("name: t\n")
    (tmp_path / "squad.json").write_text(
        json.dumps(
            {
                "data": [
                    {
                        "paragraphs": [
                            {
                                "context": "c",
                                "qas": [{"id": "1", "question": "q", "answers": [{"text": "c", "answer_start": 0}]}],
                            }
                        ]
                    }
                ]
            }
        )
    )
    (tmp_path / "preds.json").write_text('{"1": "c"}')
    (tmp_path / "points.csv").write_text("lang,size,score\nes,10,20\nes,20,25\nes,40,28\nes,80,30\n")
    (tmp_path / "fits.json").write_text(json.dumps({"fits": {}}))
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "1", "instruction": "Hi", "output": "Hello"}) + "\n")
    model = tmp_path / "trained" / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")
    return tmp_path


# (command line with {P} where the bad path goes, which kinds of bad path apply)
INPUTS = ["folder", "missing", "unwritable"]
OUTPUTS = ["unwritable", "file"]
CASES = [
    (["run", "{P}"], INPUTS),
    (["run", "runs_dir={P}"], OUTPUTS),
    (["run", "data.sources={P}"], INPUTS),
    (["run", "data.instructions={P}"], INPUTS),
    (["data", "build", "{P}"], INPUTS),
    (["data", "build", "runs_dir={P}"], OUTPUTS),
    (["data", "sources", "--gettext-dir", "{P}"], ["missing", "unwritable", "file"]),
    (["data", "validate", "{P}", "--format", "alpaca"], INPUTS),
    (
        [
            "data",
            "validate",
            "hyp.txt",
            "--format",
            "parallel",
            "--src-lang",
            "en",
            "--tgt-lang",
            "es",
            "--tgt-file",
            "{P}",
        ],
        INPUTS,
    ),
    (["data", "translate", "translate.input={P}", "translate.model=m"], INPUTS),
    (["data", "translate", "translate.input=good.jsonl", "translate.model=m", "translate.output_dir={P}"], OUTPUTS),
    (["data", "translate", "{P}"], INPUTS),
    (["train", "{P}"], INPUTS),
    (["train", "train_file={P}", "output_dir=out"], INPUTS),
    (["train", "train_file=good.jsonl", "output_dir={P}"], OUTPUTS),
    (["export", "{P}", "out"], INPUTS),
    (["export", "trained", "{P}"], OUTPUTS),
    (["eval", "{P}", "--tasks", "flores", "--langs", "en-es"], INPUTS),
    (["eval", "--tasks", "flores", "--langs", "en-es", "-o", "{P}"], OUTPUTS),
    (["eval", "--tasks", "flores", "--langs", "en-es", "--adapter", "{P}"], INPUTS),
    (["eval", "--tasks", "flores", "--langs", "en-es", "--model", "{P}"], ["missing", "unwritable"]),
    (["eval", "--tasks", "local_translation", "--langs", "en-es", "--data", "local_translation={P}"], INPUTS),
    (["score", "mt", "{P}", "hyp.txt", "--lang", "es"], INPUTS),
    (["score", "mt", "hyp.txt", "{P}", "--lang", "es"], INPUTS),
    (["score", "qa", "{P}", "preds.json", "--lang", "en"], INPUTS),
    (["score", "qa", "squad.json", "{P}", "--lang", "en"], INPUTS),
    (["score", "fidelity", "{P}", "--lang", "es"], INPUTS),
    (["score", "judge", "{P}", "a.jsonl", "--endpoint", "http://127.0.0.1:9/v1", "--judge-model", "m"], INPUTS),
    (["score", "judge", "a.jsonl", "{P}", "--endpoint", "http://127.0.0.1:9/v1", "--judge-model", "m"], INPUTS),
    (["scaling", "fit", "{P}"], INPUTS),
    (["scaling", "fit", "points.csv", "--form", "log", "--out", "{P}"], ["folder", "unwritable"]),
    (["scaling", "predict", "{P}", "--size", "10"], INPUTS),
    (["scaling", "allocate", "{P}", "--budget", "10"], INPUTS),
    (["scaling", "pilot", "{P}"], INPUTS),
    (["analyze", "align", "--pairs", "{P}", "--out", "out"], INPUTS),
    (["analyze", "align", "--pairs", "pairs.jsonl", "--out", "{P}"], OUTPUTS),
    (["analyze", "lens", "--lang", "es", "--out", "{P}"], OUTPUTS),
    (["analyze", "pca", "--langs", "en,es", "--out", "{P}"], OUTPUTS),
    (["report", "{P}"], INPUTS),
    (
        [
            "score",
            "judge",
            "a.jsonl",
            "a.jsonl",
            "--endpoint",
            "http://127.0.0.1:9/v1",
            "--judge-model",
            "m",
            "--out",
            "{P}",
        ],
        ["folder", "unwritable"],
    ),
]


def _params():
    for argv, kinds in CASES:
        for kind in kinds:
            yield pytest.param(argv, kind, id=f"{' '.join(argv[:3])}-{kind}")


@pytest.mark.parametrize(("argv", "kind"), list(_params()))
def test_a_bad_path_is_one_line_and_exit_2(ws, capsys, monkeypatch, argv, kind):
    import polyalign.models as models

    def no_load(*a, **k):
        raise AssertionError("a model was loaded before the bad path was reported")

    monkeypatch.setattr(models, "load_model", no_load)
    monkeypatch.setattr(models, "load_tokenizer", no_load)
    (ws / "afile").write_text("x\n")
    bad = {"file": str(ws / "afile"), **{k: f(ws) for k, f in BAD.items()}}[kind]
    code = main([a.replace("{P}", bad) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("[polyalign]")]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    named = lines[0].removeprefix("error: ").split(": ")[0].split(":")[0]
    assert named == bad or bad.startswith(named + "/") or named.startswith(bad + "/"), (bad, err)
    assert (ws / "afile").read_text() == "x\n"
