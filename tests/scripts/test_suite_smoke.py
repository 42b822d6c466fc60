"""build/bin/iobench end to end on tiny sizes: every counter for every impl, contract names."""
import json
import re
import subprocess

import pytest

from conftest import ROOT

# The evidence that the server was not the bottleneck, on every row.
SERVER_EVIDENCE = ["server_max_in_flight", "server_late_p99_ms", "server_cpu_util",
                   "client_cpu_util", "listen_overflows"]
COUNTERS = ["req_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "efficiency", "cpu_us_per_req",
            "peak_rss_mib", "threads", "errors"] + SERVER_EVIDENCE
# wrk gives throughput, latency percentiles, errors, its CPU and RSS; the rest is left out.
WRK_COUNTERS = ["req_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "cpu_us_per_req",
                "peak_rss_mib", "errors"] + SERVER_EVIDENCE
NAME = re.compile(
    r"^fetch/([A-Za-z0-9_.-]+)/requests:\d+/delay_ms:\d+/concurrency:\d+/bytes:\d+(/close)?$")
MODEL_KEYS = {"name", "kind", "one_at_a_time", "baseline", "summary"}


def iobench(bins, tmp_path, *args, timeout=120):
    out = tmp_path / "results.json"
    r = subprocess.run([str(bins / "iobench"), *args, f"--benchmark_out={out}",
                        "--benchmark_out_format=json"], capture_output=True, text=True,
                       timeout=timeout)
    return r, out


@pytest.fixture(scope="module")
def smoke(bins, tmp_path_factory):
    r, out = iobench(bins, tmp_path_factory.mktemp("smoke"), "--suite", "smoke")
    assert r.returncode == 0, r.stderr
    return r, json.loads(out.read_text())


def models(doc):
    """The registry as the run wrote it into the results' context."""
    return json.loads(doc["context"]["models"])


def test_context_lists_the_registry(smoke):
    _, doc = smoke
    rows = models(doc)
    assert rows and all(set(r) == MODEL_KEYS for r in rows), rows
    names = [r["name"] for r in rows]
    assert len(set(names)) == len(names)
    kinds = [r["kind"] for r in rows]
    assert kinds == sorted(kinds), "models first, then references"
    assert set(kinds) == {"model", "reference"}
    refs = [r["name"] for r in rows if r["kind"] == "reference"]
    assert refs == ["py_asyncio", "py_threads", "py_sequential", "wrk"]
    assert [r["kind"] for r in rows if r["baseline"]] == ["model"], "one baseline, a model"
    assert [r["name"] for r in rows if r["one_at_a_time"] and r["kind"] == "reference"] == [
        "py_sequential"]
    assert all(r["summary"] and "\n" not in r["summary"] for r in rows)
    assert doc["context"]["cpu_model"]


def test_every_impl_reports_every_counter(smoke):
    _, doc = smoke
    seen = set()
    for b in doc["benchmarks"]:
        m = NAME.match(b["name"])
        assert m, b["name"]
        assert not b.get("error_occurred"), b.get("error_message")
        impl = m.group(1)
        for c in WRK_COUNTERS if impl == "wrk" else COUNTERS:
            assert isinstance(b.get(c), (int, float)), (b["name"], c)
        if impl == "wrk":
            assert "efficiency" not in b, "wrk cannot give it; it is left out, not invented"
            assert re.match(r"wrk -t[1-4] -c4 ", b["label"]), "a thread per client CPU, <= C"
        assert b["errors"] == 0
        assert b["req_per_s"] > 0 and 0 < b["p50_ms"] <= b["p99_ms"] <= b["max_ms"]
        seen.add(impl)
    assert seen == {r["name"] for r in models(doc)}, "the smoke suite runs every impl"


def test_python_rows_are_the_childs_own_numbers(smoke):
    _, doc = smoke
    by = {b["name"]: b for b in doc["benchmarks"]}
    py = by["fetch/py_threads/requests:4/delay_ms:5/concurrency:2/bytes:0"]
    assert py["threads"] >= 3, "the child's pool, not iobench's one thread"
    assert py["rss_base_mib"] > 5, "an interpreter's RSS"
    assert py["server_max_in_flight"] == 2
    seq = by["fetch/py_sequential/requests:4/delay_ms:5/concurrency:1/bytes:0"]
    assert seq["server_max_in_flight"] == 1 and 0 < seq["efficiency"] <= 1.05


def test_counters_describe_the_batch(smoke):
    _, doc = smoke
    by_name = {b["name"]: b for b in doc["benchmarks"]}
    seq = by_name["fetch/sequential/requests:4/delay_ms:5/concurrency:1/bytes:0"]
    pool = by_name["fetch/thread_pool/requests:4/delay_ms:5/concurrency:2/bytes:0"]
    co = by_name["fetch/coroutine/requests:4/delay_ms:5/concurrency:2/bytes:0"]
    assert seq["server_max_in_flight"] == 1 and pool["server_max_in_flight"] == 2
    assert pool["threads"] >= 3 and co["threads"] == 1
    assert 0 < co["efficiency"] <= 1.05
    close = by_name["fetch/coroutine/requests:10/delay_ms:0/concurrency:4/bytes:1000/close"]
    assert close["efficiency"] == 0


