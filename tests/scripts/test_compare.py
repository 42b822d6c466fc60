"""scripts/compare.py: the statistics, the verdicts and the exit codes, on a real ci-suite run."""
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import compare  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
COMPARE = ROOT / "scripts" / "compare.py"
SLOW = "fetch/coroutine/requests:200/delay_ms:20/concurrency:50/bytes:0"
ZERO = "fetch/curl_multi/requests:3000/delay_ms:0/concurrency:32/bytes:0"


def base_doc() -> dict:
    return json.loads((FIXTURES / "ci_run.json").read_text())


def slowed(doc: dict, name: str, factor: float) -> dict:
    """Every repetition of `name` made `factor` times slower, consistently across its metrics."""
    doc = copy.deepcopy(doc)
    for b in doc["benchmarks"]:
        if b["name"] == name and b.get("run_type") == "iteration":
            b["real_time"] *= factor
            for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "cpu_us_per_req"):
                b[k] *= factor
            for k in ("req_per_s", "efficiency"):
                b[k] /= factor
    return doc


def run(tmp_path: Path, baseline: dict, current: dict, *flags):
    b, c = tmp_path / "baseline.json", tmp_path / "current.json"
    b.write_text(json.dumps(baseline))
    c.write_text(json.dumps(current))
    return subprocess.run(["/usr/bin/python3", str(COMPARE), str(b), str(c), *flags],
                          capture_output=True, text=True, timeout=60)


def test_mann_whitney_matches_scipy():
    # Reference values computed once with scipy 1.10.1 (Debian's, extracted, not installed:
    # it cannot be installed beside Boost 1.81), method="auto", use_continuity=True.
    for r in json.loads((FIXTURES / "mannwhitneyu_scipy_1.10.1.json").read_text()):
        u, p = compare.mann_whitney_u(r["x"], r["y"], r["alternative"])
        assert u == pytest.approx(r["U"], abs=1e-9)
        assert p == pytest.approx(r["p"], rel=1e-9, abs=1e-12), r


def test_identical_runs_pass(tmp_path):
    r = run(tmp_path, base_doc(), base_doc())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout and "REGRESSION" not in r.stdout


def test_thirty_percent_slowdown_of_one_benchmark_fails_and_is_named(tmp_path):
    r = run(tmp_path, base_doc(), slowed(base_doc(), SLOW, 1.30))
    assert r.returncode == 1
    flagged = [l for l in r.stderr.splitlines() if l.startswith("compare.py: REGRESSION")]
    assert flagged and all(SLOW in l for l in flagged), r.stderr
    assert {l.split()[3].rstrip(":") for l in flagged} >= {"efficiency", "makespan_ms"}
    assert "FAIL" in r.stdout


def test_thirty_percent_less_throughput_at_zero_delay_fails(tmp_path):
    r = run(tmp_path, base_doc(), slowed(base_doc(), ZERO, 1.45))
    assert r.returncode == 1
    assert f"REGRESSION {ZERO} req_per_s" in r.stderr


def test_three_percent_change_passes(tmp_path):
    r = run(tmp_path, base_doc(), slowed(base_doc(), SLOW, 1.03))
    assert r.returncode == 0, r.stderr


def test_a_large_change_that_is_not_significant_is_not_a_regression():
    base = {SLOW: {"efficiency": [0.9, 0.5, 0.95, 0.4, 0.92, 0.45]}}
    cur = {SLOW: {"efficiency": [0.7, 0.96, 0.35, 0.93, 0.5, 0.91]}}
    result = compare.judge(base, cur, {m: t for m, (_, t, _) in compare.METRICS.items()}, 0.05)
    assert result["verdict"] == "pass"
    assert result["comparisons"][0]["verdict"].startswith("ok")


def test_improvements_are_reported_not_failed(tmp_path):
    r = run(tmp_path, slowed(base_doc(), SLOW, 1.3), base_doc())
    assert r.returncode == 0
    assert "improved" in r.stdout


