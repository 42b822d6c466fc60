"""The mock_server executable: flags, --help, the port file, signals and final stats."""
import json
import pathlib
import re
import signal
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import ROOT


def run(bins, *args, timeout=10):
    return subprocess.run([str(bins / "mock_server"), *args], capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_every_flag_and_endpoint(bins):
    r = run(bins, "--help")
    assert r.returncode == 0
    for word in ["--bind", "--port", "--port-file", "--threads", "--delay", "--jitter", "--dist",
                 "--bytes", "--seed", "--max-delay", "--max-bytes", "--max-connections",
                 "/stats", "/stats/reset", "/healthz", "delay=", "jitter=", "dist=", "bytes=",
                 "status=", "chunked=", "drip=", "fail=", "seed="]:
        assert word in r.stdout, word


def test_flag_table_lists_every_flag_of_help(bins):
    """docs/mock_server.md's flag table and --help name the same flags."""
    helped = set(re.findall(r"^  (--[a-z-]+)", run(bins, "--help").stdout, re.M)) - {"--help"}
    page = (ROOT / "docs" / "mock_server.md").read_text()
    section = page[page.index("## Flags"):]
    section = section[:section.index("\n\n", section.index("|"))]
    tabled = set(re.findall(r"^\| `(--[a-z-]+)", section, re.M))
    assert helped and helped == tabled, (helped - tabled, tabled - helped)


@pytest.mark.parametrize("args, needle", [
    (["--port", "70000"], "--port"),
    (["--port", "99999"], "--port: expected an integer in 0..65535"),
    (["--delay", "soon"], "--delay"),
    (["--dist", "zipf"], "--dist"),
    (["--bytes", "lots"], "--bytes"),
    (["--threads", "0"], "--threads"),
    (["--frobnicate"], "unknown option '--frobnicate'"),
    (["--port"], "--port: missing value"),
    (["stray"], "unexpected argument 'stray'"),
    (["--dist", "uniform", "--delay", "1ms", "--jitter", "5ms"], "jitter"),
    (["--max-bytes", "1k", "--bytes", "2k"], "bytes"),
])
def test_bad_flags_exit_2_with_one_line(bins, args, needle):
    r = run(bins, *args)
    assert r.returncode == 2, r
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert needle in lines[0]
    assert lines[0].startswith("mock_server: ")


@pytest.mark.parametrize("flag, value, lowest", [
    ("--delay", "86401s", "0ms"),
    ("--jitter", "1441m", "0ms"),
    ("--extra-delay", "9000000000s", "0ms"),
    ("--extra-delay", "4611686018s", "0ms"),
    ("--max-delay", "106751d", "0ms"),
    ("--max-delay", "2000000000s", "0ms"),
    ("--grace", "86400001ms", "0ms"),
    ("--idle-timeout", "4000000000s", "1ms"),
    ("--idle-timeout", "0", "1ms"),
])
def test_duration_flags_are_bounded_by_a_day(bins, flag, value, lowest):
    # Past a day a deadline sum could overflow nanoseconds (UBSan abort, or an answer at once).
    r = run(bins, flag, value)
    assert r.returncode == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"mock_server: {flag}: ")
    assert f"from {lowest} to 86400s" in lines[0] and f"'{value}'" in lines[0]


def test_port_in_use_is_a_clear_error(bins, mock_server):
    s = mock_server()
    r = run(bins, "--port", str(s.port))
    assert r.returncode == 1
    assert r.stderr == f"mock_server: cannot listen on 127.0.0.1:{s.port}: Address already in use\n"


def test_bind_resolves_a_host_name(mock_server):
    s = mock_server("--bind", "localhost")
    assert s.url.startswith(("http://127.0.0.1:", "http://[::1]:")), s.url
    with urllib.request.urlopen(s.url + "/healthz") as resp:
        assert resp.read() == b"ok"


@pytest.mark.parametrize("address", ["no-such-host.invalid", "256.1.1.1", "::g"])
def test_bind_to_what_is_not_an_address_exits_2(bins, address):
    r = run(bins, "--bind", address, timeout=60)
    assert r.returncode == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"mock_server: --bind: '{address}' is neither an IP address")


def test_bind_to_an_address_not_here_exits_1(bins):
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): a valid address no interface has.
    nonlocal_bind = pathlib.Path("/proc/sys/net/ipv4/ip_nonlocal_bind")
    if nonlocal_bind.exists() and nonlocal_bind.read_text().strip() != "0":
        pytest.skip("this host lets any address be bound (net.ipv4.ip_nonlocal_bind)")
    r = run(bins, "--bind", "192.0.2.1")
    assert r.returncode == 1, r
    assert r.stderr == ("mock_server: cannot listen on 192.0.2.1:0: "
                        "Cannot assign requested address\n")


def test_port_file_holds_the_url_and_flags_set_defaults(mock_server):
    s = mock_server("--delay", "20ms", "--bytes", "5")
    assert s.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(s.url + "/x") as resp:
        assert resp.read() == b"abcde"
        assert "delay;dur=20.000" in resp.headers["Server-Timing"]
    with urllib.request.urlopen(s.url + "/x?bytes=2&delay=0") as resp:
        assert resp.read() == b"ab"


def test_sigterm_drains_in_flight_and_prints_final_stats(mock_server):
    s = mock_server()
    result = {}

    def slow():
        with urllib.request.urlopen(s.url + "/slow?delay=500ms&bytes=3") as resp:
            result["body"] = resp.read()

    t = threading.Thread(target=slow)
    t.start()
    deadline = time.monotonic() + 5
    while True:  # wait until the server holds the request
        with urllib.request.urlopen(s.url + "/stats") as resp:
            if json.load(resp)["in_flight"] == 1:
                break
        assert time.monotonic() < deadline
    s.proc.send_signal(signal.SIGTERM)
    # Not s.stop(): a second signal while draining means "now", and it would race the first.
    out, err = s.proc.communicate(timeout=15)
    t.join(10)
    assert s.proc.returncode == 0, err
    assert result.get("body") == b"abc", "the in-flight request finished"
    final = [line for line in out.splitlines() if line.startswith("final stats: ")]
    assert final, out
    stats = json.loads(final[0][len("final stats: "):])
    assert stats["responses"]["200"] == 1
    assert stats["in_flight"] == 0


def test_sigint_on_idle_server_exits_0(mock_server):
    s = mock_server("--threads", "2")
    s.proc.send_signal(signal.SIGINT)
    out, _ = s.proc.communicate(timeout=15)
    assert s.proc.returncode == 0
    assert "listening on http://127.0.0.1:" in out
