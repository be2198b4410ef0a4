"""A small Hugging Face Hub on 127.0.0.1 for tests: dataset and model repositories that the real
``datasets``, ``huggingface_hub`` and ``transformers`` clients download from, with no network.

It answers what ``huggingface_hub`` asks of a public repository: any file
(``HEAD``/``GET [/datasets]/REPO/resolve/REV/PATH``, with ``ETag`` and ``X-Repo-Commit``; a
missing file is a 404 marked ``EntryNotFound``), the repository's info
(``/api/{datasets,models}/REPO[/revision/REV]``), its file tree (``.../tree/REV[/PATH]``) and
``paths-info``. An unknown repository is a 404 marked ``RepoNotFound``. Each request is kept in
``requests``.

It also takes what ``huggingface_hub``'s uploads send (``polyalign push``): ``/api/validate-yaml``,
``/api/repos/create`` (409 when the repository exists), ``preupload`` (every file ``regular``, so
its bytes travel base64 inside the commit) and the NDJSON ``commit``, which stores the files. Writes
need ``Authorization: Bearer <token>`` when the hub was made with a ``token``; the headers of every
write are kept in ``write_headers``. Point a process at it with ``HF_ENDPOINT=server.url`` (and ``HF_HUB_OFFLINE=0``, a
fresh ``HF_HOME``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


def dataset_repo(configs: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, bytes]:
    """The files of a dataset repository laid out as the hub's parquet datasets are:
    ``CONFIG/SPLIT-00000-of-00001.parquet`` per config and split, named in the card's YAML."""
    files: dict[str, bytes] = {}
    card = ["---", "configs:"]
    for config, splits in configs.items():
        card += [f"- config_name: {config}", "  data_files:"]
        for split, rows in splits.items():
            path = f"{config}/{split}-00000-of-00001.parquet"
            files[path] = parquet_bytes(rows)
            card += [f"  - split: {split}", f"    path: {path}"]
    files["README.md"] = ("\n".join(card + ["---", "", "A test dataset.", ""])).encode()
    return files


def model_repo(folder: Any) -> dict[str, bytes]:
    """The files of a saved model folder, as a model repository."""
    from pathlib import Path

    root = Path(folder)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


