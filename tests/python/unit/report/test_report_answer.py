"""The report answers first: its first section says, computed from the run, the fastest model for
each kind of load and by how much, what each mechanism costs per request, the claims' verdict,
how far the Python clients are, and the server-bound count in one line. On default_run.json (a
real default-suite run, server on CPU 0 and client on CPU 1 of a 2-CPU VM), then edited so that
another answer is true."""
import copy

import pytest

from conftest import FIXTURES
from report_docs import doc_of, edit, run_of

from iobench_tools.report import answer, document, findings, rows, sections, server

AT_ONCE = "fetch/{impl}/requests:100/delay_ms:100/concurrency:100/bytes:0"


@pytest.fixture(scope="module")
def run() -> rows.Run:
    return rows.load(FIXTURES / "default_run.json")


def said(run: rows.Run) -> list[str]:
    return answer.section(run).first(document.Bullets).items


def test_the_answer_is_the_first_section(run):
    doc = sections.report(run, [])
    assert doc.keys()[:2] == ["answer", "findings"]
    items = said(run)
    assert [i.split("**")[1] for i in items] == [
        "Many slow calls at once", "Nothing to wait for", "Requests arriving at a steady rate",
        "What each mechanism costs", "The blog posts' claims", "Python"]
    assert "<strong>Many slow calls at once</strong>" in document.to_html(doc)


def test_many_slow_calls_rank_the_judged_models(run):
    text = said(run)[0]
    # N = 1,000: the server set the pace for every model; N = 100 ranks the judged ones.
    judged = sorted((r for r in run.judged() if r.delay_ms == 100 and r.requests == 100
                     and r.concurrency == 100 and not r.model.reference),
                    key=lambda r: r.makespan_s)
    assert [r.impl for r in judged][:2] == ["coroutine_mt", "uring"]
    assert text.startswith("**Many slow calls at once** (100 requests of 100 ms, all in flight): "
                           "coroutine_mt finished first, in 110 ms, 1.02× ahead of the next, "
                           "uring (112 ms), and 1.11× ahead of the slowest, thread_pool (122 ms)")
    assert "one after another they take 10.00 s" in text
    assert "at N = 1,000 the server set the pace for 7 of 7 models" in text
    assert "beast_pool" not in text  # server-bound at N = 100: its makespan is the server's


def test_another_run_gives_another_answer(tmp_path):
    doc = doc_of("default_run.json")
    doc = edit(doc, AT_ONCE.format(impl="thread_pool"), real_time=100.5, makespan_ms=100.5)
    doc = edit(doc, "fetch/sequential/requests:2000/delay_ms:0/concurrency:1/bytes:0",
               req_per_s=200000.0)
    run = run_of(doc, tmp_path)
    assert said(run)[0].split(": ", 1)[1].startswith("thread_pool finished first")
    assert "Nothing to wait for" in said(run)[1] and ": sequential did the most" in said(run)[1]


def test_the_mechanisms_cost_is_the_clients_own_from_every_row(run):
    text = said(run)[3]
    assert text.startswith("**What each mechanism costs** per request, at C = 1,000 (100 ms")
    # Each mechanism from the registry's factor, cheapest first, with its cheapest and dearest
    # model; server-bound rows count here (CPU and memory are the client's whoever set the pace).
    for mech in ("event loop", "event loop per core", "thread per request"):
        assert f"; {mech} " in text or f": {mech} " in text
    assert text.index("event loop 17.6 µs (epoll) to 69.5 µs (curl_multi)") < \
        text.index("thread per request 32.4 µs (beast_pool) to 79.6 µs (thread_pool)")
    assert "KiB" in text and "py_" not in text and "wrk" not in text


def test_the_claims_and_the_python_distance(run):
    assert said(run)[4].startswith("**The blog posts' claims**: 3 of 3 hold")
    assert said(run)[5] == (
        "**Python** (the references, same server, same run): for 100 slow calls at once the "
        "fastest, py_uvloop, took 1.38× as long as coroutine_mt; with nothing to wait for the "
        "best, py_threads, did 0.12× the requests per second of epoll.")


def test_a_failed_claim_is_named(run):
    run = copy.deepcopy(run)
    two = next(c for c in findings.claims(run) if c.claim.startswith("two"))
    slow = next(r for r in run.rows if r.label and r.label.startswith(two.claim)
                and r.impl == "thread_pool")
    slow.makespan_s = 3.9  # one after another, though it runs them at once
    text = answer.claims(run)
    assert text.startswith("**The blog posts' claims**: 2 of 3 hold; “two 2-second fetches")
    assert "does not hold for thread_pool" in text


def test_the_server_bound_count_is_one_line(run):
    bound = server.summary(run)[1]["bound"]
    line = answer.section(run).first(document.Paragraph).text
    assert line == (f"{len(bound)} of {len(run.rows)} benchmarks were server-bound: their "
                    "timings are left out of these answers (“Server-bound benchmarks” lists "
                    "them and says why).")
    assert len(bound) == 69


def test_a_run_without_those_kinds_of_rows_answers_what_it_can():
    old = rows.load(FIXTURES / "quick_results.json")  # before the registry and its factors
    items = said(old)
    assert items and not any("steady rate" in i for i in items)  # no open-loop steps
    cost = next(i for i in items if "mechanism costs" in i)
    assert "thread_pool" in cost  # no factor: each model is its own mechanism
    empty = copy.deepcopy(old)
    empty.rows = []
    assert answer.section(empty) is None
