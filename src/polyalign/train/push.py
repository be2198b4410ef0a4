"""``polyalign push``: publish an export, or a run's tuned model, to a Hugging Face Hub repository.

What goes up is the model folder as it is (a merged ``transformers`` model or a ``peft`` adapter),
its model card (``README.md``, written from the run's measured numbers: :mod:`polyalign.report.model_card`)
and polyalign's marker file, in one commit. From an export, only the files the export wrote go up (a
file added to the folder afterwards stays behind, and the push says so). A repository that already
exists is written only when it is empty or a polyalign push made it (its marker is there), unless
``allow_existing``; into polyalign's own repository the commit also deletes the files the new model
does not have, so that an adapter pushed over a merged model (or back) leaves no mixture behind. The
token comes from the environment only (``HF_TOKEN``): it is never printed, logged or written anywhere.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from polyalign.io import InputError, log, require_folder
from polyalign.report.claims import run_claims
from polyalign.report.model_card import CARD, base_of, library_of, locate, model_card, with_license
from polyalign.train.export import (
    MARKER,
    base_model_of,
    exported_files,
    files_not_exported,
    find_model_folder,
    naming_base,
    source_name,
)

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


def files_to_push(source: Path) -> tuple[Path, dict[str, Any], list[str], list[str]]:
    """The model folder to publish, the marker it carries (an export's own, else a new one), the files
    to upload (relative paths, card and marker apart) and the files left out (added to an export
    after it was written)."""
    if (source / MARKER).is_file():
        try:
            marker = json.loads((source / MARKER).read_text(encoding="utf-8"))
        except ValueError:
            raise InputError("polyalign's export marker is not valid JSON", source / MARKER) from None
        marker = marker if isinstance(marker, dict) else {}
        left_out = files_not_exported(source) or []  # an older export lists nothing: all of it goes up
        files = [f for f in exported_files(source) if f not in (CARD, MARKER, *left_out) and f not in SKIP]
        return source, marker, files, left_out
    folder = find_model_folder(source, "push")
    mode = "adapter" if (folder / "adapter_config.json").is_file() else "merged"
    marker = {"mode": mode, "source": source_name(source), "base_model": base_model_of(source, folder)}
    files = [f for f in exported_files(folder) if f not in (CARD, MARKER) and Path(f).name not in SKIP]
    return folder, {**marker, "files": sorted([*files, CARD])}, files, []


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
    license: str | None = None,
) -> str:
    """Publish ``source`` to ``repo_id`` and return the commit's URL (see the module docstring);
    ``license``: the card's license field (an export's card keeps its own when ``None``)."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    src = require_folder(Path(source).expanduser())
    check_repo_id(repo_id)
    folder, marker, files, left_out = files_to_push(src)
    token = token_from_env()
    base = str(marker.get("base_model") or base_of(folder))
    if (folder / CARD).is_file() and (folder / MARKER).is_file():
        card = (folder / CARD).read_text(encoding="utf-8")
        card = with_license(card, license) if license else card
    else:
        card = model_card(src, base, library_of(folder), license=license or "other", claims=run_claims(locate(src)[0]))
    ops: list[Any] = [CommitOperationAdd(f, _content(folder / f, base)) for f in files]
    ops += [
        CommitOperationAdd(CARD, card.encode("utf-8")),
        CommitOperationAdd(MARKER, (json.dumps(marker, indent=2) + "\n").encode("utf-8")),
    ]
    api = HfApi(token=token)
    try:
        there = set(api.list_repo_files(repo_id)) - SKIP if api.repo_exists(repo_id) else set()
        ours = MARKER in there
        if there and not ours and not allow_existing:
            raise InputError(
                f"{repo_id}: the repository exists, holds files and was not made by polyalign push; "
                "pass --allow-existing to push into it"
            )
        stale = sorted(there - {*files, CARD, MARKER}) if ours else []
        ops += [CommitOperationDelete(f) for f in stale]
        api.create_repo(repo_id, private=private, exist_ok=True)
        log(f"push: {len(files)} files + {CARD} from {folder} to {repo_id}{' (private)' if private else ''}")
        if left_out:
            log(f"push: left out {', '.join(left_out)} (added to the export after it was written)")
        if stale:
            log(f"push: deletes {', '.join(stale)} (the earlier push's, which this model does not have)")
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
