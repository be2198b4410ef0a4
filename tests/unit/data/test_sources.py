import pytest

from helpers import write_mo
from polyalign.data.sources import gettext_pairs, locale_catalogs, read_mo
from polyalign.io import InputError


def test_read_mo_handles_context_plural_and_untranslated(tmp_path):
    mo = write_mo(tmp_path / "t.mo", {
        "Open": "Abrir",
        "menu\x04Close": "Cerrar",
        ("%d file", "%d files"): ["%d archivo", "%d archivos"],
        "Untranslated": "",
        "Año": "Año",  # non-ASCII survives
    })
    assert sorted(read_mo(mo)) == sorted([
        ("Open", "Abrir"), ("Close", "Cerrar"), ("%d file", "%d archivo"), ("Año", "Año"),
    ])


def test_read_mo_rejects_garbage_with_path(tmp_path):
    bad = tmp_path / "bad.mo"
    bad.write_bytes(b"this is not a catalog")
    with pytest.raises(InputError) as e:
        list(read_mo(bad))
    assert str(e.value).startswith(f"{bad}: not a readable gettext catalog")


def test_gettext_pairs_reads_locale_tree_in_sorted_order_and_skips_broken(tmp_path):
    write_mo(tmp_path / "es" / "LC_MESSAGES" / "b.mo", {"Save file": "Guardar archivo"})
    write_mo(tmp_path / "es" / "LC_MESSAGES" / "a.mo", {"Open file": "Abrir archivo"})
    (tmp_path / "es" / "LC_MESSAGES" / "c.mo").write_bytes(b"broken")
    write_mo(tmp_path / "fr" / "LC_MESSAGES" / "a.mo", {"Open file": "Ouvrir le fichier"})
    assert [p.name for p in locale_catalogs("es", [str(tmp_path)])] == ["a.mo", "b.mo", "c.mo"]
    pairs = list(gettext_pairs("es", [str(tmp_path)]))
    assert [(p.src, p.tgt, p.tgt_lang, p.origin) for p in pairs] == [
        ("Open file", "Abrir archivo", "es", "gettext:a"),
        ("Save file", "Guardar archivo", "es", "gettext:b"),
    ]
