"""``polyalign run --dry-run``'s detectable effects: planned items and an earlier run's per-item σ."""

import json
import subprocess
import sys

from polyalign import dry_run
from polyalign.recipe import load_recipe


def test_another_model_states_a_default_sigma(tmp_path):
    cfg = load_recipe(
        None, [f"runs_dir={tmp_path}", "eval.limit=40", "data.test_size=40", "model.model_name_or_path=acme/other"]
    )
    lines = dry_run.detectable_lines(cfg, cfg.arms)
    assert lines[0].startswith(
        "  detectable: scaling law: 5 pilot sizes [16, 32, 64, 128, 256]; a verdict needs a rising fit"
    )
    assert lines[1] == (
        "  detectable: CoIT: 40 items per direction, detectable ≥ 4.4 chrF++ (80% power, 95% two-sided; "
        "per-item σ 10.0 from stated default)"
    )
    assert any(x.startswith("  detectable: middle-layer alignment: ") for x in lines)
    # polymt and the suite's QA/classification sets are parallel: the same items in every language are one
    # resampling unit each, so the union over es and ru is 40 items, and transfer 40 polyqa + 40 polysent
    assert any(x.startswith("  detectable: planned vs uniform: 40 distinct En→X items (union), ") for x in lines)
    assert any(x.startswith("  detectable: question-alignment transfer: 80 distinct unseen items, ") for x in lines)


def test_the_bundled_model_starts_from_what_its_default_run_measured(tmp_path):
    # Before this machine ran it, the default's plan says what the default run reported it could detect
    # (2.97, 3.15, 1.61, 0.008, 7.99), not what σ 10 / 45 / 0.05 would give (4.4, 4.4, 4.4, 0.022, 39.9).
    cfg = load_recipe(None, [f"runs_dir={tmp_path}"])
    lines = dry_run.detectable_lines(cfg, cfg.arms)
    source = "from the default run of this model, measured 2026-12-07)"
    wanted = {
        "CoIT: 40 items per direction, detectable ≥ 3.0 chrF++",
        "MuIT vs CoIT (equivalence, ±1): 40 items per direction, detectable ≥ 3.1 chrF++",
        "planned vs uniform: 40 distinct En→X items (union), detectable ≥ 1.6 chrF++",
        "middle-layer alignment: 40 pairs, detectable ≥ 0.008 cosine",
        "question-alignment transfer: 10 distinct unseen items, detectable ≥ 8.0 accuracy",
    }
    found = {x.removeprefix("  detectable: ").split(" (80% power")[0] for x in lines if x.endswith(source)}
    assert found == wanted


def test_an_earlier_run_of_the_same_model_gives_sigma(tmp_path):
    cfg = load_recipe(None, [f"runs_dir={tmp_path}", "eval.limit=40", "data.test_size=40"])
    old = tmp_path / "old" / "summary.json"
    old.parent.mkdir()
    claims = [{"id": "coit", "parts": [{"sd_item": 9.0}, {"sd_item": 9.26}, {"sd_item": 12.0}]}]
    old.write_text(json.dumps({"model": cfg.model.model_name_or_path, "claims": claims}))
    other = tmp_path / "other" / "summary.json"
    other.parent.mkdir()
    other.write_text(json.dumps({"model": "someone/else", "claims": [{"id": "muit", "parts": [{"sd_item": 1.0}]}]}))
    lines = dry_run.detectable_lines(cfg, cfg.arms)
    assert (
        f"  detectable: CoIT: 40 items per direction, detectable ≥ 4.1 chrF++ (80% power, 95% two-sided; "
        f"per-item σ 9.3 from {old})" in lines
    )
    assert any("MuIT vs CoIT (equivalence, ±1): 40 items per direction" in x and "the default run" in x for x in lines)


