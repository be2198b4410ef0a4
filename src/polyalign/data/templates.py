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
    'Can you translate "{text}" into {tgt}?',
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

# Question alignment: a question in language {src} becomes its English translation, with no
# answer anywhere. Written for polyalign; the wording always asks for the question translated
# into English (and says not to answer it), in varied forms.
QALIGN_V1: tuple[str, ...] = (
    "Translate this question into English.\n\n{text}",
    "Translate the following {src} question into English. Do not answer it.\n{text}",
    "{text}\n\nTranslate the question above into English.",
    "Here is a question in {src}. Write it in English:\n{text}",
    "What is this question in English? Give only the translation.\n\n{text}",
    "Rewrite this {src} question in English, without answering it:\n{text}",
    "Question ({src}): {text}\nTranslate the question into English.",
    "Please translate this question from {src} to English.\n\n{text}",
    "Render the question below in English. Reply with the English question only.\n{text}",
    "I have a question written in {src}. Translate it into English for me:\n\n{text}",
    "Translate into English (the question only, no answer):\n{text}",
    "{src} question: {text}\nEnglish question:",
)

TEMPLATES: dict[str, tuple[str, ...]] = {"translate_v1": TRANSLATE_V1, "qalign_v1": QALIGN_V1}


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


def render_qalign(template: str, question: str, src: str) -> str:
    """The user turn asking to translate ``question`` (in language name ``src``) into English.

    >>> render_qalign("qalign_v1", "¿Cuál es la capital de Francia?", "Spanish")
    'Spanish question: ¿Cuál es la capital de Francia?\\nEnglish question:'
    """
    pattern = TEMPLATES[template][pick(template, question)]
    return pattern.format(src=src, text=question)


def template_sha256(template: str) -> str:
    """sha256 over a template set's paraphrases: what pins a version so it never changes."""
    joined = "\x1e".join(TEMPLATES[template])
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()
