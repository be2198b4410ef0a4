"""What a new user hits (issue 9): unknown languages, empty inputs, misleading messages, wrong
files scored with confidence. Each case is one error line (or a warning line) naming the cause."""

from __future__ import annotations

import json

import pytest
import sacrebleu

from polyalign import langs
from polyalign.cli import main
from polyalign.data.records import read_tsv, validate_file
from polyalign.io import InputError
from polyalign.recipe import load_recipe


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# --- language codes ---------------------------------------------------------------------------


def test_unknown_language_codes_are_named_with_a_suggestion_when_close():
    assert langs.unknown("es") is None and langs.unknown("pt_BR") is None and langs.unknown("spa_Latn") is None
    assert langs.unknown("xx") == "unknown language code 'xx'"
    assert langs.unknown("klingon") == "unknown language code 'klingon'"
    assert langs.unknown("french") == "unknown language code 'french' (did you mean 'fr'?)"
    assert langs.unknown("jp") == "unknown language code 'jp' (did you mean 'ja'?)"
    assert langs.unknown("deu") == "unknown language code 'deu' (did you mean 'de'?)"
    with pytest.raises(InputError, match="unknown language code 'zz'"):
        langs.check("zz")


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["data", "build", "languages=xx"], "error: <command line>: data.languages: unknown language code 'xx'\n"),
        (
            ["run", "languages=es,french"],
            "error: <command line>: data.languages: unknown language code 'french' (did you mean 'fr'?)\n",
        ),
        (["data", "sources", "--lang", "xx"], "error: --lang: unknown language code 'xx'\n"),
        (["eval", "--tasks", "flores", "--langs", "en-xx"], "error: --langs en-xx: unknown language code 'xx'\n"),
        (
            ["score", "mt", "h.txt", "h.txt", "--lang", "jp"],
            "error: --lang: unknown language code 'jp' (did you mean 'ja'?)\n",
        ),
        (["score", "qa", "h.txt", "h.txt", "--lang", "xx"], "error: --lang: unknown language code 'xx'\n"),
        (
            ["data", "validate", "h.txt", "--format", "parallel", "--src-lang", "en", "--tgt-lang", "zz"],
            "error: --tgt-lang: unknown language code 'zz'\n",
        ),
        (  # a known code the run holds no held-out pairs for: the look inside had silently read es's pairs
            ["run", "--dry-run", "analysis_language=fr"],
            "error: analysis_language: fr has no held-out pairs in this run (it holds En–X pairs for es, ru, the "
            "CoIT/MuIT arms' languages): name one of them\n",
        ),
    ],
)
def test_every_language_code_is_checked_before_any_work(tmp_path, monkeypatch, capsys, argv, line):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "h.txt").write_text("Hola\n")
    code, out, err = run(capsys, *argv)
    assert (code, out, err) == (2, "", line)
    assert not (tmp_path / "runs").exists()  # nothing was built


