"""The Runtimes section: each runtime's concurrent client (the references grouped by the
registry's `runtime`) beside coroutine and thread_pool at the same points. On runtimes_run.json:
rows of a default-suite run on this 2-CPU VM (zero delay at C = 64 and N = C = 1,000 at 100 ms;
coroutine, thread_pool, the Python, Node and Go references and wrk)."""
import json

from conftest import FIXTURES

from iobench_tools.report import rows, runtimes
from iobench_tools.report.document import Bullets, Table

RUN = FIXTURES / "runtimes_run.json"


def table(sec):
    return next(b for b in sec.blocks if isinstance(b, Table))


def test_every_concurrent_client_by_runtime_beside_the_models():
    sec = runtimes.section(rows.load(RUN))
    t = table(sec)
    assert t.column("client") == ["coroutine", "thread_pool", "py_asyncio", "py_threads",
                                  "py_uvloop", "node_fetch", "go_goroutines"], \
        "one at a time (py_sequential) and wrk are no runtime's concurrent client"
    assert t.column("runtime") == ["C++ (iobench)", "C++ (iobench)", "Python", "Python",
                                   "Python", "Node.js", "Go"]
    assert t.row("go_goroutines")[2] == "event loop per core"


def test_the_ratios_are_the_rows_own():
    run = rows.load(RUN)
    t = table(runtimes.section(run))
    rps = {r.impl: r.m("req_per_s") for r in run.rows
           if r.delay_ms == 0 and r.concurrency == 64 and r.plain}
    span = {r.impl: r.makespan_s for r in run.rows if r.requests == r.concurrency == 1000}
    for client in ("node_fetch", "go_goroutines", "py_asyncio"):
        row = t.row(client)
        assert row[4] == f"{rps[client] / rps['coroutine']:.2f}×"
        assert row[7] == f"{span[client] / span['coroutine']:.2f}×"
    assert t.row("coroutine")[4] == "1.00×"


def test_one_sentence_per_client():
    said = next(b for b in runtimes.section(rows.load(RUN)).blocks
                if isinstance(b, Bullets)).items
    assert len(said) == 5
    go = next(s for s in said if s.startswith("Go (go_goroutines, event loop per core): "))
    assert "req/s at zero delay, C = 64" in go and "coroutine's" in go


def test_a_file_without_runtimes_has_no_section(tmp_path):
    doc = json.loads(RUN.read_text())
    registry = json.loads(doc["context"]["models"])
    for m in registry:
        m.pop("runtime")
    doc["context"]["models"] = json.dumps(registry)
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    assert runtimes.section(rows.load(old)) is None
