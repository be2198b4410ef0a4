"""The frozen candidate pool: freezing, deterministic bytes, fingerprints, builds from a pool, damage."""

import gzip
import hashlib
import json
import os

import pytest

from helpers import spanish_locale, spanish_ui_pairs, write_mo
from polyalign.config import DataConfig
from polyalign.data.filters import PairFilter, cover, loosest, serves
from polyalign.data.frozen import open_pool
from polyalign.data.mixture_spec import MixtureSpec
from polyalign.data.mixtures import build
from polyalign.data.pool import changed_since, fingerprint, fingerprint_changes, freeze
from polyalign.io import InputError

CHEAP = {"min_words": 3, "max_words": 40, "max_chars": 400, "max_length_ratio": 3.0, "placeholders": True}


def locale_tree(root):
    """spanish_locale plus a catalog the cheap filters partly drop (1 word, lost placeholder, too long)."""
    spanish_locale(root)
    write_mo(
        root / "es" / "LC_MESSAGES" / "noisy.mo",
        {
            "Open": "Abrir",
            "Copy %s to the folder": "Copiar a la carpeta",
            "Show the hidden files": "Mostrar los archivos ocultos de esta carpeta en una lista muy larga y detallada",
            "Open the selected file": "Abrir el archivo seleccionado",  # a duplicate of demo.mo's
        },
    )
    return root


def want(locale, **filt):
    return {"languages": ["es"], "sources": ["gettext"], "gettext_dirs": [str(locale)], "filter": {**CHEAP, **filt}}


