"""iobench_tools.report in-process on checked-in results: the rows, the sections built as data,
the findings, the claims, the styles; report.py's command-line contract in a few subprocesses."""
import copy
import dataclasses
import html
import json
import subprocess

import pytest

from conftest import FIXTURES, ROOT

from iobench_tools.report import charts, document, findings, machine, plotting, rows, sections

from iobench_tools import results
import matplotlib.colors

REPORT = ROOT / "scripts" / "report.py"
CHARTS = ["makespan_vs_requests", "throughput_vs_concurrency", "latency_percentiles",
          "cost_vs_concurrency", "efficiency_heatmap"]
NEW = "coro.v2-x"


def load(name: str) -> rows.Run:
    return rows.load(FIXTURES / name)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def without_registry(run: rows.Run) -> rows.Run:
    """The run as an older file would give it: the registry inferred from the names."""
    ctx = {k: v for k, v in run.context.items() if k != "models"}
    models = results.fallback_models([r.impl for r in run.rows])
    by = {m.name: m for m in models}
    return rows.Run(ctx, models, [dataclasses.replace(r, model=by[r.impl]) for r in run.rows],
                    run.source)


@pytest.fixture(scope="module")
def quick() -> rows.Run:
    return load("quick_results.json")


@pytest.fixture(scope="module")
def renamed() -> rows.Run:
    return load("renamed_model.json")


def row(run: rows.Run, name: str) -> rows.Row:
    return next(r for r in run.rows if r.name == name)


# --- rows -----------------------------------------------------------------------------------

def test_one_row_per_benchmark_with_its_numbers(quick):
    doc = fixture("quick_results.json")
    assert sorted(r.name for r in quick.rows) == sorted(b["name"] for b in doc["benchmarks"])
    b = next(b for b in doc["benchmarks"]
             if b["name"] == "fetch/coroutine/requests:2000/delay_ms:0/concurrency:16/bytes:0")
    r = row(quick, b["name"])
    assert r.m("req_per_s") == b["req_per_s"] and r.m("p99_ms") == b["p99_ms"]
    assert r.makespan_s == pytest.approx(b["real_time"] / 1000)  # time_unit ms
    assert (r.impl, r.requests, r.delay_ms, r.concurrency, r.bytes) == ("coroutine", 2000, 0, 16, 0)


def test_one_at_a_time_comes_from_the_registry(quick):
    seq = row(quick, "fetch/sequential/requests:10/delay_ms:100/concurrency:1/bytes:0")
    assert seq.effective_concurrency == 1 and seq.model.baseline
    # The same row, had the registry said it runs concurrently:
    free = dataclasses.replace(seq, concurrency=8,
                               model=dataclasses.replace(seq.model, one_at_a_time=False))
    assert free.effective_concurrency == 8


# --- sections built as data -----------------------------------------------------------------

def test_the_report_has_its_sections_in_order(quick):
    doc = sections.report(quick, [document.Figure(s, s, "c") for s in CHARTS])
    assert doc.keys() == ["answer", "findings"] + CHARTS + ["claims", "gap", "models",
                                                            "results", "machine"]


def test_results_table_has_one_row_per_benchmark(quick):
    table = sections.results_section(quick).first(document.Table)
    assert sorted(table.column("benchmark")) == sorted(r.name for r in quick.rows)
    name = "fetch/coroutine/requests:2000/delay_ms:0/concurrency:16/bytes:0"
    cells = dict(zip(table.header, table.row(name)))
    r = row(quick, name)
    assert cells["req/s"] == f"{r.m('req_per_s'):,.0f}"
    assert cells["p99 ms"] == f"{r.m('p99_ms'):.2f}"
    assert cells["efficiency"] == "–", "nothing to overlap at zero delay"


def claims_tables(run) -> tuple[document.Table, document.Table]:
    """The claims section's two tables: the verdicts, and the makespans per model."""
    tables = [b for b in sections.claims_section(run).blocks if isinstance(b, document.Table)]
    assert len(tables) == 2
    return tables[0], tables[1]


def test_claims_are_predicted_and_judged(quick):
    verdicts, measured = claims_tables(quick)
    assert len(verdicts.rows) == 3 and len(measured.header) == 1 + 3
    assert "wrk" not in measured.column("model")
    assert {"py_asyncio", "py_threads", "py_sequential"} <= set(measured.column("model"))
    claim = "two 2-second fetches take about 2 s at once, 4 s one after another"
    two = dict(zip(verdicts.header, verdicts.row(claim)))
    assert (two["predicted at once"], two["predicted one after another"]) == ("2.00 s", "4.00 s")
    assert two["verdict"] == "holds"
    # The measured makespans: a row per model, the claims in the order of the rows above.
    column = sections.claim_label(verdicts.column("claim").index(claim))
    assert dict(zip(measured.header, measured.row("sequential")))[column] == "4.00 s"
    six = next(c for c in findings.claims(quick) if c.claim.startswith("six"))
    assert (six.at_once, six.one_by_one) == (0.8, pytest.approx(2.7, abs=0.01))


@pytest.mark.parametrize("impl, concurrency, factor",
                         [("thread_pool", 2, 2.0), ("sequential", 1, 0.5)])
