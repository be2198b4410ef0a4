import pytest

from helpers import write_mo
from polyalign.data.corpora import gettext_pairs, locale_catalogs, read_mo
from polyalign.io import InputError


def test_read_mo_handles_context_plural_and_untranslated(tmp_path):
    mo = write_mo(
        tmp_path / "t.mo",
        {
            "Open": "Abrir",
            "menu\x04Close": "Cerrar",
            ("%d file", "%d files"): ["%d archivo", "%d archivos"],
            "Untranslated": "",
            "Año": "Año",  # non-ASCII survives
        },
    )
    assert sorted(read_mo(mo)) == sorted(
        [
            ("Open", "Abrir"),
            ("Close", "Cerrar"),
            ("%d file", "%d archivo"),
            ("Año", "Año"),
        ]
    )


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


PO = r"""# Spanish translation
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Language: es\n"

#: app/views.py:10
msgid "Open the file"
msgstr "Abrir el archivo"

#, fuzzy
msgid "Close the window"
msgstr "Cerrar la ventana (borrador)"

msgctxt "menu"
msgid "Save"
msgstr "Guardar"

msgid ""
"A long message that "
"spans two lines\n"
msgstr ""
"Un mensaje largo que "
"ocupa dos líneas\n"

msgid "%(count)d file"
msgid_plural "%(count)d files"
msgstr[0] "%(count)d archivo"
msgstr[1] "%(count)d archivos"

msgid "Untranslated"
msgstr ""

#~ msgid "Obsolete"
#~ msgstr "Obsoleto"
"""


def test_read_po_handles_fuzzy_context_multiline_plural_obsolete(tmp_path):
    from polyalign.data.corpora import read_po

    po = tmp_path / "django.po"
    po.write_text(PO, encoding="utf-8")
    assert list(read_po(po)) == [
        ("Open the file", "Abrir el archivo"),
        ("Save", "Guardar"),
        ("A long message that spans two lines\n", "Un mensaje largo que ocupa dos líneas\n"),
        ("%(count)d file", "%(count)d archivo"),
    ]
    bad = tmp_path / "bad.po"
    bad.write_text('msgid "a"\nmsgstr "b"\nthis is not po\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.po:3: unexpected line in a \.po file"):
        list(read_po(bad))
    unterminated = tmp_path / "u.po"
    unterminated.write_text('msgid "a\nmsgstr "b"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"u\.po:1: expected a double-quoted string"):
        list(read_po(unterminated))


def test_po_pairs_reads_a_django_style_locale_tree(tmp_path):
    from polyalign.data.corpora import po_pairs, source_pairs

    for app in ("conf", "contrib/admin"):
        (tmp_path / app / "locale" / "es" / "LC_MESSAGES").mkdir(parents=True)
        (tmp_path / app / "locale" / "es" / "LC_MESSAGES" / "django.po").write_text(PO, encoding="utf-8")
    (tmp_path / "conf" / "locale" / "zh_Hans" / "LC_MESSAGES").mkdir(parents=True)
    write_mo(tmp_path / "conf" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo", {"Open the file": "打开文件"})
    es = list(po_pairs(tmp_path, "es"))
    assert len(es) == 8 and {p.origin for p in es} == {"po:conf/django", "po:contrib/admin/django"}
    assert [(p.src, p.tgt, p.tgt_lang) for p in po_pairs(tmp_path, "zh")] == [("Open the file", "打开文件", "zh")]
    assert len(list(source_pairs(f"po:{tmp_path}", "es"))) == 8


def test_pycountry_and_babel_name_lists():
    from polyalign.data.corpora import babel_pairs, pycountry_pairs

    pytest.importorskip("pycountry")
    pytest.importorskip("babel")
    de = {(p.src, p.tgt) for p in pycountry_pairs("de")}
    assert ("Germany", "Deutschland") in de and ("Spain", "Spanien") in de
    fr = {(p.src, p.tgt, p.origin) for p in babel_pairs("fr")}
    assert ("January", "janvier", "babel:months") in fr and ("Monday", "lundi", "babel:weekdays") in fr
    assert list(babel_pairs("xx")) == []


def test_source_pairs_flips_and_filters_file_directions(tmp_path):
    import json

    from polyalign.data.corpora import source_pairs

    f = tmp_path / "mixed.jsonl"
    f.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"src": "Hola", "tgt": "Hello", "src_lang": "es", "tgt_lang": "en"},
                {"src": "Hello", "tgt": "Bonjour", "src_lang": "en", "tgt_lang": "fr"},
                {"src": "Bye", "tgt": "Adiós", "src_lang": "en", "tgt_lang": "es"},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    assert [(p.src, p.tgt) for p in source_pairs(str(f), "es")] == [("Hello", "Hola"), ("Bye", "Adiós")]
    a, b = tmp_path / "t.en", tmp_path / "t.es"
    a.write_text("Open\n", encoding="utf-8")
    b.write_text("Abrir\n", encoding="utf-8")
    assert [(p.src, p.tgt) for p in source_pairs(f"text:{a},{b}", "es")] == [("Open", "Abrir")]
    with pytest.raises(InputError, match="unknown source 'nope'"):
        list(source_pairs("nope", "es"))


def test_available_lists_gettext_per_language(tmp_path):
    from polyalign.data.corpora import available

    write_mo(tmp_path / "es" / "LC_MESSAGES" / "a.mo", {"Open file": "Abrir archivo", "Save": "Guardar"})
    write_mo(tmp_path / "fr" / "LC_MESSAGES" / "a.mo", {"Open file": "Ouvrir"})
    rows = [r for r in available("es", [str(tmp_path)]) if r["source"] == "gettext"]
    assert rows == [{"source": "gettext", "lang": "es", "pairs": 2, "detail": "1 catalogs"}]
    everything = available(None, [str(tmp_path)])
    assert {(r["lang"], r["pairs"]) for r in everything if r["source"] == "gettext"} == {("es", 2), ("fr", 1)}
