"""LLM as judge, pairwise (MI-Eval style), over any OpenAI-compatible chat-completions endpoint.

Two systems answer the same instruction; a judge model sees the instruction and both answers and
scores each from 1 to 10. Judges favour whichever answer they read first, so every pair is asked
twice, A first then B first, and each system's score is the mean of its two scores. A pair is a
win, tie or loss for A by those means; *consistency* is how often the two orders agree.

Replies are parsed leniently (``A: 7 B: 5``, ``[[7, 5]]``, ``Assistant A: 7/10`` ...). A reply
that holds no scores, or a request that fails after its retries, is *junk*: counted, reported,
and left out of the win rate, never a crash. The API key is read from the environment variable
the user names and is sent only in the request header: never logged, never written.

Requests go through :class:`polyalign.http.ChatClient`, the client translation uses; no torch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyalign.http import ChatClient, EndpointError
from polyalign.io import InputError, iter_jsonl, write_jsonl
from polyalign.outputs import check_output_file

JUDGE_TEMPLATE_VERSION = "judge_pairwise_v1"

# Written for polyalign.
JUDGE_SYSTEM_V1 = (
    "You are a strict, impartial judge of answers to user instructions. The user may write in any "
    "language; a good answer follows the instruction, is correct and helpful, and is written in the "
    "language of the instruction. Length alone is not quality."
)
JUDGE_USER_V1 = (
    "[Instruction]\n{instruction}\n\n[Answer A]\n{first}\n\n[Answer B]\n{second}\n\n"
    "Score each answer from 1 (useless) to 10 (excellent). Reply with exactly one line in the form\n"
    "A: <score> B: <score>"
)


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible chat-completions endpoint."""

    url: str
    """Base URL, e.g. ``http://127.0.0.1:8000/v1``; requests go to ``{url}/chat/completions``."""
    model: str
    """Model name the endpoint serves."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (none: no Authorization header)."""
    timeout: float = 60.0
    """Seconds to wait for one reply."""
    retries: int = 2
    """Extra attempts after a failed request (HTTP 429/5xx or a network error)."""
    max_tokens: int = 64
    """Longest judge reply."""

    def client(self) -> ChatClient:
        """The shared client with this endpoint's settings (its key checked now, read per request)."""
        return ChatClient(
            self.url,
            self.model,
            self.api_key_env,
            timeout=self.timeout,
            max_retries=self.retries,
            backoff=0.5,
            concurrency=4,
            what="the judge",
            key_setting="--api-key-env, the judge's API key",
        )

    def chat(self, messages: list[dict[str, str]], client: ChatClient | None = None) -> str:
        """The judge's reply text; :class:`JudgeError` when the request fails for good."""
        try:
            return (client or self.client()).chat(messages, temperature=0.0, max_tokens=self.max_tokens)
        except EndpointError as e:
            raise JudgeError(_reason(str(e))) from None


def _reason(message: str) -> str:
    """``HTTP 401`` from ``the judge answered HTTP 401 Unauthorized``; the retry reason otherwise."""
    m = re.search(r"answered (HTTP \d+)", message) or re.search(r"\((.*)\)$", message)
    return m.group(1) if m else message


class JudgeError(Exception):
    """A judge request that failed (the message never holds the API key)."""


_PAIR_PATTERNS = (
    re.compile(
        r"\bA\s*\**\s*[:=\-]?\s*\**\s*(\d+(?:\.\d+)?)(?:\s*/\s*10)?.*?\bB\s*\**\s*[:=\-]?\s*\**\s*(\d+(?:\.\d+)?)",
        re.S | re.I,
    ),
    re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)\s*\]\]"),
)


def parse_scores(reply: str) -> tuple[float, float] | None:
    """The two scores (first answer, second answer) in a judge reply, or ``None`` for junk.

    >>> parse_scores("A: 7 B: 5"), parse_scores("Assistant A: 8/10, Assistant B: 9/10"), parse_scores("[[3, 6]]")
    ((7.0, 5.0), (8.0, 9.0), (3.0, 6.0))
    >>> parse_scores("Both answers are fine."), parse_scores("A: 70 B: 5")
    (None, None)
    """
    for pattern in _PAIR_PATTERNS:
        m = pattern.search(reply)
        if m:
            a, b = float(m.group(1)), float(m.group(2))
            if 1.0 <= a <= 10.0 and 1.0 <= b <= 10.0:
                return a, b
    return None


def judge_messages(instruction: str, first: str, second: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": JUDGE_SYSTEM_V1},
        {"role": "user", "content": JUDGE_USER_V1.format(instruction=instruction, first=first, second=second)},
    ]


def _ask(endpoint: Endpoint, client: ChatClient, messages: list[dict[str, str]]) -> tuple[str | None, str | None]:
    try:
        return endpoint.chat(messages, client), None
    except JudgeError as e:
        return None, str(e)


