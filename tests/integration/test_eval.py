"""`polyalign eval` end to end on a tiny random Llama and native-format fixtures, on CPU."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eval_fixtures import (
    write_flores200,
    write_marc,
    write_mgsm,
    write_mlqa,
    write_pawsx,
    write_polyinstruct,
    write_xnli,
    write_xquad,
)

pytestmark = pytest.mark.slow


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "polyalign", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def run_main(capsys, *args):
    """The same command in this process (no interpreter start-up): exit code, stdout, stderr."""
    from polyalign.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def samples(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaldata")
    cls = root / "cls.jsonl"
    cls.write_text(
        "".join(
            json.dumps({"id": f"c{i}", "text": t, "label": y}) + "\n"
            for i, (t, y) in enumerate(
                [("muy bien", "bueno"), ("fatal", "malo"), ("genial", "bueno"), ("horrible", "malo")]
            )
        )
    )
    return {
        "xquad": write_xquad(root / "xquad"),
        "mlqa": write_mlqa(root / "mlqa"),
        "flores": write_flores200(root / "flores"),
        "pawsx": write_pawsx(root / "paws"),
        "xnli": write_xnli(root / "xnli"),
        "sentiment": write_marc(root / "marc"),
        "mgsm": write_mgsm(root / "mgsm"),
        "polyinstruct": write_polyinstruct(root / "pi" / "polyinstruct_v1.jsonl"),
        "local_classification": cls,
    }


def test_eval_all_tasks_then_resume(tmp_path, tiny_model_dir, data, capsys):
    out = tmp_path / "out"
    args = [
        "eval",
        "--model",
        str(tiny_model_dir),
        "--tasks",
        ",".join(data),
        "--langs",
        "es",
        "--num-fewshot",
        "1",
        "--max-new-tokens",
        "6",
        "--batch-size",
        "3",
        "-o",
        str(out),
    ]
    for task, path in data.items():
        args += ["--data", f"{task}={path}"]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "results.json").read_text())
    keys = [
        "xquad/es",
        "mlqa/es-es",
        "flores/en-es",
        "pawsx/es",
        "xnli/es",
        "sentiment/es",
        "mgsm/es",
        "polyinstruct/es",
        "local_classification/es",
    ]
    assert list(doc["results"]) == keys
    assert doc["config"]["model"] == str(tiny_model_dir) and doc["config"]["seed"] == 0
    for key in keys:
        task, lang = key.split("/")
        rows = samples(out / f"samples_{task}_{lang}.jsonl")
        r, cfg = doc["results"][key], doc["configs"][key]
        assert doc["n-samples"][key]["effective"] == len(rows) > 0
        assert cfg["template"].startswith("eval_v2/") and len(cfg["template_sha256"]) == 64 and cfg["num_fewshot"] == 1
        assert key.split("/")[0] in proc.stdout.split("fidelity %")[1]
        if cfg["kind"] == "classification":
            assert r["accuracy"] == pytest.approx(100.0 * sum(s["correct"] for s in rows) / len(rows))
            assert "fidelity" not in r
        else:  # every generative task reports fidelity, recomputable from its samples
            found = [s["detected_lang"] for s in rows if s["detected_lang"] is not None]
            assert r["fidelity"] == pytest.approx(100.0 * sum(d == "es" for d in found) / len(found) if found else 0.0)
    xq = doc["results"]["xquad/es"]
    rows = samples(out / "samples_xquad_es.jsonl")
    assert xq["f1"] == pytest.approx(100.0 * sum(s["f1"] for s in rows) / len(rows))
    assert "exact_match_stderr" in xq and xq["signature"].startswith("qa|lang:es|norm:squad_v1.1")  # issue 20
    assert doc["configs"]["xquad/es"]["excluded_for_demos"] == 1 and len(rows) == 3
    assert doc["configs"]["pawsx/es"]["excluded_for_demos"] == 0  # demonstrations from dev_2k.tsv
    assert doc["configs"]["local_classification/es"]["labels"] == ["bueno", "malo"]
    assert doc["results"]["flores/en-es"]["bleu_signature"].startswith(
        "nrefs:1|bs:1000|seed:12345|case:mixed|eff:no|tok:13a"
    )
    assert (
        "Translate the following text from English to Spanish"
        in samples(out / "samples_flores_en-es.jsonl")[0]["prompt"]
    )
    from eval_fixtures import FLORES
    from polyalign.eval.metrics import fidelity

    refs = FLORES["spa_Latn"][:3]
    assert doc["results"]["flores/en-es"]["fidelity_reference"] == 100.0 * fidelity(refs, "es")["on_target_rate"]

    # The same command again finds everything done and changes nothing.
    code, _, err = run_main(capsys, *args)
    assert code == 0 and err.count("already done") == len(keys)
    assert json.loads((out / "results.json").read_text()) == doc
    # A different evaluation into the same folder is refused.
    code, _, err = run_main(capsys, *args, "--limit", "1")
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"error: {out / 'results.json'}: this folder holds results of a different evaluation; choose another --output"
    )


def test_eval_from_a_recipe_with_raw_prompts(tmp_path, tiny_model_dir, data, capsys, monkeypatch):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""
name: suite
runs_dir: {tmp_path / "runs"}
model:
  model_name_or_path: {tiny_model_dir}
eval:
  suite: [xquad, mgsm]
  suite_langs: [es]
  data_files: ["xquad={data["xquad"]}/xquad.{{lang}}.json", "mgsm={data["mgsm"]}"]
  max_new_tokens: 6
""")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "eval", str(recipe), "eval.prompt_format=raw", "--limit", "2")
    assert code == 0, err[-3000:]
    out = tmp_path / "runs" / "suite" / "eval" / "suite"
    doc = json.loads((out / "results.json").read_text())
    assert list(doc["results"]) == ["xquad/es", "mgsm/es"]
    assert doc["configs"]["xquad/es"]["format"] == "raw" and doc["configs"]["xquad/es"]["stop"] == ["\n"]
    first = samples(out / "samples_xquad_es.jsonl")[0]
    assert first["prompt"].endswith("\nAnswer:") and "<|im_start|>" not in first["prompt"]
    assert doc["n-samples"]["mgsm/es"]["effective"] == 2


