"""The shipped multilingual instruction set: complete, parallel, split, and loadable."""

import json

import pytest

from polyalign.data import resources
from polyalign.io import InputError


def test_shipped_set_is_complete_and_split():
    items = resources.polyinstruct_items()
    assert len(items) >= 100
    assert [it["id"] for it in items] == [f"pi-{i:04d}" for i in range(1, len(items) + 1)]
    splits = [it["split"] for it in items]
    assert splits.count("test") >= 20 and splits.count("train") >= 80
    for it in items:
        assert set(it["langs"]) == set(resources.POLYINSTRUCT_LANGUAGES)
        en = it["langs"]["en"]
        for code, entry in it["langs"].items():
            assert (entry["input"] == "") == (en["input"] == ""), (it["id"], code)
            assert entry["output"].count("```") == en["output"].count("```"), (it["id"], code)
    # each language's text is its own (not English copied over)
    for code in resources.POLYINSTRUCT_LANGUAGES[1:]:
        same = sum(it["langs"][code]["instruction"] == it["langs"]["en"]["instruction"] for it in items)
        assert same == 0, code


def test_scripts_match_languages():
    ranges = {"zh": (0x4E00, 0x9FFF), "ar": (0x0600, 0x06FF), "ru": (0x0400, 0x04FF), "hi": (0x0900, 0x097F), "el": (0x0370, 0x03FF)}
    for it in resources.polyinstruct_items():
        for code, (lo, hi) in ranges.items():
            text = it["langs"][code]["instruction"] + it["langs"][code]["output"]
            assert sum(lo <= ord(ch) <= hi for ch in text) >= 2, (it["id"], code)


def test_load_returns_alpaca_records_per_language_and_split():
    train, test = resources.polyinstruct("fr", "train"), resources.polyinstruct("fr", "test")
    assert len(train) + len(test) == len(resources.polyinstruct("fr"))
    assert {r["id"] for r in train}.isdisjoint({r["id"] for r in test})
    assert set(train[0]) == {"id", "instruction", "input", "output", "category"}
    assert resources.polyinstruct("es", "train")[0]["id"] == resources.polyinstruct("en", "train")[0]["id"]
    assert resources.polyinstruct("es")[0]["instruction"].startswith("¿")
    with pytest.raises(InputError, match="no 'ja'"):
        resources.polyinstruct("ja")
    with pytest.raises(InputError, match="split must be"):
        resources.polyinstruct("es", "dev")


def test_a_broken_copy_is_an_input_error(tmp_path):
    items = resources.polyinstruct_items()
    bad = json.loads(json.dumps(items[0]))
    del bad["langs"]["el"]
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(items[1], ensure_ascii=False) + "\n" + json.dumps(bad, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        resources.polyinstruct_items(path)
    assert str(e.value) == f"{path}:2: language 'el' needs string fields instruction, input, output"
    with pytest.raises(InputError) as e:
        resources.polyinstruct("el", path=path)
    assert str(e.value) == f"{path}:2: language 'el' needs string fields instruction, input, output"
    # a file of your own needs only the languages read from it
    assert [r["id"] for r in resources.polyinstruct("en", path=path)] == [items[1]["id"], items[0]["id"]]
