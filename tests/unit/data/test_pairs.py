import random
from dataclasses import replace

from polyalign.data import filters
from polyalign.data.filters import PairFilter
from polyalign.data.pairs import (
    clean_pairs,
    directed,
    sample,
    select_pairs,
    split_by_source,
)
from polyalign.data.records import ParallelPair

# The filter most tests use: the usual length limits, no language identification, no similarity.
F = PairFilter(min_words=3, max_words=30, max_chars=300, max_length_ratio=3.0, language_id=False, max_similarity=None)


def P(src, tgt, origin="t"):
    return ParallelPair(src, tgt, "en", "es", origin)


def test_clean_pairs_counts_every_reason_exactly():
    raw = [
        P("_Open the file", "_Abrir el archivo"),  # kept, accelerators stripped
        P("open the file.", "abrir el archivo"),  # duplicate source by dedup key
        P("Copy %s to %s now", "Copiar %s ahora"),  # placeholders differ
        P("Same text here", "Same text here"),  # identical
        P("Too short", "Demasiado corto"),  # < 3 words
        P("line one\nline two here", "uno\ndos"),  # multi-line
        P("   ", "algo"),  # empty
        P("Save  the   report", "Guardar el informe"),  # kept, spaces normalised
    ]
    kept, counts = clean_pairs(raw, PairFilter(min_words=3, max_words=10, max_chars=100, max_length_ratio=None))
    assert [(p.src, p.tgt) for p in kept] == [
        ("Open the file", "Abrir el archivo"),
        ("Save the report", "Guardar el informe"),
    ]
    assert counts == {
        "read": 8,
        "kept": 2,
        "dropped_duplicate": 1,
        "dropped_placeholders": 1,
        "dropped_identical": 1,
        "dropped_length": 1,
        "dropped_multiline": 1,
        "dropped_empty": 1,
    }


def test_split_is_disjoint_by_english_source_and_order_independent():
    pairs = [P(f"Open item number {i}", f"Abrir elemento {i}") for i in range(500)]
    pairs += [P(f"open item number {i}!", f"¡Abrir elemento {i}!") for i in range(0, 500, 7)]  # near-duplicates
    train, test = split_by_source(pairs, test_size=50, seed=0)
    assert len({filters.dedup_key(p.src) for p in test}) == 50
    assert not {filters.dedup_key(p.src) for p in train} & {filters.dedup_key(p.src) for p in test}
    assert not {p.src for p in train} & {p.src for p in test}
    assert len(train) + len(test) == len(pairs)
    shuffled = pairs[:]
    random.Random(1).shuffle(shuffled)
    train2, test2 = split_by_source(shuffled, test_size=50, seed=0)
    assert test2 == test and set(train2) == set(train)
    _, test3 = split_by_source(pairs, test_size=50, seed=1)
    assert test3 != test


def test_sample_and_direction():
    pairs = [P(f"Open item number {i}", f"Abrir elemento {i}") for i in range(100)]
    s = sample(pairs, 10, seed=0)
    assert len(s) == 10 and s == sample(list(reversed(pairs)), 10, seed=0)
    both = directed(pairs[:2], "both")
    assert [(p.src_lang, p.tgt_lang) for p in both] == [("en", "es"), ("es", "en"), ("en", "es"), ("es", "en")]
    assert directed(pairs[:1], "x-en")[0].src == "Abrir elemento 0"


GOOD = [
    P(f"Open the {en} now", f"Abrir {es} ahora")
    for en, es in [
        ("file", "el archivo"),
        ("folder", "la carpeta"),
        ("window", "la ventana"),
        ("page", "la página"),
        ("table", "la tabla"),
        ("list", "la lista"),
        ("report", "el informe"),
        ("message", "el mensaje"),
        ("image", "la imagen"),
        ("account", "la cuenta"),
        ("project", "el proyecto"),
        ("drawing", "el dibujo"),
    ]
]


