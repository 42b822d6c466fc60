"""iobench-fetch as a user runs it: summary, --json keys, exit codes, errors, what it refuses up
front, Ctrl-C."""
import json
import os
import re
import resource
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import bin_dir


def fetch(bins, *args, timeout=60):
    return subprocess.run([str(bins / "iobench-fetch"), *args], capture_output=True, text=True,
                          timeout=timeout)


def registered_models():
    """The registry's names, as iobench-fetch lists them when --impl names none of them."""
    if not (bin_dir() / "iobench-fetch").exists():
        return []  # the bins fixture fails the other tests with the reason
    r = fetch(bin_dir(), "--impl", "", "http://127.0.0.1:1/")
    known = re.search(r"known: (.*) \(see --help\)", r.stderr)
    assert known, r.stderr
    return known.group(1).split(", ")


def pytest_generate_tests(metafunc):
    if "impl" in metafunc.fixturenames:
        metafunc.parametrize("impl", registered_models())


def test_json_has_every_key_and_counts_are_right(bins, mock_server, impl):
    s = mock_server()
    r = fetch(bins, "--impl", impl, "-n", "20", "-c", "4", "--json", s.url + "/x?bytes=100")
    accepted = server_stats(s)["connections_accepted"] - 1  # less the one asking
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    one_at_a_time = f"{impl} runs one request at a time" in r.stderr
    for key in ["impl", "requests", "concurrency", "succeeded", "failed", "wall_s", "req_per_s",
                "body_bytes", "latency_ms", "statuses", "errors"]:
        assert key in d, key
    assert set(d["latency_ms"]) >= {"p50", "p90", "p99", "max"}
    assert d["impl"] == impl
    assert d["requests"] == 20 and d["succeeded"] == 20 and d["failed"] == 0
    assert d["concurrency"] == (1 if one_at_a_time else 4)
    assert d["body_bytes"] == 2000
    assert d["statuses"] == {"200": 20}
    assert d["errors"] == {"connect": 0, "timeout": 0, "reset": 0, "bad_response": 0}
    lat = d["latency_ms"]
    assert 0 <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    # hey's details: every response began; a connection counted once, by the client that made
    # it (keep-alive: a worker that took no request made none).
    connect, first = d["details"]["connect_ms"], d["details"]["first_byte_ms"]
    assert connect["count"] == accepted and 1 <= accepted <= (1 if one_at_a_time else 4)
    assert first["count"] == 20
    assert 0 < connect["p50"] <= connect["p99"] and 0 < first["p50"] <= first["p99"] <= lat["max"]


def server_stats(server):
    with urllib.request.urlopen(server.url + "/stats", timeout=10) as f:
        return json.load(f)


def test_details_count_a_connection_per_request_without_keep_alive(bins, mock_server):
    s = mock_server()
    r = fetch(bins, "--impl", "epoll", "-n", "12", "-c", "3", "--no-keepalive",
              s.url + "/x?delay=20ms")
    assert r.returncode == 0, r.stderr
    m = re.search(r"Details \(p50, p99\):\n  Connect: +([\d.]+) secs, ([\d.]+) secs "
                  r"\((\d+) new connections\)\n  First byte: +([\d.]+) secs, ([\d.]+) secs "
                  r"\((\d+) responses begun\)", r.stdout)
    assert m, r.stdout
    assert int(m[3]) == 12 and int(m[6]) == 12
    assert float(m[4]) >= 0.020, "the first byte comes after the server's delay"


def test_failures_exit_1_and_are_counted_by_kind(bins, mock_server):
    s = mock_server()
    r = fetch(bins, "--impl", "coroutine", "-n", "6", "-c", "3", "--timeout", "300ms", "--json",
              s.url + "/x?fail=hang")
    assert r.returncode == 1
    d = json.loads(r.stdout)
    assert d["failed"] == 6 and d["errors"]["timeout"] == 6
    r = fetch(bins, "-n", "3", "--json", s.url + "/x?status=503")
    assert r.returncode == 1, "a non-2xx response is not a success"
    assert json.loads(r.stdout)["statuses"] == {"503": 3}


