"""The open loop in the report: the rows read from open/<impl>/rate:R/... names,
the SLO, the maximum sustainable rate per model, the server-bound steps left out with why, the
corrected-vs-uncorrected sentence, the chart's series and the sections. On open_suite.json (a real
`open` suite run on a 2-CPU VM: sequential, thread_pool and coroutine at 10 and 100 ms) and
quick_open.json (a real `quick` run: closed-loop batches and ten open-loop steps)."""
import subprocess

import pytest

from conftest import FIXTURES, ROOT

from iobench_tools import results
from iobench_tools.report import charts, document, findings, open_chart, open_loop, rows, sections
from report_docs import doc_of, edit
from report_docs import run_of as server_bound_run_of

REPORT = ROOT / "scripts" / "report.py"
OPEN = "open_suite.json"
STEP = "open/{impl}/rate:{rate}/delay_ms:{delay}/concurrency:{c}"


def run_of(doc: dict, tmp_path, slo_ms: float | None = None) -> rows.Run:
    run = server_bound_run_of(doc, tmp_path)
    run.slo_ms = slo_ms
    return run


@pytest.fixture(scope="module")
def run() -> rows.Run:
    return rows.load(FIXTURES / OPEN)


def line(run: rows.Run, delay: int, impl: str) -> open_loop.Line:
    return next(ln for ln in open_loop.lines(run) if ln.delay_ms == delay and ln.impl == impl)


def best(run: rows.Run) -> dict:
    return {(ln.delay_ms, ln.impl): ln.best.rate if ln.best else None
            for ln in open_loop.lines(run)}


# --- reading --------------------------------------------------------------------------------

def test_open_names_are_read_and_kept_out_of_the_batches(run):
    assert results.OPEN_RE.match("open/coro.v2-x/rate:9/delay_ms:10/concurrency:1")["rate"] == "9"
    assert not results.NAME_RE.match("open/coroutine/rate:9/delay_ms:10/concurrency:1")
    doc = doc_of(OPEN)
    assert len(list(results.open_entries(doc))) == 54
    with pytest.raises(results.NoBenchmarks, match="only open-loop benchmarks"):
        list(results.entries(doc, FIXTURES / OPEN))
    assert run.rows == [] and len(run.open_rows) == 54
    name = STEP.format(impl="sequential", rate=70, delay=10, c=1)
    r = next(r for r in run.open_rows if r.name == name)
    assert (r.rate, r.delay_ms, r.concurrency, r.offered) == (70, 10, 1, 70.0)
    assert r.m("latency_p99_ms") == pytest.approx(11.4, abs=0.05)
    assert [m.name for m in run.present()] == ["sequential", "thread_pool", "coroutine"]


def test_a_mixed_file_keeps_both_kinds(tmp_path):
    mixed = rows.load(FIXTURES / "quick_open.json")
    assert len(mixed.rows) == 60 and len(mixed.open_rows) == 10
    # Without the registry the open-only models are still models.
    doc = doc_of(OPEN)
    del doc["context"]["models"]
    assert [m.name for m in results.models(doc)][:3] == ["sequential", "thread_pool", "coroutine"]


# --- the SLO and the rule -------------------------------------------------------------------

@pytest.mark.parametrize("text, ms", [("50ms", 50), ("0.5s", 500), ("250 us", 0.25), ("50", 50),
                                      (" 2 s ", 2000)])
def test_slo_durations(text, ms):
    assert open_loop.parse_ms(text) == pytest.approx(ms)


@pytest.mark.parametrize("text", ["fast", "-5ms", "0ms", "5 min", ""])
def test_bad_slo_durations(text):
    with pytest.raises(ValueError):
        open_loop.parse_ms(text)


def test_the_slo_defaults_to_five_times_each_delay(run, tmp_path):
    assert [open_loop.slo_ms(run, d) for d in (10, 100)] == [50, 500]
    assert {ln.delay_ms: ln.slo_ms for ln in open_loop.lines(run)} == {10: 50, 100: 500}
    given = run_of(doc_of(OPEN), tmp_path, slo_ms=50)
    assert {ln.delay_ms: ln.slo_ms for ln in open_loop.lines(given)} == {10: 50, 100: 50}


def test_the_maximum_sustainable_rates_of_the_run(run):
    assert best(run) == {(10, "sequential"): 70, (10, "thread_pool"): 5335,
                         (10, "coroutine"): None,
                         (100, "sequential"): 10, (100, "thread_pool"): 948,
                         (100, "coroutine"): 979}
    tp = line(run, 10, "thread_pool")
    assert tp.fraction(tp.best) == pytest.approx(1.25, abs=0.005)
    assert tp.capacity == pytest.approx(4268, abs=1)
    # What stopped each: the next step up was server-bound, or fell short of the rate.
    assert tp.above().rate == 6402 and tp.why(tp.above()).startswith("server-bound: server "
                                                                     "timers 11.3 ms late")
    seq = line(run, 100, "sequential")
    assert seq.why(seq.above()) == "goodput 10/s < 99% of 11/s"
    # Every coroutine step at 10 ms was server-bound: no verdict, but what its own numbers say.
    co = line(run, 10, "coroutine")
    assert len(co.bound) == len(co.steps) == 9 and co.unjudged_best.rate == 8359


