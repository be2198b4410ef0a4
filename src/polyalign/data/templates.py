"""Prompt wording, versioned.

A template set, once released under a name ending in ``_v1``, ``_v2`` ..., never changes: data
built with it can be rebuilt byte for byte, and a test pins every set by its sha256. Improve
wording by adding ``translate_v2``, not by editing ``translate_v1``.

Each translation paraphrase is a ``str.format`` pattern over ``src`` (source language name),
``tgt`` (target language name) and ``text`` (the sentence). Which paraphrase an example gets is a
pure function of its source text, so the same pair always gets the same wording, whatever order
the pairs come in.
"""

from __future__ import annotations

import hashlib

# Written for polyalign. Varied on purpose: imperative and question forms, the language named
# before or after the text, with and without a colon or a line break, so that the model learns
# the task and not one fixed string.
TRANSLATE_V1: tuple[str, ...] = (
    "Translate the following text from {src} to {tgt}.\n\n{text}",
    "Translate this {src} sentence into {tgt}:\n{text}",
    "{text}\n\nTranslate the text above into {tgt}.",
    "How would you say this in {tgt}?\n\n{text}",
    "Please render the following {src} text in {tgt}.\n{text}",
    "Give the {tgt} translation of: {text}",
    "{src}: {text}\n{tgt}:",
    "Convert this from {src} into {tgt}, keeping the meaning exact.\n\n{text}",
    "I need this in {tgt}, please:\n{text}",
    "What is the {tgt} for the following?\n{text}",
    "Translate into {tgt}. Reply with the translation only.\n\n{text}",
    "Here is a {src} string from a software interface. Write it in {tgt}.\n\n{text}",
    "Provide a faithful {tgt} version of this {src} text:\n\n{text}",
    "Can you translate \"{text}\" into {tgt}?",
    "{text}\n\nIn {tgt}, that is:",
    "Rewrite the sentence below in {tgt}.\n{text}",
    "Source ({src}): {text}\nTranslate it to {tgt}.",
    "Express the following in natural {tgt}:\n\n{text}",
    "A {tgt} speaker needs to read this. Translate it for them:\n{text}",
    "Translate from {src} to {tgt}:\n{text}",
    "Put this text into {tgt}.\n\n{text}",
    "Turn this {src} into {tgt} and return nothing else:\n{text}",
    "Your task: translate the {src} input into {tgt}.\nInput: {text}",
    "What does the following mean in {tgt}? Answer with a translation.\n\n{text}",
)

TEMPLATES: dict[str, tuple[str, ...]] = {"translate_v1": TRANSLATE_V1}


def pick(template: str, key: str) -> int:
    """Index of the paraphrase that text ``key`` gets under template set ``template``.

    >>> pick("translate_v1", "Open file")
    15
    """
    variants = TEMPLATES[template]
    digest = hashlib.sha256(f"{template}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % len(variants)


def render_translation(template: str, text: str, src: str, tgt: str) -> str:
    """The user turn asking to translate ``text`` from language name ``src`` to ``tgt``.

    >>> render_translation("translate_v1", "Open file", "English", "Spanish")
    'Rewrite the sentence below in Spanish.\\nOpen file'
    """
    pattern = TEMPLATES[template][pick(template, text)]
    return pattern.format(src=src, tgt=tgt, text=text)


def eval_translation_prompt(text: str, src: str, tgt: str) -> str:
    """The fixed prompt used to evaluate translation (``mt_eval_v1``), the same for every model."""
    return f"Translate the following text from {src} to {tgt}. Reply with the translation only.\n\n{text}"


EVAL_TEMPLATE_VERSION = "mt_eval_v1"


def template_sha256(template: str) -> str:
    """sha256 over a template set's paraphrases: what pins a version so it never changes."""
    joined = "\x1e".join(TEMPLATES[template])
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()
