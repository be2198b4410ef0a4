"""Parallel text that exists offline, and the one place a source name becomes pairs.

Offline sources, by name:

* ``gettext``: the system's message catalogs (``*.mo``), every installed program's English
  user-interface strings with their translations (~50k English→Spanish pairs on a Debian box);
* ``pycountry``: the iso-codes catalogs shipped with pycountry (country, language, currency and
  script names);
* ``babel``: CLDR display names from babel (territories, languages, scripts, months, weekdays);
* ``django``: the ``.po`` catalogs inside an installed Django;
* ``bible``: English–Spanish Bible verses (WEB and Reina-Valera) through ``pysword`` when the
  Debian ``sword-text-web`` and ``sword-text-sparv`` packages are installed.

A recipe may also name ``po:PATH`` (a ``.po``/``.mo`` file, or a folder such as a Django locale
tree), a parallel file (JSONL, JSON, TSV, Parquet, Arrow; see :mod:`polyalign.data.records`),
``text:SRC_FILE,TGT_FILE`` (two aligned text files) or ``hf:ORG/NAME[:CONFIG][@SPLIT]``.
:func:`source_pairs` turns any of these into English→X pairs; a build reads them through a
:class:`Supply` (:class:`SourceSupply`: the sources now; :class:`~polyalign.data.frozen.PoolView`: a
frozen pool of them). Which catalogs and packages exist
depends on the machine, so everything reports what it found rather than assuming
(:func:`available`, ``polyalign data sources``).

The catalogs are mostly GPL/LGPL: polyalign reads them at run time and never ships them.
"""

from __future__ import annotations

import ast
import gettext
import importlib.util
import json
import os
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from polyalign import langs
from polyalign.data import records
from polyalign.data.records import ParallelPair
from polyalign.io import InputError, atomic_write, cache_dir
from polyalign.rows import split_columns

DEFAULT_LOCALE_DIRS = ("/usr/share/locale", "/usr/local/share/locale", "/usr/share/locale-langpack")


