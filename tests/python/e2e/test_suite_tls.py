"""iobench --suite tls end to end: the /tls:1 rows run against a second mock_server the suite
starts with --tls, beside their plaintext twins; the server's handshake counts per request are
exact (the suite's own /stats reads left out); a model or reference that does not speak https
gets no /tls:1 row and the report names it; --server gives no https twin, so the /tls:1 rows are
errored with one line."""
import json
import subprocess

from conftest import ROOT

FILTER = "--benchmark_filter=delay_ms:10/"
IMPLS = "coroutine,thread_pool,epoll,py_threads"


def run_suite(bins, tmp_path, *extra, impls=IMPLS, pick=FILTER):
    out = tmp_path / "tls.json"
    r = subprocess.run([str(bins / "iobench"), "--suite", "tls", "--impls", impls, pick,
                        f"--benchmark_out={out}", "--benchmark_out_format=json", *extra],
                       capture_output=True, text=True, timeout=600)
    return r, out


def test_tls_rows_pair_with_plaintext_and_count_every_handshake(bins, tmp_path):
    r, out = run_suite(bins, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "started mock_server --tls at https://" in r.stderr
    rows = {b["run_name"]: b for b in json.loads(out.read_text())["benchmarks"]}
    tls = {n for n in rows if n.endswith("/tls:1")}
    assert {n.split("/")[1] for n in tls} == {"coroutine", "thread_pool", "py_threads"}
    for name in tls:
        b = rows[name]
        assert name[: -len("/tls:1")] in rows, "its plaintext twin ran too"
        assert b["errors"] == 0, name
        handshakes = b["tls_handshakes_per_req"] * 320 * b["iterations"]
        if "/close/" in name:
            assert b["tls_handshakes_per_req"] == 1, name
        else:
            # Keep-alive: a connection per request in flight, per batch.
            assert round(handshakes) == 16 * b["iterations"], (name, handshakes)
    resumed = {n.split("/")[1]: rows[n]["tls_resumed_per_req"] for n in tls if "/close/" in n}
    assert resumed["coroutine"] > 0.9 and resumed["thread_pool"] > 0.9
    assert resumed["py_threads"] == 0, "http.client keeps no sessions"
    assert not any("tls_handshakes_per_req" in rows[n] for n in rows if n not in tls)

    report = tmp_path / "report"
    rep = subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "report.py"), str(out),
                          "--out", str(report)], capture_output=True, text=True, timeout=300)
    assert rep.returncode == 0, rep.stderr
    text = (report / "report.md").read_text()
    assert "## TLS: what https costs each model" in text
    assert "Not run over https: epoll:" in text


def test_with_another_server_the_tls_rows_are_errored_with_one_line(bins, tmp_path, mock_server):
    s = mock_server()
    r, out = run_suite(bins, tmp_path, "--server", s.url, impls="coroutine")
    assert r.returncode == 1
    rows = json.loads(out.read_text())["benchmarks"]
    errored = {b["run_name"]: b["error_message"] for b in rows if b.get("error_occurred")}
    assert set(errored) == {b["run_name"] for b in rows if b["run_name"].endswith("/tls:1")}
    assert len(errored) == 2
    for message in errored.values():
        assert "needs the suite's own mock_server" in message and "\n" not in message


def test_wrk_is_the_keep_alive_ceiling_over_https_too(bins, tmp_path):
    r, out = run_suite(bins, tmp_path, impls="wrk", pick="--benchmark_filter=wrk")
    if "wrk is not installed" in out.read_text():
        return  # install-deps installs it; a machine without it reports so in the row
    assert r.returncode == 0, r.stderr[-2000:]
    rows = {b["run_name"]: b for b in json.loads(out.read_text())["benchmarks"]}
    assert set(rows) == {"fetch/wrk/requests:2000/delay_ms:0/concurrency:16/bytes:0",
                         "fetch/wrk/requests:2000/delay_ms:0/concurrency:16/bytes:0/tls:1"}
    tls = rows["fetch/wrk/requests:2000/delay_ms:0/concurrency:16/bytes:0/tls:1"]
    sent = int(tls["label"].rsplit(": ", 1)[1].split()[0])
    assert tls["errors"] == 0 and sent > 0
    # wrk keeps its 16 connections for the whole run: a handshake each.
    assert round(tls["tls_handshakes_per_req"] * sent) == 16
