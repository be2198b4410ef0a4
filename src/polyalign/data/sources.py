"""Readers of parallel text that exists offline on these machines.

The skeleton reads the system's gettext message catalogs (``*.mo``): every installed program's
English user-interface strings with their translations, ~50k English→Spanish pairs on a typical
Debian box. Which catalogs exist depends on the installed packages, so everything here reports
what it found rather than assuming.

The catalogs are mostly GPL/LGPL: polyalign reads them at run time and never ships them.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator
from pathlib import Path

from polyalign import langs
from polyalign.data.records import ParallelPair
from polyalign.io import InputError

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
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"not a readable gettext catalog ({e})", path) from None
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
