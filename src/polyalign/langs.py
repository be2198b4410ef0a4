"""Language codes and names.

polyalign names a language by its ISO 639-1 code where one exists (``es``, ``zh``), or by a
gettext-style locale (``pt_BR``, ``zh_TW``) when the variety matters. FLORES-200 codes
(``spa_Latn``) map to and from these. The one loader of the offline language identifier (langid)
lives here too. This module imports nothing heavy (langid and numpy load on first use).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable
from typing import Any

from polyalign.io import InputError

# code: (English name, FLORES-200 code, script)
_LANGS: dict[str, tuple[str, str, str]] = {
    "af": ("Afrikaans", "afr_Latn", "Latn"),
    "am": ("Amharic", "amh_Ethi", "Ethi"),
    "ar": ("Arabic", "arb_Arab", "Arab"),
    "as": ("Assamese", "asm_Beng", "Beng"),
    "az": ("Azerbaijani", "azj_Latn", "Latn"),
    "be": ("Belarusian", "bel_Cyrl", "Cyrl"),
    "bg": ("Bulgarian", "bul_Cyrl", "Cyrl"),
    "bn": ("Bengali", "ben_Beng", "Beng"),
    "bs": ("Bosnian", "bos_Latn", "Latn"),
    "ca": ("Catalan", "cat_Latn", "Latn"),
    "cs": ("Czech", "ces_Latn", "Latn"),
    "cy": ("Welsh", "cym_Latn", "Latn"),
    "da": ("Danish", "dan_Latn", "Latn"),
    "de": ("German", "deu_Latn", "Latn"),
    "el": ("Greek", "ell_Grek", "Grek"),
    "en": ("English", "eng_Latn", "Latn"),
    "eo": ("Esperanto", "epo_Latn", "Latn"),
    "es": ("Spanish", "spa_Latn", "Latn"),
    "et": ("Estonian", "est_Latn", "Latn"),
    "eu": ("Basque", "eus_Latn", "Latn"),
    "fa": ("Persian", "pes_Arab", "Arab"),
    "fi": ("Finnish", "fin_Latn", "Latn"),
    "fr": ("French", "fra_Latn", "Latn"),
    "ga": ("Irish", "gle_Latn", "Latn"),
    "gl": ("Galician", "glg_Latn", "Latn"),
    "gu": ("Gujarati", "guj_Gujr", "Gujr"),
    "he": ("Hebrew", "heb_Hebr", "Hebr"),
    "hi": ("Hindi", "hin_Deva", "Deva"),
    "hr": ("Croatian", "hrv_Latn", "Latn"),
    "hu": ("Hungarian", "hun_Latn", "Latn"),
    "hy": ("Armenian", "hye_Armn", "Armn"),
    "id": ("Indonesian", "ind_Latn", "Latn"),
    "is": ("Icelandic", "isl_Latn", "Latn"),
    "it": ("Italian", "ita_Latn", "Latn"),
    "ja": ("Japanese", "jpn_Jpan", "Jpan"),
    "ka": ("Georgian", "kat_Geor", "Geor"),
    "kk": ("Kazakh", "kaz_Cyrl", "Cyrl"),
    "km": ("Khmer", "khm_Khmr", "Khmr"),
    "kn": ("Kannada", "kan_Knda", "Knda"),
    "ko": ("Korean", "kor_Hang", "Hang"),
    "ky": ("Kyrgyz", "kir_Cyrl", "Cyrl"),
    "lo": ("Lao", "lao_Laoo", "Laoo"),
    "lt": ("Lithuanian", "lit_Latn", "Latn"),
    "lv": ("Latvian", "lvs_Latn", "Latn"),
    "mk": ("Macedonian", "mkd_Cyrl", "Cyrl"),
    "ml": ("Malayalam", "mal_Mlym", "Mlym"),
    "mn": ("Mongolian", "khk_Cyrl", "Cyrl"),
    "mr": ("Marathi", "mar_Deva", "Deva"),
    "ms": ("Malay", "zsm_Latn", "Latn"),
    "my": ("Burmese", "mya_Mymr", "Mymr"),
    "nb": ("Norwegian Bokmål", "nob_Latn", "Latn"),
    "ne": ("Nepali", "npi_Deva", "Deva"),
    "nl": ("Dutch", "nld_Latn", "Latn"),
    "nn": ("Norwegian Nynorsk", "nno_Latn", "Latn"),
    "oc": ("Occitan", "oci_Latn", "Latn"),
    "pa": ("Punjabi", "pan_Guru", "Guru"),
    "pl": ("Polish", "pol_Latn", "Latn"),
    "ps": ("Pashto", "pbt_Arab", "Arab"),
    "pt": ("Portuguese", "por_Latn", "Latn"),
    "ro": ("Romanian", "ron_Latn", "Latn"),
    "ru": ("Russian", "rus_Cyrl", "Cyrl"),
    "si": ("Sinhala", "sin_Sinh", "Sinh"),
    "sk": ("Slovak", "slk_Latn", "Latn"),
    "sl": ("Slovenian", "slv_Latn", "Latn"),
    "sq": ("Albanian", "als_Latn", "Latn"),
    "sr": ("Serbian", "srp_Cyrl", "Cyrl"),
    "sv": ("Swedish", "swe_Latn", "Latn"),
    "sw": ("Swahili", "swh_Latn", "Latn"),
    "ta": ("Tamil", "tam_Taml", "Taml"),
    "te": ("Telugu", "tel_Telu", "Telu"),
    "tg": ("Tajik", "tgk_Cyrl", "Cyrl"),
    "th": ("Thai", "tha_Thai", "Thai"),
    "tk": ("Turkmen", "tuk_Latn", "Latn"),
    "tl": ("Tagalog", "tgl_Latn", "Latn"),
    "tr": ("Turkish", "tur_Latn", "Latn"),
    "ug": ("Uyghur", "uig_Arab", "Arab"),
    "uk": ("Ukrainian", "ukr_Cyrl", "Cyrl"),
    "ur": ("Urdu", "urd_Arab", "Arab"),
    "uz": ("Uzbek", "uzn_Latn", "Latn"),
    "vi": ("Vietnamese", "vie_Latn", "Latn"),
    "wa": ("Walloon", "wln_Latn", "Latn"),
    "xh": ("Xhosa", "xho_Latn", "Latn"),
    "yo": ("Yoruba", "yor_Latn", "Latn"),
    "zh": ("Chinese", "zho_Hans", "Hans"),
    "zu": ("Zulu", "zul_Latn", "Latn"),
}

# Regional varieties that users name explicitly.
_VARIANTS: dict[str, tuple[str, str, str]] = {
    "pt_BR": ("Brazilian Portuguese", "por_Latn", "Latn"),
    "zh_CN": ("Simplified Chinese", "zho_Hans", "Hans"),
    "zh_TW": ("Traditional Chinese", "zho_Hant", "Hant"),
    "zh_HK": ("Traditional Chinese (Hong Kong)", "yue_Hant", "Hant"),
    "en_GB": ("British English", "eng_Latn", "Latn"),
    "sr@latin": ("Serbian (Latin)", "srp_Latn", "Latn"),
}

_FLORES_TO_CODE = {v[1]: k for k, v in _LANGS.items()}
_FLORES_TO_CODE["zho_Hant"] = "zh_TW"

_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?(@[a-z]+)?$")
_SCRIPT = re.compile(r"^([A-Za-z]{2,3})_([A-Za-z]{4})(?:_([A-Za-z]{2}))?$")  # BCP 47: zh-Hans, sr-Latn, zh-Hant-TW


def _with_script(code: str, c: str) -> str:
    """The one polyalign code of a BCP 47 tag with a script subtag (``zh-Hans`` → ``zh``, ``sr-Latn`` →
    ``sr@latin``, ``zh-Hant-HK`` → ``zh_HK``); a script that several codes share is named with them."""
    m = _SCRIPT.match(c)
    assert m is not None
    lang, script, region = m.group(1).lower(), m.group(2).title(), (m.group(3) or "").upper()
    table = {**_LANGS, **_VARIANTS}
    same = [k for k, v in table.items() if re.split("[_@]", k)[0] == lang and v[2] == script]
    if region and f"{lang}_{region}" in same:
        return f"{lang}_{region}"
    if lang in same:
        return lang
    if len(same) == 1:
        return same[0]
    if same:
        raise InputError(f"unknown language code {code!r} (did you mean {' or '.join(repr(k) for k in same)}?)")
    raise InputError(f"unknown language code {code!r}")


@functools.lru_cache(maxsize=4096)
def normalize(code: str) -> str:
    """Canonical polyalign code for ``code``: ISO 639-1, a locale, or a FLORES-200 code.

    >>> normalize("spa_Latn"), normalize("ES"), normalize("pt-br")
    ('es', 'es', 'pt_BR')
    """
    c = code.strip()
    if c in _FLORES_TO_CODE:
        return _FLORES_TO_CODE[c]
    c = c.replace("-", "_")
    if _SCRIPT.match(c):
        return _with_script(code, c)
    if "_" in c:
        lang, _, region = c.partition("_")
        c = f"{lang.lower()}_{region.upper()}" if "@" not in region else f"{lang.lower()}_{region}"
    else:
        c = c.lower()
    if c in _LANGS or c in _VARIANTS or _LOCALE.match(c):
        return c
    raise InputError(f"unknown language code {code!r}")


def unknown(code: str) -> str | None:
    """Why ``code`` names no language polyalign knows (``None`` when it does), with a suggestion.

    Known: the codes of this module, their regional varieties (``es_MX``), FLORES-200 codes, and
    any ISO 639 code ``pycountry`` knows when it is installed (``ast``).

    >>> unknown("es_MX") is None, unknown("french"), unknown("jp"), unknown("xx")
    (True, "unknown language code 'french' (did you mean 'fr'?)", "unknown language code 'jp' (did you mean 'ja'?)", \
"unknown language code 'xx'")
    """
    try:
        c = normalize(code)
    except InputError as e:
        if _SCRIPT.match(str(code).strip().replace("-", "_")):
            return e.message
        c = None
    if c is not None:
        b = c.split("_")[0].split("@")[0]
        region = c.partition("_")[2][:2]
        if c not in _VARIANTS and region and not _country(region):  # es_EN: a pair written with '_'?
            return f"unknown language code {code!r} ({region} is no country code; a pair is written src-tgt)"
        if c in _VARIANTS or b in _LANGS:
            return None
        if b in _ALPHA3:  # a three-letter code of a language known by its two-letter one
            return f"unknown language code {code!r} (did you mean {_ALPHA3[b]!r}?)"
        if _iso639(b):
            return None
    key = str(code).strip().lower()
    names = {v[0].lower(): k for k, v in _LANGS.items()}
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.8)
    hint = _MISTAKES.get(key) or (names[close[0]] if close else None)
    return f"unknown language code {code!r}" + (f" (did you mean {hint!r}?)" if hint else "")


def check(code: str) -> str:
    """The canonical code of a language polyalign knows; else :class:`InputError` naming ``code``."""
    msg = unknown(code)
    if msg is not None:
        raise InputError(msg)
    return normalize(code)


def check_all(codes: list[str] | tuple[str, ...], what: str) -> list[str]:
    """:func:`check` each code; the error names ``what`` (``data.languages``, ``--langs``)."""
    out = []
    for code in codes:
        msg = unknown(code)
        if msg is not None:
            raise InputError(f"{what}: {msg}")
        out.append(normalize(code))
    return out


# Country codes and old codes people write for a language.
_MISTAKES = {
    "jp": "ja",
    "cn": "zh",
    "gr": "el",
    "cz": "cs",
    "dk": "da",
    "se": "sv",
    "ua": "uk",
    "kr": "ko",
    "vn": "vi",
    "ir": "fa",
    "sp": "es",
    "iw": "he",
    "in": "id",
    "br": "pt_BR",
    "tw": "zh_TW",
    "rs": "sr",
}
_ALPHA3 = {v[1].split("_")[0]: k for k, v in _LANGS.items()}
for _k in list(_ALPHA3):
    if _k in _LANGS:
        del _ALPHA3[_k]


@functools.lru_cache(maxsize=1024)
def _country(code: str) -> bool:
    """``code`` is an ISO 3166 country code (every code passes when ``pycountry`` is not installed)."""
    try:
        import pycountry
    except ImportError:
        return True
    return pycountry.countries.get(alpha_2=code) is not None


@functools.lru_cache(maxsize=1024)
def _iso639(code: str) -> bool:
    try:
        import pycountry
    except ImportError:
        return False
    field = {2: "alpha_2", 3: "alpha_3"}.get(len(code))
    return field is not None and pycountry.languages.get(**{field: code}) is not None


def base(code: str) -> str:
    """Language part of a code: ``pt_BR`` → ``pt``."""
    return normalize(code).split("_")[0].split("@")[0]


def name(code: str) -> str:
    """English name of a language, for prompts and reports.

    >>> name("es"), name("zh_TW")
    ('Spanish', 'Traditional Chinese')
    """
    c = normalize(code)
    if c in _VARIANTS:
        return _VARIANTS[c][0]
    if c in _LANGS:
        return _LANGS[c][0]
    b = base(c)
    if b in _LANGS:
        return _LANGS[b][0]
    return c


def script(code: str) -> str:
    """ISO 15924 script of a language's usual writing (``Latn``, ``Hans``, ``Arab`` ...)."""
    c = normalize(code)
    entry = _VARIANTS.get(c) or _LANGS.get(c) or _LANGS.get(base(c))
    return entry[2] if entry else "Latn"