def test_eval_errors_are_one_line(tmp_path, tiny_model_dir, data, capsys):
    cases = [
        (
            ["--tasks", "squad"],
            "error: unknown task 'squad' (known: xquad, mlqa, flores, pawsx, xnli, sentiment, mgsm, "
            "polyinstruct, polyqa, polyqa_v2, polysent, polymt, local_qa, local_translation, local_classification)",
        ),
        (
            ["--tasks", "xquad", "--langs", "es", "--data", "xquad=/no/such/dir"],
            "error: /no/such/dir: no such file or folder",
        ),
        (["--tasks", "local_qa"], "error: local_qa: name the languages with --langs (eval.suite_langs in a recipe)"),
        (
            ["--tasks", "mgsm", "--langs", "es", "--data", f"mgsm={data['mgsm']}", "--num-fewshot", "5"],
            "error: mgsm/es: 3 examples leave none to evaluate after 5 demonstrations",
        ),
    ]
    for extra, expected in cases:
        code, _, err = run_main(capsys, "eval", "--model", str(tiny_model_dir), *extra, "-o", str(tmp_path / "o"))
        assert code == 2, err
        assert err.strip().splitlines()[-1] == expected


def test_eval_shipped_polyqa_polysent_all_languages_one_table(tmp_path, tiny_model_dir, capsys):
    from polyalign.data import resources

    out = tmp_path / "all"
    code, stdout, err = run_main(
        capsys,
        "eval",
        "--model",
        str(tiny_model_dir),
        "--tasks",
        "polyqa,polysent",
        "--langs",
        "all",
        "--limit",
        "2",
        "--num-fewshot",
        "1",
        "--max-new-tokens",
        "4",
        "-o",
        str(out),
    )
    assert code == 0, err[-3000:]
    doc = json.loads((out / "results.json").read_text())
    qa_langs, sent_langs = list(resources.POLYQA_LANGUAGES), list(resources.POLYSENT_LANGUAGES)
    assert list(doc["results"]) == [f"polyqa/{c}" for c in qa_langs] + [f"polysent/{c}" for c in sent_langs]
    for c in qa_langs:
        r, cfg = doc["results"][f"polyqa/{c}"], doc["configs"][f"polyqa/{c}"]
        rows = samples(out / f"samples_polyqa_{c}.jsonl")
        assert (
            r["n"] == 2 and cfg["source"] == "polyqa_v1" and cfg["split"] == "test" and cfg["excluded_for_demos"] == 0
        )
        assert r["f1"] == pytest.approx(100.0 * sum(s["f1"] for s in rows) / 2) and "contains" in r
        assert "fidelity" in r and f"lang:{c}|" in r["fidelity_signature"]
        assert cfg["demo_ids"][0] in {q["id"] for q in resources.polyqa(c, "dev")}
    for c in sent_langs:
        r, cfg = doc["results"][f"polysent/{c}"], doc["configs"][f"polysent/{c}"]
        assert r["n"] == 2 and cfg["labels"] == ["negative", "positive"] and cfg["template"] == "eval_v2/polysent"
        assert "fidelity" not in r
        # --limit 2 draws one item of each label, the same ids in every language (issue 20)
        rows = samples(out / f"samples_polysent_{c}.jsonl")
        assert sorted(s["reference"] for s in rows) == ["negative", "positive"]
        assert cfg["sample"]["ids"] == doc["configs"]["polysent/en"]["sample"]["ids"] == [s["id"] for s in rows]
        assert cfg["sample"]["stratified_by"] == "label"
    # One table, a row per language: polyqa's columns empty for the four languages only polysent has.
    table = stdout.split("\nresults:")[0].strip().splitlines()
    assert table[0].split() == [
        "lang",
        "polyqa",
        "EM",
        "polyqa",
        "F1",
        "polyqa",
        "contains",
        "polyqa",
        "fidelity",
        "%",
        "polysent",
        "acc",
        "polysent",
        "majority",
        "%",
    ]
    assert [line.split()[0] for line in table[2:]] == qa_langs + ["fr", "ja", "sw", "bn"]
    assert table[-1].split()[1:5] == ["—"] * 4


