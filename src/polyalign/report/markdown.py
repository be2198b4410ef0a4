"""``report.md`` from the report's sections, and the before/after table printed at the end of a run.

Only measured numbers appear: everything here is read from the run's own result files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polyalign.io import atomic_write

METRICS = (
    ("chrf", "chrF++"),
    ("bleu", "BLEU"),
    ("accuracy", "accuracy %"),
    ("exact_match", "EM"),
    ("f1", "F1"),
    ("fidelity", "fidelity %"),
)


def comparison_rows(
    summary: dict[str, dict[str, dict[str, float]]],
) -> list[tuple[str, str, float | None, float | None]]:
    """``(task, metric label, before, after)`` for every task and metric in a summary."""
    before, after = summary.get("before", {}), summary.get("after", {})
    rows = []
    for task in sorted(set(before) | set(after)):
        for key, label in METRICS:
            b = before.get(task, {}).get(key)
            a = after.get(task, {}).get(key)
            if b is not None or a is not None:
                rows.append((task, label, b, a))
    return rows


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _delta(b: float | None, a: float | None) -> str:
    return "—" if a is None or b is None else f"{a - b:+.2f}"


def table_text(summary: dict[str, Any]) -> str:
    """The before/after table as aligned plain text, for the terminal; each delta with its 95% paired
    interval where ``summary["deltas"]`` (the one tuned model's) holds one."""
    found = next(iter((summary.get("deltas") or {}).values()), {})
    keys = {label: key for key, label in METRICS}
    rows = [("task", "metric", "before", "after", "delta [95% paired interval]")]
    for t, m, b, a in comparison_rows(summary):
        e = (found.get(t) or {}).get(keys[m])
        interval = f" [{e['low']:+.2f}, {e['high']:+.2f}]" if e and a is not None and b is not None else ""
        rows.append((t, m, _fmt(b), _fmt(a), _delta(b, a) + interval))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- the run report (report.build): sections rendered as Markdown --------------------------------


def _md_cell(x: str) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def render_sections(title: str, sections: list[dict[str, Any]]) -> str:
    """The report's sections as Markdown: the same tables as report.html, figures as PNG links."""
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s['title']}", ""]
        if s["missing"]:
            out += [s["missing"], ""]
        for line in s["text"]:
            out += [f"- {line}" if s["title"] == "Claims" else line, ""]
        for t in s["tables"]:
            out.append("| " + " | ".join(_md_cell(h) for h in t["header"]) + " |")
            out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(t["header"]))) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t["rows"]]
            out.append("")
        for name, caption in s["figures"]:
            out += [f"![{caption}]({name})", ""]
    return "\n".join(out)


def write_report(path: Path, title: str, sections: list[dict[str, Any]]) -> None:
    """Write ``report.md`` from the report's sections."""
    with atomic_write(path) as f:
        f.write(render_sections(title, sections))
