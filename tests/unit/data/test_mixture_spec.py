"""The mixture spec: one frozen value for every setting of a build, recorded in its manifest as it is."""

import dataclasses
import json

import pytest

from helpers import spanish_locale
from polyalign.config import DataConfig
from polyalign.data.filters import PairFilter
from polyalign.data.mixture_spec import MixtureSpec
from polyalign.data.mixtures import build
from polyalign.io import InputError

QUIET = PairFilter(min_words=3, max_words=30, max_chars=300, max_length_ratio=3.0, language_id=False)


def test_a_spec_is_frozen_with_tuples_and_canonical_codes():
    spec = MixtureSpec(builder="muit", languages=["ES", "pt-br"], sources=["gettext"], instructions=["polyinstruct"])
    assert spec.languages == ("es", "pt_BR") and spec.sources == ("gettext",) and spec.gettext_dirs == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 1  # type: ignore[misc]
    same = MixtureSpec(builder="muit", languages=("es", "pt_BR"), sources=("gettext",), instructions=("polyinstruct",))
    assert spec == same and hash(spec) == hash(same)
    assert dataclasses.replace(spec, seed=3).seed == 3 and spec.seed == 0


def test_to_manifest_is_plain_json_and_reads_back_equal():
    spec = MixtureSpec(
        builder="muit",
        languages=["es", "fr"],
        sources=["gettext", "babel"],
        instructions=["polyinstruct", "es=es.jsonl"],
        gettext_dirs=["/loc"],
        direction="both",
        english_ratio=0.5,
        translated_ratio=2.0,
        translation_ratio=1.5,
        allocation="proportional",
        pair_budget=300,
        max_train_pairs=None,
        test_size=7,
        seed=11,
        pair_filter=PairFilter(min_words=1, max_similarity=None),
    )
    doc = spec.to_manifest()
    assert doc == {
        "builder": "muit",
        "languages": ["es", "fr"],
        "sources": ["gettext", "babel"],
        "instructions": ["polyinstruct", "es=es.jsonl"],
        "gettext_dirs": ["/loc"],
        "direction": "both",
        "template": "translate_v1",
        "english_ratio": 0.5,
        "translated_ratio": 2.0,
        "translation_ratio": 1.5,
        "allocation": "proportional",
        "pair_budget": 300,
        "max_train_pairs": None,
        "test_size": 7,
        "seed": 11,
        "pair_filter": {
            "min_words": 1,
            "max_words": 40,
            "max_chars": 400,
            "max_length_ratio": 3.0,
            "language_id": True,
            "max_similarity": None,
            "placeholders": True,
        },
        "eval_languages": [],
    }
    assert MixtureSpec.from_manifest(json.loads(json.dumps({"spec": doc}))) == spec


