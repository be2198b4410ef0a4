from collections import Counter

from polyalign.data import filters


def test_placeholders_printf_python_brace_and_literal_percent():
    assert filters.placeholders("Copy %s to %(dest)s in {0} at 100%%") == Counter({"%s": 1, "%(dest)s": 1, "{0}": 1})
    assert filters.placeholders("%5.2f MB, %ld items, %1$s") == Counter({"%f": 1, "%d": 1, "%s": 1})
    assert filters.placeholders("{{literal}} and {name:>8}") == Counter({"{name}": 1})


def test_placeholders_match_allows_reordering_but_not_loss():
    assert filters.placeholders_match("Copy %s to %d", "Copiar %2$d a %1$s")
    assert filters.placeholders_match("{count} files in {dir}", "{dir}: {count} archivos")
    assert not filters.placeholders_match("Copy %s to %s", "Copiar %s")
    assert not filters.placeholders_match("%(name)s", "%(nombre)s")


def test_strip_accelerators():
    assert filters.strip_accelerators("_File", "_Archivo") == ("File", "Archivo")
    assert filters.strip_accelerators("Pre_ferences", "Prefere_ncias") == ("Preferences", "Preferencias")
    assert filters.strip_accelerators("&Open", "&Abrir") == ("Open", "Abrir")
    assert filters.strip_accelerators("Tom & Jerry &amp; co", "Tom & Jerry &amp; co") == (
        "Tom & Jerry &amp; co",
        "Tom & Jerry &amp; co",
    )
    # an identifier kept verbatim on both sides is not a mnemonic
    assert filters.strip_accelerators("unknown option user_name", "opción desconocida user_name") == (
        "unknown option user_name",
        "opción desconocida user_name",
    )


def test_dedup_key_ignores_case_space_and_trailing_punctuation():
    assert filters.dedup_key("Open File...") == filters.dedup_key("  open   file")
    assert filters.dedup_key("Open file") != filters.dedup_key("Open files")


def test_near_dup_key_ignores_numbers_and_punctuation_only():
    assert filters.near_dup_key("Page 1 of 10") == filters.near_dup_key("page 2, of 12!") == "pageof"
    assert filters.near_dup_key("Open file") != filters.near_dup_key("Open files")
    assert filters.near_dup_key("打开 3 个文件") == "打开个文件"


def test_length_ratio():
    assert filters.length_ratio_ok("Open the file", "Abrir el archivo", 2.0)
    assert not filters.length_ratio_ok("Open the file", "Abrir el archivo que está seleccionado ahora mismo", 2.0)
    assert filters.length_ratio_ok("OK", "Aceptar", 2.0)  # both short: not judged
    assert not filters.length_ratio_ok("OK", "Aceptar todo", 2.0)


def test_language_id_top_guesses_and_unjudged_cases():
    lid = filters.LanguageId(top=1)
    assert lid.matches("Abrir el archivo seleccionado en una ventana nueva", "es")
    assert not lid.matches("Ouvrir le fichier sélectionné dans une nouvelle fenêtre", "es")
    assert lid.matches("Ouvrir", "es")  # too few letters to judge
    assert lid.matches("Some text in whatever language", "xx")  # a language langid does not know
    assert not lid.judgeable("Ouvrir", "fr") and lid.judgeable("Ouvrir le fichier", "fr")