def test_an_slo_changes_the_verdicts(tmp_path):
    tight = run_of(doc_of(OPEN), tmp_path, slo_ms=12)
    got = best(tight)
    assert got[(10, "thread_pool")] == 4695  # 5,335/s had a p99 of 13.9 ms
    assert got[(100, "thread_pool")] is None  # 100 ms of delay never fits in 12
    assert line(tight, 10, "thread_pool").why(line(tight, 10, "thread_pool").above()) == \
        "corrected p99 14 ms > 12 ms"


@pytest.mark.parametrize("values, missed", [
    ({"goodput": 5200.0}, "goodput 5,200/s < 99% of 5,335/s"),
    ({"failed": 11.0, "errors": 11.0}, "11 of 10,670 requests failed or incomplete"),
    ({"incomplete": 11.0}, "11 of 10,670 requests failed or incomplete"),
    ({"stopped_early": 1.0}, "stopped early"),
])
def test_each_criterion_can_disqualify_a_step(tmp_path, values, missed):
    name = STEP.format(impl="thread_pool", rate=5335, delay=10, c=100)
    r = run_of(edit(doc_of(OPEN), name, **values), tmp_path)
    tp = line(r, 10, "thread_pool")
    assert tp.best.rate == 4695
    assert tp.why(next(s for s in tp.steps if s.name == name)) == missed


def test_ten_failures_in_ten_thousand_are_within_the_budget(tmp_path):
    name = STEP.format(impl="thread_pool", rate=5335, delay=10, c=100)
    r = run_of(edit(doc_of(OPEN), name, failed=5.0, incomplete=5.0), tmp_path)
    assert line(r, 10, "thread_pool").best.rate == 5335


# --- server-bound steps ---------------------------------------------------------------------

def test_server_bound_steps_are_left_out_with_why(run):
    bound = {ln.impl: [r.rate for r in ln.bound] for ln in open_loop.lines(run)
             if ln.delay_ms == 10}
    assert bound == {"sequential": [46, 84, 93, 102, 116, 139],
                     "thread_pool": [1067, 2134, 3201, 6402],
                     "coroutine": [760, 1900, 3800, 5700, 6839, 7599, 8359, 9499, 11399]}
    assert not any(r.server_bound for r in run.open_rows if r.delay_ms == 100)
    assert all(r.server.causes == ("late",) for r in run.open_rows if r.server_bound)
    (said,) = open_loop.bound_sentences(run)
    assert said.startswith("At 10 ms, 19 of 27 steps were server-bound")
    assert "timers fired 1.2–11 ms late at p99" in said
    assert "max(1 ms, 5% of 10 ms) = 1 ms" in said
    assert "the server's 1 event-loop thread on CPU 0 of a 2-CPU machine was at most 27% busy" \
        in said
    assert "including steps offering only 10% of a model's closed-loop throughput" in said


# --- the gap sentence -----------------------------------------------------------------------

def test_the_gap_sentence_is_computed_from_the_run(run):
    g = open_loop.gap(run)
    assert g.row.name == STEP.format(impl="sequential", rate=15, delay=100, c=1)
    assert (g.corrected, g.service) == pytest.approx((1097.9, 105.4), abs=0.05) and g.judged
    said = open_loop.gap_sentence(run)
    assert said.startswith("At 1.51× its closed-loop throughput (15/s offered at a 100 ms delay, "
                           "10/s sent), sequential's corrected p99 was 1,098 ms while its "
                           "service-time p99 — what a closed-loop tool reports — was 105 ms: "
                           "10× less")
    assert "send lag p99 995 ms" in said


def test_without_queueing_the_sentence_says_they_agree(tmp_path):
    doc = doc_of(OPEN)
    doc["benchmarks"] = [b for b in doc["benchmarks"] if b["rate_fraction"] <= 0.5]
    said = open_loop.gap_sentence(run_of(doc, tmp_path))
    assert said.startswith("Corrected and uncorrected latency agree here")


def test_when_every_step_was_server_bound_the_sentence_says_so(tmp_path):
    doc = doc_of(OPEN)
    doc["benchmarks"] = [b for b in doc["benchmarks"] if "/coroutine/" in b["name"]
                         and "delay_ms:10/" in b["name"]]
    said = open_loop.gap_sentence(run_of(doc, tmp_path))
    assert "coroutine's corrected p99 was 704 ms" in said and "was 26 ms: 27× less" in said
    assert "(every step was server-bound, so this one is too)" in said


# --- the chart and the sections -------------------------------------------------------------

