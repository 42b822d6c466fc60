"""The work section of the report: batches with work or a block per response (.../work_us:W,
.../block_us:B) are read apart from plain batches, each beside the ideal its mechanism allows,
and the posts' pitfall is a claim with a prediction and a verdict. On work_suite.json."""
import copy
import json
import subprocess

from conftest import FIXTURES, ROOT

from iobench_tools.report import rows, sections, work

REPORT = ROOT / "scripts" / "report.py"


def load(tmp_path, doc=None):
    path = FIXTURES / "work_suite.json"
    if doc is not None:
        path = tmp_path / "work.json"
        path.write_text(json.dumps(doc))
    return rows.load(path)


def test_work_rows_are_kept_apart_from_plain_batches(tmp_path):
    run = load(tmp_path)
    assert not any("/work_us:" in r.name or "/block_us:" in r.name for r in run.rows)
    assert len(run.rows) == 5 and len(run.work_rows) == 15
    pts = work.series_of(run)
    assert set(pts["coroutine"]) == {(0, 0), (200, 0), (1000, 0), (0, 2000)}


def test_the_ideal_follows_the_mechanism(tmp_path):
    run = load(tmp_path)
    pts = work.series_of(run)
    assert work.client_cpus(run) == 1  # the partition gave the client CPU 1 alone
    one_loop = pts["coroutine"][(0, 2000)]
    assert work.ideal_s(one_loop, 0, 2000, 1) == 320 * 0.002  # every block in turn: N x B
    threads = pts["thread_pool"][(0, 2000)]
    assert abs(work.ideal_s(threads, 0, 2000, 1) - 10 * 0.012) < 1e-9  # ten waves of L + B
    assert abs(work.ideal_s(pts["thread_pool"][(1000, 0)], 1000, 0, 1) - 0.32) < 1e-9
    assert abs(work.ideal_s(pts["thread_pool"][(1000, 0)], 1000, 0, 4) - 0.11) < 1e-9
    seq = pts["sequential"][(200, 0)]
    assert abs(work.ideal_s(seq, 200, 0, 1) - 320 * 0.0102) < 1e-9


def test_the_section_has_the_table_and_the_pitfall(tmp_path):
    run = load(tmp_path)
    sec = work.section(run, None)
    table = sec.blocks[1]
    assert table.header == ["model", "mechanism", "none", "W 200 µs", "W 1000 µs", "B 2 ms"]
    assert table.row("coroutine")[1] == "event_loop"
    assert "ideal 640 ms" in table.row("coroutine")[-1]
    claim = sec.blocks[2].rows[0]
    assert claim[1] == "N × B = 640 ms" and claim[-1] == "holds"
    doc = sections.report(run, [])
    assert doc.section(work.STEM).title == "Work and a blocking call per response"


def test_a_loop_that_does_not_stall_fails_the_claim(tmp_path):
    doc = json.loads((FIXTURES / "work_suite.json").read_text())
    for b in doc["benchmarks"]:
        if b["name"].startswith("fetch/coroutine/") and "/block_us:" in b["name"]:
            b["real_time"] = 150.0  # ms: far under N x B
    claim = work.pitfall(load(tmp_path, doc))
    assert claim[-1] == "holds for curl_multi"


def test_an_errored_work_row_is_named_not_dropped(tmp_path):
    doc = copy.deepcopy(json.loads((FIXTURES / "work_suite.json").read_text()))
    for b in doc["benchmarks"]:
        if b["name"].startswith("fetch/curl_multi/") and "/work_us:1000" in b["name"]:
            b["error_occurred"] = True
            b["error_message"] = "mock_server died"
    run = load(tmp_path, doc)
    assert (1000, 0) not in work.series_of(run)["curl_multi"]
    assert any("work_us:1000" in g and "mock_server died" in g for g in run.gaps)


def test_cli_draws_the_chart(tmp_path):
    out = tmp_path / "report"
    r = subprocess.run(["/usr/bin/python3", str(REPORT), str(FIXTURES / "work_suite.json"),
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (out / "makespan_vs_work.png").exists() and (out / "makespan_vs_work.svg").exists()
    assert "Work and a blocking call per response" in (out / "report.md").read_text()
