"""The suite's open-loop points end to end: each model's closed-loop throughput is measured first,
each point offers a fraction of it, and the row carries the open-loop counters under the names
iobench-fetch's JSON uses."""
import json
import re
import subprocess

OPEN = re.compile(r"^open/(?P<impl>[A-Za-z0-9_.-]+)/rate:(?P<rate>\d+)/delay_ms:(?P<l>\d+)"
                  r"/concurrency:(?P<c>\d+)$")
COUNTERS = ["target_rate", "achieved_rate", "goodput", "scheduled", "sent", "succeeded", "failed",
            "incomplete", "late_sends", "peak_queue", "stopped_early", "rate_fraction",
            "closed_loop_rate", "server_cpu_util", "client_cpu_util", "listen_overflows"] + [
    f"{what}_{p}_ms" for what in ("latency", "service", "send_lag")
    for p in ("p50", "p90", "p99", "p999", "max")]


def test_open_points_offer_a_share_of_the_measured_capacity(bins, tmp_path):
    out = tmp_path / "open.json"
    r = subprocess.run([str(bins / "iobench"), "--suite", "quick", "--impls",
                        "sequential,coroutine", "--benchmark_filter=^open/",
                        f"--benchmark_out={out}", "--benchmark_out_format=json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "measuring coroutine's closed-loop throughput at 10 ms, C = 100" in r.stderr
    rows = json.loads(out.read_text())["benchmarks"]
    assert len(rows) == 4, [b["name"] for b in rows]
    for b in rows:
        m = OPEN.match(b["name"])
        assert m, b["name"]
        for c in COUNTERS:
            assert isinstance(b.get(c), (int, float)), (b["name"], c)
        assert int(m["rate"]) == round(b["target_rate"])
        assert abs(b["target_rate"] - b["rate_fraction"] * b["closed_loop_rate"]) <= 1
        assert b["scheduled"] == b["succeeded"] + b["failed"] + b["incomplete"]
        assert b["latency_p50_ms"] >= 10 * 0.95, "from the intended send, the delay at least"
        for what in ("latency", "service"):
            ps = [b[f"{what}_{p}_ms"] for p in ("p50", "p90", "p99", "p999", "max")]
            assert ps == sorted(ps), (b["name"], what)
    by = {(OPEN.match(b["name"])["impl"], b["rate_fraction"]): b for b in rows}
    over = by[("sequential", 1.2)]
    assert over["latency_p99_ms"] > over["service_p99_ms"], "over capacity, queueing shows"


def test_a_filter_naming_a_share_keeps_its_points_after_calibration(bins, tmp_path):
    # The points are listed as "rate:0.5x" and run under their calibrated rate: a filter written
    # against the listing must run what it chose, not match nothing and write an empty file.
    out = tmp_path / "open.json"
    listed = subprocess.run([str(bins / "iobench"), "--suite", "quick", "--impls", "coroutine",
                             "--benchmark_filter=^open/", "--benchmark_list_tests"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    shares = sorted({re.search(r"rate:([\d.]+x)", n)[1] for n in listed.stdout.split()})
    assert len(shares) >= 2, listed.stdout
    r = subprocess.run([str(bins / "iobench"), "--suite", "quick", "--impls", "coroutine",
                        f"--benchmark_filter=^open/coroutine/rate:{shares[0]}/",
                        f"--benchmark_out={out}", "--benchmark_out_format=json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(out.read_text())["benchmarks"]
    chosen = [n for n in listed.stdout.split() if f"/rate:{shares[0]}/" in n]
    assert len(rows) == len(chosen) >= 1, [b["name"] for b in rows]
    for b in rows:
        assert OPEN.match(b["name"]), b["name"]
        assert b["rate_fraction"] == float(shares[0].rstrip("x"))