def test_a_claim_that_fails_names_the_model(quick, impl, concurrency, factor):
    run = copy.deepcopy(quick)
    name = f"fetch/{impl}/requests:2/delay_ms:2000/concurrency:{concurrency}/bytes:0"
    row(run, name).makespan_s *= factor  # 4 s where the claim says 2 s, or 2 s for 4 s
    two = next(c for c in findings.claims(run) if c.claim.startswith("two"))
    assert two.failing == [impl] and two.verdict == f"does not hold for {impl}"


def test_gap_to_the_ceiling_is_each_model_over_wrk(quick):
    gap = findings.gap(quick)
    co = row(quick, "fetch/coroutine/requests:2000/delay_ms:0/concurrency:16/bytes:0")
    wrk = row(quick, "fetch/wrk/requests:2000/delay_ms:0/concurrency:16/bytes:0")
    assert gap.concurrency == [1, 16, 64]
    assert gap.fraction[("coroutine", 16)] == co.m("req_per_s") / wrk.m("req_per_s")
    assert "py_asyncio" in gap.models and "wrk" not in gap.models
    assert ("sequential", 16) not in gap.fraction
    table = sections.gap_section(quick).first(document.Table)
    assert table.row("coroutine")[2] == f"{co.m('req_per_s') / wrk.m('req_per_s'):.2f} " \
                                        f"({co.m('req_per_s'):,.0f})"
    assert table.row("wrk")[1].startswith("1.00")


def test_models_section_lists_the_registry(renamed, quick):
    table = sections.models_section(renamed).first(document.Table)
    assert table.column("model")[2] == NEW
    assert table.row(NEW)[-1].startswith("coroutine renamed")
    assert table.row("sequential")[1:7] == ["model", "–", "–", "–", "one at a time", "yes"]
    old = sections.models_section(quick)
    assert "inferred from the names" in old.first(document.Paragraph).text


def test_machine_prose_comes_from_the_context(quick):
    assert machine.machine_phrase(quick.context) == "client and server shared the machine's 2 CPUs"
    pinned = {"num_cpus": 8, "server_cpus": "0-1", "client_cpus": "2-7", "server_threads": 2}
    assert machine.machine_phrase(pinned) == "server CPUs 0-1, client CPUs 2-7; 2 server threads"
    assert machine.machine_phrase({}) == ""
    table = sections.machine_section(pinned).first(document.Table)
    assert ["server CPUs", "0-1"] in table.rows


def test_captions_say_nothing_about_cores_the_context_does_not_give(quick, tmp_path):
    bare = dataclasses.replace(quick, context={})
    for chart in (charts.chart_throughput, charts.chart_efficiency):
        caption = chart(bare, tmp_path).caption
        assert "core" not in caption and "shared" not in caption, caption
        assert "shared the machine's 2 CPUs" in chart(quick, tmp_path).caption


# --- findings -------------------------------------------------------------------------------

def test_findings_quote_the_data(quick):
    found = {f.kind: f for f in findings.findings(quick)}
    assert list(found) == ["server_bound", "all_at_once", "cost", "zero_delay_best",
                           "fastest_vs_references", "ceiling"]
    assert "predates the evidence" in found["server_bound"].text
    assert found["all_at_once"].facts["requests"] == 100
    assert found["all_at_once"].facts["ranking"][0] == "coroutine"
    vs = found["fastest_vs_references"].facts
    assert (vs["requests"], vs["concurrency"], vs["fastest"]) == (1000, 100, "coroutine")
    assert vs["references"] == ["py_asyncio", "py_threads"]
    top = found["ceiling"].facts
    co = row(quick, "fetch/coroutine/requests:2000/delay_ms:0/concurrency:64/bytes:0")
    wrk = row(quick, "fetch/wrk/requests:2000/delay_ms:0/concurrency:64/bytes:0")
    assert top == {"concurrency": 64, "fastest": "coroutine",
                   "fraction": co.m("req_per_s") / wrk.m("req_per_s")}
    assert f"coroutine, {co.m('req_per_s'):,.0f} req/s (0.85 of wrk)" in found["ceiling"].text


def test_roles_in_findings_follow_the_registry(quick):
    # Call py_asyncio a model: it is no longer among the references it is compared against.
    run = copy.deepcopy(quick)
    for r in run.rows:
        if r.impl == "py_asyncio":
            r.model = dataclasses.replace(r.model, kind="model")
    vs = next(f for f in findings.findings(run) if f.kind == "fastest_vs_references")
    assert vs.facts["references"] == ["py_threads"]


def test_a_late_server_is_a_caution(quick):
    assert "late_server" not in [f.kind for f in findings.findings(quick)]
    run = copy.deepcopy(quick)
    run.rows[3].metrics["server_late_p99_ms"] = 42.0
    late = next(f for f in findings.findings(run) if f.kind == "late_server")
    assert late.facts == {"count": 1, "worst": run.rows[3].name}
    assert "worst 42.0 ms" in late.text


