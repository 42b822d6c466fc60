"""build/bin/iobench end to end on tiny sizes: every counter for every impl, contract names, exit
statuses, and what an interrupted run leaves behind."""
import json
import os
import pathlib
import re
import signal
import subprocess
import time

import pytest

from conftest import ROOT, children, running

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
MODEL_KEYS = {"name", "kind", "one_at_a_time", "baseline", "https", "summary", "runtime",
              "library", "mechanism", "interface"}


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
    assert refs == ["py_asyncio", "py_threads", "py_sequential", "py_uvloop", "node_fetch",
                    "go_goroutines", "wrk"]
    assert all(r["mechanism"] for r in rows), "every row says how it overlaps requests"
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


def test_progress_counts_the_repetitions_asked_for(bins, tmp_path):
    r, out = iobench(bins, tmp_path, "--suite", "smoke", "--impls", "coroutine",
                     "--benchmark_filter=close", "--benchmark_repetitions=2")
    assert r.returncode == 0, r.stderr
    assert "[2/2]" in r.stderr and "[3/" not in r.stderr, r.stderr


def test_external_server(bins, tmp_path, mock_server):
    s = mock_server()
    r, out = iobench(bins, tmp_path, "--suite", "smoke", "--impls", "curl_multi", "--server", s.url)
    assert r.returncode == 0, r.stderr
    assert "started mock_server" not in r.stderr
    assert len(json.loads(out.read_text())["benchmarks"]) == 2


def test_errored_benchmarks_are_written_then_exit_1(bins, tmp_path):
    r, out = iobench(bins, tmp_path, "--suite", "smoke", "--impls", "coroutine", "--server",
                     "http://127.0.0.1:9")
    doc = json.loads(out.read_text())
    assert len(doc["benchmarks"]) == 2 and all(b.get("error_occurred") for b in doc["benchmarks"])
    assert "setup failed" in doc["benchmarks"][0]["error_message"]
    assert r.returncode == 1, "a run of errors is not a run that passed"
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("iobench: 2 benchmark runs errored; the first, fetch/coroutine/"), last
    assert "setup failed" in last


@pytest.mark.parametrize("args, needle", [
    (["--suite", "enormous"], "unknown suite 'enormous'"),
    (["--impls", "pigeon"], "unknown impl 'pigeon'"),
    (["--benchmark_frobnicate=1"], "unrecognized"),
])
def test_bad_arguments_exit_2(bins, args, needle):
    r = subprocess.run([str(bins / "iobench"), *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert needle in r.stderr


@pytest.mark.parametrize("args, needle", [
    (["--benchmark_filter=("], "--benchmark_filter: '(' is not a POSIX extended regular"),
    (["--benchmark_filter=-(x"], "--benchmark_filter"),
    (["--benchmark_repetitions=-1"], "--benchmark_repetitions: expected an integer in 1.."),
    (["--benchmark_repetitions=0"], "--benchmark_repetitions"),
    (["--benchmark_min_time=-1"], "--benchmark_min_time"),
    (["--benchmark_min_warmup_time=nan"], "--benchmark_min_warmup_time"),
    (["--benchmark_format=xml"], "--benchmark_format: expected one of console, json, csv"),
    (["--benchmark_out_format=xml"], "--benchmark_out_format"),
    (["--benchmark_time_unit=h"], "--benchmark_time_unit"),
    (["--benchmark_out=/nonexistent-dir/r.json"], "--benchmark_out: cannot write"),
    (["--benchmark_filter=no-such-benchmark"], "selects none of the 2 benchmarks"),
    (["--impls", ","], "--impls: empty name"),
    (["--impls="], "--impls: empty name"),
    (["--impls", "coroutine,coroutine"], "named twice"),
    (["--suite", "--impls", "coroutine"], "--suite: missing value"),
    (["--suite"], "--suite: missing value"),
    (["--server", "foo"], "--server must look like http://host[:port]"),
    (["--server", "http://127.0.0.1:99999"], "--server: the port must be in 1..65535"),
    (["--server", "http://127.0.0.1:1/prefix"], "no path or query"),
    (["--server-args", "--bogus"], "--server-args: mock_server: unknown option '--bogus'"),
])
def test_edges_exit_2_with_one_line(bins, args, needle):
    # The smoke suite of one model: whatever is not refused runs in a second or two.
    r = subprocess.run([str(bins / "iobench"), "--suite", "smoke", "--impls", "coroutine", *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr[-2000:]


def test_a_suite_with_nothing_for_the_impls_exits_2(bins):
    r = subprocess.run([str(bins / "iobench"), "--suite", "ci", "--impls", "py_asyncio"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "suite 'ci' has no benchmark for these --impls" in r.stderr


def test_sigint_leaves_no_temporary_files_and_no_server(bins, tmp_path):
    # A Python reference batch of several seconds: interrupted while its child runs, the run has
    # both a mock_server child (with /tmp/iobench-server-*) and a reference child (stderr in
    # /tmp/iobench-ref-*).
    p = subprocess.Popen([str(bins / "iobench"), "--suite", "seed", "--impls", "py_sequential",
                          f"--benchmark_out={tmp_path / 'r.json'}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        server = ref = None
        deadline = time.monotonic() + 60
        while server is None or ref is None:
            assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()
            for pid, argv in children(p.pid).items():
                if argv[0].endswith(b"mock_server"):
                    server = (pid, pathlib.Path(argv[argv.index(b"--port-file") + 1].decode()))
                elif b"python" in argv[0]:
                    try:
                        ref = (pid, pathlib.Path(os.readlink(f"/proc/{pid}/fd/2")))
                    except OSError:
                        pass
            time.sleep(0.05)
        server_pid, port_file = server
        ref_pid, ref_file = ref
        assert port_file.parent.name.startswith("iobench-server-") and port_file.parent.exists()
        assert ref_file.name.startswith("iobench-ref-") and ref_file.exists()
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == -signal.SIGINT, "it dies of the signal, as an interrupted program does"
    assert not port_file.parent.exists(), f"{port_file.parent} left behind"
    assert not ref_file.exists(), f"{ref_file} left behind"
    assert not running(server_pid), "the mock_server child was stopped"
    deadline = time.monotonic() + 10
    while running(ref_pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # PR_SET_PDEATHSIG: it dies with its parent
    assert not running(ref_pid)


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
