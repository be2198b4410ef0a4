"""The records that flow through polyalign's data stage.

* :class:`ParallelPair`: one sentence and its translation.
* An *example* (what ``data/train.jsonl`` holds) is a plain dict in the ``messages`` form that
  chat tools already read: ``{"id", "messages": [{"role", "content"}, ...], "meta": {...}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class ParallelPair:
    """A source sentence, its translation, their languages, and where the pair came from."""

    src: str
    tgt: str
    src_lang: str
    tgt_lang: str
    origin: str = ""
    """Where it came from, e.g. ``gettext:coreutils``; kept for the manifest's counts."""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def flipped(self) -> ParallelPair:
        return ParallelPair(self.tgt, self.src, self.tgt_lang, self.src_lang, self.origin, self.meta)

    def to_json(self) -> dict[str, Any]:
        return {"src": self.src, "tgt": self.tgt, "src_lang": self.src_lang, "tgt_lang": self.tgt_lang, "origin": self.origin}


def make_example(example_id: str, user: str, assistant: str, meta: dict[str, Any]) -> dict[str, Any]:
    """A single-turn chat example in ``messages`` form."""
    return {
        "id": example_id,
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
        "meta": meta,
    }


def alpaca_user(instruction: str, input_text: str = "") -> str:
    """The user turn of an alpaca record: the instruction, then its input after a blank line.

    >>> alpaca_user("Translate to Spanish.", "Open")
    'Translate to Spanish.\\n\\nOpen'
    """
    return f"{instruction}\n\n{input_text}" if input_text else instruction


def validate_messages(messages: Any) -> str | None:
    """Why ``messages`` is not a usable conversation, or ``None`` when it is.

    Usable: a non-empty list of ``{"role", "content"}`` with string content, roles from
    :data:`ROLES`, and at least one assistant turn (something to learn from).
    """
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return f"messages[{i}] must be an object"
        if m.get("role") not in ROLES:
            return f"messages[{i}].role must be one of {', '.join(ROLES)}, got {m.get('role')!r}"
        if not isinstance(m.get("content"), str):
            return f"messages[{i}].content must be a string"
    if not any(m["role"] == "assistant" for m in messages):
        return "no assistant turn to learn from"
    return None
