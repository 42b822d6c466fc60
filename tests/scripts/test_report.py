"""scripts/report.py on checked-in results: charts, tables, verdicts, and bad input."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
REPORT = ROOT / "scripts" / "report.py"
CHARTS = ["makespan_vs_requests", "throughput_vs_concurrency", "latency_percentiles",
          "cost_vs_concurrency", "efficiency_heatmap"]


def report(results: Path, out: Path):
    return subprocess.run(["/usr/bin/python3", str(REPORT), str(results), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    r = report(FIXTURES / "quick_results.json", out)
    assert r.returncode == 0, r.stderr
    return out


def test_every_chart_is_written_as_png_and_svg(quick_report):
    for stem in CHARTS:
        png = quick_report / f"{stem}.png"
        svg = quick_report / f"{stem}.svg"
        assert png.stat().st_size > 10_000, stem
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in svg.read_text()[:2000]


def test_html_embeds_every_chart_and_table(quick_report):
    page = (quick_report / "index.html").read_text()
    for stem in CHARTS:
        assert f"src='{stem}.svg'" in page
    for heading in ["What the numbers say", "The blog posts' claims", "All results",
                    "Machine and build"]:
        assert heading in page, heading


def test_results_table_has_one_row_per_benchmark_with_its_numbers(quick_report):
    md = (quick_report / "report.md").read_text()
    fixture = json.loads((FIXTURES / "quick_results.json").read_text())
    names = [b["name"] for b in fixture["benchmarks"]]
    rows = [line for line in md.splitlines() if line.startswith("| fetch/")]
    assert sorted(r.split(" | ")[0][2:] for r in rows) == sorted(names)
    b = next(b for b in fixture["benchmarks"]
             if b["name"] == "fetch/coroutine/requests:2000/delay_ms:0/concurrency:16/bytes:0")
    row = next(r for r in rows if r.startswith(f"| {b['name']} |"))
    assert f"{b['req_per_s']:,.0f}" in row
    assert f"{b['p99_ms']:.2f}" in row


def test_claims_table_predicts_and_judges_each_claim(quick_report):
    md = (quick_report / "report.md").read_text()
    claims = [l for l in md.splitlines() if l.startswith("| two ") or l.startswith("| three ")
              or l.startswith("| six ")]
    assert len(claims) == 3
    two = next(l for l in claims if l.startswith("| two "))
    cells = [c.strip() for c in two.strip("|").split("|")]
    assert cells[1:3] == ["2.00 s", "4.00 s"], cells
    assert cells[-1] == "holds"
    six = next(l for l in claims if l.startswith("| six "))
    assert [c.strip() for c in six.strip("|").split("|")][1:3] == ["800 ms", "2.70 s"]


def test_a_claim_that_fails_is_called_out(tmp_path):
    doc = json.loads((FIXTURES / "quick_results.json").read_text())
    for b in doc["benchmarks"]:
        if b["name"].startswith("fetch/thread_pool/requests:2/delay_ms:2000"):
            b["real_time"] *= 2  # 4 s where the claim says 2 s
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    r = report(bad, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "out" / "report.md").read_text()
    two = next(l for l in md.splitlines() if l.startswith("| two "))
    assert two.rstrip(" |").endswith("does not hold for thread_pool")


def test_findings_quote_the_measured_numbers(quick_report):
    md = (quick_report / "report.md").read_text()
    section = md.split("## What the numbers say")[1].split("##")[0]
    assert "all in flight at once" in section
    assert "Best zero-delay throughput" in section
    assert re.search(r"coroutine [\d,]+ req/s", section)


def test_partial_results_still_report_and_flag_failures(tmp_path):
    r = report(FIXTURES / "partial_results.json", tmp_path)
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "report.md").read_text()
    assert "had failed requests" in md
    assert "/sequential/" not in md
    assert (tmp_path / "makespan_vs_requests.png").exists()


def test_late_server_is_a_caution(tmp_path):
    doc = json.loads((FIXTURES / "quick_results.json").read_text())
    for b in doc["benchmarks"]:
        b["server_late_p99_ms"] = 0.2
    f = tmp_path / "calm.json"
    f.write_text(json.dumps(doc))
    assert report(f, tmp_path / "calm").returncode == 0
    assert "Caution" not in (tmp_path / "calm" / "report.md").read_text()
    doc["benchmarks"][3]["server_late_p99_ms"] = 42.0
    f = tmp_path / "late.json"
    f.write_text(json.dumps(doc))
    assert report(f, tmp_path / "out").returncode == 0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Caution: in 1 benchmark(s) the mock server" in md
    assert f"worst 42.0 ms in {doc['benchmarks'][3]['name']}" in md


@pytest.mark.parametrize("name, needle", [
    ("empty.json", "is empty"),
    ("truncated.json", "is not JSON"),
    ("not_gbench.json", "not a Google Benchmark results file"),
    ("foreign.json", "has no iobench benchmarks"),
    ("does_not_exist.json", "cannot read"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, name, needle):
    r = report(FIXTURES / name, tmp_path / "out")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert not (tmp_path / "out" / "index.html").exists()


def test_missing_arguments_exit_2():
    r = subprocess.run(["/usr/bin/python3", str(REPORT)], capture_output=True, text=True)
    assert r.returncode == 2


def test_gap_to_the_ceiling_is_each_model_over_wrk(quick_report):
    md = (quick_report / "report.md").read_text()
    section = md.split("## Gap to the ceiling")[1].split("## ")[0]
    fixture = json.loads((FIXTURES / "quick_results.json").read_text())
    by = {b["name"]: b for b in fixture["benchmarks"]}
    wrk = by["fetch/wrk/requests:2000/delay_ms:0/concurrency:16/bytes:0"]["req_per_s"]
    co = by["fetch/coroutine/requests:2000/delay_ms:0/concurrency:16/bytes:0"]["req_per_s"]
    row = next(l for l in section.splitlines() if l.startswith("| coroutine |"))
    assert f"{co / wrk:.2f} ({co:,.0f})" in row
    assert any(l.startswith("| wrk | 1.00") for l in section.splitlines())
    assert any(l.startswith("| py_asyncio |") for l in section.splitlines())


def test_reference_rows_join_the_claims_and_the_findings(quick_report):
    md = (quick_report / "report.md").read_text()
    header = next(l for l in md.splitlines() if l.startswith("| claim |"))
    for impl in ("py_asyncio", "py_threads", "py_sequential"):
        assert impl in header
    assert "| wrk |" not in header and "wrk -t1" not in md.split("## The blog")[1].split("## Gap")[0]
    assert "of wrk)" in md.split("## What the numbers say")[1].split("##")[0]
