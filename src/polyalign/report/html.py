"""``report.html``: one self-contained page (figures embedded as base64 PNG data URIs, no network).

Plain string templates with :func:`html.escape`: the page is small and fixed, a template engine
would be one more dependency for nothing.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from polyalign.io import atomic_write

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1b1f23;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #ddd;padding-bottom:.3em}h2{font-size:1.25em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.86em}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:right}th{background:#f6f8fa}
td:first-child,th:first-child{text-align:left}caption{text-align:left;font-weight:600;padding:.3em 0}
.missing{color:#6a737d;font-style:italic}.claims li{margin:.3em 0}
.yes{color:#116329}.no{color:#a40e26}.inc{color:#9a6700}.nm{color:#6a737d}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#57606a}
"""


VERDICT_CLASS = {"supported": "yes", "contradicted": "no", "inconclusive": "inc", "not measured": "nm"}


def _table(t: dict[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in t["header"])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in t["rows"])
    return (
        f'<table data-table="{html.escape(t["title"])}"><caption>{html.escape(t["title"])}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _figure(run_dir: Path, name: str, caption: str) -> str:
    data = base64.b64encode((run_dir / name).read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" data-file="{html.escape(name)}" '
        f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}</figcaption></figure>'
    )


def _claim(line: str) -> str:
    verdict = line.partition(": ")[2]
    cls = next((c for word, c in VERDICT_CLASS.items() if verdict.startswith(word)), "nm")
    return f'<li class="{cls}">{html.escape(line)}</li>'


def render(title: str, sections: list[dict[str, Any]], run_dir: Path) -> str:
    """The whole page as one string."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for s in sections:
        parts.append(f"<section><h2>{html.escape(s['title'])}</h2>")
        if s["missing"]:
            parts.append(f'<p class="missing">{html.escape(s["missing"])}</p>')
        if s["title"] == "Claims":
            parts.append('<ul class="claims">' + "".join(_claim(x) for x in s["text"]) + "</ul>")
        else:
            parts += [f"<p>{html.escape(x)}</p>" for x in s["text"]]
        parts += [_table(t) for t in s["tables"]]
        parts += [_figure(run_dir, n, c) for n, c in s["figures"]]
        parts.append("</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def write_report(path: Path, title: str, sections: list[dict[str, Any]], run_dir: Path) -> None:
    """Write ``report.html`` (figures read from ``run_dir`` and embedded)."""
    with atomic_write(path) as f:
        f.write(render(title, sections, run_dir))
