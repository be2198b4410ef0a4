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


# (command line with {P} where a folder goes): a file there says it is a file, not "no such folder"
FOLDER_INPUTS = [
    ["export", "{P}", "out"],
    ["report", "{P}"],
    ["eval", "--tasks", "flores", "--langs", "en-es", "--adapter", "{P}"],
    ["data", "sources", "--gettext-dir", "{P}"],
]


@pytest.mark.parametrize("argv", FOLDER_INPUTS, ids=[" ".join(a[:2]) for a in FOLDER_INPUTS])
def test_a_file_where_a_folder_goes_says_it_is_a_file(ws, capsys, argv):
    (ws / "afile").write_text("x\n")
    code = main([a.replace("{P}", str(ws / "afile")) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"error: {ws / 'afile'}: is a file, expected ") and err.count("\n") == 1, err
    assert (ws / "afile").read_text() == "x\n"


# --- numbers and language codes (issue 17): checked where they are parsed, before any work ----------

# (command line, what the one line must say)
NUMBERS_AND_LANGS = [
    (["eval", "--tasks", "polyqa", "--limit", "-1"], "argument --limit: must be at least 1, got -1"),
    (["eval", "--tasks", "polyqa", "--limit", "x"], "argument --limit: expected a whole number, got 'x'"),
    (["eval", "--tasks", "polyqa", "--num-fewshot", "-2"], "argument --num-fewshot: must be at least 0, got -2"),
    (["eval", "--tasks", "polyqa", "--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    (["eval", "--tasks", "polyqa", "--max-new-tokens", "0"], "argument --max-new-tokens: must be at least 1"),
    (["run", "--nproc", "0"], "argument --nproc: must be at least 1, got 0"),
    (["train", "--nproc", "-1"], "argument --nproc: must be at least 1, got -1"),
    (["score", "mt", "hyp.txt", "hyp.txt", "--lang", "es", "--ref-column", "0"], "argument --ref-column"),
    (["score", "judge", "a.jsonl", "a.jsonl", "--endpoint", "u", "--judge-model", "m", "--timeout", "0"], "--timeout"),
    (["scaling", "fit", "points.csv", "--bootstrap", "-1"], "argument --bootstrap: must be at least 0, got -1"),
    (["scaling", "fit", "points.csv", "--seed", "-1"], "argument --seed: must be at least 0, got -1"),
    (["scaling", "allocate", "fits.json", "--budget", "10000000000000000"], "argument --budget: '1000000000000"),
    (["scaling", "allocate", "fits.json", "--budget", "10", "--weight", "es=1e7"], "'es=1e7': must be at most 1e+06"),
    (["scaling", "fit", "points.csv", "--similarity", "es=-1"], "'es=-1': VALUE must be above 0"),
    (["scaling", "fit", "points.csv", "--similarity", "es=0"], "'es=0': VALUE must be above 0"),
    (["scaling", "fit", "points.csv", "--similarity", "es=nan"], "'es=nan': VALUE must be above 0"),
    (["scaling", "fit", "points.csv", "--similarity", "french=0.5"], "unknown language code 'french'"),
    (
        ["scaling", "fit", "points.csv", "--similarity", "de=0.5"],
        "--similarity names de, which the points do not have (points: es)",
    ),
    (["scaling", "fit", "french.csv"], "french.csv:2: lang: unknown language code 'french' (did you mean 'fr'?)"),
    (["scaling", "predict", "fits.json", "--size", "-5"], "argument --size: must be a number above 0"),
    (["scaling", "allocate", "fits.json", "--budget", "0"], "argument --budget: must be at least 1, got 0"),
    (["scaling", "allocate", "fits.json", "--budget", "10", "--weight", "xx=2"], "unknown language code 'xx'"),
    (["scaling", "allocate", "fits.json", "--budget", "10", "--weight", "es=-1"], "'es=-1': VALUE must be at least 0"),
    (["scaling", "allocate", "fits.json", "--budget", "10", "--available", "es=x"], "expected LANG=N"),
    (["scaling", "allocate", "french.json", "--budget", "10"], "french.json: fits: unknown language code 'french'"),
    (["scaling", "pilot", "recipe.yaml", "scaling.languages=xx"], "scaling.languages: unknown language code 'xx'"),
    (["analyze", "lens", "--lang", "es", "--shots", "-1", "--out", "o"], "argument --shots: must be at least 0"),
    (["analyze", "lens", "--lang", "es", "--limit", "0", "--out", "o"], "argument --limit: must be at least 1, got 0"),
    (["analyze", "lens", "--lang", "en", "--out", "o"], "differ and are not English"),
    (["analyze", "lens", "--lang", "es", "--source-lang", "es", "--out", "o"], "--source-lang: the lens needs"),
    (["analyze", "lens", "--lang", "xx", "--out", "o"], "--lang: unknown language code 'xx'"),
    (["analyze", "pca", "--langs", "en,en", "--out", "o"], "--langs: en named twice"),
    (["analyze", "pca", "--langs", "en,xx", "--out", "o"], "--langs: unknown language code 'xx'"),
    (["analyze", "pca", "--limit", "0", "--out", "o"], "argument --limit: must be at least 2"),
    (
        ["analyze", "align", "--pairs", "pairs.jsonl", "--limit", "0", "--out", "o"],
        "argument --limit: must be at least 2",
    ),
    (["analyze", "align", "--pairs", "pairs.jsonl", "--margin-k", "0", "--out", "o"], "argument --margin-k"),
    (["analyze", "align", "--pairs", "pairs.jsonl", "--batch-size", "0", "--out", "o"], "argument --batch-size"),
    (["analyze", "align", "--pairs", "pairs.jsonl", "--adapter", "adir", "--out", "o"], "no adapter_config.json"),
    (["run", "--dry-run", "eval.suite=polyqa", "eval.suite_langs=ja"], "no task of the suite evaluates 'ja'"),
    (["run", "--dry-run", "eval.suite=polyqa", "eval.suite_langs=en-es"], "takes single languages, not a pair"),
    (["run", "--dry-run", "eval.suite=polyqa", "eval.suite_langs=es_en"], "'es_en' (EN is no country code"),
    (["run", "--dry-run", "data.languages=zh-Hant"], "unknown language code 'zh-Hant' (did you mean 'zh_TW' or"),
]


@pytest.mark.parametrize(("argv", "said"), NUMBERS_AND_LANGS, ids=[" ".join(a[:4]) for a, _ in NUMBERS_AND_LANGS])
def test_a_bad_number_or_language_is_one_line_and_exit_2_before_any_model(ws, capsys, monkeypatch, argv, said):
    import polyalign.models as models

    def no_load(*a, **k):
        raise AssertionError("a model was loaded before the bad argument was reported")

    monkeypatch.setattr(models, "load_model", no_load)
    monkeypatch.setattr(models, "load_tokenizer", no_load)
    (ws / "french.csv").write_text("lang,size,score\nfrench,10,20\nfrench,20,25\n")
    (ws / "french.json").write_text(json.dumps({"fits": {"french": {"form": "log", "params": {"a": 1, "b": 1}}}}))
    (ws / "recipe.yaml").write_text("name: t\n")
    (ws / "points.bak").write_bytes((ws / "points.csv").read_bytes())
    assert _code(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("[polyalign]")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and said in lines[0], err
    assert "Traceback" not in err
    assert not (ws / "o").exists() and (ws / "points.csv").read_bytes() == (ws / "points.bak").read_bytes()


def _code(argv: list[str]) -> int:
    """``main``'s exit status, also when argparse ends the parse (a bad flag is a SystemExit(2))."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code or 0)


# --- an output that is one of the inputs (issue 17) -----------------------------------------------

APART = [
    (["run", "--dry-run", "name=t", "model.model_name_or_path=runs/t"], "runs/t"),
    (["run", "--dry-run", "name=t", "data.instructions=runs/t/data/train.jsonl"], "runs/t/data/train.jsonl"),
    (["data", "build", "name=t", "data.sources=runs/t/data/test_en-es.jsonl"], "runs/t/data/test_en-es.jsonl"),
    (
        ["data", "translate", "translate.input=good.jsonl", "translate.model=m", "translate.output_dir=good.jsonl"],
        "good.jsonl",
    ),
    (["data", "snapshot", "--languages", "es", "--gettext-dir", "adir", "-o", "adir"], "adir"),
    (["train", "train_file=trained", "output_dir=trained"], "trained"),
    (["export", "trained", "trained/model", "--base", "trained/model"], "trained/model"),
    (["eval", "--tasks", "flores", "--langs", "en-es", "--adapter", "adir", "-o", "adir"], "adir"),
    (["score", "judge", "a.jsonl", "hyp.txt", "--endpoint", "u", "--judge-model", "m", "--out", "a.jsonl"], "a.jsonl"),
    (["scaling", "fit", "points.csv", "--out", "points.csv"], "points.csv"),
    (["scaling", "allocate", "fits.json", "--budget", "10", "--out", "fits.json"], "fits.json"),
    (["scaling", "pilot", "recipe.yaml", "model.model_name_or_path=runs/t"], "runs/t"),
    (["analyze", "align", "--pairs", "pairs.jsonl", "--out", "pairs.jsonl"], "pairs.jsonl"),
    (["analyze", "align", "--pairs", "pairs.jsonl", "--compare", "adir", "--out", "adir"], "adir"),
    (["analyze", "lens", "--lang", "es", "--model", "trained/model", "--out", "trained/model"], "trained/model"),
    (["analyze", "pca", "--adapter", "adir", "--out", "adir"], "adir"),
]
# Commands that write only into the folder they read, by design: the report of a run goes into the run;
# and push, which writes nothing on disk (it publishes its source to a hub repository).
WRITES_INTO_ITS_INPUT = {"report", "push"}


def _commands(p=None, prefix=()):
    """Every command path of the parser and its argument names: (("scaling", "fit"), {"points", "out", ...})."""
    import argparse

    from polyalign.cli import parser

    p = p or parser()
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*prefix, name))
            return
    yield prefix, {a.dest for a in p._actions}


def test_every_command_that_writes_is_checked_for_an_output_that_is_an_input():
    writers = {
        " ".join(path)
        for path, dests in _commands()
        if dests & {"out", "output", "recipe", "source"} and " ".join(path) not in WRITES_INTO_ITS_INPUT
    }
    missing = sorted(c for c in writers if not any(" ".join(argv).startswith(c + " ") for argv, _ in APART))
    assert not missing, f"commands with an output not in APART: {missing}"
    assert {"run", "data build", "train", "eval", "scaling fit", "analyze align", "score judge"} <= writers


@pytest.mark.parametrize(("argv", "named"), APART, ids=[" ".join(a[:2]) for a, _ in APART])
def test_an_output_that_is_an_input_is_refused_before_any_work(ws, capsys, monkeypatch, argv, named):
    import polyalign.models as models

    def no_load(*a, **k):
        raise AssertionError("a model was loaded before the clash was reported")

    monkeypatch.setattr(models, "load_model", no_load)
    monkeypatch.setattr(models, "load_tokenizer", no_load)
    (ws / "recipe.yaml").write_text("name: t\n")
    before = {p: p.read_bytes() for p in ws.rglob("*") if p.is_file()}
    assert _code(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("[polyalign]")]
    assert len(lines) == 1 and lines[0].startswith(f"error: {named}: is "), err
    assert "it would be overwritten" in lines[0] and "nothing was changed" in lines[0]
    assert {p: p.read_bytes() for p in ws.rglob("*") if p.is_file()} == before
