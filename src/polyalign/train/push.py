"""``polyalign push``: publish an export, or a run's tuned model, to a Hugging Face Hub repository.

What goes up is the model folder as it is (a merged ``transformers`` model or a ``peft`` adapter),
its model card (``README.md``, written from the run's measured numbers: :mod:`polyalign.report.model_card`)
and polyalign's marker file, in one commit. A repository that already exists is written only when a
polyalign push made it (its marker is there), unless ``allow_existing``. The token comes from the
environment only (``HF_TOKEN``): it is never printed, logged or written anywhere.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from polyalign.io import InputError, log, require_folder
from polyalign.report.claims import run_claims
from polyalign.report.model_card import CARD, base_of, library_of, locate, model_card
from polyalign.train.export import MARKER, base_model_of, find_model_folder, naming_base

REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
SKIP = {".gitattributes"}


def check_repo_id(repo_id: str) -> str:
    """``owner/name`` as the hub spells repository ids; anything else is one line."""
    if not REPO_ID.fullmatch(repo_id) or ".." in repo_id or repo_id.endswith((".git", "-", ".")):
        raise InputError(f"not a repository id {repo_id!r}: expected OWNER/NAME (letters, digits, '-', '_', '.')")
    return repo_id


def token_from_env() -> str:
    """The write token from ``HF_TOKEN`` (or ``HUGGING_FACE_HUB_TOKEN``); never a stored login file."""
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if not token:
        raise InputError("<environment>: no HF_TOKEN: set it to a Hugging Face write token to push")
    return token


def files_to_push(source: Path) -> tuple[Path, dict[str, Any]]:
    """The model folder to publish and the marker it carries (an export's own, else a new one)."""
    if (source / MARKER).is_file():
        try:
            marker = json.loads((source / MARKER).read_text(encoding="utf-8"))
        except ValueError:
            raise InputError("polyalign's export marker is not valid JSON", source / MARKER) from None
        return source, marker if isinstance(marker, dict) else {}
    folder = find_model_folder(source)
    mode = "adapter" if (folder / "adapter_config.json").is_file() else "merged"
    return folder, {"mode": mode, "source": str(source), "base_model": base_model_of(source, folder)}


def _content(path: Path, base: str) -> str | bytes:
    """What is uploaded for ``path``: the file, except an ``adapter_config.json`` naming another base than
    ``base`` (a path the hub id resolved to on the training machine), uploaded naming ``base``."""
    if path.name != "adapter_config.json":
        return str(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return str(path)
    if not isinstance(config, dict) or config.get("base_model_name_or_path") == base:
        return str(path)
    return naming_base(config, base).encode("utf-8")


def _client_errors(hub_error: type) -> tuple[type, ...]:
    """The HTTP client's own error base (huggingface_hub moved from requests to httpx to httpx2;
    its ``HfHubHTTPError`` derives from whichever it uses), so a refused connection is one line."""
    return tuple(c for c in hub_error.__mro__[1:] if c.__name__ in ("HTTPError", "RequestException"))


def push(
    source: str | Path,
    repo_id: str,
    private: bool = False,
    allow_existing: bool = False,
    license: str = "other",
) -> str:
    """Publish ``source`` to ``repo_id`` and return the commit's URL (see the module docstring)."""
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    src = require_folder(Path(source).expanduser())
    check_repo_id(repo_id)
    folder, marker = files_to_push(src)
    token = token_from_env()
    base = str(marker.get("base_model") or base_of(folder))
    card = (
        (folder / CARD).read_text(encoding="utf-8")
        if (folder / CARD).is_file() and (folder / MARKER).is_file()
        else model_card(src, base, library_of(folder), license=license, claims=run_claims(locate(src)[0]))
    )
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in SKIP and p.name not in (CARD, MARKER))
    ops = [CommitOperationAdd(p.relative_to(folder).as_posix(), _content(p, base)) for p in files]
    ops += [
        CommitOperationAdd(CARD, card.encode("utf-8")),
        CommitOperationAdd(MARKER, (json.dumps(marker, indent=2) + "\n").encode("utf-8")),
    ]
    api = HfApi(token=token)
    try:
        if api.repo_exists(repo_id) and not api.file_exists(repo_id, MARKER) and not allow_existing:
            raise InputError(
                f"{repo_id}: the repository exists and was not made by polyalign push; "
                "pass --allow-existing to push into it"
            )
        api.create_repo(repo_id, private=private, exist_ok=True)
        log(f"push: {len(files)} files + {CARD} from {folder} to {repo_id}{' (private)' if private else ''}")
        info = api.create_commit(repo_id, ops, commit_message=f"polyalign push: {marker.get('mode', 'model')}")
    except OfflineModeIsEnabled:
        raise InputError("<environment>: HF_HUB_OFFLINE=1 forbids pushing: set HF_HUB_OFFLINE=0") from None
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else "?"
        said = {401: "the token was refused", 403: "the token may not write there", 404: "no such repository"}
        raise InputError(f"{repo_id}: the hub answered {status}: {said.get(status, str(e).splitlines()[0])}") from None
    except (OSError, *_client_errors(HfHubHTTPError)) as e:  # connection refused, DNS, timeouts
        raise InputError(f"{repo_id}: cannot reach the hub ({type(e).__name__}: {e})") from None
    return str(info.commit_url)