def read_mo(path: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """Yield ``(msgid, msgstr)`` for every translated message of one ``.mo`` catalog.

    The header entry, untranslated entries and fuzzy-empty ones are skipped; a message with a
    context (``msgctxt``) yields its text without the context; a plural message yields its
    singular form. A file that is not a valid catalog raises :class:`InputError`.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            catalog = gettext.GNUTranslations(f)._catalog
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except (OSError, UnicodeDecodeError, ValueError, IndexError, KeyError, struct.error) as e:
        # gettext's parser fails in all of these ways on broken files (e.g. a bad Plural-Forms header)
        raise InputError(f"not a readable gettext catalog ({type(e).__name__}: {e})", path) from None
    for key, value in catalog.items():
        if isinstance(key, tuple):  # plural: (msgid, n) → keep the singular only
            msgid, n = key
            if n != 0:
                continue
        else:
            msgid = key
        if not msgid or not value:
            continue
        if "\x04" in msgid:  # "context\x04text"
            msgid = msgid.split("\x04", 1)[1]
        yield msgid, value


def locale_catalogs(lang: str, dirs: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """The ``.mo`` files for ``lang`` under the locale folders, sorted for a stable order.

    ``es`` reads ``<dir>/es/LC_MESSAGES/*.mo`` only; name a locale such as ``pt_BR`` to read a
    regional variety.
    """
    code = langs.normalize(lang)
    found: list[Path] = []
    for d in dirs or DEFAULT_LOCALE_DIRS:
        folder = Path(d) / code / "LC_MESSAGES"
        if folder.is_dir():
            found.extend(sorted(folder.glob("*.mo")))
    return found


def gettext_pairs(lang: str, dirs: list[str] | tuple[str, ...] = ()) -> Iterator[ParallelPair]:
    """English→``lang`` pairs from every catalog of ``lang``, raw (not yet cleaned).

    Catalogs that cannot be parsed are skipped: on a system folder one broken file should not
    stop a run (a file the user names explicitly is read with :func:`read_mo`, which raises).
    """
    code = langs.normalize(lang)
    for path in locale_catalogs(code, dirs):
        try:
            items = list(read_mo(path))
        except InputError:
            continue
        origin = f"gettext:{path.stem}"
        for src, tgt in items:
            yield ParallelPair(src=src, tgt=tgt, src_lang="en", tgt_lang=code, origin=origin)


# ---------------------------------------------------------------------------------------------
# .po files (what Django and most projects keep in their source trees)


def read_po(path: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """Yield ``(msgid, msgstr)`` for every translated, non-fuzzy message of a ``.po`` file.

    Handles multi-line strings, C escapes, ``msgctxt`` (dropped), plurals (singular form kept),
    fuzzy entries (skipped: they are guesses) and obsolete ``#~`` entries (skipped). A line that
    is none of these is an :class:`InputError` with its line number.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    entry: dict[str, str] = {}
    fuzzy = False
    field: str | None = None

    def flush() -> Iterator[tuple[str, str]]:
        msgid, msgstr = entry.get("msgid", ""), entry.get("msgstr", entry.get("msgstr[0]", ""))
        if msgid and msgstr and not fuzzy:
            yield msgid, msgstr

    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as e:
                raise InputError(f"not UTF-8 (column {e.start + 1})", path, lineno) from None
            if not line:
                continue
            if line.startswith("#"):
                if line.startswith("#,") and "fuzzy" in line:
                    yield from flush()
                    entry, field, fuzzy = {}, None, True
                continue
            keyword, _, rest = line.partition(" ")
            if line.startswith('"'):
                if field is None:
                    raise InputError("a string continues no keyword", path, lineno)
                entry[field] += _po_string(line, path, lineno)
                continue
            if keyword in ("msgctxt", "msgid") and ("msgstr" in entry or "msgstr[0]" in entry):
                yield from flush()  # a new entry begins
                entry, fuzzy = {}, False
            if keyword not in ("msgctxt", "msgid", "msgid_plural", "msgstr") and not keyword.startswith("msgstr["):
                raise InputError(f"unexpected line in a .po file: {line[:40]!r}", path, lineno)
            field = keyword
            entry[field] = _po_string(rest.strip(), path, lineno)
    yield from flush()


def _po_string(token: str, path: Path, lineno: int) -> str:
    if len(token) < 2 or not token.startswith('"') or not token.endswith('"'):
        raise InputError("expected a double-quoted string", path, lineno)
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError):
        raise InputError("malformed string", path, lineno) from None
    if not isinstance(value, str):
        raise InputError("malformed string", path, lineno)
    return value


def _locale_dirs(code: str) -> list[str]:
    """Folder names a locale tree may use for ``code`` (Django writes ``zh_Hans``)."""
    extra = {"zh": ["zh_Hans", "zh_CN"], "nb": ["nb", "no"], "he": ["he", "iw"]}
    return [code, *extra.get(code, [])]


def po_pairs(path: str | os.PathLike, lang: str, origin_prefix: str = "po") -> Iterator[ParallelPair]:
    """English→``lang`` pairs from a ``.po``/``.mo`` file or every ``<lang>/LC_MESSAGES`` catalog under a folder.

    A single file is taken to be in ``lang``. Inside a folder, files are read in sorted order and
    unreadable ones are an error (the user named this folder).
    """
    code = langs.normalize(lang)
    path = Path(path)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(
            p for name in _locale_dirs(code) for p in path.rglob(f"{name}/LC_MESSAGES/*") if p.suffix in (".po", ".mo")
        )
    else:
        raise InputError("no such file or folder", path)
    for f in files:
        reader = read_po if f.suffix == ".po" else read_mo
        if path.is_dir():  # name the catalog by where it sits: conf/django, contrib/admin/django
            where = "/".join(part for part in f.relative_to(path).parts[:-3] if part != "locale")
            origin = f"{origin_prefix}:{where + '/' if where else ''}{f.stem}"
        else:
            origin = f"{origin_prefix}:{f.stem}"
        for src, tgt in reader(f):
            yield ParallelPair(src, tgt, "en", code, origin)


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def django_pairs(lang: str) -> Iterator[ParallelPair]:
    """English→``lang`` UI strings from the ``.po`` catalogs of an installed Django (BSD)."""
    root = _package_dir("django")
    if root is None:
        return
    yield from po_pairs(root, lang, origin_prefix="django")


# ---------------------------------------------------------------------------------------------
# Name lists: pycountry (iso-codes) and babel (CLDR)


def pycountry_pairs(lang: str) -> Iterator[ParallelPair]:
    """English→``lang`` names of countries, languages, currencies and scripts (iso-codes catalogs)."""
    root = _package_dir("pycountry")
    if root is None:
        return
    code = langs.normalize(lang)
    for name in _locale_dirs(code):
        folder = root / "locales" / name / "LC_MESSAGES"
        if folder.is_dir():
            for mo in sorted(folder.glob("*.mo")):
                for src, tgt in read_mo(mo):
                    yield ParallelPair(src, tgt, "en", code, f"pycountry:{mo.stem}")
            return


def babel_pairs(lang: str) -> Iterator[ParallelPair]:
    """English→``lang`` CLDR display names: territories, languages, scripts, months and weekdays."""
    try:
        from babel import Locale, UnknownLocaleError
    except ImportError:
        return
    code = langs.normalize(lang)
    try:
        loc, en = Locale.parse(code), Locale("en")
    except (UnknownLocaleError, ValueError):
        return
    tables: list[tuple[str, Mapping[Any, str], Mapping[Any, str]]] = [
        ("territories", en.territories, loc.territories),
        ("languages", en.languages, loc.languages),
        ("scripts", en.scripts, loc.scripts),
        ("currencies", en.currencies, loc.currencies),
        ("months", en.months["format"]["wide"], loc.months["format"]["wide"]),
        ("weekdays", en.days["format"]["wide"], loc.days["format"]["wide"]),
    ]
    for what, ours, theirs in tables:
        for key in sorted(ours, key=str):
            if key in theirs and ours[key] and theirs[key]:
                yield ParallelPair(str(ours[key]), str(theirs[key]), "en", code, f"babel:{what}")


# ---------------------------------------------------------------------------------------------
# The Bible through pysword (public-domain WEB and Reina-Valera 1909)

SWORD_DIRS = ("/usr/share/sword", os.path.expanduser("~/.sword"))
BIBLE_MODULES = {"en": "WEB", "es": "SpaRV"}


def bible_pairs(
    lang: str, sword_dirs: list[str] | tuple[str, ...] = (), cache: str | os.PathLike | None = None
) -> Iterator[ParallelPair]:
    """English→``lang`` Bible verses, aligned by reference, when pysword and both modules exist.

    Extraction walks ~31k verses and takes minutes, so the pairs are cached as JSONL (keyed by
    the modules' sizes) and later reads stream the cache.
    """
    code = langs.normalize(lang)
    if code not in BIBLE_MODULES or code == "en" or importlib.util.find_spec("pysword") is None:
        return
    dirs = [d for d in (sword_dirs or SWORD_DIRS) if (Path(d) / "mods.d").is_dir()]
    if not dirs:
        return
    from pysword.modules import SwordModules

    modules = SwordModules(dirs)
    found = modules.parse_modules()
    names = (BIBLE_MODULES["en"], BIBLE_MODULES[code])
    if not all(n in found for n in names):
        return
    key = "-".join(
        f"{n}{_tree_size(Path(modules._module_paths[n]) / found[n]['datapath'].lstrip('./'))}" for n in names
    )
    cache_file = Path(cache) if cache else cache_dir() / "bible" / f"{key}.jsonl"
    if not cache_file.is_file():
        src_bible, tgt_bible = (modules.get_bible_from_module(n) for n in names)
        with atomic_write(cache_file) as f:
            for ref, src, tgt in _aligned_verses(src_bible, tgt_bible):
                f.write(json.dumps({"ref": ref, "src": src, "tgt": tgt}, ensure_ascii=False) + "\n")
    origin = f"bible:{names[0]}+{names[1]}"
    with open(cache_file, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            yield ParallelPair(rec["src"], rec["tgt"], "en", code, origin)


def _aligned_verses(src_bible: Any, tgt_bible: Any) -> Iterator[tuple[str, str, str]]:
    """``(reference, source verse, target verse)`` for every verse present in both bibles."""
    for books in src_bible.get_structure().get_books().values():
        for book in books:
            for chapter, n_verses in enumerate(book.chapter_lengths, start=1):
                verses = list(range(1, n_verses + 1))
                a = list(src_bible.get_iter(books=[book.name], chapters=[chapter], verses=verses))
                b = list(tgt_bible.get_iter(books=[book.name], chapters=[chapter], verses=verses))
                for v, (s, t) in enumerate(zip(a, b), start=1):
                    s, t = " ".join(str(s).split()), " ".join(str(t).split())
                    if s and t:
                        yield f"{book.osis_name} {chapter}:{v}", s, t


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


# ---------------------------------------------------------------------------------------------
# One place where a source name or spec becomes English→X pairs

OFFLINE: dict[str, Callable[[str], Iterator[ParallelPair]]] = {
    "pycountry": pycountry_pairs,
    "babel": babel_pairs,
    "django": django_pairs,
    "bible": bible_pairs,
}
"""Offline sources by name (``gettext`` also takes the recipe's locale folders)."""


def source_pairs(spec: str, lang: str, gettext_dirs: list[str] | tuple[str, ...] = ()) -> Iterator[ParallelPair]:
    """English→``lang`` pairs from one source: an offline name, ``po:PATH``, a file or ``hf:...``.

    Files may hold any direction and several languages: pairs in ``lang``→English are flipped,
    pairs of other languages skipped. TSV and two-text-file sources are read as English→``lang``.
    A file or dataset may carry a column mapping: ``hf:ORG/NAME#src=translation.en,tgt=translation.{lang}``.
    """

    code = langs.normalize(lang)
    if spec == "gettext":
        yield from gettext_pairs(code, gettext_dirs)
        return
    if spec in OFFLINE:
        yield from OFFLINE[spec](code)
        return
    if spec.startswith("po:"):
        yield from po_pairs(spec[3:], code)
        return
    if spec.startswith("text:"):
        parts = spec[5:].split(",")
        if len(parts) != 2:
            raise InputError(f"{spec!r}: use text:SRC_FILE,TGT_FILE")
        yield from records.read_two_files(parts[0], parts[1], "en", code)
        return
    spec, columns = split_columns(spec, langs.base(code))
    if not spec.startswith("hf:") and not Path(spec).exists():
        if "/" in spec or Path(spec).suffix.lower() in (
            ".tsv",
            ".tab",
            ".jsonl",
            ".json",
            ".parquet",
            ".arrow",
            ".txt",
        ):
            raise InputError("no such file (named in data.sources)", spec)
        known = ", ".join(["gettext", *OFFLINE])
        raise InputError(f"unknown source {spec!r}: use one of {known}, po:PATH, text:SRC,TGT, hf:ORG/NAME or a file")
    for p in records.read_parallel(spec, "en", code, columns=columns):
        if p.src_lang == "en" and langs.base(p.tgt_lang) == langs.base(code):
            yield p
        elif p.tgt_lang == "en" and langs.base(p.src_lang) == langs.base(code):
            yield p.flipped()


class Supply(Protocol):
    """Where a build's English→X pairs come from (sources read now, or a frozen pool)."""

    where: str
    """How an error names it."""

    def pairs(self, lang: str) -> Iterable[ParallelPair]:
        """The candidate pairs of ``lang``, in a fixed order; may be called more than once."""
        ...

    def left_out(self, lang: str) -> tuple[Counter, Counter]:
        """``(origins, counts)`` of pairs read but not supplied (the pool's cheap filters)."""
        ...


@dataclass
class SourceSupply:
    """Pairs read from the sources now (``polyalign data`` on its own, and a pool being frozen)."""

    sources: list[str]
    gettext_dirs: list[str] | tuple[str, ...] = ()

    @property
    def where(self) -> str:
        dirs = f" ({', '.join(self.gettext_dirs)})" if self.gettext_dirs else ""
        return f"{', '.join(self.sources)}{dirs}"

    def pairs(self, lang: str) -> Iterator[ParallelPair]:
        for spec in self.sources:
            yield from source_pairs(spec, lang, self.gettext_dirs)

    def left_out(self, lang: str) -> tuple[Counter, Counter]:
        return Counter(), Counter()


def available(lang: str | None = None, gettext_dirs: list[str] | tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """What offline sources exist here: ``{"source", "lang", "pairs", "detail"}`` rows.

    With ``lang``, every source is counted for that language; without, every language that
    gettext, pycountry or Django has a catalog for (the Bible is English–Spanish only).
    """
    rows: list[dict[str, Any]] = []
    if lang is not None:
        codes = [langs.normalize(lang)]
    else:
        found: set[str] = set()
        for d in gettext_dirs or DEFAULT_LOCALE_DIRS:
            if Path(d).is_dir():
                found |= {p.parent.parent.name for p in Path(d).glob("*/LC_MESSAGES/*.mo")}
        root = _package_dir("pycountry")
        if root is not None:
            found |= {p.name for p in (root / "locales").iterdir() if p.is_dir()}
        codes = []
        for c in sorted(found):
            try:
                codes.append(langs.normalize(c))
            except InputError:
                continue  # e.g. locale folders named like "ca@valencia" variants we do not know
        codes = sorted(set(codes) - {"en"})
    for code in codes:
        gettext_n = sum(1 for _ in gettext_pairs(code, gettext_dirs))
        if gettext_n:
            rows.append(
                {
                    "source": "gettext",
                    "lang": code,
                    "pairs": gettext_n,
                    "detail": f"{len(locale_catalogs(code, gettext_dirs))} catalogs",
                }
            )
        for name, fn in OFFLINE.items():
            n = sum(1 for _ in fn(code))
            if n:
                rows.append({"source": name, "lang": code, "pairs": n, "detail": ""})
    return rows