class Hub:
    def __init__(
        self,
        datasets: dict[str, dict[str, bytes]] | None = None,
        models: dict[str, dict[str, bytes]] | None = None,
        token: str | None = None,
    ):
        self.repos = {"datasets": datasets or {}, "models": models or {}}
        self.requests: list[str] = []
        self.token = token
        self.private: dict[str, bool] = {}
        self.commits: list[dict[str, Any]] = []
        self.write_headers: list[dict[str, str]] = []
        self.fail_commits = 0
        """How many of the next commits to answer 500 (a hub that fails once, as hubs do)."""
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                hub.answer(self, head=False)

            def do_HEAD(self) -> None:
                hub.answer(self, head=True)

            def do_POST(self) -> None:
                hub.answer(self, head=False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- protocol ------------------------------------------------------------------------------

    def answer(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        url = urllib.parse.urlparse(h.path)
        path = urllib.parse.unquote(url.path)
        self.requests.append(f"{h.command} {path}")
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0)) if h.command == "POST" else b""
        if h.command == "POST" and self.write(h, path, body):
            return

        m = re.fullmatch(r"(/datasets)?/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            files = self.repos["datasets" if m.group(1) else "models"].get(m.group(2))
            if files is None:
                return self.send(h, 404, {"error": "Repository not found"}, head, {"X-Error-Code": "RepoNotFound"})
            data = files.get(m.group(4))
            if data is None:
                return self.send(
                    h,
                    404,
                    {"error": "Entry not found"},
                    head,
                    {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": COMMIT},
                )
            return self.send(
                h, 200, data, head, {"ETag": f'"{_oid(data)}"', "X-Repo-Commit": COMMIT, "Accept-Ranges": "bytes"}
            )

        m = re.fullmatch(
            r"/api/(datasets|models)/([^/]+/[^/]+)(/revision/[^/]+|/tree/[^/]+(/.*)?|/paths-info/[^/]+)?", path
        )
        if m and m.group(2) in self.repos[m.group(1)]:
            files = self.repos[m.group(1)][m.group(2)]
            what = m.group(3) or ""
            if what.startswith("/tree/"):
                prefix = (m.group(4) or "").strip("/")
                recursive = "recursive=true" in (url.query or "").lower()
                return self.send(h, 200, _tree(files, prefix, recursive), head)
            if what.startswith("/paths-info/"):
                form = (
                    urllib.parse.parse_qs(body.decode())
                    if body and not body.startswith(b"{")
                    else json.loads(body or b"{}")
                )
                wanted = form.get("paths", [])
                return self.send(h, 200, [_file_entry(p, files[p]) for p in wanted if p in files], head)
            return self.send(
                h,
                200,
                {
                    "id": m.group(2),
                    "modelId": m.group(2),
                    "sha": COMMIT,
                    "private": False,
                    "disabled": False,
                    "gated": False,
                    "downloads": 0,
                    "likes": 0,
                    "tags": [],
                    "cardData": {},
                    "lastModified": "2026-01-01T00:00:00.000Z",
                    "siblings": [{"rfilename": p, "size": len(d)} for p, d in files.items()],
                },
                head,
            )
        return self.send(h, 404, {"error": "Repository not found"}, head, {"X-Error-Code": "RepoNotFound"})

    def write(self, h: BaseHTTPRequestHandler, path: str, body: bytes) -> bool:
        """Answer the upload protocol's requests; ``False`` for any other POST."""
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit)/([^/]+)", path)
        if path not in ("/api/validate-yaml", "/api/repos/create") and not m:
            return False
        self.write_headers.append({k.lower(): v for k, v in h.headers.items()})
        if self.token is not None and h.headers.get("Authorization") != f"Bearer {self.token}":
            self.send(h, 401, {"error": "Invalid credentials"}, False)
            return True
        if path == "/api/validate-yaml":
            self.send(h, 200, {"errors": [], "warnings": []}, False)
            return True
        if path == "/api/repos/create":
            req = json.loads(body or b"{}")
            repo = f"{req.get('organization')}/{req['name']}"
            if repo in self.repos["models"]:
                self.send(h, 409, {"error": "You already created this model repo", "url": f"{self.url}/{repo}"}, False)
                return True
            self.repos["models"][repo] = {}
            self.private[repo] = req.get("visibility") == "private" or bool(req.get("private"))
            self.send(h, 200, {"url": f"{self.url}/{repo}", "name": repo}, False)
            return True
        repo, what = m.group(1), m.group(2)
        if repo not in self.repos["models"]:
            self.send(h, 404, {"error": "Repository not found"}, False, {"X-Error-Code": "RepoNotFound"})
            return True
        if what == "preupload":
            files = json.loads(body)["files"]
            self.send(
                h,
                200,
                {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]},
                False,
            )
            return True
        if self.fail_commits > 0:
            self.fail_commits -= 1
            self.send(h, 500, {"error": "Internal Error"}, False)
            return True
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(x["value"] for x in lines if x["key"] == "header")
        for x in lines:
            if x["key"] == "file":
                self.repos["models"][repo][x["value"]["path"]] = base64.b64decode(x["value"]["content"])
            elif x["key"] == "deletedFile":
                self.repos["models"][repo].pop(x["value"]["path"], None)
        oid = hashlib.sha1(body).hexdigest()
        self.commits.append({"repo": repo, "summary": header.get("summary"), "oid": oid})
        self.send(h, 200, {"commitUrl": f"{self.url}/{repo}/commit/{oid}", "commitOid": oid}, False)
        return True

    @staticmethod
    def send(
        h: BaseHTTPRequestHandler, code: int, payload: Any, head: bool, headers: dict[str, str] | None = None
    ) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        h.send_response(code)
        if not isinstance(payload, bytes):
            h.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if not head:
            h.wfile.write(data)


def _oid(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _file_entry(path: str, data: bytes) -> dict[str, Any]:
    return {"type": "file", "path": path, "size": len(data), "oid": _oid(data)}


def _tree(files: dict[str, bytes], prefix: str, recursive: bool) -> list[dict[str, Any]]:
    out, folders = [], set()
    for path, data in sorted(files.items()):
        if prefix and not path.startswith(prefix + "/"):
            continue
        parts = (path[len(prefix) + 1 :] if prefix else path).split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(([prefix] if prefix else []) + parts[:depth])
            if folder not in folders:
                folders.add(folder)
                out.append({"type": "directory", "path": folder, "oid": "0" * 40})
            if not recursive:
                break
        if recursive or len(parts) == 1:
            out.append(_file_entry(path, data))
    return out
