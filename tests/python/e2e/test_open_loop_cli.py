"""iobench-fetch --rate: the open loop from the command line, its JSON keys, its exit status and
its .hgrm file, which must read as HdrHistogram's percentile distribution (parsed here the way
HdrHistogram's plotters read it: skip the header and the '#' footer, four numeric columns, then the
100% line with three)."""
import json
import math
import re
import signal
import subprocess

import pytest

from test_iobench_fetch_cli import interrupt_when_some_finished

KEYS = {"mode", "impl", "concurrency", "target_rate", "achieved_rate", "goodput", "scheduled",
        "sent", "succeeded", "failed", "incomplete", "late_sends", "latency_ms", "service_ms",
        "send_lag_ms"}
PERCENTILES = {"p50", "p90", "p99", "p999", "max"}


def fetch(bins, *args, timeout=60):
    return subprocess.run([str(bins / "iobench-fetch"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def models(bins):
    r = fetch(bins, "--impl", "no-such-model", "http://127.0.0.1:1/")
    return re.search(r"known: ([^(]*?)(?: \(see --help\))?$", r.stderr.strip()).group(1).split(", ")


def test_every_model_runs_on_schedule_and_reports_the_contract_keys(bins, mock_server):
    s = mock_server()
    for impl in models(bins):
        r = fetch(bins, "--impl", impl, "-c", "20", "--rate", "200", "--duration", "1s", "--json",
                  f"{s.url}/x?delay=5ms&bytes=3")
        assert r.returncode == 0, (impl, r.stderr)
        doc = json.loads(r.stdout)
        assert KEYS <= doc.keys(), (impl, KEYS - doc.keys())
        for key in ("latency_ms", "service_ms", "send_lag_ms"):
            assert set(doc[key]) == PERCENTILES, (impl, key)
            values = [doc[key][p] for p in ("p50", "p90", "p99", "p999", "max")]
            assert values == sorted(values), (impl, key, values)
        assert doc["mode"] == "open" and doc["impl"] == impl
        assert doc["scheduled"] == doc["sent"] == doc["succeeded"] == 200
        assert doc["failed"] == doc["incomplete"] == 0
        assert doc["latency_ms"]["p50"] >= 5, "at least the server's delay, from intended time"
        assert doc["latency_ms"]["max"] >= doc["service_ms"]["max"]


def test_poisson_arrivals_repeat_with_the_seed(bins, mock_server):
    s = mock_server()
    runs = [json.loads(fetch(bins, "-c", "10", "--rate", "300", "--duration", "1s", "--arrival",
                             "poisson", "--seed", seed, "--json", f"{s.url}/x").stdout)
            for seed in ("5", "5", "6")]
    assert runs[0]["scheduled"] == runs[1]["scheduled"] != runs[2]["scheduled"]
    assert all(r["arrival"] == "poisson" for r in runs)


def parse_hgrm(text: str):
    """(value, percentile, total_count) rows and the footer's fields."""
    rows, footer = [], {}
    lines = text.splitlines()
    assert lines[0].split() == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
    for line in lines[1:]:
        if not line.strip():
            continue
        if line.startswith("#"):
            for key, value in re.findall(r"(\w[\w ]*?)\s*=\s*([\d.]+)", line):
                footer[key.strip()] = float(value)
            continue
        cols = line.split()
        assert len(cols) in (3, 4), line
        value, pct, count = float(cols[0]), float(cols[1]), int(cols[2])
        if len(cols) == 4:
            assert math.isclose(float(cols[3]), 1 / (1 - pct), rel_tol=0.01, abs_tol=0.01), line
        rows.append((value, pct, count))
    return rows, footer


def test_hgrm_is_hdrhistograms_percentile_distribution(bins, mock_server, tmp_path):
    s = mock_server()
    out = tmp_path / "latency.hgrm"
    r = fetch(bins, "-c", "20", "--rate", "500", "--duration", "1s", "--hgrm", out, "--json",
              f"{s.url}/x?delay=10ms")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    rows, footer = parse_hgrm(out.read_text())
    assert len(rows) > 20
    assert rows[-1][1] == 1.0 and rows[-1][2] == 500, "the 100% line counts every request"
    assert [v for v, _, _ in rows] == sorted(v for v, _, _ in rows)
    assert [p for _, p, _ in rows] == sorted(p for _, p, _ in rows)
    assert footer["Total count"] == 500
    assert math.isclose(footer["Max"], doc["latency_ms"]["max"], rel_tol=0.002)
    p50 = next(v for v, p, _ in rows if p >= 0.5)
    assert math.isclose(p50, doc["latency_ms"]["p50"], rel_tol=0.002), "the corrected latency"


def test_an_overloaded_schedule_exits_1_and_counts_what_it_could_not_do(bins, mock_server):
    s = mock_server()
    r = fetch(bins, "--impl", "sequential", "--rate", "400", "--duration", "1s", "--grace",
              "200ms", "--json", f"{s.url}/x?delay=10ms")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["incomplete"] > 0 and doc["sent"] < doc["scheduled"] == 400
    assert doc["latency_ms"]["p50"] > 5 * doc["service_ms"]["p50"]
    assert doc["achieved_rate"] < 0.5 * doc["target_rate"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_open_loop_reports_what_finished_in_open_loop_terms(
        bins, mock_server, tmp_path, sig):
    """Offered five times what C = 4 at 100 ms can serve, the requests queue: the summary printed
    on a signal has the corrected latency (from each request's intended time), the service time
    beside it, the in-flight and never-sent requests as incomplete, and a complete .hgrm."""
    for impl in models(bins):
        s = mock_server()
        hgrm = tmp_path / f"{impl}.hgrm"
        rc, out, err = interrupt_when_some_finished(
            bins, s, "--impl", impl, "-c", "4", "--rate", "200", "--duration", "60s", "--json",
            "--hgrm", hgrm, f"{s.url}/x?delay=100ms", sig=sig)
        assert rc == 128 + sig, (impl, err)
        doc = json.loads(out)
        assert KEYS <= doc.keys(), (impl, KEYS - doc.keys())
        assert doc["mode"] == "open" and doc["interrupted"] is True, impl
        finished = doc["succeeded"] + doc["failed"]
        assert doc["scheduled"] == 12000 and finished >= 4, (impl, doc)
        assert doc["incomplete"] == doc["scheduled"] - finished, (impl, doc)
        in_flight = 1 if impl == "sequential" else 4
        assert finished <= doc["sent"] <= finished + in_flight, (impl, doc)
        assert doc["late_sends"] >= 1 and doc["send_lag_ms"]["max"] > 0, (impl, doc)
        assert doc["latency_ms"]["p99"] > doc["service_ms"]["p99"], (impl, doc)
        assert doc["statuses"] == {"200": doc["succeeded"]}, (impl, doc)
        name = signal.Signals(sig).name
        assert f"interrupted ({name}): {finished} of 12000 requests finished" in err, (impl, err)
        rows, footer = parse_hgrm(hgrm.read_text())
        assert rows[-1][1] == 1.0 and rows[-1][2] == finished == footer["Total count"], impl
        assert math.isclose(footer["Max"], doc["latency_ms"]["max"], rel_tol=0.002), impl


def test_an_interrupted_open_loop_summary_reads_like_the_finished_one(bins, mock_server):
    s = mock_server()
    rc, out, _ = interrupt_when_some_finished(bins, s, "-c", "4", "--rate", "200", "--duration",
                                              "60s", f"{s.url}/x?delay=100ms")
    assert rc == 130
    assert "Open loop:" in out and re.search(r"incomplete \d+", out), out
    assert "from intended send" in out and "service (from send)" in out, out


def test_an_open_loop_that_ran_to_its_end_says_so(bins, mock_server):
    s = mock_server()
    r = fetch(bins, "-c", "4", "--rate", "50", "--duration", "200ms", "--json", f"{s.url}/x")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["interrupted"] is False


@pytest.mark.parametrize("args, needle", [
    (["--rate", "5"], "--rate needs --duration"),
    (["--duration", "1s"], "--duration needs --rate"),
    (["--rate", "0", "--duration", "1s"], "--rate: expected"),
    (["--rate", "nan", "--duration", "1s"], "--rate: expected"),
    (["--rate", "5", "--duration", "0s"], "--duration: must be more than 0"),
    (["--rate", "5", "--duration", "1s", "-n", "3"], "the schedule decides how many"),
    (["--rate", "5", "--duration", "1s", "--arrival", "burst"], "--arrival: expected"),
    (["--hgrm", "x.hgrm"], "need --rate and --duration"),
    (["--rate", "5", "--duration", "1s", "--hgrm", "/no/such/dir/x"], "--hgrm: cannot write"),
    (["--rate", "5", "--duration", "1s", "--hgrm", ""], "--hgrm: expected a file name"),
])
def test_bad_open_loop_flags_exit_2_with_one_line(bins, args, needle):
    r = fetch(bins, *args, "http://127.0.0.1:9/x")
    assert r.returncode == 2, r.stdout + r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr, r.stderr
