"""Server-bound rows: the one definition (results.server_bound), and how the report
treats them: marked in the tables and charts, left out of the findings, ratios and claims' verdicts,
counted, and the server-heavy-by-design ones named with the machine's numbers. On quick_pinned.json
(a real quick run, server on CPU 0 and client on CPU 1 of a busy 2-CPU VM), copied and edited."""
import copy
import re

import pytest

from conftest import FIXTURES
from report_docs import LATE, OVERFLOWS, PINNED, ZERO, doc_of, edit, run_of

from iobench_tools import results
from iobench_tools.report import charts, document, findings, rows, sections, server


@pytest.fixture(scope="module")
def pinned() -> rows.Run:
    return rows.load(FIXTURES / PINNED)


def row(run: rows.Run, name: str) -> rows.Row:
    return next(r for r in run.rows if r.name == name)


# --- the rule -------------------------------------------------------------------------------

@pytest.mark.parametrize("delay, counters, causes", [
    (100, {"server_cpu_util": 0.9, "server_late_p99_ms": 0, "listen_overflows": 0}, ("cpu",)),
    (100, {"server_cpu_util": 0.89, "server_late_p99_ms": 5.0, "listen_overflows": 0}, ()),
    (100, {"server_cpu_util": 0.1, "server_late_p99_ms": 5.01, "listen_overflows": 0},
     ("late",)),
    (10, {"server_cpu_util": 0.1, "server_late_p99_ms": 1.0, "listen_overflows": 0}, ()),
    (10, {"server_cpu_util": 0.1, "server_late_p99_ms": 1.01, "listen_overflows": 0},
     ("late",)),
    (0, {"server_cpu_util": 0.1, "server_late_p99_ms": 0, "listen_overflows": 1},
     ("overflows",)),
    (0, {"server_cpu_util": 1.0, "server_late_p99_ms": 2, "listen_overflows": 3},
     ("cpu", "late", "overflows")),
], ids=["cpu-at-90%", "late-at-the-limit", "late-over-5%", "late-at-the-1ms-floor",
        "late-over-the-floor", "one-overflow", "all-three"])
def test_the_rule_each_way(delay, counters, causes):
    sb = results.server_bound(delay, counters)
    assert sb.judged and sb.causes == causes and sb.bound == bool(causes)
    assert len(sb.reasons) == len(causes)


def test_the_reasons_carry_the_numbers():
    sb = results.server_bound(100, {"server_cpu_util": 0.97, "server_late_p99_ms": 9.47,
                                    "listen_overflows": 12})
    assert sb.why == ("server CPU 97% busy (at least 90%); server timers 9.5 ms late at p99 "
                      "(over 5 ms); 12 listen-queue overflow(s)")


def test_rows_without_the_evidence_are_not_judged():
    old = results.server_bound(10, {"server_late_p99_ms": 400.0})  # an older results file
    assert not old.judged and not old.bound
    assert old.missing == ("server_cpu_util", "listen_overflows")
    nan = results.server_bound(0, {"server_cpu_util": float("nan"), "listen_overflows": "x"})
    assert not nan.judged
    part = results.server_bound(0, {"listen_overflows": 2})
    assert part.judged and part.causes == ("overflows",) and part.missing == ("server_cpu_util",)


# --- which rows of the pinned run, and why ----------------------------------------------------


def test_which_rows_of_the_pinned_run_are_server_bound(pinned):
    bound = [r for r in pinned.rows if r.server_bound]
    assert len(pinned.rows) == 115 and len(bound) == 24
    count = {c: sum(c in r.server.causes for r in bound) for c in ("cpu", "late", "overflows")}
    assert count == {"cpu": 0, "late": 21, "overflows": 3}
    assert row(pinned, LATE).server.why == "server timers 414.6 ms late at p99 (over 50 ms)"
    assert row(pinned, OVERFLOWS).server.causes == ("overflows",)
    # Zero-delay points are CPU-bound, not server-bound, on this run: the server stayed under 50%.
    assert not any(r.server_bound for r in pinned.rows if r.delay_ms == 0 and r.bytes == 0)
    assert all(r.server.judged for r in pinned.rows)
    assert not any(server.by_design(r) for r in bound)


