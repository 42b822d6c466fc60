"""scripts/two_hosts.sh: mock_server in its own network namespace, iobench across a veth pair.

Where network namespaces are not permitted (not root, no CAP_NET_ADMIN/CAP_SYS_ADMIN) the script
exits 3 and the tests that need a namespace are skipped; the usage errors are checked anywhere."""
import ipaddress
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "two_hosts.sh"
NOT_PERMITTED = 3
# The C++ models (and wrk where installed): small, and free of the Python references' packages.
IMPLS = "sequential,thread_pool,coroutine,curl_multi" + (",wrk" if shutil.which("wrk") else "")
BENCHMARK_RANGE = ipaddress.ip_network("198.18.0.0/15")


def env_for(bins):
    return {**os.environ, "IOBENCH_BIN": str(bins)}


def run(bins, *args, timeout=180):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, env=env_for(bins))


def names_in(output):
    """The namespace and the two veth ends the script announced."""
    m = re.search(r"namespace (\S+), veth (\S+) \((\S+)/30\) <-> (\S+) \((\S+)/30\)", output)
    assert m, f"no 'namespace ..., veth ...' line in:\n{output}"
    return {"netns": m[1], "veth_host": m[2], "host_ip": m[3], "veth_ns": m[4], "ns_ip": m[5]}


def remaining(names):
    """Those of the script's names that the kernel still knows."""
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    netns_names = {line.split()[0] for line in netns.splitlines() if line.strip()}
    link_names = {line.split(": ")[1].split("@")[0] for line in links.splitlines() if ": " in line}
    return sorted(({names["netns"]} & netns_names)
                  | ({names["veth_host"], names["veth_ns"]} & link_names))


def children(pid):
    """{pid: command name} of the processes whose parent is pid."""
    kids = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:]
        if int(rest.split()[1]) == pid:
            kids[int(stat.parent.name)] = comm
    return kids


def wait_for_text(path, text, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = path.read_text() if path.exists() else ""
        if text in out:
            return out
        if proc.poll() is not None:
            pytest.fail(f"two_hosts.sh exited {proc.returncode} before '{text}':\n{out}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"two_hosts.sh did not print '{text}' within {timeout} s")


@pytest.fixture(scope="module")
def smoke_run(bins, tmp_path_factory):
    """One smoke run across the veth; skips the module's namespace tests where not permitted."""
    out = tmp_path_factory.mktemp("two_hosts") / "results.json"
    r = run(bins, "--suite", "smoke", "--impls", IMPLS, "--out", str(out))
    if r.returncode == NOT_PERMITTED:
        pytest.skip(f"network namespaces are not permitted here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stdout + r.stderr
    return r, json.loads(out.read_text())


def test_smoke_suite_runs_clean_across_the_veth(smoke_run):
    r, results = smoke_run
    names = names_in(r.stdout)
    for ip in (names["host_ip"], names["ns_ip"]):
        assert ipaddress.ip_address(ip) in BENCHMARK_RANGE
    server = results["context"]["server"]
    assert server.startswith(f"http://{names['ns_ip']}:"), server
    rows = [b for b in results["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    assert {b["name"].split("/")[1] for b in rows} == set(IMPLS.split(","))
    for b in rows:
        assert not b.get("error_occurred"), f"{b['name']}: {b.get('error_message')}"
        assert b["errors"] == 0, b["name"]
        # Read from the server's /stats across the veth: proof the counters cross hosts.
        assert b["server_max_in_flight"] > 0, b["name"]
    assert "server /stats" in r.stdout


def test_nothing_is_left_behind(smoke_run):
    names = names_in(smoke_run[0].stdout)
    assert remaining(names) == []


def start_quick_run(bins, tmp_path):
    """A run long enough to be interrupted: returns it once iobench is mid-suite."""
    log = tmp_path / "out.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(
            ["bash", str(SCRIPT), "--suite", "quick", "--impls", "coroutine",
             "--out", str(tmp_path / "results.json")],
            stdout=f, stderr=subprocess.STDOUT, env=env_for(bins))
    names = names_in(wait_for_text(log, "[1/", proc))
    assert names["netns"] in remaining(names)
    return proc, names, log


def test_sigterm_mid_run_cleans_up(bins, smoke_run, tmp_path):
    proc, names, log = start_quick_run(bins, tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM, log.read_text()
    assert remaining(names) == []


def test_cleanup_removes_what_a_killed_run_left(bins, smoke_run, tmp_path):
    proc, names, _ = start_quick_run(bins, tmp_path)
    client = [pid for pid, comm in children(proc.pid).items() if comm == "iobench"]
    assert client, children(proc.pid)
    proc.kill()  # no trap runs: the namespace, the server in it and the veth stay behind
    proc.wait(timeout=30)
    for pid in client:
        os.kill(pid, signal.SIGKILL)
    assert names["netns"] in remaining(names)
    r = run(bins, "--cleanup", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "left behind by killed runs" in r.stdout
    assert remaining(names) == []


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"),
                    reason="as root, dropping the capabilities needs setpriv")
def test_not_permitted_exits_3(bins):
    cmd = ["bash", str(SCRIPT), "--suite", "smoke", "--impls", "coroutine"]
    if os.geteuid() == 0:
        drop = "-net_admin,-sys_admin"
        cmd = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env_for(bins))
    assert r.returncode == NOT_PERMITTED, r.stdout + r.stderr
    assert "not permitted" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["--suite"],
    ["--impls", ""],
    ["--out", "results.txt"],
    ["--suite", "bogus"],
    ["--impls", "bogus"],
    ["--iobench-args", "--benchmark_bogus=1"],
    ["--", "--benchmark_filter=no_such_benchmark"],
])
def test_usage_errors_exit_2(bins, args):
    r = run(bins, *args, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip()
    assert "namespace" not in r.stdout  # nothing was set up


def test_help(bins):
    r = run(bins, "--help", timeout=30)
    assert r.returncode == 0
    assert "usage: scripts/two_hosts.sh" in r.stdout
    assert "198.18.0.0/15" in r.stdout and "--server-args" in r.stdout