def test_new_and_missing_benchmarks_are_listed_not_failed(tmp_path):
    cur = base_doc()
    dropped = "fetch/thread_pool/requests:200/delay_ms:20/concurrency:50/bytes:0/close"
    cur["benchmarks"] = [b for b in cur["benchmarks"] if b["name"] != dropped]
    extra = copy.deepcopy(next(b for b in cur["benchmarks"] if b["name"] == SLOW))
    extra["name"] = extra["run_name"] = SLOW.replace("requests:200", "requests:400")
    cur["benchmarks"].append(extra)
    r = run(tmp_path, base_doc(), cur)
    assert r.returncode == 0, r.stderr
    assert "In the baseline but not in this run" in r.stdout and dropped in r.stdout
    assert "New in this run" in r.stdout and extra["name"] in r.stdout
    assert dropped in r.stderr


def test_json_output(tmp_path):
    r = run(tmp_path, base_doc(), slowed(base_doc(), SLOW, 1.3), "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "fail"
    assert all(x["benchmark"] == SLOW for x in doc["regressions"])
    for key in ("benchmark", "metric", "baseline_median", "current_median", "change", "p_value",
                "verdict"):
        assert key in doc["comparisons"][0]


def test_speedup_over_sequential_is_derived_within_each_run():
    runs = compare.load(FIXTURES / "ci_run.json")
    speedups = runs[SLOW]["speedup_vs_sequential"]
    seq = runs["fetch/sequential/requests:20/delay_ms:20/concurrency:1/bytes:0"]["req_per_s"]
    assert len(speedups) == 6
    assert speedups[0] == pytest.approx(runs[SLOW]["req_per_s"][0] / sorted(seq)[2:4][0], rel=0.1)
    assert min(speedups) > 20, "50 requests in flight against one at a time"


def test_thresholds_from_flags_and_file(tmp_path):
    cur = slowed(base_doc(), SLOW, 1.30)
    r = run(tmp_path, base_doc(), cur, "--threshold", "efficiency=0.5", "--threshold",
            "makespan_ms=0.5", "--threshold", "p50_ms=0.5", "--threshold", "speedup_vs_sequential=0.5",
            "--threshold", "p99_ms=0.5")
    assert r.returncode == 0, r.stderr
    (tmp_path / "thresholds.json").write_text(json.dumps({"alpha": 0.0001}))
    r = run(tmp_path, base_doc(), cur)
    assert r.returncode == 0, "no 6-vs-6 test reaches p < 0.0001"


@pytest.mark.parametrize("setup, needle", [
    (lambda d: d.write_text("{not json"), "is not JSON"),
    (lambda d: d.write_text("[]"), "not a Google Benchmark results file"),
    (lambda d: d.write_text('{"benchmarks": [{"name": "BM_x"}]}'), "no iobench benchmarks"),
])
def test_bad_input_exits_2(tmp_path, setup, needle):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(base_doc()))
    bad = tmp_path / "bad.json"
    setup(bad)
    for args in ([str(bad), str(good)], [str(good), str(bad)]):
        r = subprocess.run(["/usr/bin/python3", str(COMPARE), *args], capture_output=True,
                           text=True)
        assert r.returncode == 2
        assert needle in r.stderr


def test_bad_flags_exit_2(tmp_path):
    r = run(tmp_path, base_doc(), base_doc(), "--threshold", "bogus=0.1")
    assert r.returncode == 2 and "unknown metric 'bogus'" in r.stderr
    r = run(tmp_path, base_doc(), base_doc(), "--alpha", "3")
    assert r.returncode == 2
    r = subprocess.run(["/usr/bin/python3", str(COMPARE), "only_one.json"], capture_output=True)
    assert r.returncode == 2


def test_too_few_repetitions_are_not_judged(tmp_path):
    doc = base_doc()
    seen = {}
    kept = []
    for b in doc["benchmarks"]:
        if b.get("run_type") == "iteration":
            seen[b["name"]] = seen.get(b["name"], 0) + 1
            if seen[b["name"]] > 2:
                continue
        kept.append(b)
    doc["benchmarks"] = kept
    r = run(tmp_path, doc, slowed(doc, SLOW, 2.0))
    assert r.returncode == 0
    assert "too few repetitions" in r.stdout
