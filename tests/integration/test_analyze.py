"""`polyalign analyze align|lens|pca` end to end on a tiny random Llama (CPU): files, shapes, plots."""

from __future__ import annotations

import json

import pytest

from helpers import spanish_ui_pairs
from polyalign.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def pairs_tsv(tmp_path_factory):
    path = tmp_path_factory.mktemp("pairs") / "en-es.tsv"
    rows = list(spanish_ui_pairs().items())[:40]
    path.write_text("".join(f"{en}\t{es}\n" for en, es in rows), encoding="utf-8")
    return path


def test_align_writes_every_metric_and_compares(tmp_path, tiny_model_dir, tiny_adapter, pairs_tsv, capsys):
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    assert (
        main(
            [
                "analyze",
                "align",
                "--model",
                str(tiny_model_dir),
                "--pairs",
                str(pairs_tsv),
                "--tgt-lang",
                "es",
                "--out",
                str(base),
                "--batch-size",
                "8",
            ]
        )
        == 0
    )
    doc = json.loads((base / "alignment.json").read_text())
    assert doc["pairs"] == 40 and doc["lang"] == "es" and doc["en_lang"] == "en" and doc["pool"] == "mean"
    assert len(doc["layers"]) == 3 and [r["layer"] for r in doc["layers"]] == [0, 1, 2]
    for row in doc["layers"]:
        for key in (
            "cosine_parallel",
            "cosine_random",
            "cosine_parallel_centred",
            "cosine_random_centred",
            "retrieval_x2en",
            "retrieval_en2x",
            "margin_retrieval_x2en",
            "margin_retrieval_en2x",
            "cka",
        ):
            assert isinstance(row[key], float), key
        assert 0 <= row["retrieval_x2en"] <= 1 and -1 <= row["cosine_random_centred"] <= 1
        # one centred cosine per pair, in pair order: what the claim's paired bootstrap resamples
        assert len(row["pairs_cos_centred"]) == 40
        assert sum(row["pairs_cos_centred"]) / 40 == pytest.approx(row["cosine_parallel_centred"], abs=1e-5)
        assert row["massive_dropped"] == doc["pooling"]["massive_dropped"][row["layer"]]
    pooling = doc["pooling"]
    assert pooling["pool"] == "mean" and pooling["massive_factor"] == 10.0 and "first token" in pooling["rule"]
    assert pooling["sentences"] == 80 and len(pooling["massive_dropped"]) == 3
    # the default tokenizer adds no BOS: every sentence of two or more tokens loses its first
    from polyalign.analysis.align import read_pairs
    from polyalign.models import load_tokenizer

    tok = load_tokenizer(str(tiny_model_dir))
    pairs = read_pairs(pairs_tsv, "en", "es")
    texts = pairs["x"] + pairs["en"]
    lengths = [len(tok(t)["input_ids"]) for t in texts]
    assert pooling["first_token_dropped"] == sum(n > 1 for n in lengths)
    assert pooling["content_tokens"] == sum(lengths) - pooling["first_token_dropped"]
    assert doc["settings"]["storage"] == "float32" and "versions" in doc["provenance"]
    assert doc["settings"]["margin_k"] == 4 and doc["pairs_sha256"] == pairs["sha256"]
    assert (base / "alignment.png").read_bytes().startswith(PNG)
    printed = json.loads(capsys.readouterr().out)
    assert printed["best_layer"]["layer"] in (0, 1, 2)

    assert (
        main(
            [
                "analyze",
                "align",
                "--model",
                str(tiny_model_dir),
                "--adapter",
                str(tiny_adapter),
                "--pairs",
                str(pairs_tsv),
                "--tgt-lang",
                "es",
                "--out",
                str(tuned),
                "--compare",
                str(base),
            ]
        )
        == 0
    )
    tuned_doc = json.loads((tuned / "alignment.json").read_text())
    assert tuned_doc["compare"]["dir"] == str(base) and tuned_doc["adapter"] == str(tiny_adapter)
    for mine, theirs in zip(tuned_doc["layers"], doc["layers"]):
        assert mine["diff"]["cka"] == pytest.approx(mine["cka"] - theirs["cka"])
    assert tuned_doc["layers"][0]["diff"]["cka"] == pytest.approx(0.0, abs=1e-6)  # embeddings: LoRA leaves them alone
    assert any(abs(r["diff"]["cosine_parallel_centred"]) > 1e-4 for r in tuned_doc["layers"][1:])
    assert (tuned / "alignment.png").read_bytes().startswith(PNG)