def test_a_recipe_file_names_its_own_bad_language_by_line(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: t\ndata:\n  languages: [es, xx]\n")
    with pytest.raises(InputError) as e:
        load_recipe(recipe)
    assert str(e.value) == f"{recipe}:3: data.languages: unknown language code 'xx'"


# --- recipes ----------------------------------------------------------------------------------


def test_empty_binary_and_folder_recipes_are_refused(tmp_path, capsys):
    empty, comments, binary = tmp_path / "empty.yaml", tmp_path / "c.yaml", tmp_path / "bin.yaml"
    empty.write_text("")
    comments.write_text("# nothing yet\n")
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe")
    for path in (empty, comments):
        assert run(capsys, "run", path)[0::2] == (
            2,
            f"error: {path}: the recipe is empty: give it sections (for the embedded default, name no recipe)\n",
        )
    assert run(capsys, "run", binary)[0::2] == (
        2,
        f"error: {binary}: not a text recipe: the file holds binary data (a recipe is YAML text)\n",
    )
    assert run(capsys, "eval", tmp_path)[0::2] == (
        2,
        f"error: {tmp_path}: is a folder, expected a recipe file (YAML)\n",
    )


def test_a_typo_on_the_command_line_is_reported_as_coming_from_there(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: t\ntrain:\n  max_steps: 3\n")
    cases = {
        "train.lerning_rate=1": "<command line>: unknown key 'train.lerning_rate' (did you mean 'learning_rate'?)",
        "lerning_rate=1": "<command line>: unknown key 'lerning_rate' (did you mean 'learning_rate'?)",
        "max_steps=x": "<command line>: 'train.max_steps' must be an integer, got str 'x'",
        "data.test_size=0": "<command line>: data.test_size must be at least 1",
    }
    for override, line in cases.items():
        with pytest.raises(InputError) as e:
            load_recipe(recipe, [override])
        assert str(e.value) == line
    recipe.write_text("name: t\ndata:\n  test_size: 0\n")
    with pytest.raises(InputError) as e:
        load_recipe(recipe)
    assert str(e.value) == f"{recipe}:3: data.test_size must be at least 1"


# --- data files -------------------------------------------------------------------------------


def test_validate_refuses_empty_files_folders_and_gpt_only_conversations(tmp_path, capsys):
    empty = tmp_path / "e.jsonl"
    empty.write_text("\n")
    assert run(capsys, "data", "validate", empty, "--format", "alpaca")[0::2] == (
        2,
        f"error: {empty}: holds no alpaca records (an empty file)\n",
    )
    assert run(capsys, "data", "validate", tmp_path, "--format", "alpaca")[0::2] == (
        2,
        f"error: {tmp_path}: is a folder, expected a file\n",
    )
    gpt = tmp_path / "g.jsonl"
    gpt.write_text(json.dumps({"conversations": [{"from": "gpt", "value": "Hi."}]}) + "\n")
    assert run(capsys, "data", "validate", gpt, "--format", "sharegpt")[0::2] == (
        2,
        f"error: {gpt}:1: no user turn before the first assistant turn (nothing the answer replies to)\n",
    )


def test_validate_parallel_names_the_language_flags(tmp_path, capsys):
    tsv, jsonl = tmp_path / "x.tsv", tmp_path / "p.jsonl"
    tsv.write_text("Hello\tBonjour\n")
    jsonl.write_text(json.dumps({"src": "Hello", "tgt": "Bonjour"}) + "\n")
    assert run(capsys, "data", "validate", tsv, "--format", "parallel")[0::2] == (
        2,
        f"error: {tsv}: give the languages of this parallel file: --src-lang L --tgt-lang L\n",
    )
    assert run(capsys, "data", "validate", jsonl, "--format", "parallel")[0::2] == (
        2,
        f"error: {jsonl}:1: missing field 'src_lang' (or give --src-lang/--tgt-lang)\n",
    )
    assert validate_file(jsonl, "parallel", "en", "fr") == {
        "format": "parallel",
        "records": 1,
        "directions": {"en-fr": 1},
    }


def test_a_tsv_header_row_is_skipped_with_a_line_naming_it(tmp_path, capsys):
    for header in ("src\ttgt", "en\tfr", "English\tFrench", "source\ttarget"):
        tsv = tmp_path / "x.tsv"
        tsv.write_text(f"{header}\nHello there\tBonjour\nYes\tOui\n")
        pairs = list(read_tsv(tsv, "en", "fr"))
        assert [(p.src, p.tgt) for p in pairs] == [("Hello there", "Bonjour"), ("Yes", "Oui")]
        a, b = header.split("\t")
        assert capsys.readouterr().err == f"[polyalign] {tsv}:1: skipped a header row ({a!r}, {b!r})\n"
    tsv.write_text("Yes\tOui\nNo\tNon\n")
    assert len(list(read_tsv(tsv, "en", "fr"))) == 2 and capsys.readouterr().err == ""


def test_sources_name_a_missing_file_or_a_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    code, _, err = run(capsys, "data", "build", "sources=missing.tsv", "name=a")
    assert (code, err.splitlines()[-1]) == (2, "error: missing.tsv: no such file (named in data.sources)")
    code, _, err = run(capsys, "data", "build", "sources=adir", "name=b")
    assert (code, err.splitlines()[-1]) == (2, "error: adir: is a folder, expected a file")


def test_an_empty_instruction_file_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inst.jsonl").write_text("")
    code, _, err = run(capsys, "data", "build", "instructions=inst.jsonl", "sources=pycountry")
    assert (code, err.splitlines()[-1]) == (2, "error: inst.jsonl: holds no instruction records (an empty file)")
    (tmp_path / "inst.jsonl").write_text(json.dumps({"instruction": "Name a colour.", "output": "Blue."}) + "\n")
    code, out, err = run(
        capsys,
        "data",
        "build",
        "instructions=inst.jsonl",
        "sources=pycountry",
        "name=english-only",
        "max_train_pairs=20",
        "test_size=5",
    )
    assert code == 0 and json.loads(out)["parts"]["instruction"] == 1 and "translated" not in json.loads(out)["parts"]
    assert (
        "[polyalign] data: warning: es: 0 translated instructions (no data.instructions entry is in es: add es=PATH, "
        "or translate them with `polyalign data translate`)"
    ) in err.splitlines()


# --- score ------------------------------------------------------------------------------------


def test_score_mt_reads_eval_samples_and_tsv_columns_and_refuses_other_formats(tmp_path, capsys):
    hyps = ["Le chat est assis sur le tapis.", "Il pleut depuis ce matin."]
    refs = ["Le chat est sur le tapis.", "Il pleut depuis ce matin."]
    samples = tmp_path / "samples_local_translation_en-fr.jsonl"
    samples.write_text(
        "".join(
            json.dumps({"id": str(i), "source": "x", "output": h, "reference": r}) + "\n"
            for i, (h, r) in enumerate(zip(hyps, refs))
        )
    )
    ref_tsv = tmp_path / "ref.tsv"
    ref_tsv.write_text("".join(f"src {i}\t{r}\n" for i, r in enumerate(refs)))
    want = round(sacrebleu.corpus_bleu(hyps, [refs]).score, 2)

    code, out, _ = run(capsys, "score", "mt", samples, samples, "--lang", "fr")
    assert code == 0 and round(json.loads(out)["bleu"], 2) == want
    code, out, _ = run(capsys, "score", "mt", samples, ref_tsv, "--lang", "fr", "--ref-column", "2")
    assert code == 0 and round(json.loads(out)["bleu"], 2) == want
    assert run(capsys, "score", "mt", samples, ref_tsv, "--lang", "fr")[0::2] == (
        2,
        f"error: {ref_tsv}:1: has tab-separated columns: pick one with --hyp-column/--ref-column N\n",
    )
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"text": "x"}) + "\n")
    assert run(capsys, "score", "mt", other, samples, "--lang", "fr")[0::2] == (
        2,
        f"error: {other}:1: a JSON record without a string 'output' field (fields: text)\n",
    )


