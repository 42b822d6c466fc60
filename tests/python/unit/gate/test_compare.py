"""scripts/compare.py: the statistics, the verdicts and the exit codes, on a real ci-suite run."""
import copy
import json
import statistics
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES
from gate_docs import COMPARE, SLOW, ZERO, base_doc, run_compare, slowed

from iobench_tools import gate, stats


def test_mann_whitney_matches_scipy():
    # Reference values computed once with scipy 1.10.1 (Debian's, extracted, not installed:
    # it cannot be installed beside Boost 1.81), method="auto", use_continuity=True.
    for r in json.loads((FIXTURES / "mannwhitneyu_scipy_1.10.1.json").read_text()):
        u, p = stats.mann_whitney_u(r["x"], r["y"], r["alternative"])
        assert u == pytest.approx(r["U"], abs=1e-9)
        assert p == pytest.approx(r["p"], rel=1e-9, abs=1e-12), r


def test_identical_runs_pass(tmp_path):
    r = run_compare(tmp_path, base_doc(), base_doc())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS" in r.stdout and "REGRESSION" not in r.stdout


def test_thirty_percent_slowdown_of_one_benchmark_fails_and_is_named(tmp_path):
    r = run_compare(tmp_path, base_doc(), slowed(base_doc(), SLOW, 1.30))
    assert r.returncode == 1
    flagged = [line for line in r.stderr.splitlines()
               if line.startswith("compare.py: REGRESSION")]
    assert flagged and all(SLOW in line for line in flagged), r.stderr
    assert {line.split()[3].rstrip(":") for line in flagged} >= {"efficiency", "makespan_ms"}
    assert "FAIL" in r.stdout


def test_thirty_percent_less_throughput_at_zero_delay_fails(tmp_path):
    r = run_compare(tmp_path, base_doc(), slowed(base_doc(), ZERO, 1.45))
    assert r.returncode == 1
    assert f"REGRESSION {ZERO} req_per_s" in r.stderr


def test_three_percent_change_passes(tmp_path):
    r = run_compare(tmp_path, base_doc(), slowed(base_doc(), SLOW, 1.03))
    assert r.returncode == 0, r.stderr


def test_a_large_change_that_is_not_significant_is_not_a_regression():
    base = {SLOW: {"efficiency": [0.9, 0.5, 0.95, 0.4, 0.92, 0.45]}}
    cur = {SLOW: {"efficiency": [0.7, 0.96, 0.35, 0.93, 0.5, 0.91]}}
    result = gate.judge(base, cur, {m: t for m, (_, t, _) in gate.METRICS.items()}, 0.05)
    assert result["verdict"] == "pass"
    assert result["comparisons"][0]["verdict"].startswith("ok")


def test_improvements_are_reported_not_failed(tmp_path):
    r = run_compare(tmp_path, slowed(base_doc(), SLOW, 1.3), base_doc())
    assert r.returncode == 0
    assert "improved" in r.stdout


def test_with_allow_missing_new_and_missing_benchmarks_are_listed_not_failed(tmp_path):
    cur = base_doc()
    dropped = "fetch/thread_pool/requests:200/delay_ms:20/concurrency:50/bytes:0/close"
    cur["benchmarks"] = [b for b in cur["benchmarks"] if b["name"] != dropped]
    extra = copy.deepcopy(next(b for b in cur["benchmarks"] if b["name"] == SLOW))
    extra["name"] = extra["run_name"] = SLOW.replace("requests:200", "requests:400")
    cur["benchmarks"].append(extra)
    r = run_compare(tmp_path, base_doc(), cur, "--allow-missing")
    assert r.returncode == 0, r.stderr
    assert "In the baseline but not in this run" in r.stdout and dropped in r.stdout
    assert "New in this run" in r.stdout and extra["name"] in r.stdout
    assert dropped in r.stderr


