"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol.

It "translates" deterministically (every letter swapped in case, markers such as ⟦0⟧ kept, a
``<xx>`` tag in front naming the target language), answers batched requests (a JSON array in,
a JSON array out), and injects faults on demand: 429 with Retry-After, 500, and slow responses.
It records every (target language, text) it was asked to translate, so tests can check what a job re-sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_TARGET = re.compile(r" to ([A-Z][a-z]+)")


def fake_translate(text: str, target: str) -> str:
    """What the server answers for ``text``: a language tag, then the text with its case swapped."""
    return f"<{target[:2].lower()}> " + re.sub(r"[^⟦⟧\d]+", lambda m: m.group(0).swapcase(), text)


class ChatServer:
    """Run with ``with ChatServer() as s: ... s.url ...``; set the fault knobs before requests."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.fail_429 = 0  # answer the next N requests with 429
        self.fail_500 = 0  # then the next N with 500
        self.slow_once = 0.0  # sleep this long on the next request (once)
        self.truncate = 0  # cut the body of the next N replies short (Content-Length says more)
        self.garble = 0  # answer the next N requests with a status line that is not HTTP
        self.null_content = 0  # answer the next N requests with "content": null
        self.require_key: str | None = None
        self.requests = 0
        self.texts: Counter = Counter()
        self.auth_headers: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with server._lock:
                    server.requests += 1
                    server.auth_headers.append(self.headers.get("Authorization", ""))
                    if server.fail_429 > 0:
                        server.fail_429 -= 1
                        return self._send(429, {"error": "rate limited"}, {"Retry-After": "0"})
                    if server.fail_500 > 0:
                        server.fail_500 -= 1
                        return self._send(500, {"error": "boom"})
                    slow, server.slow_once = server.slow_once, 0.0
                    if server.garble > 0:
                        server.garble -= 1
                        self.wfile.write(b"HTTX/9 ??? nonsense\r\n\r\n")
                        self.close_connection = True
                        return None
                    truncate = server.truncate > 0
                    server.truncate -= truncate
                    null = server.null_content > 0
                    server.null_content -= null
                if server.require_key and self.headers.get("Authorization") != f"Bearer {server.require_key}":
                    return self._send(401, {"error": "bad key"})
                if slow:
                    time.sleep(slow)
                if server.delay:
                    time.sleep(server.delay)
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": "no such path"})
                system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
                target = _TARGET.search(system)
                target_name = target.group(1) if target else "Xx"
                if "JSON array" in system:
                    items = json.loads(user)
                    with server._lock:
                        server.texts.update((target_name, t) for t in items)
                    content = json.dumps([fake_translate(t, target_name) for t in items], ensure_ascii=False)
                else:
                    with server._lock:
                        server.texts[(target_name, user)] += 1
                    content = fake_translate(user, target_name)
                self._send(
                    200,
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": None if null else content},
                                "finish_reason": "stop",
                            }
                        ],
                    },
                    truncate=truncate,
                )

            def _send(self, code, doc, headers=None, truncate=False):
                data = json.dumps(doc, ensure_ascii=False).encode()
                length = len(data)
                if truncate:  # promise the whole body, send half of it, hang up
                    data = data[: len(data) // 2]
                    self.close_connection = True
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(length))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