def test_select_pairs_counts_every_filter_exactly():
    raw = GOOD + [
        P("Open the file now", "Abrir el fichero ahora"),  # duplicate source
        P("Open the file, now", "Abrir el archivo, ahora"),  # near duplicate (punctuation inside)
        P("Show page 1 of 10", "Mostrar página 1 de 10"),
        P("Show page 2 of 10", "Mostrar página 2 de 10"),  # near duplicate (only a number differs)
        P("Copy %s to the disk", "Copiar al disco"),  # placeholders
        P("Show more details", "Mostrar más detalles sobre todos los elementos seleccionados en la lista"),  # ratio
        P("Same text here", "Same text here"),  # identical
        P("OK", "Aceptar"),  # length
        P("  ", "algo"),  # empty
    ]
    train, test, counts = select_pairs(lambda: iter(raw), 8, 3, 0, F)
    assert (len(train), len(test)) == (8, 3)
    assert counts == {
        "read": 21,
        "kept": 13,
        "dropped_duplicate": 1,
        "dropped_near_duplicate": 2,
        "dropped_placeholders": 1,
        "dropped_ratio": 1,
        "dropped_identical": 1,
        "dropped_length": 1,
        "dropped_empty": 1,
        "train": 8,
        "test": 3,
    }
    assert not {p.src for p in train} & {p.src for p in test}


def test_select_pairs_is_order_independent_and_splits_like_split_by_source():
    train, test, _ = select_pairs(lambda: iter(GOOD), 100, 4, 7, F)
    t2, s2, _ = select_pairs(lambda: iter(GOOD[::-1]), 100, 4, 7, F)
    assert s2 == test and t2 == train  # rank order, whatever the input order
    _, ref_test = split_by_source(GOOD, 4, 7)
    assert set(test) == set(ref_test)
    few, _, _ = select_pairs(lambda: iter(GOOD), 3, 4, 7, F)
    assert few == train[:3]
    none, held_out, _ = select_pairs(lambda: iter(GOOD), 0, 4, 7, F)  # a plan giving a language no pairs
    assert none == [] and held_out == test  # it keeps its held-out pairs (they were cut to nothing)


def test_select_pairs_drops_wrong_language_with_langid():
    raw = GOOD + [
        P("The quick brown fox jumps over the dog", "Le renard brun rapide saute par-dessus le chien paresseux")
    ]
    train, test, counts = select_pairs(
        lambda: iter(raw), None, 2, 0, replace(F, language_id=True), filters.LanguageId()
    )
    assert counts["dropped_language"] >= 1 and counts["language_checked"] == 13
    assert all(not p.tgt.startswith("Le renard") for p in train + test)


def test_select_pairs_bounded_memory_reads_again_when_language_id_rejects_many():
    """More pairs than the kept candidates (capacity (6 + 2) x 1.5 + 64 = 76), most of them in the
    wrong language: the first pass keeps too few that pass language identification, so the source
    is read a second time keeping more, and the selection is complete."""
    colours = {
        "red": "rote",
        "green": "grüne",
        "blue": "blaue",
        "yellow": "gelbe",
        "black": "schwarze",
        "white": "weiße",
        "brown": "braune",
        "grey": "graue",
        "pink": "rosa",
        "orange": "orangefarbene",
        "purple": "violette",
        "silver": "silberne",
        "golden": "goldene",
        "dark": "dunkle",
        "bright": "helle",
    }
    things = {
        "button": "Schaltfläche",
        "window": "Fensterleiste",
        "folder": "Mappe",
        "picture": "Abbildung",
        "message": "Nachricht",
        "project": "Projektliste",
        "report": "Meldung",
        "table": "Tabelle",
        "drawing": "Zeichnung",
        "chart": "Grafik",
        "panel": "Leiste",
        "label": "Beschriftung",
        "border": "Umrandung",
        "column": "Spalte",
        "toolbar": "Werkzeugleiste",
    }
    bad = [
        P(f"Show the {c} {w} on the main screen", f"Die {gc} {gw} wird auf dem Hauptbildschirm angezeigt")
        for c, gc in colours.items()
        for w, gw in things.items()
    ]  # 225 distinct pairs in German, not Spanish
    good = [
        P(f"Open the selected {w} in a new window", f"Abrir el {w} seleccionado en una ventana nueva")
        for w in ["file", "document", "image", "note", "sheet", "list", "page", "book", "card", "map"]
    ]
    calls = []

    def make():
        calls.append(1)
        return iter(bad + good)

    train, test, counts = select_pairs(make, 6, 2, 0, replace(F, language_id=True), filters.LanguageId())
    assert len(calls) == 3  # the path this test is named for: kept 76, then 100, then 172 candidates
    assert len(train) == 6 and len(test) == 2
    assert all(p.tgt.startswith("Abrir") for p in train + test)
    assert counts["read"] == 235 and counts["dropped_language"] >= 1  # counts are of the last pass only