def test_human_summary_reads_like_hey(bins, mock_server):
    s = mock_server()
    r = fetch(bins, "--impl", "curl_multi", "-n", "10", "-c", "2", s.url + "/x?status=404")
    assert r.returncode == 1
    for line in ["Summary:", "Requests/sec:", "Latency distribution:", "99% in",
                 "Status code distribution:", "[404] 10 responses"]:
        assert line in r.stdout, line


@pytest.mark.parametrize("args, needle", [
    ([], "missing URL"),
    (["--impl", "smoke_signals", "http://127.0.0.1:1/"], "--impl: unknown 'smoke_signals'"),
    (["-n", "0", "http://127.0.0.1:1/"], "-n"),
    (["-c", "x", "http://127.0.0.1:1/"], "-c"),
    (["--timeout", "fast", "http://127.0.0.1:1/"], "--timeout"),
    (["ftp://127.0.0.1/x"], "URL must look like"),
    (["--frob", "http://127.0.0.1:1/"], "unknown option '--frob'"),
    (["http://a/", "http://b/"], "unexpected argument"),
    (["--impl", "-n", "5", "http://127.0.0.1:1/"], "--impl: missing value"),
    (["http://127.0.0.1:99999/"], "the port must be in 1..65535"),
    (["http://127.0.0.1:0/"], "the port must be in 1..65535"),
    (["http://user:secret@127.0.0.1:1/"], "user info"),
    (["http://127.0.0.1:1/x#part"], "fragment"),
    (["--timeout", "0", "http://127.0.0.1:1/"], "at least 1ms"),
])
def test_usage_errors_exit_2_with_one_line(bins, args, needle):
    r = fetch(bins, *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_help(bins):
    r = fetch(bins, "--help")
    assert r.returncode == 0
    for word in ["--impl", "-n", "-c", "--timeout", "--no-keepalive", "--json", "exit status"]:
        assert word in r.stdout
    for impl in registered_models():
        assert re.search(rf"^ +{re.escape(impl)}  +\S", r.stdout, re.M), impl


def test_refused_connection_is_a_connect_error(bins, mock_server):
    s = mock_server()
    port = s.port
    s.stop()
    r = fetch(bins, "-n", "2", "--json", f"http://127.0.0.1:{port}/")
    assert r.returncode == 1
    assert json.loads(r.stdout)["errors"]["connect"] == 2


SANITIZED = os.environ.get("IOBENCH_SANITIZED") == "1"


def fetch_limited(bins, limit, soft, hard, *args):
    """iobench-fetch with one resource limit lowered (setrlimit in the child only)."""
    return subprocess.run([str(bins / "iobench-fetch"), *args], capture_output=True, text=True,
                          timeout=120, preexec_fn=lambda: resource.setrlimit(limit, (soft, hard)))


def assert_refused(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.skipif(SANITIZED, reason="ASan reserves terabytes of address space")
def test_threads_the_address_space_cannot_hold_are_refused_up_front(bins):
    # 1,000 threads reserve 1,000 stacks: far more than 2 GiB of address space.
    two_gib = 2 << 30
    r = fetch_limited(bins, resource.RLIMIT_AS, two_gib, two_gib, "--impl", "thread_pool", "-c",
                      "1000", "http://127.0.0.1:1/")
    assert_refused(r, "-c 1000", "thread_pool", "of address space", "stack", "ulimit -v")


@pytest.mark.skipif(SANITIZED, reason="ASan reserves terabytes of address space")
def test_requests_the_memory_cannot_hold_are_refused_up_front(bins):
    # 20 million requests' bookkeeping is gigabytes: more than 2 GiB of address space.
    two_gib = 2 << 30
    r = fetch_limited(bins, resource.RLIMIT_AS, two_gib, two_gib, "-n", "20000000",
                      "http://127.0.0.1:1/")
    assert_refused(r, "-n 20000000", "needs", "ulimit -v")


# UBSan's vptr check asks the kernel whether memory is readable through a pipe it opens per
# check (sanitizer_common's IsAccessibleMemoryRange); in a process whose workers have taken every
# descriptor the pipe fails and the check reports "invalid vptr" on a sound object.
@pytest.mark.skipif(SANITIZED, reason="UBSan's vptr check needs free descriptors of its own")
def test_descriptors_of_every_worker_thread_are_counted(bins, mock_server):
    # A thread_pool worker holds its connection and its libcurl multi handle's wake-up
    # descriptors (a socket pair in libcurl 7.88, an eventfd in 8.14): 600 workers would hold
    # 1,800 or 1,200 descriptors, more than 1,024 either way. Its workers wait for a free
    # descriptor instead of failing, so the batch completes with fewer in flight, as the note
    # says up front.
    s = mock_server()
    r = fetch_limited(bins, resource.RLIMIT_NOFILE, 1024, 1024, "--impl", "thread_pool", "-n",
                      "600", "-c", "600", "--json", s.url + "/x?delay=300ms")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["succeeded"] == 600
    note = [line for line in r.stderr.splitlines() if "note:" in line]
    assert len(note) == 1 and "-c 600" in note[0] and "fewer requests" in note[0], r.stderr
    with urllib.request.urlopen(s.url + "/stats", timeout=5) as f:
        assert json.load(f)["max_in_flight"] < 600


def test_descriptors_an_event_loop_model_cannot_have_are_refused_up_front(bins, mock_server):
    # One connection per request in flight, and nothing waits for a descriptor: refused.
    s = mock_server()
    r = fetch_limited(bins, resource.RLIMIT_NOFILE, 1024, 1024, "--impl", "coroutine", "-n",
                      "2000", "-c", "2000", s.url + "/x")
    assert_refused(r, "-c 2000", "descriptors", "open-file limit", "ulimit -n")


def server_responses(url):
    with urllib.request.urlopen(url + "/stats", timeout=5) as f:
        return sum(json.load(f)["responses"].values())


def interrupt_when_some_finished(bins, s, *args, sig=signal.SIGINT):
    """Starts a long batch, waits until the server has answered a few of its requests, sends
    `sig`; returns (returncode, stdout, stderr)."""
    before = server_responses(s.url)
    p = subprocess.Popen([str(bins / "iobench-fetch"), *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while server_responses(s.url) < before + 4:
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()
        time.sleep(0.02)
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    return p.returncode, out, err


def test_ctrl_c_prints_what_finished_and_exits_130(bins, mock_server, impl):
    s = mock_server()
    n = 1000
    rc, out, err = interrupt_when_some_finished(bins, s, "--impl", impl, "-n", str(n), "-c", "2",
                                                "--json", s.url + "/x?delay=100ms")
    assert rc == 130, err
    d = json.loads(out)
    assert d["interrupted"] is True and d["requests"] == n
    assert d["succeeded"] >= 1 and d["incomplete"] >= 1, d
    assert d["succeeded"] + d["failed"] + d["incomplete"] == n, d
    assert d["statuses"] == {"200": d["succeeded"]} and d["latency_ms"]["max"] >= 100
    assert f"interrupted (SIGINT): {d['succeeded'] + d['failed']} of {n} requests finished" in err


def test_ctrl_c_summary_reads_like_hey(bins, mock_server):
    s = mock_server()
    rc, out, _ = interrupt_when_some_finished(bins, s, "-n", "1000", "-c", "2",
                                              s.url + "/x?delay=100ms")
    assert rc == 130
    assert "Summary:" in out and re.search(r"Incomplete: +\d+ \(interrupted\)", out), out
    assert "Latency distribution:" in out


def test_an_uninterrupted_batch_says_so(bins, mock_server):
    s = mock_server()
    d = json.loads(fetch(bins, "-n", "3", "--json", s.url + "/x").stdout)
    assert d["interrupted"] is False and d["incomplete"] == 0
