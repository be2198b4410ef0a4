"""Test helpers: small real files in their native formats, written by the tests themselves."""

from __future__ import annotations

import importlib.util
import os
import struct
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str) -> ModuleType:
    """The repository's ``scripts/<name>.py`` as a module (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write_mo(path: Path, messages: dict, charset: str = "UTF-8") -> Path:
    """Write a GNU gettext ``.mo`` catalog.

    ``messages`` maps msgid → msgstr. A msgid may be ``"ctx\\x04text"`` (a message with
    context) or a tuple ``(singular, plural)`` mapped to a list of forms (a plural entry).
    The header entry (empty msgid) is added with the charset.
    """
    entries: dict[bytes, bytes] = {
        b"": f"Content-Type: text/plain; charset={charset}\nPlural-Forms: nplurals=2; plural=(n != 1);\n".encode()
    }
    for k, v in messages.items():
        if isinstance(k, tuple):
            entries["\x00".join(k).encode(charset)] = "\x00".join(v).encode(charset)
        else:
            entries[k.encode(charset)] = v.encode(charset)
    keys = sorted(entries)
    n = len(keys)
    header = 7 * 4
    orig_table = header
    trans_table = orig_table + n * 8
    data_start = trans_table + n * 8
    blob = b""
    orig, trans = [], []
    for k in keys:
        orig.append((len(k), data_start + len(blob)))
        blob += k + b"\x00"
    for k in keys:
        v = entries[k]
        trans.append((len(v), data_start + len(blob)))
        blob += v + b"\x00"
    out = struct.pack("<7I", 0x950412DE, 0, n, orig_table, trans_table, 0, data_start)
    out += b"".join(struct.pack("<2I", *e) for e in orig)
    out += b"".join(struct.pack("<2I", *e) for e in trans)
    out += blob
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out)
    return path


_VERBS = [
    ("Open", "Abrir"),
    ("Close", "Cerrar"),
    ("Delete", "Eliminar"),
    ("Copy", "Copiar"),
    ("Save", "Guardar"),
    ("Rename", "Renombrar"),
    ("Move", "Mover"),
    ("Print", "Imprimir"),
    ("Share", "Compartir"),
    ("Export", "Exportar"),
]
_NOUNS = [
    ("file", "el archivo"),
    ("folder", "la carpeta"),
    ("document", "el documento"),
    ("image", "la imagen"),
    ("window", "la ventana"),
    ("project", "el proyecto"),
    ("message", "el mensaje"),
    ("list", "la lista"),
    ("page", "la página"),
    ("table", "la tabla"),
    ("report", "el informe"),
    ("account", "la cuenta"),
]
_ADJS = [("selected", "seleccionado"), ("current", "actual"), ("new", "nuevo")]


def spanish_ui_pairs() -> dict[str, str]:
    """360 English→Spanish UI strings ("Open the selected file" → "Abrir el archivo seleccionado").

    Small, real Spanish, regular enough that a tiny model's loss falls within a few steps.
    """
    out = {}
    for ve, vs in _VERBS:
        for ne, ns in _NOUNS:
            for ae, as_ in _ADJS:
                adj = as_ if ns.startswith("el ") else (as_[:-1] + "a" if as_.endswith("o") else as_)
                out[f"{ve} the {ae} {ne}"] = f"{vs} {ns} {adj}"
    return out


def spanish_locale(root: Path) -> Path:
    """A locale folder ``root/es/LC_MESSAGES/demo.mo`` with :func:`spanish_ui_pairs`."""
    write_mo(root / "es" / "LC_MESSAGES" / "demo.mo", spanish_ui_pairs())
    return root


def processes_naming(text: str) -> list[int]:
    """Ids of the live processes (zombies aside) whose command line holds ``text``, this one excepted:
    what a signalled command left behind (submitit's jobs and torchrun's workers name their folder)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            continue
        if text in cmdline and not zombie:
            found.append(int(entry))
    return found
