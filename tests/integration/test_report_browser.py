"""report.html in a real browser (headless Chromium): every image decodes, every table is there, no error.

A test-only copy of the page gets a small script that records errors from the first moment and,
once the page has loaded, writes what it found (each image's natural width, the tables) into the
DOM, which ``chromium --dump-dom`` prints.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from polyalign.report.build import build_report
from report_fixtures import write_finished_run

CHROMIUM = next(
    (p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")) if p), None
)

PROBE_HEAD = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message || e.type)), true);
const __ce = console.error; console.error = (...a) => { window.__errors.push(a.join(" ")); __ce(...a); };
</script>"""
PROBE_BODY = """<script>
window.addEventListener("load", () => {
  const out = {images: [...document.images].map(i => ({file: i.dataset.file, w: i.naturalWidth, ok: i.complete})),
               tables: [...document.querySelectorAll("table")].map(t => ({name: t.dataset.table,
                                                                        rows: t.tBodies[0].rows.length})),
               errors: window.__errors};
  const pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def probe(page_path):
    page = page_path.read_text(encoding="utf-8")
    test_copy = page_path.with_name("report.probe.html")
    test_copy.write_text(
        page.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", PROBE_BODY + "</body>", 1), encoding="utf-8"
    )
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
            test_copy.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    return json.loads(
        found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install it with `apt-get install -y chromium` to run this")
def test_report_opens_in_chromium_with_every_image_and_table(tmp_path):
    run = write_finished_run(tmp_path / "demo")
    build_report(run)
    found = probe(run / "report.html")
    assert found["errors"] == []
    assert [i["file"] for i in found["images"]] == [
        "forest.png",
        "transfer.png",
        "losses.png",
        "alignment_cosine.png",
        "alignment_retrieval.png",
        "lens.png",
    ]
    assert all(i["ok"] and i["w"] > 0 for i in found["images"]), found["images"]
    assert [(t["name"], t["rows"]) for t in found["tables"]] == [
        ("claims", 6),
        ("arms", 5),
        ("time per stage", 5),
        ("translation", 18),
        ("polysent", 6),
        ("transfer", 5),
        ("scaling fits", 2),
        ("budget allocation", 2),
    ]
    shot = run / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            (run / "report.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install it with `apt-get install -y chromium` to run this")
def test_the_probe_sees_a_broken_image(tmp_path):
    """The check can fail: an image whose data does not decode has natural width 0."""
    run = write_finished_run(tmp_path / "broken")
    build_report(run)
    page = run / "report.html"
    page.write_text(re.sub(r"base64,[A-Za-z0-9+/=]{200}", "base64,AAAA", page.read_text(), count=1))
    found = probe(page)
    assert [i["w"] for i in found["images"]][0] == 0
