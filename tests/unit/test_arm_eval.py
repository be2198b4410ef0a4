"""Evaluation goes where the claims need it: a CoIT/MuIT arm is scored on a shipped translation set only in
its own languages' directions and on no QA or classification task; a question-alignment arm on QA and
classification only; the base on all. ``eval.arm_tasks: all`` scores every arm on everything."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from polyalign.arms import arm_eval, pilot_recipe, pilot_recipes
from polyalign.io import InputError
from polyalign.recipe import load_recipe

ALL = ["polymt/en-es", "polymt/es-en", "polymt/en-ru", "polymt/ru-en"]


def test_each_arm_of_the_default_recipe_is_scored_where_its_claims_compare_it():
    cfg = load_recipe(None, [])
    assert (cfg.eval.suite, cfg.eval.suite_langs) == (["polyqa", "polysent", "polymt"], ALL)  # the base: all
    got = {a.name: arm_eval(cfg, a) for a in cfg.arms}
    assert got["coit-es"].suite == ["polymt"]  # only the transfer claim (question alignment) reads QA
    assert got["coit-es"].suite_langs == ["polymt/en-es", "polymt/es-en"]
    assert got["coit-ru"].suite_langs == ["polymt/en-ru", "polymt/ru-en"]
    assert got["muit-uniform"].suite_langs == ALL
    # the planned arm is read En→X only (planned − uniform); the MuIT claim reads the uniform arm
    assert got["muit-planned"].suite_langs == ["polymt/en-es", "polymt/en-ru"]
    assert got["muit-uniform"].suite == ["polymt"]
    assert (got["qalign-zh-de"].suite, got["qalign-zh-de"].suite_langs) == (["polyqa", "polysent"], [])
    assert got["coit-es"].task_limits == cfg.eval.task_limits  # the same items, so the comparison is paired


def test_a_planned_arm_is_scored_into_its_languages_only_beside_a_uniform_one():
    cfg = load_recipe(None, ["eval.heldout=both"])
    planned = next(a for a in cfg.arms if a.allocation == "plan")
    assert arm_eval(cfg, planned).heldout == "from_en"  # held-out pairs, too: En→X only
    alone = load_recipe(None, ["eval.heldout=both"])
    alone = replace(alone, arms=[a for a in alone.arms if a.allocation != "uniform"])
    e = arm_eval(alone, planned)  # no uniform arm: the MuIT claim reads this one, both ways
    assert (e.suite_langs, e.heldout) == (ALL, "both")


def test_tasks_named_without_directions_go_to_the_arms_whose_claims_read_them():
    cfg = load_recipe(None, ["eval.suite=polyqa,flores", "eval.suite_langs=es,de"])
    for arm in cfg.arms:
        e = arm_eval(cfg, arm)
        want = ["polyqa"] if arm.builder == "qalign" else ["flores"]
        assert (e.suite, e.suite_langs) == (want, ["es", "de"])


def test_arm_tasks_all_scores_every_arm_on_the_whole_suite():
    cfg = load_recipe(None, ["eval.arm_tasks=all"])
    for arm in cfg.arms:
        assert arm_eval(cfg, arm) == cfg.eval


def test_pilot_points_are_scored_on_what_the_law_reads():
    """The default pilot trains and scores En→X only, on all 120 held-out pairs of its language."""
    cfg = load_recipe(None, [])
    points = pilot_recipes(pilot_recipe(cfg))
    assert len(points) == 2  # es and ru, each one run kept at 5 sizes
    for p in points:
        e = p.eval
        assert (e.heldout, e.limit, e.suite, e.baseline) == ("from_en", 120, [], False)
        assert p.data.test_size == 120
        assert p.data.direction == "en-x" and p.data.instructions == []
    both = pilot_recipes(pilot_recipe(load_recipe(None, ["scaling.eval={heldout: both, limit: 8}"])))
    assert {(p.eval.heldout, p.eval.limit) for p in both} == {("both", 8)}


def test_an_unknown_pilot_eval_setting_is_refused_in_one_line():
    with pytest.raises((InputError, ValueError), match="scaling.eval.limt"):
        pilot_recipes(pilot_recipe(load_recipe(None, ["scaling.eval={limt: 8}"])))


def test_one_rule_picks_the_arms_the_muit_and_plan_claims_read():
    """Two uniform MuIT arms over disjoint languages: the MuIT claim reads the one that shares a language
    with a CoIT arm, the plan claim the one that shares the planned arm's, and a planned arm keeps X→En
    exactly when the MuIT claim reads it."""
    from polyalign.arms import planned_beside_uniform
    from polyalign.claim_arms import claim_arms
    from polyalign.run_config import ArmConfig

    def arm(name, builder, languages, allocation="uniform"):
        return ArmConfig(name=name, builder=builder, languages=languages, allocation=allocation, pair_budget=100)

    arms = [
        arm("muit-esfr", "muit", ["es", "fr"]),
        arm("muit-dezh", "muit", ["de", "zh"]),
        arm("coit-de", "coit", ["de"]),
        arm("planned-dezh", "muit", ["de", "zh"], "plan"),
    ]
    records = {a.name: {"builder": a.builder, "allocation": a.allocation, "languages": a.languages} for a in arms}
    assert claim_arms(records) == ("muit-dezh", ("planned-dezh", "muit-dezh"))
    cfg = replace(load_recipe(None, []), arms=arms)
    assert planned_beside_uniform(cfg, arms[3])  # the MuIT claim reads muit-dezh: the planned arm En→X only
    alone = replace(cfg, arms=[a for a in arms if a.name != "muit-dezh"])
    assert claim_arms({a.name: records[a.name] for a in alone.arms}) == ("planned-dezh", None)
    assert not planned_beside_uniform(alone, arms[3])  # now the MuIT claim reads the planned arm: both ways
    assert claim_arms({"coit-es": records["coit-de"] | {"languages": ["es"]}}) == (None, None)


def test_the_default_pilot_is_one_snapshot_run_per_language():
    """``scaling.points: snapshots``: one run per language over the largest size, one epoch at a constant
    rate, kept at every size; ``runs`` gives the five plain runs per language again."""
    cfg = load_recipe(None, [])
    points = pilot_recipes(pilot_recipe(cfg))
    assert [(p.name, p.data.max_train_pairs) for p in points] == [("es", 256), ("ru", 256)]
    for p in points:
        t = p.train
        assert (t.lr_scheduler_type, t.warmup_steps, t.max_steps, t.num_train_epochs) == ("constant", 0, -1, 1)
        assert t.keep_at_examples == [16, 32, 64, 128, 256]
        assert (t.per_device_train_batch_size, t.learning_rate) == (8, 5.0e-4)
    runs = pilot_recipes(pilot_recipe(load_recipe(None, ["scaling.points=runs"])))
    assert [p.name for p in runs][:5] == ["es-16", "es-32", "es-64", "es-128", "es-256"]
    assert {p.train.keep_at_examples == [] and p.train.lr_scheduler_type == "cosine" for p in runs} == {True}


@pytest.mark.parametrize(
    ("override", "why"),
    [
        (
            "scaling.train={max_steps: -1, per_device_train_batch_size: 4, lr_scheduler_type: cosine}",
            "a constant rate, no warmup",
        ),
        ("scaling.train={max_steps: 10, per_device_train_batch_size: 4}", "one epoch"),
        ("scaling.data={instructions: [], direction: both}", "one direction and no instructions"),
        ("scaling.sizes=8,18,32,64", "multiples of the global batch 8 (18 are not)"),
    ],
)
def test_a_snapshot_pilot_that_would_not_be_runs_of_its_sizes_is_refused(override, why):
    from polyalign.arms import check_pilot

    cfg = pilot_recipe(load_recipe(None, [override]))
    with pytest.raises(InputError, match=r"^scaling.points: snapshots needs .*" + re.escape(why)):
        check_pilot(cfg, pilot_recipes(cfg))