def test_score_mt_on_empty_files_is_one_line(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert run(capsys, "score", "mt", empty, empty, "--lang", "fr")[0::2] == (
        2,
        f"error: {empty}: is empty: no segments to score\n",
    )


def test_score_qa_says_how_many_prediction_ids_are_not_in_the_dataset(tmp_path, capsys):
    data, preds = tmp_path / "d.json", tmp_path / "p.json"
    data.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "paragraphs": [
                            {
                                "context": "Paris",
                                "qas": [
                                    {
                                        "id": "q1",
                                        "question": "Capital?",
                                        "answers": [{"text": "Paris", "answer_start": 0}],
                                    }
                                ],
                            }
                        ]
                    }
                ]
            }
        )
    )
    preds.write_text(json.dumps({"q1": "Paris", "Q2": "x", "q3": "y"}))
    code, out, err = run(capsys, "score", "qa", data, preds, "--lang", "en")
    assert code == 0 and json.loads(out)["not_in_dataset"] == 2 and json.loads(out)["exact_match"] == 100.0
    assert (
        err == f"[polyalign] {preds}: 2 of 3 prediction ids are not in the dataset (first: 'Q2'); they are not scored\n"
    )


# --- outputs that are the user's ----------------------------------------------------------------


def test_run_and_train_never_write_into_a_folder_of_the_users(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine"
    (mine / "data").mkdir(parents=True)
    (mine / "data" / "notes.txt").write_text("important")
    code, _, err = run(capsys, "data", "build", "runs_dir=.", "name=mine")
    assert (code, err) == (
        2,
        "error: mine: exists and is not a run directory polyalign made: choose another name=... "
        "or runs_dir=... (nothing was changed)\n",
    )
    (tmp_path / "t.jsonl").write_text(json.dumps({"instruction": "Hi", "output": "Hello"}) + "\n")
    code, _, err = run(capsys, "train", "train_file=t.jsonl", "output_dir=mine")
    assert (code, err) == (
        2,
        "error: mine: exists and is not a training output polyalign made: choose another "
        "output_dir=... (nothing was changed)\n",
    )
    assert sorted(str(p.relative_to(mine)) for p in mine.rglob("*")) == ["data", "data/notes.txt"]


def test_eval_checks_its_adapter_and_data_before_loading(tmp_path, capsys):
    (tmp_path / "emptydir").mkdir()
    code, _, err = run(
        capsys,
        "eval",
        "--tasks",
        "flores",
        "--langs",
        "en-es",
        "--adapter",
        tmp_path / "emptydir",
        "-o",
        tmp_path / "o",
    )
    assert (code, err) == (
        2,
        f"error: {tmp_path / 'emptydir'}: holds no LoRA adapter (no adapter_config.json): "
        "give the folder training saved (OUTPUT_DIR/model)\n",
    )
    merged = tmp_path / "merged"  # an export --mode merged: a whole model, given where an adapter goes
    merged.mkdir()
    (merged / "config.json").write_text("{}")
    for command in (["eval", "--tasks", "flores", "--langs", "en-es"], ["analyze", "lens", "--lang", "es"]):
        code, _, err = run(
            capsys, *command, "--adapter", merged, "-o" if command[0] == "eval" else "--out", tmp_path / "o"
        )
        assert (code, err) == (
            2,
            f"error: {merged}: holds a full model (config.json), not a LoRA adapter: give it as --model\n",
        )
    code, _, err = run(
        capsys,
        "eval",
        "--tasks",
        "local_translation",
        "--langs",
        "en-es",
        "--data",
        f"local_translation={tmp_path / 'emptydir'}",
        "-o",
        tmp_path / "o",
    )
    assert (code, err) == (
        2,
        f"error: {tmp_path / 'emptydir'}: is a folder: name the local_translation file itself "
        "(the path may hold {lang})\n",
    )


def test_every_command_settles_the_suite_protocol_as_run_does(tmp_path, capsys):
    # `data build` and `scaling pilot` wrote config.yaml with the recipe's 0 shots, `run` with the protocol's 2
    # (a question-alignment arm's few-shot suite), so a run after either refused its own recipe
    import argparse

    import polyalign.cli.checks as checks

    cfg = checks.args_recipe(argparse.Namespace(recipe=None, overrides=[f"runs_dir={tmp_path}"]))
    assert cfg.eval.num_fewshot == 2 and cfg.eval.qalign_fewshot == 2
    code, _, err = run(capsys, "data", "build", f"runs_dir={tmp_path}", "test_size=5")
    assert code == 0, err
    assert "  num_fewshot: 2\n" in (tmp_path / "default" / "config.yaml").read_text()  # what run writes


def test_a_judge_key_that_is_not_set_stops_the_run_before_any_work(tmp_path, capsys, monkeypatch):
    # the judge runs last: a missing key variable had ended a whole run at its last stage
    monkeypatch.delenv("POLYALIGN_TEST_NO_KEY", raising=False)
    judge = ["judge.endpoint=http://127.0.0.1:9/v1", "judge.model=m", "judge.api_key_env=POLYALIGN_TEST_NO_KEY"]
    code, _, err = run(capsys, "run", *judge, f"runs_dir={tmp_path}")
    assert (code, err) == (
        2,
        "error: the environment variable POLYALIGN_TEST_NO_KEY (named by judge.api_key_env) is not set\n",
    )
    assert list(tmp_path.iterdir()) == []
