"""The report speaks of the machine the results came from: the partition
in the machine section, machine facts in prose from the context only, zero-delay rankings that
say when they are a property of the core count, and a ceiling that is one: a ratio above wrk's
always comes with its reason. quick_pinned.json copied, its context and a few rows edited."""
import copy
import re

import pytest

from conftest import FIXTURES

from iobench_tools import results
from iobench_tools.report import charts, document, findings, machine, rows, sections
from report_docs import ZERO, doc_of, edit, run_of

SIXTEEN = {"num_cpus": 16, "cores": "16", "server_cpus": "0-7", "client_cpus": "8-15",
           "server_threads": "8", "load_avg": [3.0, 2.5, 2.0]}
# Machine facts a 16-CPU run must never state about itself.
TWO_CORES = re.compile(r"two cores|one core|\b2 CPUs\b|\b2 cores\b|one CPU each", re.I)


def sixteen(doc: dict) -> dict:
    """The run as a 16-CPU machine would label it: server CPUs 0-7 with 8 threads, client 8-15;
    the models that spread over CPUs with a thread per client CPU."""
    doc = copy.deepcopy(doc)
    doc["context"].update(SIXTEEN)
    for b in doc["benchmarks"]:
        if b["name"].startswith("fetch/coroutine_mt/") and "/delay_ms:0/" in b["name"]:
            b["threads"] = 9.0
    return doc


@pytest.fixture(scope="module")
def pinned() -> rows.Run:
    return rows.load(FIXTURES / "quick_pinned.json")


# --- the machine section and the prose ------------------------------------------------------

def test_a_16_cpu_run_never_mentions_two_cores(tmp_path):
    run = run_of(sixteen(doc_of()), tmp_path)
    figures = charts.draw_all(run, tmp_path)
    doc = sections.report(run, figures)
    md = document.to_markdown(doc)
    assert not TWO_CORES.search(md), TWO_CORES.search(md)
    machine_section = doc.section("machine")
    assert machine_section.first(document.Paragraph).text == (
        "The mock server ran on CPUs 0-7 (8 CPUs) with 8 event-loop threads; the client side "
        "(every model, the Python references and wrk) on CPUs 8-15 (8 CPUs of the machine's 16).")
    table = machine_section.first(document.Table)
    for cells in (["CPUs", "16"], ["server CPUs", "0-7"], ["client CPUs", "8-15"],
                  ["server threads", "8"], ["libcurl", "7.88.1"],
                  ["kernel", "Linux 6.18.44-fc-v669"]):
        assert cells in table.rows
    caption = next(f for f in figures if f.stem == "throughput_vs_concurrency").caption
    assert "server CPUs 0-7, client CPUs 8-15; 8 server threads" in caption


def test_the_pinned_2_cpu_run_says_its_partition(pinned):
    text = sections.machine_section(pinned.context).first(document.Paragraph).text
    assert text == ("The mock server ran on CPU 0 with 1 event-loop thread; the client side "
                    "(every model, the Python references and wrk) on CPU 1 (1 CPU of the "
                    "machine's 2). The machine was busy when the run started: load average 13.3 "
                    "over the last minute on 2 CPUs.")


@pytest.mark.parametrize("ctx, text", [
    ({"num_cpus": 4, "server_cpus": "all (not pinned)", "client_cpus": "all (not pinned)",
      "server_threads": "4", "pinning": "--no-pin"},
     "Server and client were not pinned: they shared the machine's 4 CPUs, the server with 4 "
     "event-loop threads. Pinning: --no-pin."),
    ({"num_cpus": 8, "server_cpus": "", "client_cpus": "0-7", "server_threads": "2",
      "server": "http://10.7.0.2:8080"},
     "The server was external (http://10.7.0.2:8080) with 2 event-loop threads, so its CPUs are "
     "not this machine's; the client side (every model, the Python references and wrk) on CPUs "
     "0-7 (8 CPUs of the machine's 8)."),
    ({"num_cpus": 2}, "This results file predates the CPU partition: it does not say where the "
     "server and the client ran on the machine's 2 CPUs."),
    ({}, "This results file predates the CPU partition: it does not say where the server and "
     "the client ran."),
], ids=["unpinned", "external", "older", "no-context"])
def test_the_partition_in_words(ctx, text):
    assert " ".join(machine.partition(ctx)) == text


def test_an_older_file_still_renders(tmp_path):
    old = rows.load(FIXTURES / "quick_results.json")
    doc = sections.report(old, charts.draw_all(old, tmp_path))
    assert "predates the CPU partition" in doc.section("machine").first(document.Paragraph).text
    assert document.to_markdown(doc) and document.to_html(doc)


@pytest.mark.parametrize("value, count", [("0", 1), ("0-7", 8), ("0,2-3", 3), ("8-15", 8),
                                          ("all (not pinned)", None), ("", None), (None, None)])
def test_cpu_lists_are_counted(value, count):
    assert results.cpu_count(value) == count


# --- zero delay: a property of the core count? ----------------------------------------------