def test_partial_results_flag_failures_and_still_draw(tmp_path):
    run = load("partial_results.json")
    assert "sequential" not in {r.impl for r in run.rows}
    errors = next(f for f in findings.findings(run) if f.kind == "errors")
    assert errors.facts["benchmarks"]
    assert charts.chart_headline(run, tmp_path) is not None


# --- a model no script has seen -------------------------------------------------------------

@pytest.mark.parametrize("registry", [True, False], ids=["registry", "fallback"])
def test_a_renamed_model_is_in_every_chart_table_and_finding(renamed, tmp_path, registry):
    run = renamed if registry else without_registry(renamed)
    figures = charts.draw_all(run, tmp_path)
    assert [f.stem for f in figures] == CHARTS
    for f in figures:
        assert NEW in f.series, f.stem
        assert (tmp_path / f"{f.stem}.png").stat().st_size > 10_000
    style = plotting.styles(run.models)
    assert style[NEW].color not in {s.color for n, s in style.items() if n != NEW}
    found = {f.kind: f for f in findings.findings(run)}
    assert found["all_at_once"].facts["ranking"][0] == NEW
    assert found["fastest_vs_references"].facts["fastest"] == NEW
    assert found["ceiling"].facts["fastest"] == NEW
    assert not any("coroutine" in f.text for f in found.values())
    doc = sections.report(run, figures)
    assert NEW in claims_tables(run)[1].column("model")
    assert NEW in doc.section("gap").first(document.Table).column("model")


# --- styles ---------------------------------------------------------------------------------

def test_colours_follow_the_registry_order(renamed):
    style = plotting.styles(renamed.models)
    tab10 = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab10"].colors]
    assert [style[m.name].color for m in renamed.models] == tab10[:len(renamed.models)]
    assert len({style[m.name].marker for m in renamed.models}) == len(renamed.models)
    assert {n for n, s in style.items() if s.linestyle == "--"} == \
        {"py_asyncio", "py_threads", "py_sequential", "wrk"}


def test_past_ten_models_the_palette_is_tab20():
    many = [results.Model(f"m{i}") for i in range(14)]
    colours = [s.color for s in plotting.styles(many).values()]
    assert len(set(colours)) == 14
    assert colours[1] == matplotlib.colors.to_hex(matplotlib.colormaps["tab20"].colors[1])


# --- the renderer ---------------------------------------------------------------------------

def test_one_section_renders_to_markdown_and_html():
    doc = document.Document("t `x`", ["intro <b>"], [document.Section("k", "S & T", [
        document.Paragraph("run `a|b` now"),
        document.Bullets(["one", "two"]),
        document.Table(["h1", "h2"], [["a|b", "<c>"]]),
        document.Figure("stem", "Fig", "cap `code`")])], "Source: `f`")
    md = document.to_markdown(doc).splitlines()
    assert md[0] == "# t `x`"
    assert "## S & T" in md and "- two" in md
    assert "| a\\|b | <c> |" in md
    assert "![Fig](stem.png)" in md and "Source: `f`" in md
    page = document.to_html(doc)
    assert "<title>t x</title>" in page and "<h1>t <code>x</code></h1>" in page
    assert "<p>intro &lt;b&gt;</p>" in page and "<h2>S &amp; T</h2>" in page
    assert "<td>a|b</td><td>&lt;c&gt;</td>" in page
    assert "<img src='stem.svg' alt='Fig'>" in page and "cap <code>code</code>" in page


def test_markdown_and_html_carry_the_same_content(quick):
    doc = sections.report(quick, [])
    md, page = document.to_markdown(doc), document.to_html(doc)
    # A cell may break after a slash (<wbr>): the long benchmark names wrap instead of widening
    # their table past the window.
    assert "<td>fetch/<wbr>sequential/<wbr>requests:" in page
    text = page.replace("<wbr>", "")
    for s in doc.sections:
        assert f"## {s.title}" in md
        assert document.inline(s.title) in text
        for t in (b for b in s.blocks if isinstance(b, document.Table)):
            for cells in t.rows:
                assert all(html.escape(c) in text for c in cells)


# --- the command line -----------------------------------------------------------------------

def report(results, out):
    return subprocess.run(["/usr/bin/python3", str(REPORT), str(results), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", ["quick_results.json", "renamed_model.json", "quick_pinned.json"])
def test_cli_writes_every_chart_and_both_pages(tmp_path, name):
    r = report(FIXTURES / name, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(f"5 charts -> {tmp_path / 'index.html'}")
    md, page = (tmp_path / "report.md").read_text(), (tmp_path / "index.html").read_text()
    for stem in CHARTS:
        assert (tmp_path / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (tmp_path / f"{stem}.svg").read_text()[:2000]
        assert f"]({stem}.png)" in md and f"src='{stem}.svg'" in page


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


def test_a_broken_registry_exits_2_with_one_line(tmp_path):
    doc = fixture("models_results.json")
    doc["context"]["models"] = "[{"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    r = report(bad, tmp_path / "out")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "context 'models' is not JSON" in r.stderr


def test_missing_arguments_exit_2():
    r = subprocess.run(["/usr/bin/python3", str(REPORT)], capture_output=True, text=True)
    assert r.returncode == 2