def gz_rows(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# --- which pairs a run needs --------------------------------------------------------------------


def test_loosest_passes_what_any_filter_passes():
    f = loosest([PairFilter(min_words=3, max_chars=300), PairFilter(min_words=1, max_words=20, max_length_ratio=None)])
    assert (f.min_words, f.max_words, f.max_chars, f.max_length_ratio, f.placeholders) == (1, 40, 400, None, True)
    assert serves(CHEAP, PairFilter(min_words=5, max_length_ratio=2.0))
    assert not serves(CHEAP, PairFilter(min_words=1))
    assert not serves(CHEAP, PairFilter(max_length_ratio=None))
    assert not serves(CHEAP, PairFilter(placeholders=False))
    assert serves({**CHEAP, "max_length_ratio": None}, PairFilter(max_length_ratio=2.0))


def test_cover_joins_every_build_and_skips_question_alignment():
    datas = [
        DataConfig(builder="muit", languages=["es", "fr"], min_words=3),
        DataConfig(builder="coit", languages=["de"], sources=["gettext", "babel"], min_words=1),
        DataConfig(builder="qalign", languages=["zh"], sources=["pycountry"]),
    ]
    assert cover(datas) == {
        "languages": ["es", "fr", "de"],
        "sources": ["gettext", "babel"],
        "gettext_dirs": [],
        "filter": {**CHEAP, "min_words": 1},
    }
    with pytest.raises(InputError, match="read gettext from different folders"):
        cover([DataConfig(gettext_dirs=["/a"]), DataConfig(gettext_dirs=["/b"])])


# --- fingerprints -------------------------------------------------------------------------------


def test_fingerprint_changes_name_what_changed():
    def fp(files, babel="2.14.0", polyalign="0.1"):
        rows = [{"path": p, "size": 1, "mtime_ns": 1, "sha256": s} for p, s in files]
        return {
            "sources": ["gettext"],
            "packages": {"babel": babel, "polyalign": polyalign},
            "files": {"es": {"gettext": rows, "babel": None}},
        }

    a = fp([("a.mo", "1"), ("b.mo", "2")])
    assert fingerprint_changes(a, a) == []
    assert fingerprint_changes(a, fp([("a.mo", "1"), ("b.mo", "2"), ("c.mo", "3")])) == ["es: 2 → 3 catalogs"]
    assert fingerprint_changes(a, fp([("a.mo", "1"), ("b.mo", "9")])) == ["es: 1 of 2 catalogs changed"]
    assert fingerprint_changes(a, fp([("a.mo", "1"), ("b.mo", "2")], babel=None, polyalign="0.2")) == [
        "babel 2.14.0 → not installed"
    ]
    po = {"sources": ["po:/x"], "packages": {}, "files": {"fr": {"po:/x": [{"path": "x.po", "sha256": "1"}]}}}
    assert fingerprint_changes(po, {**po, "files": {"fr": {"po:/x": []}}}) == ["fr po:/x: 1 → 0 catalogs"]


def test_fingerprint_reuses_known_hashes_of_unchanged_files(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    mo = locale / "es" / "LC_MESSAGES" / "demo.mo"
    first = fingerprint(["es"], ["gettext", "babel"], [str(locale)])
    row = first["files"]["es"]["gettext"][0]
    assert row == {
        "path": str(mo),
        "size": mo.stat().st_size,
        "mtime_ns": mo.stat().st_mtime_ns,
        "sha256": hashlib.sha256(mo.read_bytes()).hexdigest(),
    }
    assert first["files"]["es"]["babel"] is None and "babel" in first["packages"]
    # an unchanged file (path, size, mtime) is not read again: its known sha256 is kept as it is
    known = json.loads(json.dumps(first))
    known["files"]["es"]["gettext"][0]["sha256"] = "known"
    kept = fingerprint(["es"], ["gettext"], [str(locale)], known=known)["files"]["es"]["gettext"][0]
    assert kept["sha256"] == "known"
    # touched (new mtime, same bytes): read again, and the same content is no change
    os.utime(mo, ns=(mo.stat().st_atime_ns, mo.stat().st_mtime_ns + 10**9))
    again = fingerprint(["es"], ["gettext"], [str(locale)], known=known)["files"]["es"]["gettext"][0]
    assert again["sha256"] == row["sha256"]


def test_changed_since_sees_a_new_catalog_and_ignores_a_touch(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    freeze(tmp_path / "pool", want(locale))
    pool = open_pool(tmp_path / "pool")
    assert changed_since(pool) == []
    mo = locale / "es" / "LC_MESSAGES" / "demo.mo"
    os.utime(mo, ns=(mo.stat().st_atime_ns, mo.stat().st_mtime_ns + 10**9))
    assert changed_since(pool) == []
    write_mo(locale / "es" / "LC_MESSAGES" / "extra.mo", {"Show the hidden files now": "Mostrar los ocultos ahora"})
    assert changed_since(pool) == ["es: 1 → 2 catalogs"]


# --- freezing -----------------------------------------------------------------------------------


def test_freeze_keeps_raw_pairs_passing_the_cheap_filters_with_their_counts(tmp_path):
    locale = locale_tree(tmp_path / "locale")
    doc = freeze(tmp_path / "pool", want(locale))
    es = doc["languages"]["es"]
    # demo.mo: 360 pairs; noisy.mo: 4 read, 1 kept (its duplicate: duplicates are the builds' to drop)
    assert es["pairs"] == 361
    assert es["sources"]["gettext"] == {
        "read": 364,
        "kept": 361,
        "dropped": {"dropped_length": 1, "dropped_placeholders": 1, "dropped_ratio": 1},
        "origins_dropped": {"gettext:noisy": 3},
    }
    rows = gz_rows(tmp_path / "pool" / "es.jsonl.gz")
    assert len(rows) == 361 and rows[0].keys() == {"source", "src", "tgt", "src_lang", "tgt_lang", "origin"}
    assert {r["origin"] for r in rows} == {"gettext:demo", "gettext:noisy"}
    assert doc["sha256"] == open_pool(tmp_path / "pool").sha256
    assert doc["fingerprint"]["files"]["es"]["gettext"][1]["path"].endswith("noisy.mo")


def test_pool_bytes_are_deterministic(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    a = freeze(tmp_path / "a", want(locale))
    b = freeze(tmp_path / "b", want(locale))
    raw = (tmp_path / "a" / "es.jsonl.gz").read_bytes()
    assert raw == (tmp_path / "b" / "es.jsonl.gz").read_bytes() and a["sha256"] == b["sha256"]
    assert raw[4:8] == b"\x00\x00\x00\x00" and raw[3] & 0x08 == 0  # no timestamp, no file name in the header
    # the content is pinned: the same catalog gives these rows on any machine (whatever zlib compresses them to)
    text = gzip.decompress(raw)
    assert text.count(b"\n") == 360
    assert (
        hashlib.sha256(text).hexdigest()
        == hashlib.sha256(
            "".join(
                json.dumps(
                    {
                        "source": "gettext",
                        "src": s,
                        "tgt": t,
                        "src_lang": "en",
                        "tgt_lang": "es",
                        "origin": "gettext:demo",
                    },
                    ensure_ascii=False,
                )
                + "\n"
                for s, t in sorted(spanish_ui_pairs().items())
            ).encode()
        ).hexdigest()
    )


# --- building from a pool -----------------------------------------------------------------------

BUILD = dict(
    builder="muit",
    sources=["gettext"],
    instructions=[],
    template="translate_v1",
    max_train_pairs=50,
    test_size=10,
    seed=0,
    pair_filter=PairFilter(min_words=3, max_words=30, max_chars=300, max_length_ratio=3.0, language_id=False),
)


def test_a_build_from_the_pool_is_the_build_from_the_sources(tmp_path):
    locale = locale_tree(tmp_path / "locale")
    freeze(tmp_path / "pool", want(locale, min_words=1))  # looser than the build's: it serves it
    direct = build(tmp_path / "direct", MixtureSpec(languages=["es"], gettext_dirs=[str(locale)], **BUILD))
    pooled = build(tmp_path / "pooled", MixtureSpec(languages=["es"], **BUILD), open_pool(tmp_path / "pool"))
    for name in ("train.jsonl", "test_en-es.jsonl"):
        assert (tmp_path / "direct" / name).read_bytes() == (tmp_path / "pooled" / name).read_bytes()
    a, b = direct["languages"]["es"], pooled["languages"]["es"]
    assert a["sources"] == b["sources"] == {"gettext:demo": 360, "gettext:noisy": 4}
    assert a["counts"]["read"] == b["counts"]["read"] == 364 and a["counts"]["kept"] == b["counts"]["kept"] == 360
    assert pooled["pool"]["sha256"] == open_pool(tmp_path / "pool").sha256 and "pool" not in direct
    # the same pool, the catalogs gone: the same build
    (locale / "es" / "LC_MESSAGES" / "demo.mo").unlink()
    build(tmp_path / "later", MixtureSpec(languages=["es"], **BUILD), open_pool(tmp_path / "pool"))
    assert (tmp_path / "later" / "train.jsonl").read_bytes() == (tmp_path / "direct" / "train.jsonl").read_bytes()


def test_a_pool_refuses_builds_it_cannot_serve(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    freeze(tmp_path / "pool", want(locale))
    pool = open_pool(tmp_path / "pool")
    index = tmp_path / "pool" / "pool.json"
    with pytest.raises(InputError, match="holds gettext, not babel") as e:
        build(tmp_path / "a", MixtureSpec(languages=["es"], **{**BUILD, "sources": ["gettext", "babel"]}), pool)
    assert e.value.path == str(index)
    with pytest.raises(InputError, match="data filters are looser"):
        build(tmp_path / "b", MixtureSpec(languages=["es"], **{**BUILD, "pair_filter": PairFilter(min_words=1)}), pool)
    with pytest.raises(InputError, match=r"has no pairs for fr \(it holds es\)"):
        build(tmp_path / "c", MixtureSpec(languages=["fr"], **BUILD), pool)
    assert not any((tmp_path / x).exists() for x in "abc")


# --- damage -------------------------------------------------------------------------------------


def test_a_damaged_pool_file_is_one_error_naming_it(tmp_path):
    locale = spanish_locale(tmp_path / "locale")
    freeze(tmp_path / "pool", want(locale))
    gz = tmp_path / "pool" / "es.jsonl.gz"
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(InputError) as e:
        build(tmp_path / "a", MixtureSpec(languages=["es"], **BUILD), open_pool(tmp_path / "pool"))
    assert e.value.path == str(gz) and "does not match the sha256 its pool.json records" in str(e.value)
    assert "\n" not in str(e.value)
    # truncated and its pool.json made to agree: gzip itself finds the end missing
    index = tmp_path / "pool" / "pool.json"
    doc = json.loads(index.read_text())
    doc["languages"]["es"]["sha256"] = hashlib.sha256(gz.read_bytes()).hexdigest()
    index.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="unreadable pool file") as e:
        list(open_pool(tmp_path / "pool").rows("es"))
    assert e.value.path == str(gz)
    # not a pool at all
    index.write_text("[1, 2]")
    with pytest.raises(InputError, match="not a polyalign-pool/1 pool.json"):
        open_pool(tmp_path / "pool")
    with pytest.raises(InputError, match="no frozen pool here"):
        open_pool(tmp_path)


def test_a_pool_frozen_for_question_alignment_says_it_holds_no_pairs(tmp_path):
    # a question-alignment run freezes an empty pool; a CoIT build from it said "the frozen pool holds , not ..."
    freeze(tmp_path / "pool", {"languages": [], "sources": [], "gettext_dirs": [], "filter": dict(CHEAP)})
    with pytest.raises(InputError) as e:
        open_pool(tmp_path / "pool").view(["gettext"], PairFilter())
    assert str(e.value).startswith(
        f"{tmp_path / 'pool' / 'pool.json'}: the frozen pool holds no parallel pairs, not gettext "
        "(named in data.sources)"
    )


def test_snapshot_takes_a_recipe_or_languages_not_both(tmp_path, capsys):
    from polyalign.cli import main

    recipe = tmp_path / "r.yaml"
    recipe.write_text("data:\n  languages: [fr]\n")
    assert main(["data", "snapshot", str(recipe), "--languages", "es", "-o", str(tmp_path / "p")]) == 2
    assert capsys.readouterr().err == (
        "error: <command line>: give a recipe (its languages, sources and filters) or --languages, not both\n"
    )
    assert main(["data", "snapshot", str(recipe), "--sources", "babel", "-o", str(tmp_path / "p")]) == 2
    assert "--sources and --gettext-dir go with --languages" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_a_build_that_fails_before_any_work_leaves_no_run_folder(tmp_path, capsys):
    from polyalign.cli import main

    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"name: b\nruns_dir: {tmp_path / 'runs'}\ndata:\n  languages: [es]\n  sources: [{tmp_path / 'nope.jsonl'}]\n"
    )
    assert main(["data", "build", str(recipe)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"error: {tmp_path / 'nope.jsonl'}: no such file (named in data.sources)"
    assert not (tmp_path / "runs").exists()  # not even the config.yaml of a run that did nothing