def test_the_dry_run_prints_them(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "polyalign",
            "run",
            "--dry-run",
            f"runs_dir={tmp_path / 'runs'}",
            "eval.limit=40",
            "data.test_size=40",
            "model.model_name_or_path=acme/other",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert (
        "  detectable: CoIT: 40 items per direction, detectable ≥ 4.4 chrF++ (80% power, 95% two-sided; "
        "per-item σ 10.0 from stated default)" in out
    )
    assert out[-1].startswith("  evaluations: ")
    assert not (tmp_path / "runs").exists()


def test_the_dry_run_plans_what_the_run_reported_it_could_detect(tmp_path):
    # A claim decided part by part is as weak as its noisiest part; one decided pooled, as its pooled
    # effect: with the same items, the dry run prints the run's own "could detect" (the 17-minute default
    # run: CoIT 2.97 per part, transfer 7.99 over 10 distinct items; the parts' median said 2.1 and 39.4).
    cfg = load_recipe(None, [f"runs_dir={tmp_path}"])
    claims = [
        {
            "id": "coit",
            "decided_on": "parts",
            "parts": [{"sd_item": 4.798462}, {"sd_item": 6.696061}, {"sd_item": 4.212147}, {"sd_item": 4.851251}],
            "pooled": {"sd_item": 2.6},
        },
        {
            "id": "qalign",
            "decided_on": "pooled",
            "parts": [{"sd_item": 44.422979}, {"sd_item": 44.422979}, {"sd_item": 12.095153}],
            "pooled": {"sd_item": 9.020463, "n": 10, "detectable": 7.99158},
        },
    ]
    run = tmp_path / "default" / "summary.json"
    run.parent.mkdir()
    run.write_text(json.dumps({"model": cfg.model.model_name_or_path, "claims": claims}))
    lines = dry_run.detectable_lines(cfg, cfg.arms)
    assert any(x.startswith("  detectable: CoIT: 40 items per direction, detectable ≥ 3.0 chrF++ ") for x in lines)
    transfer = [x for x in lines if "question-alignment transfer" in x]
    assert transfer == [
        "  detectable: question-alignment transfer: 10 distinct unseen items, detectable ≥ 8.0 accuracy "
        f"(80% power, 95% two-sided; per-item σ 9.0 from {run}, 10 items)"
    ]


def test_a_newer_quick_run_does_not_set_the_plan_of_a_run_with_forty_items(tmp_path):
    # A `--quick` run (two items a part) finished after the default: its σ, from two sentences, said the
    # default could detect 1.1 chrF++ where the default itself reported 2.97. Each claim takes the newest
    # run that measured it on at least MIN_ITEMS items; with none, the stated default.
    import os

    cfg = load_recipe(None, [f"runs_dir={tmp_path}"])
    full = tmp_path / "default" / "summary.json"
    full.parent.mkdir()
    coit = {"id": "coit", "decided_on": "parts", "parts": [{"sd_item": 4.8, "n": 40}, {"sd_item": 6.7, "n": 40}]}
    full.write_text(json.dumps({"model": cfg.model.model_name_or_path, "claims": [coit]}))
    quick = tmp_path / "default-quick" / "summary.json"
    quick.parent.mkdir()
    tiny = [
        {"id": "coit", "decided_on": "parts", "parts": [{"sd_item": 2.4, "n": 2}, {"sd_item": 1.0, "n": 2}]},
        {"id": "alignment", "decided_on": "parts", "parts": [{"sd_item": 0.008, "n": 6}]},
    ]
    quick.write_text(json.dumps({"model": cfg.model.model_name_or_path, "claims": tiny}))
    os.utime(full, (1_000_000, 1_000_000))  # the full run is the older one
    lines = dry_run.detectable_lines(cfg, cfg.arms)
    assert (
        "  detectable: CoIT: 40 items per direction, detectable ≥ 3.0 chrF++ (80% power, 95% two-sided; "
        f"per-item σ 6.7 from {full}, 40 items)" in lines
    )
    alignment = [x for x in lines if "middle-layer alignment" in x]
    assert len(alignment) == 1 and alignment[0].endswith("from the default run of this model, measured 2026-12-07)")


def test_the_look_inside_is_planned_on_the_pairs_it_can_read(tmp_path):
    # analysis_pairs=1000 over 120 held-out pairs: the plan counted 1000 (30.9 min where the run takes 18.7)
    cfg = load_recipe(None, [f"runs_dir={tmp_path}", "analysis_pairs=1000"])
    assert cfg.data.test_size == 120
    lines = dry_run.detectable_lines(cfg, cfg.arms)
    assert any(x.startswith("  detectable: middle-layer alignment: 120 pairs, ") for x in lines)
