"""The reference clients (bench/reference/: Python, Node, Go) against a real mock_server: the batch
protocol, outcomes in order, faults as values, concurrency and keep-alive as the server sees
them."""
import json
import subprocess
import urllib.request

import pytest

from conftest import ROOT, bin_dir

REF = ROOT / "bench" / "reference"
PROGRAMS = ["py_asyncio", "py_threads", "py_sequential", "py_uvloop", "node_fetch",
            "go_goroutines"]


# Where a client someone else wrote parts from the table every model keeps (docs/models.md), the
# reference reports what that client saw; each divergence is named here, so that it is measured,
# never hidden, and a change in it fails this test. Node's fetch (undici) takes a close as the end
# of a chunked body: a truncated chunked body is a success there.
DIVERGES = {("node_fetch", "/f?fail=truncate&bytes=1000&chunked=1"): "none"}


def command(program: str) -> list[str]:
    if program == "node_fetch":
        return ["/usr/bin/node", str(REF / "node_fetch.mjs")]
    if program == "go_goroutines":  # built next to iobench (bench/CMakeLists.txt)
        return [str(bin_dir() / "go_goroutines")]
    return ["/usr/bin/python3", str(REF / f"{program}.py")]


class Child:
    """One reference program speaking its line protocol."""

    def __init__(self, program: str):
        self.proc = subprocess.Popen(command(program),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def batch(self, urls, concurrency=1, timeout_s=10.0, keep_alive=True, cacert=None):
        spec = {"urls": urls, "concurrency": concurrency, "timeout_s": timeout_s,
                "connect_timeout_s": 2.0, "keep_alive": keep_alive}
        if cacert is not None:
            spec["cacert"] = str(cacert)
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=10) == 0, self.proc.stderr.read()


@pytest.fixture(params=PROGRAMS)
def child(request):
    c = Child(request.param)
    c.name = request.param
    yield c
    if c.proc.poll() is None:
        c.close()


def stats(url):
    with urllib.request.urlopen(url + "/stats") as r:
        return json.load(r)


def reset(url):
    urllib.request.urlopen(urllib.request.Request(url + "/stats/reset", method="POST")).read()


def test_bodies_statuses_and_order(child, mock_server):
    s = mock_server()
    urls = [f"{s.url}/o?bytes={i}&delay={(20 - i) * 2}ms" for i in range(20)]
    urls += [s.url + "/o?status=404&bytes=3", s.url + "/o?bytes=70000&chunked=1"]
    r = child.batch(urls, concurrency=5)
    for key in ("wall_s", "cpu_s", "rss_start_kib", "max_rss_kib", "threads", "outcomes"):
        assert key in r
    out = r["outcomes"]
    assert len(out) == len(urls)
    for i in range(20):
        status, body, start, end, error, detail = out[i]
        assert (status, body, error) == (200, i, "none"), detail
        assert start <= end
    assert out[20][:2] == [404, 3] and out[20][4] == "none", "404 is a response, not an error"
    assert out[21][:2] == [200, 70000]
    assert r["wall_s"] > 0 and r["cpu_s"] > 0 and r["max_rss_kib"] > 1000


def test_faults_are_values_and_nothing_is_lost(child, mock_server):
    s = mock_server()
    cases = [("/f?bytes=5", "none"), ("/f?fail=reset", "reset"), ("/f?fail=close", "reset"),
             ("/f?fail=truncate&bytes=1000", "bad_response"),
             ("/f?fail=truncate&bytes=1000&chunked=1", "bad_response"),
             ("/f?fail=garbage", "bad_response"), ("/f?fail=hang", "timeout"),
             ("/f?bytes=100&drip=3s", "timeout"), ("/f?bytes=7", "none")]
    urls = [s.url + path for path, _ in cases] + ["http://127.0.0.1:1/", "not a url"]
    kinds = [DIVERGES.get((child.name, p), k) for p, k in cases] + ["connect", "connect"]
    out = child.batch(urls, concurrency=3, timeout_s=0.5)["outcomes"]
    assert len(out) == len(urls)
    for (status, _, _, _, error, detail), kind, url in zip(out, kinds, urls):
        assert error == kind, f"{child.name} {url}: {error} ({detail})"
        if error != "none":
            assert status == 0 and detail