def test_the_chart_has_a_column_per_delay_and_a_series_per_model(run, tmp_path):
    drawn = open_chart.curves(run)
    assert sorted(drawn) == [10, 100]
    assert [c.label for c in drawn[10]] == ["sequential", "thread_pool", "coroutine"]
    tp = next(c for c in drawn[10] if c.impl == "thread_pool")
    assert tp.offered == sorted(tp.offered) and len(tp.offered) == 9
    assert tp.bound == [False, True, True, True, False, False, False, False, True]
    assert tp.best == pytest.approx((5335, 13.9), abs=0.05)
    assert next(c for c in drawn[10] if c.impl == "coroutine").best is None
    fig = open_chart.chart(run, tmp_path)
    assert fig.stem == "open_latency_vs_load"
    assert fig.series == ["sequential", "thread_pool", "coroutine"]
    assert "Hollow: server-bound steps" in fig.caption
    assert (tmp_path / "open_latency_vs_load.png").stat().st_size > 20_000


def test_the_table_of_maximum_sustainable_rates(run):
    table = open_chart.sustainable_table(run)
    at = {(r[0], r[1]): dict(zip(table.header, r)) for r in table.rows}
    assert at[("10 ms", "thread_pool")]["max sustainable rate"] == "5,335/s"
    assert at[("10 ms", "thread_pool")]["× its closed-loop throughput"] == "1.25×"
    assert at[("10 ms", "sequential")]["× its closed-loop throughput"] == "0.75×"
    assert at[("10 ms", "coroutine")]["max sustainable rate"] == \
        "none judged: all 9 steps server-bound"
    assert at[("10 ms", "coroutine")]["counting server-bound steps"] == "8,359/s (1.10×)"
    assert at[("100 ms", "coroutine")]["max sustainable rate"] == "979/s"
    assert at[("100 ms", "coroutine")]["SLO"] == "500 ms"


def test_none_in_the_sweep(tmp_path):
    tight = run_of(doc_of(OPEN), tmp_path, slo_ms=50)
    table = open_chart.sustainable_table(tight)
    cells = {(r[0], r[1]): r[3] for r in table.rows}
    assert {cells[("100 ms", m)] for m in ("sequential", "thread_pool", "coroutine")} == \
        {"none in the sweep"}
    assert "within the SLO (50 ms, `--slo`)" in open_loop.rule(tight)


def test_the_report_has_the_open_section_only_when_the_run_has_steps(run, tmp_path):
    doc = sections.report(run, charts.draw_all(run, tmp_path))
    assert doc.keys()[:3] == ["answer", "findings", "open_latency_vs_load"]
    assert "results" not in doc.keys()  # no batch, no table of batches
    (finding,) = [f for f in findings.findings(run) if f.kind == "open_loop"]
    assert finding.facts["best"][(10, "coroutine")] is None
    assert "at 10 ms (SLO 50 ms): thread_pool 5,335/s (1.25×) and sequential 70/s (0.75×)" \
        in finding.text
    mixed = rows.load(FIXTURES / "quick_open.json")
    keys = sections.report(mixed, charts.draw_all(mixed, tmp_path)).keys()
    assert "open_latency_vs_load" in keys and "results" in keys
    old = rows.load(FIXTURES / "quick_pinned.json")
    old_doc = sections.report(old, charts.draw_all(old, tmp_path))
    assert "open_latency_vs_load" not in old_doc.keys()
    assert not any(f.kind == "open_loop" for f in findings.findings(old))


def test_the_section_without_a_chart_still_has_the_numbers(run):
    sec = open_chart.section(run, None)
    assert sec.key == "open_latency_vs_load"
    assert open_chart.section(rows.load(FIXTURES / "quick_pinned.json"), None) is None


# --- the command line -----------------------------------------------------------------------

def report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["/usr/bin/python3", str(REPORT), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_cli_slo(tmp_path):
    r = report(FIXTURES / OPEN, "--out", tmp_path, "--slo", "50ms")
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "report.md").read_text()
    assert "| 100 ms | coroutine | 50 ms | none in the sweep |" in md
    assert "| 10 ms | thread_pool | 50 ms | 5,335/s | 1.25× |" in md
    assert (tmp_path / "open_latency_vs_load.png").exists()
    assert "open_latency_vs_load.svg" in (tmp_path / "index.html").read_text()
    bad = report(FIXTURES / OPEN, "--out", tmp_path / "bad", "--slo", "soon")
    assert bad.returncode == 2 and "'soon' is no duration" in bad.stderr


def test_the_tables_give_verdicts_as_codes_with_a_legend(run):
    # Sentences in a narrow column wrapped into a column of single words; codes fit, and the
    # legend under each table says them in words.
    sec = open_chart.section(run, None)
    tables = [b for b in sec.blocks if isinstance(b, document.Table)]
    legends = [b.text for b in sec.blocks
               if isinstance(b, document.Paragraph) and b.text.startswith("Codes: ")]
    assert len(tables) == 2 and len(legends) == 2
    above = [c.split(": ", 1)[1] for c in tables[0].column("the next step up")
             if c != "– (the top of the sweep)"]
    steps = tables[1].column("verdict")
    assert above and "MAX" in steps and "BOUND" in steps
    for cells, legend in ((above, legends[0]), (steps, legends[1])):
        used = {code for cell in cells for code in cell.split("+")}
        assert used <= set(open_loop.CODES), used
        assert all(f"{code} {open_loop.CODES[code]}" in legend for code in used)
        assert max(map(len, cells)) <= 20
