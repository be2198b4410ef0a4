import pytest

from polyalign import langs
from polyalign.io import InputError


def test_normalize_accepts_iso_locale_and_flores():
    assert langs.normalize("ES") == "es"
    assert langs.normalize("spa_Latn") == "es"
    assert langs.normalize("pt-br") == "pt_BR"
    assert langs.normalize("zho_Hant") == "zh_TW"


def test_names_scripts_flores():
    assert langs.name("es") == "Spanish"
    assert langs.name("zh_TW") == "Traditional Chinese"
    assert langs.script("th") == "Thai"
    assert langs.flores("ar") == "arb_Arab"


def test_unknown_code_is_input_error():
    with pytest.raises(InputError, match="unknown language code 'klingon'"):
        langs.normalize("klingon")
