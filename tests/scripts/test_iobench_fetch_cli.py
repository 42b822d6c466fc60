"""iobench-fetch as a user runs it: summary, --json keys, exit codes, errors."""
import json
import re
import subprocess

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
