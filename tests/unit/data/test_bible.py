"""The Bible source through pysword, on two tiny RawText SWORD modules written by the test."""

import struct

import pytest

from polyalign.data.corpora import bible_pairs

pysword = pytest.importorskip("pysword")

VERSES = {
    ("Genesis", 1, 1): (
        "In the beginning God created the heavens and the earth.",
        "En el principio creó Dios los cielos y la tierra.",
    ),
    ("Genesis", 1, 3): ("God said, Let there be light, and there was light.", "Y dijo Dios: Sea la luz: y fué la luz."),
    ("John", 3, 16): (
        "For God so loved the world, that he gave his one and only Son.",
        "Porque de tal manera amó Dios al mundo, que ha dado á su Hijo unigénito.",
    ),
}


def write_module(root, name, side):
    """A RawText module: per testament, a text file and a .vss index of (offset, size) records."""
    from pysword.books import BibleStructure

    structure = BibleStructure("kjv")
    folder = root / "modules" / "texts" / "rawtext" / name.lower()
    folder.mkdir(parents=True)
    (root / "mods.d").mkdir(exist_ok=True)
    (root / "mods.d" / f"{name.lower()}.conf").write_text(
        f"[{name}]\nDataPath=./modules/texts/rawtext/{name.lower()}/\nModDrv=RawText\nEncoding=UTF-8\nVersification=KJV\n"
    )
    for testament in ("ot", "nt"):
        entries: dict[int, bytes] = {}
        for (book, chapter, verse), texts in VERSES.items():
            refs = structure.ref_to_indicies(books=[book], chapters=[chapter], verses=[verse])
            for t, idx in refs.items():
                if t == testament:
                    entries[idx[0]] = texts[side].encode("utf-8")
        text, index = b"", b""
        for i in range(max(entries, default=0) + 1):
            data = entries.get(i, b"")
            index += struct.pack("<IH", len(text), len(data))
            text += data
        (folder / testament).write_bytes(text)
        (folder / f"{testament}.vss").write_bytes(index)


def test_bible_pairs_align_verses_by_reference_and_cache(tmp_path):
    sword = tmp_path / "sword"
    write_module(sword, "WEB", 0)
    write_module(sword, "SpaRV", 1)
    cache = tmp_path / "cache.jsonl"
    pairs = list(bible_pairs("es", [str(sword)], cache=cache))
    assert [(p.src, p.tgt) for p in pairs] == list(VERSES.values())
    assert {p.origin for p in pairs} == {"bible:WEB+SpaRV"} and cache.is_file()
    assert [p.src for p in bible_pairs("es", [str(sword)], cache=cache)] == [p.src for p in pairs]  # from the cache
    assert list(bible_pairs("fr", [str(sword)])) == []  # English-Spanish only
    assert list(bible_pairs("es", [str(tmp_path / "nothing")])) == []
