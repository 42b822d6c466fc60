"""The report reads in a 1280-pixel window: index.html of a real default-suite run and of a real
tls-suite run (2-CPU VM, server on CPU 0, client on CPU 1), rendered by headless Chromium, has no
table wider than the window and no cell taller than a few lines (a sentence squeezed into a narrow
column becomes a column of single words). A page built to break both rules is caught, so the check
can fail."""
import html
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import FIXTURES, ROOT

WIDTH = 1280
MAX_LINES = 4  # a cell taller than this many lines of its own text is "absurdly tall"

# Measures the laid-out page and writes what it found into the DOM, which --dump-dom prints.
PROBE = """<script>
window.addEventListener('load', () => {
  const view = document.documentElement.clientWidth;
  const heading = (el) => {
    for (let e = el; e; e = e.previousElementSibling) if (e.tagName === 'H2') return e.textContent;
    return '';
  };
  const out = {view: view, page: document.documentElement.scrollWidth, tables: 0, wide: [],
               tall: []};
  for (const t of document.querySelectorAll('table')) {
    out.tables += 1;
    const r = t.getBoundingClientRect();
    if (r.right > view + 1) out.wide.push({section: heading(t), right: Math.round(r.right)});
    for (const c of t.querySelectorAll('td, th')) {
      const line = parseFloat(getComputedStyle(c).lineHeight) || 16;
      const lines = c.getBoundingClientRect().height / line;
      if (lines > %d) out.tall.push({section: heading(t), cell: c.textContent.slice(0, 60),
                                     lines: Math.round(lines)});
    }
  }
  const pre = document.createElement('pre');
  pre.id = 'iobench-layout';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>""" % (MAX_LINES + 1)


def chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    os_release = open("/etc/os-release").read() if os.path.exists("/etc/os-release") else ""
    if re.search(r"^ID=debian$", os_release, re.M):
        pytest.fail("chromium is missing: scripts/install-deps.sh installs it on Debian")
    pytest.skip("no packaged Chromium here (Ubuntu's is a snap); the layout is checked on Debian")


def layout(page, tmp_path) -> dict:
    """Renders `page` (an HTML file) at WIDTH pixels and returns what the probe measured."""
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    r = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDTH},900",
         "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="iobench-layout">(.*?)</pre>', r.stdout)
    assert found, f"chromium rendered nothing (exit {r.returncode}): {r.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("fixture, tables", [("default_run.json", 10), ("tls_suite.json", 4)])
def test_every_table_of_a_run_fits_a_1280_px_window(tmp_path, fixture, tables):
    out = tmp_path / "report"
    r = subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "report.py"),
                        str(FIXTURES / fixture), "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    found = layout(out / "index.html", tmp_path)
    assert found["tables"] >= tables  # every section's tables were laid out
    assert found["wide"] == [], found["wide"]
    assert found["page"] <= found["view"], "the page scrolls sideways"
    assert found["tall"] == [], found["tall"][:10]


def test_the_check_catches_a_wide_table_and_a_column_of_single_words(tmp_path):
    page = tmp_path / "bad.html"
    wide = "<tr>" + "".join(f"<td>column_{i}_with_a_long_unbreakable_value</td>"
                            for i in range(12)) + "</tr>"
    narrow = ("<tr><td style='width:30px;max-width:30px'>a verdict sentence that wraps into a "
              "column of single words</td><td>x</td></tr>")
    page.write_text(f"<!doctype html><html><body><h2>Wide</h2><table>{wide}</table>"
                    f"<h2>Tall</h2><table>{narrow}</table></body></html>")
    found = layout(page, tmp_path)
    assert [w["section"] for w in found["wide"]] == ["Wide"]
    assert {t["section"] for t in found["tall"]} == {"Tall"}