def test_align_reads_a_run_directory_and_pools_the_last_token(tmp_path, tiny_model_dir, capsys):
    run = tmp_path / "runs" / "demo"
    (run / "data").mkdir(parents=True)
    for lang in ("ru", "es"):  # en-es is not the first held-out file: --tgt-lang picks it
        rows = [
            {"src": en, "tgt": f"{x} ({lang})", "src_lang": "en", "tgt_lang": lang}
            for en, x in list(spanish_ui_pairs().items())[:12]
        ]
        (run / "data" / f"test_en-{lang}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = ["analyze", "align", "--model", str(tiny_model_dir), "--pairs", str(run), "--out", str(tmp_path / "o")]
    assert main([*argv, "--tgt-lang", "fr"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {run}: no en-fr held-out pairs (has es, ru)"
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == f"error: {run}: held-out pairs in 2 languages (es, ru): give --tgt-lang"
    assert not (tmp_path / "o").exists()
    assert main([*argv, "--tgt-lang", "es", "--pool", "last"]) == 0
    doc = json.loads((tmp_path / "o" / "alignment.json").read_text())
    assert doc["pairs"] == 12 and doc["pool"] == "last" and doc["pairs_file"].endswith("test_en-es.jsonl")
    assert doc["lang"] == "es"


def test_align_compares_only_the_same_pairs_and_replaces_only_its_own_output(
    tmp_path, tiny_model_dir, pairs_tsv, capsys
):
    lines = pairs_tsv.read_text(encoding="utf-8").splitlines(keepends=True)[:3]
    first = tmp_path / "first.tsv"
    first.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "base"
    argv = ["analyze", "align", "--model", str(tiny_model_dir), "--tgt-lang", "es", "--out", str(out)]
    assert main([*argv, "--pairs", str(first)]) == 0
    doc = json.loads((out / "alignment.json").read_text())
    assert doc["settings"]["margin_k"] == 2  # the default 4, one fewer than 3 pairs
    assert main([*argv, "--pairs", str(first)]) == 0  # the same command into its own output again
    capsys.readouterr()

    # the same count and languages, other sentences (here: another order): not a model difference
    other = tmp_path / "other.tsv"
    other.write_text("".join(reversed(lines)), encoding="utf-8")
    two = ["analyze", "align", "--model", str(tiny_model_dir), "--tgt-lang", "es", "--pairs", str(other)]
    assert main([*two, "--out", str(tmp_path / "two"), "--compare", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {out / 'alignment.json'}: aligns other sentences there than here (pairs sha256 ")
    assert len(err.splitlines()) == 1 and not (tmp_path / "two").exists()

    assert main([*two, "--margin-k", "3", "--out", str(tmp_path / "two")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --margin-k 3: needs fewer neighbours than the 3 pairs (at most 2), or more pairs (--limit)"

    # a file of the user's in the output folder is never replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "alignment.json").write_text('{"my": "notes"}\n')
    assert main([*two, "--out", str(mine)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {mine / 'alignment.json'}: exists and was not written by polyalign analyze align: "
        "choose another --out (nothing was changed)"
    )
    assert (mine / "alignment.json").read_text() == '{"my": "notes"}\n' and not (mine / "alignment.png").exists()
    (mine / "alignment.json").unlink()
    (mine / "alignment.png").write_bytes(b"mine")
    assert main([*two, "--out", str(mine)]) == 2
    assert "alignment.png: exists and was not written by polyalign" in capsys.readouterr().err
    assert (mine / "alignment.png").read_bytes() == b"mine"
    # nor a run's own alignment.json (no provenance: `polyalign run` wrote it for its report)
    (mine / "alignment.png").unlink()
    (mine / "alignment.json").write_text(json.dumps({k: v for k, v in doc.items() if k != "provenance"}))
    assert main([*two, "--out", str(mine)]) == 2
    capsys.readouterr()
    for command, name in (("lens", "lens.json"), ("pca", "pca.json")):  # the same for lens and pca
        (mine / name).write_text("my notes\n")
        more = ["--lang", "es"] if command == "lens" else []
        assert main(["analyze", command, "--model", str(tiny_model_dir), *more, "--out", str(mine)]) == 2
        assert capsys.readouterr().err.strip() == (
            f"error: {mine / name}: exists and was not written by polyalign analyze {command}: "
            "choose another --out (nothing was changed)"
        )


def test_pairs_that_do_not_say_their_language_need_tgt_lang(tmp_path, tiny_model_dir, pairs_tsv, capsys):
    out = tmp_path / "out"
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"src": "Open", "tgt": "Abrir"}\n{"src": "Close", "tgt": "Cerrar"}\n')
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"results": {"polyqa/en": {"f1": 50.0}}}, indent=2))
    cases = {
        pairs_tsv: f"error: {pairs_tsv}: a TSV file does not say its languages: give the target language (--tgt-lang)",
        jsonl: f"error: {jsonl}:1: no tgt_lang field: give the target language (--tgt-lang)",
        results: f"error: {results}: is one JSON object, not parallel pairs: expected JSONL (one {{src, tgt}} "
        "object a line), a JSON array of them, or TSV",
    }
    for path, expected in cases.items():
        assert main(["analyze", "align", "--model", str(tiny_model_dir), "--pairs", str(path), "--out", str(out)]) == 2
        assert capsys.readouterr().err.strip() == expected
    assert not out.exists()
    assert "required when the file does not say" in " ".join(_help(capsys).split())


def _help(capsys) -> str:
    with pytest.raises(SystemExit):
        main(["analyze", "align", "--help"])
    return capsys.readouterr().out


def test_bad_pairs_are_one_line_and_write_nothing(tmp_path, tiny_model_dir, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("Open\tAbrir\nno tab here\n")
    out = tmp_path / "out"
    argv = ["analyze", "align", "--model", str(tiny_model_dir), "--pairs", str(bad), "--tgt-lang", "es"]
    assert main([*argv, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {bad}:2: expected 2 tab-separated columns, found no tab"
    assert not out.exists()
    assert main(["analyze", "align", "--pairs", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert (
        main(["analyze", "align", "--model", str(tiny_model_dir), "--pairs", str(bad.parent), "--out", str(out)]) == 2
    )
    assert "no held-out pairs here" in capsys.readouterr().err
    assert not out.exists()


def test_lens_writes_layers_with_intervals(tmp_path, tiny_model_dir):
    assert (
        main(
            [
                "analyze",
                "lens",
                "--model",
                str(tiny_model_dir),
                "--lang",
                "zh",
                "--out",
                str(tmp_path),
                "--limit",
                "8",
                "--shots",
                "2",
            ]
        )
        == 0
    )
    doc = json.loads((tmp_path / "lens.json").read_text())
    for row in doc["layers"]:  # probability intervals stay inside [0, 1]
        assert 0 <= row["p_en_lo"] <= row["p_en"] <= row["p_en_hi"] <= 1
        assert 0 <= row["p_lang_lo"] <= row["p_lang"] <= row["p_lang_hi"] <= 1 and row["entropy_lo"] >= 0
    assert doc["items"] == 8 and len(doc["layers"]) == 3 and doc["model"] == str(tiny_model_dir)
    assert set(doc["layers"][0]) >= {"p_en", "p_en_lo", "p_en_hi", "p_lang", "p_lang_lo", "p_lang_hi", "entropy"}
    assert (tmp_path / "lens.png").read_bytes().startswith(PNG)


def test_pca_writes_points_for_every_language(tmp_path, tiny_model_dir):
    assert (
        main(
            [
                "analyze",
                "pca",
                "--model",
                str(tiny_model_dir),
                "--langs",
                "en,es,zh",
                "--out",
                str(tmp_path),
                "--limit",
                "10",
            ]
        )
        == 0
    )
    doc = json.loads((tmp_path / "pca.json").read_text())
    assert doc["langs"] == ["en", "es", "zh"] and doc["items"] == 10 and len(doc["layers"]) == 3
    for row in doc["layers"]:
        assert {c: len(p) for c, p in row["points"].items()} == {"en": 10, "es": 10, "zh": 10}
        assert len(row["points"]["es"][0]) == 2 and row["pc1_correlation"]["en"]["en"] == pytest.approx(1.0)
        assert row["explained"][0] >= row["explained"][1] > 0
    assert (tmp_path / "pca.png").read_bytes().startswith(PNG)


def test_a_runs_look_inside_reads_analysis_pairs_the_same_for_base_and_arm(
    tmp_path, tiny_model_dir, tiny_adapter, pairs_tsv
):
    """``polyalign run``'s analysis stage: ``analysis_pairs`` pairs, in the same order for every model."""
    from polyalign.config import ModelConfig
    from polyalign.experiment import stage_analysis
    from polyalign.models import load_model
    from polyalign.run_config import RunConfig

    cfg = RunConfig(
        model=ModelConfig(model_name_or_path=str(tiny_model_dir)), analysis_language="es", analysis_pairs=12
    )
    docs = {}
    for name, adapter in (("base", None), ("arm", str(tiny_adapter))):
        assert stage_analysis(
            cfg, tmp_path / name, lambda a=adapter: load_model(str(tiny_model_dir), adapter=a), pairs_tsv
        )
        docs[name] = json.loads((tmp_path / name / "alignment.json").read_text())
    for doc in docs.values():
        assert doc["pairs"] == 12 and doc["pooling"]["sentences"] == 24
        assert all(len(row["pairs_cos_centred"]) == 12 for row in doc["layers"])
    base, arm = docs["base"]["layers"], docs["arm"]["layers"]
    assert base[0]["pairs_cos_centred"] == pytest.approx(
        arm[0]["pairs_cos_centred"], abs=1e-5
    )  # LoRA leaves embeddings
    assert base[-1]["pairs_cos_centred"] != pytest.approx(arm[-1]["pairs_cos_centred"], abs=1e-4)
    assert (tmp_path / "base" / "lens.json").is_file() and (tmp_path / "arm" / "lens.json").is_file()
    # an arm the lens does not read (analysis_lens: qalign, a CoIT arm): its alignment, no lens
    assert stage_analysis(cfg, tmp_path / "coit", lambda: load_model(str(tiny_model_dir)), pairs_tsv, lens=False)
    assert (tmp_path / "coit" / "alignment.json").is_file() and not (tmp_path / "coit" / "lens.json").exists()