def test_a_build_records_its_spec_and_an_older_manifest_still_reads(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    spec = MixtureSpec(
        builder="coit",
        languages=["es"],
        sources=["gettext"],
        gettext_dirs=[str(locale)],
        max_train_pairs=20,
        test_size=5,
        pair_filter=QUIET,
    )
    returned = build(tmp_path / "data", spec)
    written = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert written["spec"] == returned["spec"] == spec.to_manifest()
    assert MixtureSpec.from_manifest(written, tmp_path / "data" / "manifest.json") == spec
    # the keys manifests had before the spec are still there, with the same values
    flat = (written["builder"], written["seed"], written["allocation"], written["pair_budget"])
    assert flat == ("coit", 0, "uniform", None)
    assert written["filters"] == dataclasses.asdict(QUIET) and written["instructions"] == []
    assert written["languages"]["es"]["train_pairs"] == 20 and written["languages"]["es"]["test_pairs"] == 5
    older = {k: v for k, v in written.items() if k != "spec"}
    assert MixtureSpec.from_manifest(older) is None


def test_a_damaged_spec_in_a_manifest_is_one_error_naming_the_file(tmp_path):
    path = tmp_path / "manifest.json"
    good = MixtureSpec(sources=["gettext"]).to_manifest()
    with pytest.raises(InputError, match="unknown settings: budget") as e:
        MixtureSpec.from_manifest({"spec": {**good, "budget": 3}}, path)
    assert e.value.path == str(path)
    with pytest.raises(InputError, match="bad pair_filter"):
        MixtureSpec.from_manifest({"spec": {**good, "pair_filter": {"min_wordz": 1}}}, path)
    with pytest.raises(InputError, match="test_size must be an integer ≥ 0, got -2") as e:
        MixtureSpec.from_manifest({"spec": {**good, "test_size": -2}}, path)
    assert str(e.value).startswith(f"{path}: ")
    with pytest.raises(InputError, match="spec must be an object"):
        MixtureSpec.from_manifest({"spec": ["coit"]}, path)


def test_from_config_takes_each_builder_s_settings():
    d = DataConfig(
        builder="coit",
        languages=["es"],
        sources=["gettext", "babel"],
        allocation="proportional",  # an arm's recipe may carry MuIT settings; CoIT builds one language
        pair_budget=48,
        english_ratio=0.5,
        max_train_pairs=24,
        test_size=6,
        split_seed=4,
        min_words=2,
        direction="both",
    )
    coit = MixtureSpec.from_config(d)
    assert (coit.builder, coit.allocation, coit.pair_budget, coit.english_ratio) == ("coit", "uniform", None, 0.5)
    assert (coit.sources, coit.max_train_pairs, coit.test_size, coit.seed) == (("gettext", "babel"), 24, 6, 4)
    assert coit.pair_filter == PairFilter.from_config(d) and coit.direction == "both"
    muit = MixtureSpec.from_config(dataclasses.replace(d, builder="muit", languages=["es", "fr"]))
    assert (muit.allocation, muit.pair_budget, muit.languages) == ("proportional", 48, ("es", "fr"))
    qd = dataclasses.replace(d, builder="qalign", languages=["zh", "de"], eval_languages=["es"], instructions=["q"])
    q = MixtureSpec.from_config(qd)
    assert (q.builder, q.direction, q.template, q.seed) == ("qalign", "x-en", "qalign_v1", 4)
    assert (q.languages, q.eval_languages, q.instructions, q.sources) == (("zh", "de"), ("es",), ("q",), ())


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"builder": "mixed"}, "builder must be one of coit, muit, qalign, got 'mixed'"),
        ({"languages": []}, "languages must name at least one language"),
        ({"languages": "es"}, "languages must be a list, got 'es'"),
        (
            {"languages": ["es", "fr"]},
            "builder 'coit' builds one language, data.languages names 2: use builder: muit",
        ),
        ({"direction": "es-en"}, "direction must be one of en-x, x-en, both, got 'es-en'"),
        ({"template": "qalign_v1"}, "builder 'coit' takes template translate_v1, got 'qalign_v1'"),
        ({"template": "translate_v9"}, "takes template translate_v1, got 'translate_v9'"),
        ({"english_ratio": -0.5}, "english_ratio must be a number ≥ 0 \\(a mixing ratio\\), got -0.5"),
        ({"translation_ratio": float("nan")}, "translation_ratio must be a number ≥ 0"),
        ({"translated_ratio": True}, "translated_ratio must be a number ≥ 0"),
        ({"max_train_pairs": -1}, "max_train_pairs must be an integer ≥ 0, got -1"),
        ({"test_size": 2.5}, "test_size must be an integer ≥ 0, got 2.5"),
        ({"seed": True}, "seed must be an integer, got True"),
        ({"pair_filter": {"min_words": 1}}, "pair_filter must be a PairFilter, got dict"),
        ({"allocation": ""}, "allocation must be uniform, proportional or a plan file's path"),
        ({"pair_budget": 40}, "builder 'coit' builds one language: no allocation or pair_budget"),
        ({"sources": []}, "builder 'coit' needs at least one source of parallel pairs"),
        ({"eval_languages": ["fr"]}, "eval_languages is question alignment's"),
        ({"builder": "muit", "languages": ["es", "fr"], "pair_budget": -3}, "pair_budget must be an integer ≥ 0"),
        (
            {"builder": "qalign", "template": "qalign_v1"},
            "question alignment translates into English \\(x-en\\), got 'en-x'",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(settings, message):
    with pytest.raises(InputError, match=message):
        MixtureSpec(**{"sources": ["gettext"], **settings})


def test_a_budget_below_one_pair_a_language_is_refused_by_name():
    with pytest.raises(InputError) as e:
        MixtureSpec(builder="muit", languages=["es", "fr"], sources=["gettext"], pair_budget=1)
    assert str(e.value) == "mixture spec: pair_budget 1 is below one parallel pair for each of the 2 languages (es, fr)"
