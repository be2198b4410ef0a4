"""The data stage and the run's frozen pool: freeze once, build from it, refuse state out of step."""

import json
from dataclasses import replace

import pytest

from helpers import spanish_locale, write_mo
from polyalign.config import DataConfig
from polyalign.data.filters import cover
from polyalign.data.pool import freeze
from polyalign.io import InputError
from polyalign.run_config import RunConfig
from polyalign.run_dir import check_refresh, prepare_run_dir
from polyalign.stages import stage_data


def recipe(tmp_path, locale, **data):
    d = DataConfig(gettext_dirs=[str(locale)], instructions=[], language_id=False, test_size=5, max_train_pairs=20)
    return RunConfig(name="r", runs_dir=str(tmp_path / "runs"), data=replace(d, **data))


def test_the_first_data_stage_freezes_the_pool_and_a_rerun_reads_it(tmp_path, capsys):
    locale = spanish_locale(tmp_path / "locale")
    cfg = recipe(tmp_path, locale)
    run = prepare_run_dir(cfg)
    manifest = stage_data(cfg, run)
    pool = json.loads((run / "data" / "pool" / "pool.json").read_text())
    assert manifest["pool"] == {
        "path": str(run / "data" / "pool"),
        "sha256": pool["sha256"],
        "sources": ["gettext"],
        "languages": {"es": {"pairs": 360, "sha256": pool["languages"]["es"]["sha256"]}},
    }
    assert json.loads((run / "data" / "manifest.json").read_text())["pool"] == manifest["pool"]
    assert not (run / ".data-pool").exists()
    write_mo(locale / "es" / "LC_MESSAGES" / "b.mo", {"Hide the hidden window now": "Ocultar la ventana ahora"})
    write_mo(locale / "es" / "LC_MESSAGES" / "c.mo", {"Hide the hidden folder now": "Ocultar la carpeta ahora"})
    capsys.readouterr()
    assert stage_data(cfg, run) == manifest
    err = capsys.readouterr().err
    assert "data: sources changed since this run started (es: 1 → 3 catalogs); using the frozen pool" in err


def test_a_run_without_a_pool_freezes_one_on_its_rerun(tmp_path, capsys):
    """A run an older polyalign started: data built, no pool; its later builds need one."""
    locale = spanish_locale(tmp_path / "locale")
    cfg = recipe(tmp_path, locale)
    run = prepare_run_dir(cfg)
    stage_data(cfg, run)
    import shutil

    shutil.rmtree(run / "data" / "pool")
    stage_data(cfg, run)
    assert "this run has no frozen pool (an older polyalign made it)" in capsys.readouterr().err
    assert json.loads((run / "data" / "pool" / "pool.json").read_text())["languages"]["es"]["pairs"] == 360


def test_a_build_from_a_pool_that_changed_since_is_refused(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    snap = tmp_path / "snap"
    freeze(snap, cover([DataConfig(gettext_dirs=[str(locale)])]))
    cfg = recipe(tmp_path, tmp_path / "elsewhere", pool=str(snap))
    run = prepare_run_dir(cfg)
    stage_data(cfg, run)
    assert not (run / "data" / "pool").exists()
    write_mo(locale / "es" / "LC_MESSAGES" / "b.mo", {"Hide the hidden window now": "Ocultar la ventana ahora"})
    freeze(snap, cover([DataConfig(gettext_dirs=[str(locale)])]))  # someone made the snapshot again, in place
    with pytest.raises(InputError) as e:
        stage_data(cfg, run)
    assert e.value.path == str(run / "data" / "manifest.json")
    assert "was built from the frozen pool" in str(e.value) and f"remove {run}" in str(e.value)


def test_refresh_is_refused_once_results_were_built_on_the_data(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    cfg = recipe(tmp_path, locale)
    run = prepare_run_dir(cfg)
    first = stage_data(cfg, run)
    check_refresh(run)  # only data: allowed
    write_mo(locale / "es" / "LC_MESSAGES" / "b.mo", {"Hide the hidden window now": "Ocultar la ventana ahora"})
    again = stage_data(cfg, run, refresh=True)
    assert again["pool"]["sha256"] != first["pool"]["sha256"]
    assert again["languages"]["es"]["counts"]["read"] == 361
    (run / "eval" / "before").mkdir(parents=True)
    (run / "train_summary.json").write_text("{}")
    with pytest.raises(InputError) as e:
        check_refresh(run)
    assert str(e.value) == (
        f"--refresh-data: {run} already has results built on its frozen data (eval, train_summary.json), which "
        "new data would not match: start a new run (name=...) to read the sources again (nothing was changed)"
    )


def test_a_failed_first_build_leaves_no_data_and_no_pool(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    cfg = recipe(tmp_path, locale, test_size=1000)
    run = prepare_run_dir(cfg)
    with pytest.raises(InputError, match="only 360 clean English-es pairs"):
        stage_data(cfg, run)
    assert sorted(p.name for p in run.iterdir()) == ["config.yaml"]
