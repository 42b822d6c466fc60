"""The scale chart and table: makespan against C for the N = C batches at 100 ms
from 1,000 connections up, a series per model with the ideal line, server-bound points marked,
and the table of makespan and CPU per request. The scale run is built from one row of
quick_pinned.json, copied once per model and C with the makespans measured on 2 CPUs."""
import copy
import subprocess

import pytest

from conftest import ROOT

from iobench_tools.report import charts, document, rows, scale, sections, server
from report_docs import doc_of, run_of

TEMPLATE = "fetch/coroutine/requests:100/delay_ms:100/concurrency:100/bytes:0"
CS = [1000, 2000, 4000, 8000, 10000]
MAKESPAN = {"thread_pool": [0.35, 0.60, 1.10, 2.40, 3.10],
            "coroutine": [0.19, 0.25, 0.38, 0.86, 1.05],
            "curl_multi": [0.23, 0.32, 0.73, 1.78, 2.90],
            "coroutine_mt": [0.20, 0.26, 0.40, 0.90, 1.10]}


def scale_doc(makespans: dict = MAKESPAN) -> dict:
    """A scale-suite run: fetch/<impl>/requests:C/delay_ms:100/concurrency:C/bytes:0, with a
    server that kept up, CPU per request growing with C; thread_pool failed 2,507 requests at
    10,000 and coroutine_mt's 8,000 overflowed the listen queue."""
    doc = doc_of()
    template = next(b for b in doc["benchmarks"] if b["name"] == TEMPLATE)
    doc["context"]["iobench_suite"] = "scale"
    doc["benchmarks"] = []
    for impl, spans in makespans.items():
        for c, s in zip(CS, spans):
            b = copy.deepcopy(template)
            b["name"] = b["run_name"] = f"fetch/{impl}/requests:{c}/delay_ms:100/concurrency:{c}" \
                                        "/bytes:0"
            b.update(real_time=s * 1000, iterations=1, req_per_s=c / s, efficiency=0.1 / s,
                     cpu_us_per_req=30 + c / 200, server_late_p99_ms=0.5, listen_overflows=0,
                     server_cpu_util=0.3, errors=0)
            if (impl, c) == ("thread_pool", 10000):
                b["errors"] = 2507
            if (impl, c) == ("coroutine_mt", 8000):
                b["listen_overflows"] = 12
            doc["benchmarks"].append(b)
    return doc


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> rows.Run:
    return run_of(scale_doc(), tmp_path_factory.mktemp("scale"))


def test_the_points_are_the_n_equals_c_rows_from_1000_up(run, tmp_path):
    pts = scale.points(run)
    assert list(pts) == list(MAKESPAN)
    for impl, v in pts.items():
        assert [r.concurrency for r in v] == CS
        assert [r.makespan_s for r in v] == pytest.approx(MAKESPAN[impl])
    # The quick run's N = C rows stop at 100: no scale points, no chart.
    quick = run_of(doc_of(), tmp_path)
    assert scale.points(quick) == {} and scale.chart_scale(quick, tmp_path) is None


def test_the_figure_has_a_series_per_model_and_marks_the_server_bound_point(run, tmp_path):
    fig = scale.chart_scale(run, tmp_path)
    assert fig.stem == "makespan_vs_connections" and fig.series == list(MAKESPAN)
    assert "the ideal is 100 ms whatever C" in fig.caption
    assert "Hollow: server-bound points" in fig.caption
    assert (tmp_path / "makespan_vs_connections.png").stat().st_size > 10_000
    bound = [r.name for v in scale.points(run).values() for r in v if r.server_bound]
    assert bound == ["fetch/coroutine_mt/requests:8000/delay_ms:100/concurrency:8000/bytes:0"]


def test_one_value_of_c_is_no_curve(tmp_path):
    one = run_of(scale_doc({k: v[:1] for k, v in MAKESPAN.items()}), tmp_path)
    assert len(scale.points(one)["coroutine"]) == 1
    assert scale.chart_scale(one, tmp_path) is None and scale.table(one) is None


def test_the_table_has_makespan_and_cpu_per_request(run):
    table = scale.table(run)
    assert table.header == ["model", "C = 1,000", "C = 2,000", "C = 4,000", "C = 8,000",
                            "C = 10,000"]
    assert table.row("coroutine")[1:] == ["190 ms · 35.0 µs", "250 ms · 40.0 µs",
                                          "380 ms · 50.0 µs", "860 ms · 70.0 µs",
                                          "1.05 s · 80.0 µs"]
    assert table.row("thread_pool")[5] == "3.10 s · 80.0 µs, 2,507 failed"
    assert table.row("coroutine_mt")[4] == "900 ms · 70.0 µs (server-bound)"


def test_the_report_puts_the_table_under_the_chart_and_keeps_the_headline(run, tmp_path):
    figures = charts.draw_all(run, tmp_path)
    stems = [f.stem for f in figures]
    assert stems[:2] == ["makespan_vs_requests", "makespan_vs_connections"]
    doc = sections.report(run, figures)
    sec = doc.section("makespan_vs_connections")
    assert [type(b) for b in sec.blocks] == [document.Figure, document.Paragraph, document.Table]
    said = " ".join(server.explanation(run))
    assert "1 is a burst of N = C ≥ 1,000 connections, server-heavy by design" in said
    assert "the server's 1 accept loop" in said


def test_cli_draws_the_scale_chart(tmp_path):
    results = tmp_path / "scale.json"
    run_of(scale_doc(), tmp_path, "scale.json")
    r = subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "report.py"), str(results),
                        "--out", str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "out" / "report.md").read_text()
    assert "![Makespan vs connections (N = C, 100 ms each)](makespan_vs_connections.png)" in md
    assert "| curl_multi | 230 ms · 35.0 µs |" in md
    assert (tmp_path / "out" / "makespan_vs_connections.svg").exists()