def test_json_output(tmp_path):
    r = run_compare(tmp_path, base_doc(), slowed(base_doc(), SLOW, 1.3), "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "fail"
    assert all(x["benchmark"] == SLOW for x in doc["regressions"])
    for key in ("benchmark", "metric", "baseline_median", "current_median", "change", "p_value",
                "verdict"):
        assert key in doc["comparisons"][0]


def test_speedup_over_sequential_is_derived_within_each_run():
    runs = gate.load(FIXTURES / "ci_run.json")
    speedups = runs[SLOW]["speedup_vs_sequential"]
    seq = runs["fetch/sequential/requests:20/delay_ms:20/concurrency:1/bytes:0"]["req_per_s"]
    assert len(speedups) == 6
    assert speedups[0] == pytest.approx(runs[SLOW]["req_per_s"][0] / sorted(seq)[2:4][0], rel=0.1)
    assert min(speedups) > 20, "50 requests in flight against one at a time"


def test_thresholds_from_flags_and_file(tmp_path):
    cur = slowed(base_doc(), SLOW, 1.30)
    flags = [f for m in ("efficiency", "makespan_ms", "p50_ms", "speedup_vs_sequential", "p99_ms")
             for f in ("--threshold", f"{m}=0.5")]
    r = run_compare(tmp_path, base_doc(), cur, *flags)
    assert r.returncode == 0, r.stderr
    (tmp_path / "thresholds.json").write_text(json.dumps({"alpha": 0.0001}))
    r = run_compare(tmp_path, base_doc(), cur)
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
    r = run_compare(tmp_path, base_doc(), base_doc(), "--threshold", "bogus=0.1")
    assert r.returncode == 2 and "unknown metric 'bogus'" in r.stderr
    r = run_compare(tmp_path, base_doc(), base_doc(), "--alpha", "3")
    assert r.returncode == 2
    r = subprocess.run(["/usr/bin/python3", str(COMPARE), "only_one.json"], capture_output=True)
    assert r.returncode == 2


def test_too_few_repetitions_are_an_input_error(tmp_path):
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
    r = run_compare(tmp_path, doc, slowed(doc, SLOW, 2.0))
    assert r.returncode == 2, r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "too few repetitions" in lines[0], r.stderr
    assert "2 in the baseline, 2 in this run" in lines[0]


# --- the model registry ---------------------------------------------------------------------

REGISTRY = json.loads(json.loads((FIXTURES / "models_results.json").read_text())
                      ["context"]["models"])
NEW = "coro.v2-x"


def with_registry(doc: dict, baseline: str = "sequential", rename: str | None = None) -> dict:
    """The ci run as the registry-writing iobench would give it, with `baseline` flagged and
    coroutine renamed to `rename`."""
    doc = copy.deepcopy(doc)
    registry = [dict(e, baseline=e["name"] == baseline,
                     name=rename if rename and e["name"] == "coroutine" else e["name"])
                for e in REGISTRY]
    doc["context"]["models"] = json.dumps(registry)
    if rename:
        for b in doc["benchmarks"]:
            for k in ("name", "run_name"):
                b[k] = b[k].replace("fetch/coroutine/", f"fetch/{rename}/")
    return doc


def load_doc(tmp_path: Path, doc: dict) -> dict:
    f = tmp_path / "run.json"
    f.write_text(json.dumps(doc))
    return gate.load(f)


def test_speedup_divides_by_the_model_the_registry_calls_baseline(tmp_path):
    runs = load_doc(tmp_path, with_registry(base_doc(), baseline="thread_pool"))
    pool = runs["fetch/thread_pool/requests:200/delay_ms:20/concurrency:50/bytes:0"]["req_per_s"]
    seq = "fetch/sequential/requests:20/delay_ms:20/concurrency:1/bytes:0"
    assert runs[SLOW]["speedup_vs_sequential"] == pytest.approx(
        [v / statistics.median(pool) for v in runs[SLOW]["req_per_s"]])
    assert max(runs[seq]["speedup_vs_sequential"]) < 0.1, "one at a time vs 50 in flight"
    assert not any("speedup_vs_sequential" in m for n, m in runs.items() if "/thread_pool/" in n)


def test_without_a_baseline_there_is_no_speedup(tmp_path):
    runs = load_doc(tmp_path, with_registry(base_doc(), baseline="none"))
    assert not any("speedup_vs_sequential" in m for m in runs.values())
    result = gate.judge(runs, runs, {m: t for m, (_, t, _) in gate.METRICS.items()}, 0.05)
    assert result["verdict"] == "pass" and result["comparisons"]


@pytest.mark.parametrize("registry", [True, False], ids=["registry", "fallback"])
def test_a_renamed_model_is_judged_by_the_gate(tmp_path, registry):
    renamed = with_registry(base_doc(), rename=NEW)
    if not registry:
        del renamed["context"]["models"]
    slow = SLOW.replace("/coroutine/", f"/{NEW}/")
    base = load_doc(tmp_path, renamed)
    cur = load_doc(tmp_path, slowed(renamed, slow, 1.30))
    assert min(base[slow]["speedup_vs_sequential"]) > 20
    result = gate.judge(base, cur, {m: t for m, (_, t, _) in gate.METRICS.items()}, 0.05)
    assert result["verdict"] == "fail"
    assert {r["benchmark"] for r in result["regressions"]} == {slow}
    assert "speedup_vs_sequential" in {r["metric"] for r in result["regressions"]}


def repeated(doc: dict, times: int) -> dict:
    """Every repetition of `doc` `times` times, each copy a repetition of its own: the quick
    fixtures have one repetition, fewer than the gate judges."""
    doc = copy.deepcopy(doc)
    doc["benchmarks"] = [dict(copy.deepcopy(b), repetition_index=i) for b in doc["benchmarks"]
                         for i in range(times)]
    return doc


def test_cli_on_the_renamed_and_the_registry_fixtures(tmp_path):
    for name in ("renamed_model.json", "models_results.json"):
        f = tmp_path / name
        f.write_text(json.dumps(repeated(json.loads((FIXTURES / name).read_text()),
                                         gate.MIN_REPETITIONS)))
        r = subprocess.run(["/usr/bin/python3", str(COMPARE), str(f), str(f), "--json"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        judged = {c["benchmark"].split("/")[1] for c in json.loads(r.stdout)["comparisons"]}
        assert (NEW in judged) == (name == "renamed_model.json")
