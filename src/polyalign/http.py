"""The one OpenAI-compatible chat-completions client, for translation and for the judge.

One retry policy for every caller: HTTP 408, 429 and 5xx, timeouts, refused or dropped
connections, truncated bodies and garbled status lines are retried with exponential backoff
(``Retry-After`` honoured, capped at 60 s); a reply without a usable string (``content: null``,
not JSON, no ``choices``) is malformed and retried too; any other 4xx is final at once. Callers
bound concurrency with :meth:`ChatClient.map`. The API key is read from the environment variable
the user names, at request time, and goes only into the ``Authorization`` header: never logged,
never written, never part of an error message.

Built on ``httpx`` rather than the ``openai`` SDK: one POST with explicit timeouts, connection
pooling and typed transport errors is all polyalign needs, and it keeps the retry policy here,
visible and tested, instead of split between an SDK's hidden retries and ours.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from polyalign.io import InputError

T = TypeVar("T")
R = TypeVar("R")

RETRY_STATUS = (408, 429)


class EndpointError(InputError):
    """A request that failed for good (after its retries, or at once for a request the endpoint
    refuses). The message names the endpoint and the reason, never the key."""


def require_key(api_key_env: str | None, key_setting: str) -> None:
    """The variable ``api_key_env`` (named by ``key_setting``) is set, when one is named; its value is
    never read here."""
    if api_key_env and not os.environ.get(api_key_env):
        raise InputError(f"the environment variable {api_key_env} (named by {key_setting}) is not set")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint's base URL, or ``None`` when it can: ``http``/``https`` with
    a host (and, if any, a valid port), no spaces. Checked before any request, so a typo is one
    line rather than every request failing.

    >>> url_problem("http://127.0.0.1:8000/v1") is None, url_problem("notaurl")
    (True, "'notaurl' is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:8000/v1)")
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)
        _ = parts.port  # a port that is not a number raises
    except ValueError:
        ok = False
    return None if ok else f"{url!r} is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:8000/v1)"


class ChatClient:
    """Chat completions at ``{base_url}/chat/completions`` with polyalign's retry policy."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        concurrency: int = 4,
        what: str = "endpoint",
        error: type[EndpointError] = EndpointError,
        key_setting: str = "api_key_env",
    ):
        import httpx

        require_key(api_key_env, key_setting)
        problem = url_problem(base_url)
        if problem is not None:
            raise InputError(f"{what}: {problem}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key_env = api_key_env
        self.max_retries = max(0, max_retries)
        self.backoff = backoff
        self.concurrency = max(1, concurrency)
        self.what, self.error = what, error
        self.stats = {"requests": 0, "retries": 0}
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=self.concurrency))

    def close(self) -> None:
        self._http.close()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key_env:
            headers["Authorization"] = "Bearer " + os.environ.get(self.api_key_env, "")
        return headers

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def chat(self, messages: list[dict[str, str]], temperature: float = 0.0, max_tokens: int | None = None) -> str:
        """The assistant's reply text; :class:`EndpointError` when the request fails for good."""
        import httpx

        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": temperature}
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        for attempt in range(self.max_retries + 1):
            wait = self.backoff * (2**attempt)
            self._count("requests")
            try:
                resp = self._http.post(self.url, json=body, headers=self._headers())
            except httpx.TransportError as e:  # timeouts, connection errors, truncated or garbled replies
                reason = type(e).__name__
            else:
                code = resp.status_code
                if code == 200:
                    content = _content(resp.content)
                    if content is not None:
                        return content
                    reason = "malformed response"
                elif code in RETRY_STATUS or code >= 500:
                    reason = f"HTTP {code}"
                    wait = _retry_after(resp.headers.get("Retry-After"), wait)
                else:
                    raise self.error(f"{self.what} answered HTTP {code} {resp.reason_phrase}", self.url)
            if attempt == self.max_retries:
                raise self.error(f"{self.what} failed after {self.max_retries} retries ({reason})", self.url)
            self._count("retries")
            time.sleep(wait)
        raise AssertionError("unreachable")

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        """``(index, fn(item))`` as they complete, at most ``concurrency`` requests at a time; the
        first failure propagates and cancels what has not started."""
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            try:
                for fut in as_completed(futures):
                    yield futures[fut], fut.result()
            finally:
                for f in futures:
                    f.cancel()


def _content(raw: bytes) -> str | None:
    """The first choice's message text, or ``None`` when the reply holds no usable string.

    >>> _content(b'{"choices": [{"message": {"content": " Hola "}}]}')
    ' Hola '
    >>> _content(b'{"choices": [{"message": {"content": null}}]}') is None
    True
    """
    try:
        content = json.loads(raw.decode("utf-8"))["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError):
        return None
    return content if isinstance(content, str) else None


def _retry_after(value: str | None, default: float) -> float:
    """Seconds a ``Retry-After`` header asks for (capped at 60), else ``default``.

    >>> _retry_after("2", 0.5), _retry_after(None, 0.5), _retry_after("Wed, 21 Oct 2015", 0.5)
    (2.0, 0.5, 0.5)
    """
    if value and value.strip().replace(".", "", 1).isdigit():
        return min(float(value), 60.0)
    return default