def compare(
    endpoint: Endpoint,
    items: Sequence[dict[str, str]],
    workers: int = 4,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Judge ``items`` (``id``, ``instruction``, ``a``, ``b``) in both orders.

    Returns the summary (wins/ties/losses for A, win rate in percent with ties as half, mean
    scores, consistency, junk and error counts) and one verdict per item.
    """
    client = endpoint.client()  # a missing key is the user's error: said here, before anything is sent
    client.concurrency = max(1, workers)
    jobs = []
    for it in items:
        jobs.append(judge_messages(it["instruction"], it["a"], it["b"]))
        jobs.append(judge_messages(it["instruction"], it["b"], it["a"]))
    replies: list[tuple[str | None, str | None]] = [(None, None)] * len(jobs)
    for i, reply in client.map(lambda m: _ask(endpoint, client, m), jobs):
        replies[i] = reply
    client.close()
    verdicts = []
    for k, it in enumerate(items):
        (r1, e1), (r2, e2) = replies[2 * k], replies[2 * k + 1]
        s1 = parse_scores(r1) if r1 is not None else None
        s2 = parse_scores(r2) if r2 is not None else None
        a_scores = [s for s in (s1[0] if s1 else None, s2[1] if s2 else None) if s is not None]
        b_scores = [s for s in (s1[1] if s1 else None, s2[0] if s2 else None) if s is not None]
        v: dict[str, Any] = {
            "id": it["id"],
            "replies": [r1, r2],
            "errors": [e1, e2],
            "junk": [r1 is not None and s1 is None, r2 is not None and s2 is None],
        }
        if a_scores:
            a, b = sum(a_scores) / len(a_scores), sum(b_scores) / len(b_scores)
            v.update(score_a=a, score_b=b, winner="A" if a > b else "B" if b > a else "tie")
            if s1 and s2:
                v["consistent"] = _sign(s1[0] - s1[1]) == _sign(s2[1] - s2[0])
        else:
            v["winner"] = None
        verdicts.append(v)
    return verdict_summary(verdicts), verdicts


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def verdict_summary(verdicts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Win/tie/loss counts for A, win rate (ties count half), mean scores, junk and errors."""
    judged = [v for v in verdicts if v.get("winner") is not None]
    wins = sum(v["winner"] == "A" for v in judged)
    ties = sum(v["winner"] == "tie" for v in judged)
    both = [v for v in judged if "consistent" in v]
    return {
        "n": len(verdicts),
        "judged": len(judged),
        "wins": wins,
        "ties": ties,
        "losses": len(judged) - wins - ties,
        "win_rate": 100.0 * (wins + 0.5 * ties) / len(judged) if judged else None,
        "mean_score_a": sum(v["score_a"] for v in judged) / len(judged) if judged else None,
        "mean_score_b": sum(v["score_b"] for v in judged) / len(judged) if judged else None,
        "consistency": 100.0 * sum(v["consistent"] for v in both) / len(both) if both else None,
        "junk_replies": sum(sum(v["junk"]) for v in verdicts),
        "failed_requests": sum(e is not None for v in verdicts for e in v["errors"]),
        "template": JUDGE_TEMPLATE_VERSION,
    }


def _answers(path: str | Path) -> dict[str, dict[str, Any]]:
    out = {}
    for n, r in iter_jsonl(path):
        if "id" not in r or "output" not in r:
            raise InputError("each line needs 'id' and 'output'", path, n)
        out[str(r["id"])] = r
    if not out:
        raise InputError("is empty: no answers to judge", path)
    return out


VERDICT_FIELDS = ("id", "replies", "errors", "junk", "winner")
"""What every row of a verdict file (``score judge --out``) holds: how an earlier one is recognised."""


def check_verdicts_out(path: str | Path) -> None:
    """Refuse, before any work, an output file that exists and is not verdicts polyalign wrote.

    Re-running the same command replaces its own earlier verdicts (every row has
    :data:`VERDICT_FIELDS`); anything else there (the user's notes, an empty file) is left as it is.
    """
    p = check_output_file(path)
    if p is None or not p.exists():
        return
    try:
        rows = [r for _, r in iter_jsonl(p)]
    except InputError:
        rows = []
    if not rows or not all(all(k in r for k in VERDICT_FIELDS) for r in rows):
        raise InputError(
            "exists and is not a verdict file polyalign wrote: choose another output file, or move this one "
            "away (nothing was changed)",
            p,
        )


def judge_files(
    a_path: str | Path, b_path: str | Path, endpoint: Endpoint, out_path: str | Path | None = None
) -> dict[str, Any]:
    """Judge two answer files (JSONL: ``id``, ``instruction`` [, ``input``], ``output``) by id. Two
    ``polyalign eval`` sample files of one task work as they are: without an ``instruction`` the judge is
    shown the ``prompt`` the models were given.

    An ``out_path`` that holds something other than earlier verdicts is refused before any request;
    when every request fails the endpoint is the error (:class:`EndpointError`) and nothing is
    written. Once any request succeeds, failures are counted in the summary instead."""
    if out_path is not None:
        check_verdicts_out(out_path)
    a, b = _answers(a_path), _answers(b_path)
    common = [k for k in a if k in b]
    if not common:
        raise InputError(f"no id in common with {b_path}", a_path)
    items = []
    for k in common:
        instruction = a[k].get("instruction") or b[k].get("instruction") or a[k].get("prompt") or b[k].get("prompt")
        if instruction is None:
            raise InputError(f"id {k!r} has no 'instruction' (nor an evaluation sample's 'prompt')", a_path)
        extra = a[k].get("input") or ""
        items.append(
            {
                "id": k,
                "instruction": f"{instruction}\n\n{extra}" if extra else instruction,
                "a": str(a[k]["output"]),
                "b": str(b[k]["output"]),
            }
        )
    summary, verdicts = compare(endpoint, items)
    if summary["failed_requests"] == 2 * len(items):  # nothing judged: an error, not a result of zeros
        first = next(e for v in verdicts for e in v["errors"] if e is not None)
        raise EndpointError(f"no request succeeded ({summary['failed_requests']} failed: {first})", endpoint.url)
    summary.update(
        a=str(a_path),
        b=str(b_path),
        judge_model=endpoint.model,
        only_in_a=len(a) - len(common),
        only_in_b=len(b) - len(common),
    )
    if out_path is not None:
        write_jsonl(out_path, verdicts)
    return summary