def test_the_finding_counts_them_and_says_why_none_was_by_design(pinned):
    found = {f.kind: f for f in findings.findings(pinned)}
    f = found["server_bound"]
    assert f.text.startswith("24 of 115 benchmarks were server-bound (21 with the server's "
                             "timers late, 3 with listen-queue overflows; ")
    # One line at the top; why, and the list, in the server-bound section.
    assert "none of them was meant to load the server" in f.text and "\n" not in f.text
    assert "“Server-bound benchmarks” lists them and says why" in f.text
    assert LATE not in f.text and len(f.text) < 300
    why = " ".join(server.explanation(pinned))
    assert "None of them was meant to load the server" in why
    assert "load average 13.3 over the last minute on 2 CPUs" in why
    assert "another program's overflows count too" in why
    assert why in " ".join(server.section(pinned).first(document.Bullets).items)
    assert set(f.facts["bound"]) == {r.name for r in pinned.rows if r.server_bound}
    assert f.facts["by_design"] == [] and f.facts["unjudged"] == 0
    assert "late_server" not in found  # the rule covers late timers where the evidence exists


def test_the_report_marks_them_in_tables_and_charts(pinned, tmp_path):
    table = sections.results_section(pinned).first(document.Table)
    assert table.header[-1] == "server-bound"
    cells = dict(zip(table.header, table.row(LATE)))
    assert cells["server-bound"] == "server timers 414.6 ms late at p99 (over 50 ms)"
    assert dict(zip(table.header, table.row(ZERO.format(impl="coroutine", c=16))))[
        "server-bound"] == ""
    listed = server.section(pinned).first(document.Table)
    assert len(listed.rows) == 24 and listed.row(LATE)[2] == "no"
    figures = {f.stem: f for f in charts.draw_all(pinned, tmp_path)}
    for stem in ("makespan_vs_requests", "throughput_vs_concurrency", "latency_percentiles",
                 "cost_vs_concurrency"):
        assert "Hollow: server-bound" in figures[stem].caption, stem
    assert "Grey with *: server-bound" in figures["efficiency_heatmap"].caption
    keys = sections.report(pinned, list(figures.values())).keys()
    assert keys[-6:] == ["claims", "gap", "server", "models", "results", "machine"]


def test_they_are_out_of_the_findings_ratios_and_claims(pinned):
    found = {f.kind: f for f in findings.findings(pinned)}
    # coroutine_mt's N = C = 100 batch was server-bound (timers 6.3 ms late): not ranked.
    assert found["all_at_once"].facts["ranking"] == ["coroutine", "curl_multi", "thread_pool",
                                                     "py_asyncio", "py_threads"]
    # At C = 100 four of six cost points were server-bound: the finding moves to C = 10.
    assert found["cost"].facts["concurrency"] == 10
    three = next(c for c in findings.claims(pinned) if c.claim.startswith("three"))
    assert three.bound == ["py_threads"] and three.failing == []
    assert three.verdict == "holds; not judged (server-bound): py_threads"
    tables = [b for b in sections.claims_section(pinned).blocks if isinstance(b, document.Table)]
    column = sections.claim_label(tables[0].column("claim").index(three.claim))
    assert dict(zip(tables[1].header, tables[1].row("py_threads")))[column] == \
        "1.42 s (server-bound)"


def test_a_claim_all_of_whose_rows_were_server_bound_is_not_judged(pinned):
    run = copy.deepcopy(pinned)
    for r in run.rows:
        if r.label.startswith("two"):
            r.metrics["listen_overflows"] = 1.0
    two = next(c for c in findings.claims(run) if c.claim.startswith("two"))
    assert two.verdict == "not judged: server-bound"


def test_a_server_bound_model_or_ceiling_gives_no_ratio(tmp_path):
    doc = edit(doc_of(), ZERO.format(impl="coroutine", c=16), server_cpu_util=0.95)
    doc = edit(doc, ZERO.format(impl="wrk", c=64), listen_overflows=3)
    run = run_of(doc, tmp_path)
    gap = findings.gap(run)
    assert ("coroutine", 16) not in gap.fraction and ("coroutine", 16) in gap.bound
    assert not any(c == 64 for _, c in gap.fraction), "no ceiling to divide by at C = 64"
    table = sections.gap_section(run)
    t = table.first(document.Table)
    assert t.row("coroutine")[2] == "server-bound (47,680)"
    assert t.row("thread_pool")[3] == "– (6,595)"
    assert t.row("wrk")[3] == "server-bound (29,482, -t1)"
    assert any("At C = 64 wrk itself was server-bound" in b
               for b in table.first(document.Bullets).items)
    best = {f.kind: f for f in findings.findings(run)}["zero_delay_best"]
    assert best.facts["ranking"][:2] == ["wrk", "coroutine_mt"]  # coroutine's C = 16 is out