def test_context_and_progress(smoke):
    r, doc = smoke
    for key in ["git_sha", "build_type", "boost_version", "libcurl_version", "kernel", "cores",
                "cpu_model", "iobench_suite", "models", "server_cpus", "client_cpus",
                "server_threads"]:
        assert key in doc["context"], key
    n = len(doc["benchmarks"])
    assert f"[1/{n}] fetch/" in r.stderr and f"[{n}/{n}] fetch/" in r.stderr
    assert "started mock_server at http://127.0.0.1:" in r.stderr


def test_list_tests_names_every_point_of_every_impl(bins, smoke):
    _, doc = smoke
    r = subprocess.run([str(bins / "iobench"), "--suite", "smoke", "--benchmark_list_tests"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # Google Benchmark lists its own names, suffixes ("/iterations:1/real_time") included.
    listed = [re.match(r"fetch/([A-Za-z0-9_.-]+)/", line) for line in r.stdout.split()]
    assert all(listed), r.stdout
    assert len(listed) == len(doc["benchmarks"])
    assert {m.group(1) for m in listed} == {m["name"] for m in models(doc)}


def test_impls_and_filter_select(bins, tmp_path):
    r, out = iobench(bins, tmp_path, "--suite", "smoke", "--impls", "coroutine",
                     "--benchmark_filter=close")
    assert r.returncode == 0, r.stderr
    names = [b["name"] for b in json.loads(out.read_text())["benchmarks"]]
    assert names == ["fetch/coroutine/requests:10/delay_ms:0/concurrency:4/bytes:1000/close"]
    assert "[1/1]" in r.stderr


def test_external_server(bins, tmp_path, mock_server):
    s = mock_server()
    r, out = iobench(bins, tmp_path, "--suite", "smoke", "--impls", "curl_multi", "--server", s.url)
    assert r.returncode == 0, r.stderr
    assert "started mock_server" not in r.stderr
    assert len(json.loads(out.read_text())["benchmarks"]) == 2


def test_unreachable_server_skips_with_a_clear_error(bins, tmp_path):
    r, out = iobench(bins, tmp_path, "--suite", "smoke", "--impls", "coroutine", "--server",
                     "http://127.0.0.1:9")
    doc = json.loads(out.read_text())
    assert all(b.get("error_occurred") for b in doc["benchmarks"])
    assert "setup failed" in doc["benchmarks"][0]["error_message"]


@pytest.mark.parametrize("args, needle", [
    (["--suite", "enormous"], "unknown suite 'enormous'"),
    (["--impls", "pigeon"], "unknown impl 'pigeon'"),
    (["--benchmark_frobnicate=1"], "unrecognized"),
])
def test_bad_arguments_exit_2(bins, args, needle):
    r = subprocess.run([str(bins / "iobench"), *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert needle in r.stderr


def test_report_reads_the_suites_output(smoke, tmp_path):
    _, doc = smoke
    f = tmp_path / "r.json"
    f.write_text(json.dumps(doc))
    r = subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "report.py"), str(f), "--out",
                        str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "index.html").exists()


def cpus(text: str) -> set[int]:
    out = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out |= set(range(int(lo), int(hi or lo) + 1))
    return out


def test_server_and_client_run_on_their_own_cpus(smoke):
    _, doc = smoke
    ctx = doc["context"]
    if ctx.get("pinning"):
        pytest.skip(f"not pinned here: {ctx['pinning']}")
    server, client = cpus(ctx["server_cpus"]), cpus(ctx["client_cpus"])
    assert server and client and not server & client
    assert int(ctx["server_threads"]) == len(server), "mock_server --threads auto: a loop a CPU"
    for b in doc["benchmarks"]:
        assert 0 <= b["server_cpu_util"] <= 1.1 and b["listen_overflows"] >= 0, b["name"]


def test_cpu_flags(bins, tmp_path):
    r, out = iobench(bins, tmp_path, "--suite", "smoke", "--impls", "coroutine", "--no-pin",
                     "--benchmark_filter=close")
    assert r.returncode == 0, r.stderr
    ctx = json.loads(out.read_text())["context"]
    assert "not pinned" in ctx["client_cpus"] and "--no-pin" in ctx["pinning"]
    for bad, needle in [("--server-cpus=0-", "--server-cpus: bad CPU list"),
                        ("--client-cpus=99999", "--client-cpus: bad CPU list"),
                        ("--server-cpus=1000", "are not all among those")]:
        r = subprocess.run([str(bins / "iobench"), "--suite", "smoke", bad],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and needle in r.stderr, (bad, r.stderr)