def test_the_zero_delay_ranking_says_when_it_is_the_core_count(tmp_path, pinned):
    best = {f.kind: f for f in findings.findings(pinned)}["zero_delay_best"]
    assert best.facts["cores"] == ("On the client's CPU 1 each of them could keep 1 CPU busy, so "
                                   "this ranking compares CPU cost per request, not how many "
                                   "cores a model can use.")
    run = run_of(sixteen(doc_of()), tmp_path)
    cores = {f.kind: f for f in findings.findings(run)}["zero_delay_best"].facts["cores"]
    assert cores.startswith("On the client's 8 CPUs (8-15) the CPUs each could keep busy")
    # From the rows' threads, not from names: the one-thread models on 1, the others on 8.
    one, eight = re.search(r"were: (.*) 1; (.*) 8; at zero delay", cores).groups()
    assert set(re.split(r", | and ", one)) == {"wrk", "coroutine", "curl_multi", "py_asyncio",
                                               "sequential", "py_sequential"}
    assert set(re.split(r", | and ", eight)) == {"thread_pool", "coroutine_mt", "py_threads"}
    assert "a property of the core count" in cores


# --- a ceiling that is one ------------------------------------------------------------------

def test_every_ratio_above_the_ceiling_says_why(pinned):
    gap = findings.gap(pinned)
    above = {k for k, f in gap.fraction.items() if f > 1}
    assert above == set(gap.above) == {("coroutine", 1), ("coroutine", 64), ("coroutine_mt", 64)}
    why64 = gap.above[("coroutine", 64)][1]
    assert "wrk itself did 56,071 req/s at C = 16, more than here" in why64
    assert "wrk kept neither its 1 thread (25% busy) nor the server (28%) saturated" in why64
    assert "round trips" in gap.above[("coroutine", 1)][1]
    section = sections.gap_section(pinned)
    table = section.first(document.Table)
    assert table.row("coroutine")[3] == "1.38† (40,786)"
    assert table.row("thread_pool")[3] == "0.22 (6,595)"
    assert table.row("wrk")[1:] == ["1.00 (6,733, -t1)", "1.00 (56,071, -t1)",
                                    "1.00 (29,482, -t1)"]
    notes = section.first(document.Bullets).items
    assert any(n.startswith("† Above wrk at C = 64: coroutine (1.38) and coroutine_mt (1.09), "
                            "because wrk itself did") for n in notes)
    assert "`wrk -t1 -cC`: a thread per client CPU, at most C" in \
        section.first(document.Paragraph).text
    ceiling = {f.kind: f for f in findings.findings(pinned)}["ceiling"]
    assert ceiling.facts["fraction"] > 1 and "The model is above the ceiling: wrk itself" in \
        ceiling.text


def test_a_ceiling_with_fewer_threads_than_the_model_has_cpus(tmp_path):
    doc = edit(sixteen(doc_of()), ZERO.format(impl="thread_pool", c=16), req_per_s=112142.0)
    run = run_of(doc, tmp_path)
    gap = findings.gap(run)
    fraction, why = gap.above[("thread_pool", 16)]
    assert fraction == pytest.approx(2.0, abs=0.01)
    assert why == ("wrk ran `-t1`, 1 thread, where thread_pool's 17 threads could keep 8 client "
                   "CPUs busy.")
    text = sections.gap_section(run).first(document.Paragraph).text
    assert "a thread per client CPU" not in text  # -t1 on 8 client CPUs is not one per CPU
    best = {f.kind: f for f in findings.findings(run)}["zero_delay_best"].text
    ahead = re.search(r"Ahead of wrk, the ceiling, at the same concurrency: ([^;]*); the gap to "
                      r"the ceiling says why\.", best)
    assert ahead and "thread_pool" in ahead[1].split(", "), best


def test_no_model_is_ahead_of_a_ceiling_measured_at_another_concurrency(tmp_path):
    # wrk's only row is C = 1; thread_pool's best (C = 16) is far above wrk's C = 1 figure, but
    # they were not measured at the same concurrency: thread_pool is not "ahead" of it.
    doc = edit(sixteen(doc_of()), ZERO.format(impl="thread_pool", c=16), req_per_s=112142.0)
    doc["benchmarks"] = [b for b in doc["benchmarks"]
                         if not (b["name"].startswith("fetch/wrk/") and "concurrency:1/" not in
                                 b["name"])]
    run = run_of(doc, tmp_path)
    best = {f.kind: f for f in findings.findings(run)}["zero_delay_best"].text
    ahead = re.search(r"Ahead of wrk, the ceiling, at the same concurrency: ([^;]*);", best)
    # At C = 1, coroutine (7,049 req/s) beat wrk (6,733); thread_pool (6,008) did not.
    assert ahead and ahead[1].split(", ") == ["coroutine"], best


def test_a_ratio_above_the_ceiling_with_no_evidence_is_called_noise(pinned):
    run = copy.deepcopy(pinned)
    for r in run.rows:
        if r.impl == "wrk":
            r.metrics.pop("client_cpu_util")
    why = findings.gap(run).above[("coroutine", 1)][1]
    assert why.startswith("neither was server-bound and wrk had a thread per CPU the model")