# --- server-heavy by design, in the machine's words ---------------------------------------------


def saturated(doc: dict) -> dict:
    """The zero-delay points at C = 16 and 64 with the server's CPU saturated, as a server with
    one thread is on a machine whose client outruns it."""
    for impl in ("thread_pool", "coroutine", "curl_multi", "coroutine_mt", "wrk"):
        for c in (16, 64):
            doc = edit(doc, ZERO.format(impl=impl, c=c), server_cpu_util=0.97)
    return doc


def test_zero_delay_points_bound_by_the_server_cpu_are_named_by_design(tmp_path):
    run = run_of(saturated(doc_of()), tmp_path)
    heavy = [r for r in run.rows if server.by_design(r) == "zero delay"]
    assert len(heavy) == 10
    assert "34 of 115 benchmarks were server-bound" in server.summary(run)[0]
    assert "10 of them server-heavy by design" in server.summary(run)[0]
    text = " ".join(server.explanation(run))
    assert ("10 are zero-delay throughput points, server-heavy by design" in text)
    assert ("the server's 1 event-loop thread on CPU 0 against the client's 1 CPU work as fast "
            "as the client lets them" in text)
    assert "The other 24 were not meant to load the server" in text
    table = server.section(run).first(document.Table)
    assert table.row(ZERO.format(impl="wrk", c=64))[1:] == [
        "server CPU 97% busy (at least 90%)", "zero delay",
        "cpu_us_per_req, peak_rss_mib, threads, errors"]


def test_the_section_says_what_the_gate_judges_on_them(pinned):
    """The gate leaves a server-bound row's timings unjudged and still judges the client's own
    cost there; the report says which metrics, where."""
    section = server.section(pinned)
    text = section.first(document.Paragraph).text
    assert ("leaves efficiency, speedup_vs_sequential, makespan_ms, p50_ms, p99_ms at delay > 0; "
            "req_per_s at zero delay unjudged there") in text
    assert ("(cpu_us_per_req at zero delay; peak_rss_mib, threads on every benchmark), and its "
            "failed requests") in text
    table = section.first(document.Table)
    assert table.header[-1] == "the regression gate judges"
    assert table.row(LATE)[-1] == "peak_rss_mib, threads, errors"


def test_the_by_design_sentence_follows_the_context(tmp_path):
    doc = saturated(doc_of())
    doc["context"].update(num_cpus=16, server_cpus="0-3", client_cpus="4-15", server_threads="4")
    text = " ".join(server.explanation(run_of(doc, tmp_path)))
    assert ("the server's 4 event-loop threads on CPUs 0-3 against the client's 12 CPUs"
            in text)
    assert not re.search(r"\b(1 CPU|2 CPUs)\b", text)


def test_a_burst_is_server_heavy_by_design(pinned):
    run = copy.deepcopy(pinned)
    r = row(run, "fetch/coroutine/requests:100/delay_ms:100/concurrency:100/bytes:0")
    r.requests = r.concurrency = 8000
    r.metrics["listen_overflows"] = 40.0
    assert server.by_design(r) == "burst of 8,000 connections"
    assert "1 is a burst of N = C ≥ 1,000 connections" in " ".join(server.explanation(run))


def test_an_older_file_says_the_evidence_is_missing():
    old = rows.load(FIXTURES / "quick_results.json")
    assert not any(r.server.judged for r in old.rows)
    f = {f.kind: f for f in findings.findings(old)}["server_bound"]
    assert "predates the evidence" in f.text and f.facts["bound"] == []
    assert server.section(old) is None
    table = sections.results_section(old).first(document.Table)
    assert set(table.column("server-bound")) == {"–"}


def test_no_server_bound_row_is_said_too(pinned):
    run = copy.deepcopy(pinned)
    for r in run.rows:
        r.metrics.update(server_late_p99_ms=0.1, listen_overflows=0.0)
    text = server.summary(run)[0]
    assert text.startswith("No benchmark of 115 was server-bound")