def test_at_most_concurrency_in_flight(child, mock_server):
    s = mock_server()
    r = child.batch([s.url + "/c?delay=100ms"] * 18, concurrency=6)
    assert all(o[4] == "none" for o in r["outcomes"])
    expected = 1 if child.name == "py_sequential" else 6
    assert stats(s.url)["max_in_flight"] == expected
    if child.name == "py_threads":
        assert r["threads"] >= 6


def test_keep_alive_reuse_and_connection_per_request(child, mock_server):
    s = mock_server()
    conc = 1 if child.name == "py_sequential" else 3
    child.batch([s.url + "/k?delay=10ms"] * 12, concurrency=3)
    st = stats(s.url)
    assert st["connections_accepted"] - 1 <= conc, st  # - the /stats call's own connection
    reset(s.url)
    child.batch([s.url + "/k"] * 8, concurrency=3, keep_alive=False)
    assert stats(s.url)["connections_accepted"] >= 8
    # connections close with the batch: only the /stats call's connection stays open
    assert stats(s.url)["connections_open"] <= 2


def test_several_batches_in_one_process(child, mock_server):
    s = mock_server()
    for n in (1, 5, 3):
        out = child.batch([s.url + "/b?bytes=2"] * n, concurrency=2)["outcomes"]
        assert [o[1] for o in out] == [2] * n
    child.close()


# The references whose manifests say `https = true`: they take the batch's cacert.
HTTPS = [p for p in PROGRAMS if "https = true" in (REF / f"{p}.ref").read_text()]


def test_the_manifests_say_who_speaks_https():
    assert HTTPS == ["py_asyncio", "py_threads", "py_sequential", "py_uvloop", "go_goroutines"]


def test_over_https_the_same_bodies_and_faults_keep_their_kinds(child, mock_server, tmp_path):
    ca = tmp_path / "ca.pem"
    s = mock_server("--tls", "--cert-out", str(ca))
    assert s.url.startswith("https://")
    if child.name not in HTTPS:
        # No cacert for it: the system's authorities never signed the made one.
        out = child.batch([s.url + "/x"] * 2, cacert=ca)["outcomes"]
        assert [o[4] for o in out] == ["connect"] * 2, out
        return
    cases = [("/f?bytes=5000", "none"), ("/f?fail=reset", "reset"), ("/f?fail=close", "reset"),
             ("/f?fail=truncate&bytes=1000", "bad_response"),
             ("/f?fail=garbage", "bad_response"), ("/f?bytes=100&chunked=1", "none")]
    out = child.batch([s.url + p for p, _ in cases], concurrency=2, timeout_s=5, cacert=ca)
    for (status, body, _, _, error, detail), (path, kind) in zip(out["outcomes"], cases):
        assert error == kind, f"{child.name} {path}: {error} ({detail})"
    assert [o[1] for o in out["outcomes"]][::5] == [5000, 100]


def test_over_https_an_untrusted_certificate_is_a_connect_error(child, mock_server, tmp_path):
    s = mock_server("--tls", "--cert-out", str(tmp_path / "ca.pem"))
    for cacert in (None, tmp_path / "missing.pem"):
        out = child.batch([s.url + "/x"] * 3, concurrency=2, cacert=cacert)["outcomes"]
        assert [o[4] for o in out] == ["connect"] * 3, (cacert, out)
        assert all(o[0] == 0 and o[5] for o in out)


@pytest.mark.parametrize("program", [p for p in PROGRAMS if p.startswith("py_")])
def test_once_mode_and_help(program, mock_server):
    s = mock_server()
    r = subprocess.run(["/usr/bin/python3", str(REF / f"{program}.py"), "--once", s.url + "/x",
                        "-n", "4", "-c", "2"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "4/4 ok" in r.stdout
    r = subprocess.run(["/usr/bin/python3", str(REF / f"{program}.py"), "--help"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "Protocol" in r.stdout
