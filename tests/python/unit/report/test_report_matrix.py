"""The factor matrix: each model a cell of mechanism x library (with its interface), CPU per request
at zero delay and makespan at N = C = 1,000, and one sentence per pair of models that differ in one
factor. On factors_run.json (a real run whose registry carries the factors)."""
from conftest import FIXTURES

from iobench_tools.report import matrix, rows
from iobench_tools.report.document import Bullets, Table


def test_each_model_is_the_cell_of_its_factors():
    sec = matrix.section(rows.load(FIXTURES / "factors_run.json"))
    cpu, scale = [b for b in sec.blocks if isinstance(b, Table)]
    assert cpu.header == ["mechanism \\ library", "beast", "libcurl", "own"]
    own_loop = cpu.row("event loop")[3]
    assert own_loop.startswith("epoll (epoll): ") and "uring (io_uring): " in own_loop
    assert cpu.row("one at a time")[2].startswith("sequential (blocking): ")
    assert cpu.row("thread per request")[1] == "–"
    assert "thread per request" in scale.column("mechanism \\ library")
    assert "one at a time" not in scale.column("mechanism \\ library"), "N = C: no such row"


def test_one_factor_at_a_time():
    sec = matrix.section(rows.load(FIXTURES / "factors_run.json"))
    said = next(b for b in sec.blocks if isinstance(b, Bullets)).items
    interface = [s for s in said if s.startswith("Interface alone")]
    assert len(interface) == 1 and "epoll (epoll)" in interface[0]
    assert "uring (io_uring)" in interface[0] and "server-bound" in interface[0]
    assert any(s.startswith("Library alone (mechanism event loop and interface epoll on both): "
                            "coroutine (beast)") for s in said)
    # Every N = C = 1,000 row was server-bound: no makespan is credited to a factor.
    assert not any("for N = C" in s for s in said)


def test_no_factors_no_matrix():
    assert matrix.section(rows.load(FIXTURES / "quick_results.json")) is None
