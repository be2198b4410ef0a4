"""The sets polyalign ships (``src/polyalign/resources/``): each one's version and languages.

The names a task table, a builder or a script needs to say which shipped set and which languages,
without reading the sets themselves (:mod:`polyalign.data.resources` reads them). A version names
files that never change once released: a new version is a new name beside the old one.
"""

from __future__ import annotations

# --- polyinstruct v1 ------------------------------------------------------------------------

POLYINSTRUCT_LANGUAGES = ("en", "es", "fr", "de", "zh", "ar", "ru", "hi", "vi", "tr", "el")
"""Every language of polyinstruct v1, English first."""

POLYINSTRUCT_VERSION = "polyinstruct_v1"

# --- polyqa v1 and v2 ----------------------------------------------------------------------

POLYQA_VERSION = "polyqa_v1"
POLYQA2_VERSION = "polyqa_v2"
"""The harder successor (issue 20): XQuAD-like paragraphs, phrase answers; v1 stays, pinned, for comparability."""
POLYQA_LANGUAGES = ("en", "es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi", "ro")
"""XQuAD's twelve languages, English first: one file each."""

# --- polysent v1 ----------------------------------------------------------------------------

POLYSENT_VERSION = "polysent_v1"
POLYSENT_LANGUAGES = POLYQA_LANGUAGES + ("fr", "ja", "sw", "bn")
"""polyqa's twelve, then four more (fr, ja, sw, bn) far from what a run usually tunes on."""

# --- polymt v1 ------------------------------------------------------------------------------

POLYMT_VERSION = "polymt_v1"
POLYMT_LANGUAGES = POLYSENT_LANGUAGES
"""polysent's sixteen languages, English first: one file each."""
