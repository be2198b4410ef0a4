"""``--limit N``: a seeded sample stratified over topics, labels or domains (issue 20)."""

from collections import Counter

import pytest

from eval_fixtures import POLYMT_FIXTURE
from polyalign.data import resources
from polyalign.eval import loaders, sampling
from polyalign.eval import tasks as T


def test_quotas_are_proportional_with_largest_remainders():
    assert sampling.quotas({"positive": 132, "negative": 132}, 2, 0) == {"positive": 1, "negative": 1}
    # 6/3/1 of 5: shares 3, 1.5, 0.5; the tie between b and c goes by the seeded order of the strata
    assert sampling.quotas({"a": 6, "b": 3, "c": 1}, 5, 0) == {"a": 3, "b": 2, "c": 0}
    assert sampling.quotas({"a": 6, "b": 3, "c": 1}, 5, 1) == {"a": 3, "b": 1, "c": 1}
    assert sampling.quotas({"a": 2, "b": 1}, 7, 0) == {"a": 2, "b": 1}  # enough for everything
    sizes = {f"s{i}": k for i, k in enumerate([16, 14, 12, 10, 10, 1, 1, 7])}
    for n in range(0, sum(sizes.values())):
        q = sampling.quotas(sizes, n, 3)
        assert sum(q.values()) == n
        assert all(abs(q[s] - n * k / sum(sizes.values())) < 1 and q[s] <= k for s, k in sizes.items())


def test_a_uniform_sample_when_rows_have_no_stratum():
    rows = [{"id": f"x{i}", "text": f"t{i}"} for i in range(10)]
    chosen, info = sampling.sample(rows, 3, 0)
    assert info == {"limit": 3, "seed": 0, "stratified_by": None, "strata": {}, "ids": ["x2", "x4", "x6"]}
    assert chosen == [rows[2], rows[4], rows[6]]  # file order kept
    assert sampling.sample(rows, 3, 1)[1]["ids"] == ["x1", "x4", "x7"]
    assert sampling.sample(rows, 10, 0) == (rows, None) and sampling.sample(rows, None, 0) == (rows, None)


def test_the_same_ids_in_every_language_and_for_every_model():
    en = [{"id": f"pm{i:03d}", "domain": ["news", "science", "travel"][i % 3], "text": f"en {i}"} for i in range(30)]
    es = [{**r, "text": f"es {i}"} for i, r in enumerate(en)]
    a, b = sampling.sample(en, 6, 4)[1], sampling.sample(es, 6, 4)[1]
    assert a["ids"] == b["ids"] and a["strata"] == {"news": 2, "science": 2, "travel": 2}
    assert a["ids"] != sampling.sample(en, 6, 5)[1]["ids"]


def test_quick_draws_one_positive_and_one_negative_polysent_item_in_every_language():
    task = T.get("polysent")
    for seed in range(5):
        ids = None
        for code in resources.POLYSENT_LANGUAGES:
            prep = loaders.prepare(task, task.parse(code), None, limit=2, seed=seed)
            assert sorted(r["label"] for r in prep.rows) == [0, 1], (seed, code)
            assert prep.sample["stratified_by"] == "label"
            ids = ids or prep.sample["ids"]
            assert prep.sample["ids"] == ids, (seed, code)
    prep = loaders.prepare(task, task.parse("sw"), None, limit=2, seed=0)
    assert prep.sample["ids"] == ["ps021", "ps279"]


def test_polyqa_limit_covers_the_topics_not_the_first_block():
    first = {r["title"] for r in resources.polyqa("en", "test")[:32]}
    assert sorted(first) == ["cities", "food", "mountains", "rivers"]  # what `rows[:32]` used to evaluate
    task = T.get("polyqa")
    prep = loaders.prepare(task, task.parse("en"), None, limit=32, seed=0)
    topics = Counter(r["title"] for r in prep.rows)
    assert len(prep.rows) == 32 and len(topics) == 23 and max(topics.values()) == 3
    assert prep.sample["stratified_by"] == "title" and prep.sample["strata"] == dict(topics)
    th = loaders.prepare(task, task.parse("th"), None, limit=32, seed=0)
    assert [r["id"] for r in th.rows] == [r["id"] for r in prep.rows]


def test_demonstrations_are_excluded_before_the_sample_is_drawn():
    task = T.get("polymt")
    prep = loaders.prepare(task, task.parse("es-fr"), str(POLYMT_FIXTURE), num_fewshot=1, limit=4, seed=1)
    assert [d["id"] for d in prep.demos] == ["pm005"]  # from the dev split
    assert prep.sample["ids"] == ["pm002", "pm003", "pm004", "pm006"]
    assert prep.sample["strata"] == {"news": 1, "science": 1, "travel": 1, "health": 1}
    with pytest.raises(ValueError, match="limit must be >= 0"):
        sampling.sample([{"id": "a"}, {"id": "b"}], -1, 0)
