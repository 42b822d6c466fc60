"""build/bin/iobench when its own mock_server goes away mid-run, in every way it can (it exits,
it is killed, it hangs) and in every kind of row (closed-loop batches with repetitions, Python
references, open-loop points, the scale suite's big batches, wrk): the run never crashes, the
benchmark that was running and every one after it are errored with one line, the results file is
complete, the server's temporary directory is removed, and iobench exits 1.

The server is taken down at a known point, not at a guessed time: once the chosen benchmark has
started, the test stalls every answer (POST /stall) and waits until the server holds requests in
flight, so a batch is certainly running against it when the signal lands."""
import json
import os
import pathlib
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import children, running

KILL, EXIT, HANG = signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP

# kind: (iobench's arguments, the stderr line after which the server goes, how many runs come
# before the first that can be errored).
CASES = {
    # The ci suite repeats each point: repetition 3 of 6 dies, 4 to 6 never run.
    "ci": (["--suite", "ci", "--impls", "coroutine"], "[3/", 2),
    "python": (["--suite", "smoke", "--impls", "py_threads"], "[1/", 0),
    "open": (["--suite", "quick", "--impls", "coroutine", "--benchmark_filter=^open/"], "[1/", 0),
    # Before the open points run, their rates are measured: both points need that measurement.
    "calibration": (["--suite", "quick", "--impls", "coroutine", "--benchmark_filter=^open/"],
                    "iobench: open loop: measuring", 0),
    "scale": (["--suite", "scale", "--impls", "thread_pool,coroutine",
               "--benchmark_filter=concurrency:1000/"], "[1/", 0),
    # wrk's row comes after the models': it is one of those never run.
    "wrk": (["--suite", "smoke", "--impls", "curl_multi,wrk"], "[1/", 0),
}


def post(url):
    urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10)


def in_flight(base):
    with urllib.request.urlopen(base + "/stats", timeout=10) as r:
        return json.load(r)["in_flight"]


def run_and_take_down(bins, tmp_path, args, at, sig):
    """Runs iobench, takes its server down with `sig` while the benchmark whose progress line
    starts with `at` (or a later one) has requests in flight; returns (returncode, stderr, results,
    the server's temporary directory)."""
    out = tmp_path / "results.json"
    p = subprocess.Popen([str(bins / "iobench"), *args, f"--benchmark_out={out}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in p.stderr:
            lines.append(line)
            if line.startswith(at):
                break
        else:
            pytest.fail("".join(lines))
        (server_pid, argv), = [(pid, a) for pid, a in children(p.pid).items()
                               if a[0].endswith(b"mock_server")]
        port_file = pathlib.Path(argv[argv.index(b"--port-file") + 1].decode())
        base = port_file.read_text().strip()
        post(base + "/stall?for=60s")
        deadline = time.monotonic() + 60
        while in_flight(base) == 0:
            assert time.monotonic() < deadline, "no request reached the stalled server"
            time.sleep(0.02)
        os.kill(server_pid, sig)
        rest = p.communicate(timeout=180)[1]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if sig == HANG and running(server_pid):
        os.kill(server_pid, signal.SIGKILL)
    return p.returncode, "".join(lines) + rest, json.loads(out.read_text()), port_file.parent


@pytest.mark.parametrize("kind, sig", [
    ("ci", KILL), ("ci", EXIT), ("ci", HANG),
    ("python", KILL), ("python", HANG),
    ("open", KILL), ("open", EXIT),
    ("calibration", KILL), ("calibration", HANG),
    ("scale", KILL),
    ("wrk", KILL),
])
def test_a_dying_server_errors_the_rest_of_the_run(bins, tmp_path, kind, sig):
    args, at, before = CASES[kind]
    if sig == EXIT:
        args = [*args, "--server-args", "--grace 0"]  # it exits at once, stalled requests or not
    rc, stderr, doc, server_dir = run_and_take_down(bins, tmp_path, args, at, sig)
    assert rc == 1, stderr[-3000:]
    runs = [b for b in doc["benchmarks"] if b["run_type"] == "iteration"]
    errored = [b.get("error_occurred", False) for b in runs]
    first = errored.index(True)
    assert all(errored[first:]), "every run after the server went is errored"
    assert first >= before, "the runs before it are measurements"
    why = {KILL: "mock_server was killed by SIGKILL", EXIT: "mock_server exited with status 0",
           HANG: "mock_server stopped answering"}[sig]
    messages = [b["error_message"] for b in runs[first:]]
    assert all(why in m and "\n" not in m for m in messages), messages
    if kind == "calibration":
        assert all(m.startswith("measuring the closed-loop throughput failed: ")
                   for m in messages), messages
    else:
        assert "failed: " in messages[0], "the run the server died in says what failed"
        assert all(m.startswith("not run: ") for m in messages[1:]), messages
    if kind == "ci":
        assert len(runs) == 18, "every repetition of every point is written"
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"iobench: {len(messages)} benchmark runs errored; the first, "), last
    assert not server_dir.exists(), f"{server_dir} left behind"