def flores(code: str) -> str:
    """FLORES-200 code of a language (``es`` → ``spa_Latn``)."""
    c = normalize(code)
    entry = _VARIANTS.get(c) or _LANGS.get(c) or _LANGS.get(base(c))
    if entry is None:
        raise InputError(f"no FLORES-200 code known for {code!r}")
    return entry[1]


def known() -> list[str]:
    """Every code with a known name."""
    return sorted(_LANGS) + sorted(_VARIANTS)


# ---------------------------------------------------------------------------------------------
# The offline language identifier (langid 1.1.6, 97 languages, its model inside the wheel)

LANGID_VERSION = "langid-1.1.6"

# Widely used languages: the default candidate set of `polyalign score fidelity`, and the
# languages a model is assumed to drift into in a run. Regional close relatives of these (gl, ca,
# oc, an, ast, lb, ...) are left out on purpose: on short strings a free choice confuses them with
# their big neighbour (Spanish interface strings called Galician), so they count only when named.
# fmt: off
COMMON_LANGUAGES = (
    "ar", "bn", "de", "el", "en", "es", "fa", "fr", "he", "hi", "id", "it", "ja",
    "ko", "nl", "pl", "pt", "ru", "sv", "sw", "th", "tr", "uk", "ur", "vi", "zh",
)
# fmt: on


