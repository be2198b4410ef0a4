"""`polyalign data ...` as a user runs it: build (MuIT from offline sources), sources, validate, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import spanish_locale

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "polyalign", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


@pytest.mark.slow
def test_muit_recipe_for_three_languages_from_offline_sources(tmp_path):
    proc = cli("data", "build", str(ROOT / "recipes" / "muit_offline.yaml"), f"runs_dir={tmp_path}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((tmp_path / "muit-offline" / "data" / "manifest.json").read_text())
    assert manifest["builder"] == "muit" and set(manifest["languages"]) == {"es", "fr", "de"}
    alloc = {c: i["allocated_pairs"] for c, i in manifest["languages"].items()}
    assert sum(alloc.values()) == 4500 and all(n > 0 for n in alloc.values())
    for code, info in manifest["languages"].items():
        c = info["counts"]
        origins = {o.split(":")[0] for o in info["sources"]}
        assert {"gettext", "pycountry", "babel"} <= origins, (code, origins)
        assert c["read"] == sum(info["sources"].values())
        late = ("dropped_language", "dropped_similar")  # checked on ranked candidates only, after "kept"
        assert c["kept"] + sum(v for k, v in c.items() if k.startswith("dropped_") and k not in late) == c["read"]
        for reason in ("identical", "length", "duplicate", "near_duplicate", "language"):
            assert c[f"dropped_{reason}"] > 0, (code, reason)  # every filter did something on real data
        assert info["train_pairs"] == alloc[code] and info["test_pairs"] == 100
    rows = (tmp_path / "muit-offline" / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == manifest["files"]["train.jsonl"]["rows"] == 4500 + manifest["parts"]["instruction"]
    assert set(manifest["tasks"]) == {"translation/en-es", "translation/en-fr", "translation/en-de"}
    summary = json.loads(proc.stdout)
    assert summary["languages"]["fr"]["counts"] == manifest["languages"]["fr"]["counts"]
    assert manifest["filters"]["max_similarity"] == 0.8


def test_sources_lists_pairs_per_source(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    proc = cli("data", "sources", "--lang", "es", "--gettext-dir", str(locale), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {"source": "gettext", "lang": "es", "pairs": 360, "detail": "1 catalogs"} in rows
    text = cli("data", "sources", "--lang", "es", "--gettext-dir", str(locale), cwd=tmp_path)
    assert "gettext" in text.stdout and "360" in text.stdout


def test_validate_reports_ok_and_bad_lines_without_traceback(tmp_path):
    good = tmp_path / "a.jsonl"
    good.write_text('{"instruction": "Hi", "output": "Hello"}\n', encoding="utf-8")
    ok = cli("data", "validate", str(good), "--format", "alpaca", cwd=tmp_path)
    assert ok.returncode == 0 and json.loads(ok.stdout)["records"] == 1
    bad = tmp_path / "b.tsv"
    bad.write_text("Open\tAbrir\nno tab here\n", encoding="utf-8")
    proc = cli(
        "data", "validate", str(bad), "--format", "parallel", "--src-lang", "en", "--tgt-lang", "es", cwd=tmp_path
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"error: {bad}:2: expected 2 tab-separated columns, found no tab"]
    a, b = tmp_path / "x.en", tmp_path / "x.es"
    a.write_text("One\nTwo\n", encoding="utf-8")
    b.write_text("Uno\n", encoding="utf-8")
    proc = cli(
        "data",
        "validate",
        str(a),
        "--format",
        "parallel",
        "--tgt-file",
        str(b),
        "--src-lang",
        "en",
        "--tgt-lang",
        "es",
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: {b}:2: has 1 lines")
    par = tmp_path / "p.jsonl"
    par.write_text('{"src": "Open", "tgt": "Abrir"}\n', encoding="utf-8")
    proc = cli(
        "data", "validate", str(par), "--format", "parallel", "--src-lang", "en", "--tgt-lang", "xx-nope", cwd=tmp_path
    )
    assert proc.returncode == 2 and "unknown language code" in proc.stderr and "Traceback" not in proc.stderr


def test_build_errors_leave_nothing_behind(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    proc = cli(
        "data",
        "build",
        f"runs_dir={tmp_path / 'runs'}",
        "name=few",
        f"gettext_dirs=[{locale}]",
        "test_size=1000",
        "language_id=false",
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "only 360 clean English-es pairs" in proc.stderr
    assert not (tmp_path / "runs" / "few" / "data").exists()
    plan = tmp_path / "plan.json"
    plan.write_text('{"allocation": {"es": "many"}}')
    proc = cli(
        "data",
        "build",
        f"runs_dir={tmp_path / 'runs'}",
        "name=plan",
        "builder=muit",
        f"allocation={plan}",
        f"gettext_dirs=[{locale}]",
        "test_size=5",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip().splitlines()[-1]
        == f"error: {plan}: allocation for 'es' must be a non-negative integer, got 'many'"
    )


def test_translate_needs_its_key_variable(tmp_path):
    data = tmp_path / "a.jsonl"
    data.write_text('{"instruction": "Hi", "output": "Hello"}\n', encoding="utf-8")
    proc = cli(
        "data",
        "translate",
        f"translate.input={data}",
        "translate.model=m",
        "translate.api_key_env=POLYALIGN_TEST_NO_SUCH_KEY",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == "error: the environment variable POLYALIGN_TEST_NO_SUCH_KEY (named by translate.api_key_env) is not set"
    )


def test_a_built_data_folder_is_not_taken_for_other_data(tmp_path):
    # `polyalign data build` builds the recipe's data section (CoIT es for the default recipe); `polyalign run`
    # of the same recipe builds its arms' shared data (MuIT over es, ru) there, and had taken the CoIT build
    # as "already built"
    from dataclasses import replace

    from polyalign.io import InputError
    from polyalign.recipe import load_recipe
    from polyalign.stages import stage_data

    locale = spanish_locale(tmp_path / "locale")
    overrides = [f"runs_dir={tmp_path / 'runs'}", "name=x", f"gettext_dirs=[{locale}]", "language_id=false"]
    cfg = load_recipe(None, [*overrides, "test_size=5", "instructions=[]", "arms=[]"])
    run_dir = tmp_path / "runs" / "x"
    run_dir.mkdir(parents=True)
    built = stage_data(cfg, run_dir)
    other = replace(cfg, data=replace(cfg.data, builder="muit"))
    with pytest.raises(InputError) as e:
        stage_data(other, run_dir)
    assert str(e.value).startswith(
        f"{run_dir / 'data' / 'manifest.json'}: holds coit data for es (both, 5 held out), but this stage builds "
        "muit data for es (both, 5 held out;"
    )
    assert stage_data(cfg, run_dir) == built  # the same data: already built