def test_check_pair_reasons():
    from polyalign.data.pairs import check_pair

    assert check_pair(P("One two three", "Uno dos tres"), replace(F, max_length_ratio=None))[0] is None
    assert check_pair(P("One two three", "Uno dos tres " * 20), F)[0] == "ratio"
    assert (
        check_pair(
            P(
                "Uno dos tres",
                "One two",
            ),
            replace(F, max_length_ratio=None),
        )[0]
        is None
    )  # words counted on the English side
    flipped = ParallelPair("Uno dos", "One two three", "es", "en")
    assert check_pair(flipped, replace(F, max_length_ratio=None))[0] is None


def test_select_pairs_keeps_no_near_copy_across_train_and_test():
    words = ["file", "folder", "document", "picture", "message", "project", "report", "table", "drawing", "chart"]
    raw = [
        P(f"Open the selected {w} in a new window", f"Abrir el {w} seleccionado en una ventana nueva") for w in words
    ]
    raw += [
        P(f"Open the selected {w}s in a new window", f"Abrir los {w}s seleccionados en una ventana nueva")
        for w in words
    ]
    raw += [P(f"Close every {w} you opened today", f"Cerrar cada {w} que abriste hoy") for w in words]
    train, test, counts = select_pairs(lambda: iter(raw), None, 4, 0, replace(F, max_similarity=0.8))
    chosen = [p.src for p in test + train]
    grams = [filters.shingles(s) for s in chosen]
    assert all(filters.jaccard(a, b) < 0.8 for i, a in enumerate(grams) for b in grams[i + 1 :])
    assert counts["dropped_similar"] == len(raw) - len(chosen) >= 10  # every plural is a near-copy of its singular
    off, _, off_counts = select_pairs(lambda: iter(raw), None, 4, 0, F)
    assert len(off) + 4 == len(raw) and "dropped_similar" not in off_counts


def test_similar_texts_agrees_with_brute_force():
    rng = random.Random(0)
    vocab = [
        "open",
        "close",
        "save",
        "print",
        "copy",
        "move",
        "delete",
        "the",
        "a",
        "new",
        "selected",
        "file",
        "folder",
        "window",
        "page",
        "report",
        "list",
        "all",
    ]
    texts = []
    for _ in range(400):
        base = rng.sample(vocab, rng.randint(3, 7))
        texts.append(" ".join(base))
        if rng.random() < 0.5:  # a variant: one word changed, added or pluralised
            v = list(base)
            k = rng.randrange(len(v))
            v[k] = rng.choice([v[k] + "s", rng.choice(vocab)])
            texts.append(" ".join(v))
    index, kept = filters.SimilarTexts(0.8), []
    for t in texts:
        g = filters.shingles(t)
        expected = all(filters.jaccard(g, k) < 0.8 for k in kept)
        assert index.add_if_new(t) == expected, t
        if expected:
            kept.append(g)
    assert 0 < len(kept) < len(texts)