@functools.lru_cache(maxsize=1)
def _langid_model() -> Any:
    """langid's full model, decoded once per process (it takes about a second)."""
    try:
        from langid.langid import LanguageIdentifier, model
    except ImportError:
        raise InputError("language identification needs langid: pip install 'polyalign[langid]'") from None
    return LanguageIdentifier.from_modelstring(model, norm_probs=False)


# The 97 codes langid 1.1.6 knows (a test holds this equal to its model), so that checking a
# code costs nothing: decoding the model takes seconds.
LANGID_CODES = frozenset(
    (
        "af",
        "am",
        "an",
        "ar",
        "as",
        "az",
        "be",
        "bg",
        "bn",
        "br",
        "bs",
        "ca",
        "cs",
        "cy",
        "da",
        "de",
        "dz",
        "el",
        "en",
        "eo",
        "es",
        "et",
        "eu",
        "fa",
        "fi",
        "fo",
        "fr",
        "ga",
        "gl",
        "gu",
        "he",
        "hi",
        "hr",
        "ht",
        "hu",
        "hy",
        "id",
        "is",
        "it",
        "ja",
        "jv",
        "ka",
        "kk",
        "km",
        "kn",
        "ko",
        "ku",
        "ky",
        "la",
        "lb",
        "lo",
        "lt",
        "lv",
        "mg",
        "mk",
        "ml",
        "mn",
        "mr",
        "ms",
        "mt",
        "nb",
        "ne",
        "nl",
        "nn",
        "no",
        "oc",
        "or",
        "pa",
        "pl",
        "ps",
        "pt",
        "qu",
        "ro",
        "ru",
        "rw",
        "se",
        "si",
        "sk",
        "sl",
        "sq",
        "sr",
        "sv",
        "sw",
        "ta",
        "te",
        "th",
        "tl",
        "tr",
        "ug",
        "uk",
        "ur",
        "vi",
        "vo",
        "wa",
        "xh",
        "zh",
        "zu",
    )
)