def test_eval_polyqa_polysent_from_own_files_target_labels(tmp_path, tiny_model_dir, capsys):
    from eval_fixtures import write_polyqa, write_polysent

    qa, sent = write_polyqa(tmp_path / "pq"), write_polysent(tmp_path / "ps.jsonl")
    out = tmp_path / "own"
    code, _, err = run_main(
        capsys,
        "eval",
        "--model",
        str(tiny_model_dir),
        "--tasks",
        "polyqa,polysent",
        "--langs",
        "es",
        "--data",
        f"polyqa={qa}/{{lang}}.json",
        "--data",
        f"polysent={sent}",
        "--num-fewshot",
        "1",
        "--fewshot-lang",
        "en",
        "--label-lang",
        "target",
        "--label-scoring",
        "loglik",
        "--max-new-tokens",
        "4",
        "-o",
        str(out),
    )
    assert code == 0, err[-3000:]
    doc = json.loads((out / "results.json").read_text())
    assert doc["results"]["polyqa/es"]["n"] == 2 and doc["results"]["polysent/es"]["n"] == 3
    cfg = doc["configs"]["polysent/es"]
    assert (cfg["labels"], cfg["label_scoring"], cfg["label_lang"]) == (["negativo", "positivo"], "loglik", "target")
    assert doc["configs"]["polyqa/es"]["demo_ids"] == ["q0"] and doc["configs"]["polyqa/es"]["fewshot_lang"] == "en"
    first = samples(out / "samples_polyqa_es.jsonl")[0]
    assert "Where does the Tajo reach the sea?" in first["prompt"] and first["reference"] == [
        "cada domingo por la mañana"
    ]
    assert set(samples(out / "samples_polysent_es.jsonl")[0]["label_scores"]) == {"negativo", "positivo"}
