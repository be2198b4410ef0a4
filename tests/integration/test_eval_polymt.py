"""`polyalign eval --tasks polymt` end to end on a tiny random Llama and the hand-written polymt fixture;
``--limit`` recording its stratified sample, spBLEU, the COMET flag, ``--qa-norm`` (issue 20)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eval_fixtures import POLYMT_FIXTURE, write_xquad
from polyalign.data import resources

pytestmark = pytest.mark.slow


def run_main(capsys, *args):
    from polyalign.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def samples(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_eval_polymt_two_directions_through_the_command_line(tmp_path, tiny_model_dir):
    out = tmp_path / "mt"
    args = ["--model", str(tiny_model_dir), "--tasks", "polymt", "--langs", "en-es,fr-en"]
    args += ["--data", f"polymt={POLYMT_FIXTURE}", "--limit", "3", "--num-fewshot", "1", "--max-new-tokens", "6"]
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign", "eval", *args, "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "results.json").read_text())
    assert list(doc["results"]) == ["polymt/en-es", "polymt/fr-en"]
    ids = None
    for key, (src, tgt) in (("polymt/en-es", ("en", "es")), ("polymt/fr-en", ("fr", "en"))):
        r, cfg = doc["results"][key], doc["configs"][key]
        rows = samples(out / f"samples_{key.replace('/', '_')}.jsonl")
        pairs = {p["id"]: p for p in resources.polymt_pairs(src, tgt, "test", POLYMT_FIXTURE)}
        assert r["n"] == 3 and {"bleu", "chrf", "bleu_signature", "chrf_signature", "fidelity"} <= set(r)
        assert "|tok:13a|" in r["bleu_signature"] and "nc:6|nw:2" in r["chrf_signature"]
        assert (cfg["split"], cfg["source"], cfg["kind"]) == ("test", str(POLYMT_FIXTURE), "translation")
        assert cfg["demo_ids"][0] in {"pm005", "pm010"}  # from the dev split
        assert cfg["sample"]["stratified_by"] == "domain" and cfg["sample"]["limit"] == 3
        assert cfg["sample"]["ids"] == [s["id"] for s in rows]
        assert len({pairs[i]["domain"] for i in cfg["sample"]["ids"]}) == 3  # three domains, not the first three rows
        assert all(s["source"] == pairs[s["id"]]["src"] and s["reference"] == pairs[s["id"]]["tgt"] for s in rows)
        ids = ids or cfg["sample"]["ids"]
        assert cfg["sample"]["ids"] == ids  # the same sentences in every direction
    assert "polymt/en-es" in proc.stdout


def test_eval_polymt_from_a_recipe_with_task_languages_and_limits(tmp_path, tiny_model_dir, capsys, monkeypatch):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""
name: mt
runs_dir: {tmp_path / "runs"}
model:
  model_name_or_path: {tiny_model_dir}
eval:
  suite: [polymt]
  suite_langs: [polymt/en-es, polymt/es-en]
  task_limits: [polymt=2]
  limit: 1
  data_files: ["polymt={POLYMT_FIXTURE}"]
  max_new_tokens: 4
""")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "eval", str(recipe))
    assert code == 0, err[-3000:]
    doc = json.loads((tmp_path / "runs" / "mt" / "eval" / "suite" / "results.json").read_text())
    assert list(doc["results"]) == ["polymt/en-es", "polymt/es-en"]
    assert [doc["results"][k]["n"] for k in doc["results"]] == [2, 2]


def test_eval_polymt_spbleu_with_a_local_sentencepiece_model(tmp_path, tiny_model_dir, capsys):
    spm = pytest.importorskip("sentencepiece", reason="spBLEU needs sentencepiece (pip install 'polyalign[spbleu]')")
    corpus = tmp_path / "corpus.txt"
    texts = [r["text"] for c in ("en", "es", "fr") for r in resources.polymt(c, root=POLYMT_FIXTURE)]
    corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(tmp_path / "tiny"), vocab_size=120, character_coverage=1.0, minloglevel=2
    )
    out = tmp_path / "sp"
    code, _, err = run_main(
        capsys,
        "eval",
        "--model",
        str(tiny_model_dir),
        "--tasks",
        "polymt",
        "--langs",
        "en-fr",
        "--data",
        f"polymt={POLYMT_FIXTURE}",
        "--limit",
        "2",
        "--max-new-tokens",
        "4",
        "--tokenize",
        "flores200",
        "--spm-model",
        str(tmp_path / "tiny.model"),
        "-o",
        str(out),
    )
    assert code == 0, err[-3000:]
    r = json.loads((out / "results.json").read_text())["results"]["polymt/en-fr"]
    assert "tok:flores200" in r["bleu_signature"] and len(r["spm_sha256"]) == 64


def test_eval_comet_without_unbabel_comet_is_one_line_before_the_model_loads(tmp_path, tiny_model_dir, capsys):
    import importlib.util

    if importlib.util.find_spec("comet") is not None:
        pytest.skip("unbabel-comet is installed here: this checks the message without it")
    code, _, err = run_main(
        capsys,
        "eval",
        "--model",
        str(tiny_model_dir),
        "--tasks",
        "polymt",
        "--langs",
        "en-es",
        "--data",
        f"polymt={POLYMT_FIXTURE}",
        "--comet",
        "Unbabel/wmt22-comet-da",
        "-o",
        str(tmp_path / "c"),
    )
    assert code == 2
    assert err.strip().splitlines()[-1] == "error: COMET needs unbabel-comet: pip install 'polyalign[comet]'"
    assert "model: loading" not in err


def test_eval_xquad_qa_norm_is_chosen_and_recorded(tmp_path, tiny_model_dir, capsys):
    root = write_xquad(tmp_path / "xquad")
    docs = {}
    for norm in (None, "mlqa"):
        out = tmp_path / f"xq-{norm}"
        extra = ["--qa-norm", norm] if norm else []
        code, _, err = run_main(
            capsys,
            "eval",
            "--model",
            str(tiny_model_dir),
            "--tasks",
            "xquad",
            "--langs",
            "zh",
            "--data",
            f"xquad={root}",
            "--max-new-tokens",
            "4",
            *extra,
            "-o",
            str(out),
        )
        assert code == 0, err[-3000:]
        docs[norm] = json.loads((out / "results.json").read_text())
    assert docs[None]["configs"]["xquad/zh"]["qa_norm"] == "squad_v1"
    assert docs[None]["results"]["xquad/zh"]["signature"].startswith("qa|lang:zh|norm:squad_v1.1|seg:space|")
    assert docs["mlqa"]["configs"]["xquad/zh"]["qa_norm"] == "mlqa"
    assert docs["mlqa"]["results"]["xquad/zh"]["signature"].startswith("qa|lang:zh|norm:mlqa_v1+polyalign_v1|seg:chars")