# Codes langid gives for one written language: Norwegian text may come back as nb, nn or no.
_LANGID_EQUIVALENT = {"nb": {"nb", "no", "nn"}, "nn": {"nn", "no", "nb"}, "no": {"no", "nb", "nn"}}


def langid_codes_for(lang: str) -> frozenset[str]:
    """The identifier's codes that count as ``lang`` (its base code, and its equivalents).

    >>> sorted(langid_codes_for("es_MX")), sorted(langid_codes_for("nb"))
    (['es'], ['nb', 'nn', 'no'])
    """
    target = base(lang)
    return frozenset(_LANGID_EQUIVALENT.get(target, {target}))


def langid_languages() -> frozenset[str]:
    """Every language code the offline identifier knows."""
    return LANGID_CODES


@functools.lru_cache(maxsize=64)
def _restricted(candidates: frozenset[str] | None) -> Any:
    full = _langid_model()
    if candidates is None:
        return full
    # A fresh instance over the same (read-only) arrays: set_languages() trims only this one, so a
    # restricted identifier never leaks into another candidate set or into the full one.
    ident = type(full)(
        full.nb_ptc, full.nb_pc, full.nb_numfeats, full.nb_classes, full.tk_nextmove, full.tk_output, norm_probs=False
    )
    ident.set_languages(sorted(candidates))
    return ident


def language_identifier(candidates: Iterable[str] | None = None) -> Any:
    """langid's identifier choosing among ``candidates`` only (all 97 languages when ``None``).

    One instance per candidate set, cached, never changed after it is made, so calls from several
    threads with different sets do not interfere. Unknown codes are an :class:`InputError`.

    >>> language_identifier(["en", "es"]).classify("Guardar los cambios")[0]
    'es'
    """
    if candidates is None:
        return _restricted(None)
    codes = frozenset(base(c) for c in candidates)
    unknown = sorted(codes - langid_languages())
    if unknown:
        raise InputError(f"the language identifier (langid) does not know {', '.join(map(repr, unknown))}")
    return _restricted(codes)
