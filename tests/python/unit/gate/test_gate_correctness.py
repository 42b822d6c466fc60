"""scripts/compare.py judges correctness before speed: failed requests, benchmarks that
errored or are missing, values that are no measurement, too few repetitions and malformed
thresholds. Each run here is ci_run.json, copied and broken as real runs broke: failed
requests with a connection cap, errored or missing benchmarks, NaN values."""
import copy
import json
import math
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT
from gate_docs import SEQ, SLOW, base_doc, failing, judged, repetitions, run_compare

from iobench_tools import gate, results


def one_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def strict_json(text: str):
    def refuse(token):
        raise ValueError(f"not JSON: {token}")
    return json.loads(text, parse_constant=refuse)


# --- failed requests ------------------------------------------------------------------------

def test_failed_requests_fail_the_gate_whatever_the_timings(tmp_path):
    # Failed requests are fast: judged on timings alone this read "improved" and PASS.
    r = run_compare(tmp_path, base_doc(), failing(base_doc()))
    assert r.returncode == 1, r.stdout + r.stderr
    assert (f"compare.py: ERRORS {SLOW}: 975 of 1,200 requests failed in every repetition "
            "(baseline: none)") in r.stderr.splitlines()
    assert r.stdout.startswith("## iobench regression gate: FAIL")
    assert "improved" not in r.stdout


def test_failed_requests_are_a_regression_row_the_confirming_round_re_measures(tmp_path):
    result = judged(tmp_path, base_doc(), failing(base_doc()))
    assert result["verdict"] == "fail"
    (row,) = [r for r in result["regressions"]]
    assert (row["benchmark"], row["metric"], row["current_median"]) == (SLOW, "errors", 975)
    # What ab.sh's confirming round re-measures: the benchmarks named in `regressions`.
    assert {r["benchmark"] for r in strict_json(gate.to_json(result))["regressions"]} == {SLOW}
    timings = [r for r in result["comparisons"] if r["benchmark"] == SLOW
               and r["metric"] != "errors"]
    assert timings and all(r["verdict"] == gate.NOT_JUDGED for r in timings)
    again = judged(tmp_path, base_doc(), failing(base_doc()))
    confirmed = gate.confirm(copy.deepcopy(result), again)
    assert confirmed["verdict"] == "fail" and confirmed["regressions"][0]["confirmed"]
    clean = gate.confirm(copy.deepcopy(result), judged(tmp_path, base_doc(), base_doc()))
    assert clean["verdict"] == "pass"
    assert clean["unconfirmed"][0]["verdict"] == "flagged, not confirmed"


def test_failed_requests_in_some_repetitions_are_counted(tmp_path):
    result = judged(tmp_path, base_doc(), failing(base_doc(), errors=3, iterations=5,
                                                  efficiency=0.9, which=range(2)))
    (row,) = result["regressions"]
    assert row["message"] == "3 of 1,000 requests failed in 2 of 6 repetitions"


@pytest.mark.parametrize("errors, requests, text", [
    ([975] * 6, [1200] * 6, "975 of 1,200 requests failed in every repetition"),
    ([0, 3, 0, 5, 0, 0], [1200] * 6, "3 to 5 of 1,200 requests failed in 2 of 6 repetitions"),
    ([4, 4], [1000, 1200], "4 of 1,000 to 1,200 requests failed in every repetition"),
    ([7], [None], "7 requests failed in its only repetition"),
])
def test_the_failed_requests_are_worded_with_what_is_known(errors, requests, text):
    assert gate.failed_requests(errors, requests) == text


def test_requests_per_repetition_from_the_name_the_iterations_or_wrk_label():
    name = "fetch/wrk/requests:2000/delay_ms:0/concurrency:64/bytes:0"
    assert results.requests_per_repetition(SLOW, {"iterations": 6}) == 1200
    assert results.requests_per_repetition(SLOW, {}) is None
    wrk_row = {"iterations": 1, "label": "wrk -t1 -c64 -d2s: 172000 requests"}
    assert results.requests_per_repetition(name, wrk_row) == 172000


def test_failed_requests_where_the_baseline_had_some_too_are_noted_not_failed(tmp_path):
    base = failing(base_doc(), errors=2, efficiency=0.9)
    result = judged(tmp_path, base, failing(base_doc(), errors=3, efficiency=0.9))
    assert result["verdict"] == "pass"
    row = next(r for r in result["comparisons"] if r["metric"] == "errors")
    assert row["verdict"] == "baseline failed requests too"


def test_failed_requests_in_a_new_benchmark_fail(tmp_path):
    cur = base_doc()
    extra = copy.deepcopy(repetitions(cur, SLOW))
    for b in extra:
        b["name"] = b["run_name"] = SLOW.replace("requests:200", "requests:400")
        b["errors"] = 1.0
    cur["benchmarks"] += extra
    r = run_compare(tmp_path, base_doc(), cur)
    assert r.returncode == 1
    assert "requests:400" in r.stderr and "(not in the baseline)" in r.stderr


def test_the_github_summary_and_json_name_the_failed_requests(tmp_path):
    r = run_compare(tmp_path, base_doc(), failing(base_doc()), "--format", "github")
    assert r.returncode == 1
    first = r.stdout.splitlines()[0]
    assert first.startswith("**iobench: FAIL**") and SLOW in first and "975 of 1,200" in first
    r = run_compare(tmp_path, base_doc(), failing(base_doc()), "--json")
    doc = strict_json(r.stdout)
    assert doc["verdict"] == "fail" and doc["regressions"][0]["metric"] == "errors"


# --- errored and missing benchmarks ---------------------------------------------------------

def errored(doc: dict, names: set[str] | None = None) -> dict:
    doc = copy.deepcopy(doc)
    for b in repetitions(doc):
        if names is None or b["name"] in names:
            b["error_occurred"] = True
            b["error_message"] = "mock_server did not start"
    return doc


def test_a_run_in_which_every_benchmark_errored_fails(tmp_path):
    r = run_compare(tmp_path, base_doc(), errored(base_doc()))
    assert r.returncode == 1, r.stdout + r.stderr
    names = {b["name"] for b in repetitions(base_doc())}
    flagged = [line for line in r.stderr.splitlines() if line.startswith("compare.py: ERRORED")]
    assert len(flagged) == len(names)
    assert all("mock_server did not start" in line for line in flagged)
    allowed = run_compare(tmp_path, base_doc(), errored(base_doc()), "--allow-missing")
    assert allowed.returncode == 1, allowed.stdout + allowed.stderr
    assert [line for line in allowed.stderr.splitlines()
            if line.startswith("compare.py: ERRORED")] == flagged


@pytest.mark.parametrize("flags", [[], ["--allow-missing"]])
def test_an_errored_benchmark_fails_even_with_allow_missing(tmp_path, flags):
    """--allow-missing forgives a benchmark this run lacks, never one that broke."""
    cur = errored(base_doc(), {SLOW})
    r = run_compare(tmp_path, base_doc(), cur, *flags)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"compare.py: ERRORED {SLOW}: mock_server did not start" in r.stderr.splitlines()
    assert r.stdout.startswith("## iobench regression gate: FAIL")
    assert f"- **Reported an error**: 1 benchmark(s) in this run, first `{SLOW}`" in r.stdout
    github = run_compare(tmp_path, base_doc(), cur, "--format", "github", *flags)
    assert github.stdout.startswith("**iobench: FAIL**, 1 benchmark(s) reported an error")


def test_a_run_missing_most_of_the_baseline_fails_unless_allowed(tmp_path):
    cur = base_doc()
    cur["benchmarks"] = [b for b in cur["benchmarks"] if b["name"] in (SLOW, SEQ)]
    missing = {b["name"] for b in repetitions(base_doc())} - {SLOW, SEQ}
    r = run_compare(tmp_path, base_doc(), cur)
    assert r.returncode == 1
    assert {line.split()[2] for line in r.stderr.splitlines()
            if line.startswith("compare.py: MISSING")} == missing
    assert "FAIL" in r.stdout.splitlines()[0]
    r = run_compare(tmp_path, base_doc(), cur, "--allow-missing")
    assert r.returncode == 0, r.stderr
    assert "In the baseline but not in this run" in r.stdout


# --- values that are no measurement: exit 2 with one line -----------------------------------

@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_value_is_an_input_error(tmp_path, value):
    cur = base_doc()
    repetitions(cur, SLOW)[2]["efficiency"] = value
    r = run_compare(tmp_path, base_doc(), cur, "--json")
    assert r.returncode == 2 and r.stdout == ""
    line = one_line(r)
    assert SLOW in line and "repetition 3: efficiency is" in line


def test_an_all_nan_run_is_an_input_error_and_writes_no_json(tmp_path):
    cur = base_doc()
    counts = ("iterations", "repetitions", "repetition_index")
    for b in repetitions(cur):
        for k, v in b.items():
            if results.is_number(v) and k not in counts:
                b[k] = math.nan
    for flags in ([], ["--json"]):
        r = run_compare(tmp_path, base_doc(), cur, *flags)
        assert r.returncode == 2 and r.stdout == ""
        assert "NaN, not a measurement" in one_line(r)


def test_an_efficiency_above_one_without_failed_requests_is_an_input_error(tmp_path):
    cur = base_doc()
    for b in repetitions(cur, SLOW):
        b["efficiency"] = 1.5
    r = run_compare(tmp_path, base_doc(), cur)
    assert r.returncode == 2
    line = one_line(r)
    assert SLOW in line and "efficiency 1.5" in line and "cannot exceed 1" in line
    for b in repetitions(cur, SLOW):
        b["efficiency"] = 1.01  # within measurement slack
    assert run_compare(tmp_path, base_doc(), cur).returncode == 0


@pytest.mark.parametrize("change, needle", [
    (lambda b: b.update(efficiency="fast"), 'efficiency is "fast"'),
    (lambda b: b.update(errors=None), "errors is null"),
    (lambda b: b.update(p50_ms=-1.0), "p50_ms is -1.0"),
    (lambda b: b.update(time_unit="fortnight"), 'time_unit "fortnight" is not one of'),
    (lambda b: b.pop("time_unit"), "time_unit null is not one of"),
    (lambda b: b.pop("real_time"), "no real_time"),
])
def test_a_repetition_that_is_no_measurement_is_an_input_error(tmp_path, change, needle):
    cur = base_doc()
    change(repetitions(cur, SLOW)[0])
    r = run_compare(tmp_path, base_doc(), cur)
    assert r.returncode == 2
    line = one_line(r)
    assert SLOW in line and needle in line


def test_a_counter_the_baseline_has_and_this_run_lacks_is_an_input_error(tmp_path):
    cur = base_doc()
    for b in repetitions(cur, SLOW):
        del b["efficiency"]
    r = run_compare(tmp_path, base_doc(), cur)
    assert r.returncode == 2
    assert f"{SLOW}: efficiency in the baseline but not in this run" in one_line(r)


def test_a_five_times_slower_run_with_one_repetition_is_an_input_error(tmp_path):
    cur = base_doc()
    kept, seen = [], set()
    for b in repetitions(cur):
        if b["name"] not in seen:
            seen.add(b["name"])
            b["real_time"] *= 5
            for k in ("req_per_s", "efficiency"):
                b[k] /= 5
            kept.append(b)
    cur["benchmarks"] = kept
    r = run_compare(tmp_path, base_doc(), cur)
    assert r.returncode == 2
    line = one_line(r)
    assert "too few repetitions" in line and "6 in the baseline, 1 in this run" in line


# --- thresholds and alpha -------------------------------------------------------------------

@pytest.mark.parametrize("flags, needle", [
    (["--threshold", "efficiency=nan"], "efficiency=nan"),
    (["--threshold", "efficiency=inf"], "efficiency=inf"),
    (["--threshold", "makespan_ms=0"], "above 0"),
    (["--threshold", "p99_ms=-0.1"], "above 0"),
    (["--alpha", "nan"], "alpha"),
    (["--alpha", "1"], "alpha"),
])
def test_bad_thresholds_and_alpha_on_the_command_line_exit_2(tmp_path, flags, needle):
    r = run_compare(tmp_path, base_doc(), base_doc(), *flags)
    assert r.returncode == 2 and r.stdout == ""
    assert needle in one_line(r)


@pytest.mark.parametrize("text, needle", [
    ("[]", "expected an object"),
    ('"0.05"', "expected an object"),
    ('{"metrics": []}', "'metrics' must be an object"),
    ('{"metrics": {"efficiency": "x"}}', "metrics.efficiency"),
    ('{"metrics": {"efficiency": null}}', "metrics.efficiency"),
    ('{"metrics": {"efficiency": true}}', "metrics.efficiency"),
    ('{"metrics": {"efficiency": NaN}}', "metrics.efficiency"),
    ('{"metrics": {"efficiency": 0}}', "metrics.efficiency"),
    ('{"metrics": {"bogus": 0.1}}', "unknown metric 'bogus'"),
    ('{"alpha": "x"}', "alpha"),
    ('{"alpha": 2}', "alpha"),
    ('{"metric": {"efficiency": 0.1}}', "unknown key(s) 'metric'"),
    ("{not json", "bad thresholds file"),
])
def test_a_thresholds_file_of_the_wrong_shape_exits_2_with_one_line(tmp_path, text, needle):
    (tmp_path / "thresholds.json").write_text(text)
    r = run_compare(tmp_path, base_doc(), base_doc())
    assert r.returncode == 2 and r.stdout == ""
    assert needle in one_line(r)
    t = tmp_path / "elsewhere.json"
    t.write_text(text)
    (tmp_path / "thresholds.json").unlink()
    r = run_compare(tmp_path, base_doc(), base_doc(), "--thresholds", str(t))
    assert r.returncode == 2 and needle in one_line(r)


# --- unchanged runs still pass, in every format ---------------------------------------------

@pytest.mark.parametrize("fmt", ["markdown", "json", "github"])
def test_an_unchanged_run_passes(tmp_path, fmt):
    r = run_compare(tmp_path, base_doc(), base_doc(), "--format", fmt)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    if fmt == "json":
        assert strict_json(r.stdout)["verdict"] == "pass"


# --- the confirming round, as scripts/ab.sh runs it -----------------------------------------

def confirm_gate(tmp_path: Path, base: dict, cur: dict, base2: str | dict, cur2: str | dict,
                 *flags):
    files = []
    for name, doc in (("b2.json", base2), ("c2.json", cur2)):
        f = tmp_path / name
        f.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        files.append(str(f))
    return run_compare(tmp_path, base, cur, "--confirm", *files, *flags)


def test_failed_requests_that_recur_in_the_confirming_round_are_confirmed(tmp_path):
    broken = failing(base_doc())
    r = confirm_gate(tmp_path, base_doc(), broken, base_doc(), broken)
    assert r.returncode == 1
    assert re.search(rf"ERRORS {re.escape(SLOW)}: .*\(baseline: none\), confirmed", r.stderr)
    r = confirm_gate(tmp_path, base_doc(), broken, base_doc(), base_doc())
    assert r.returncode == 0, r.stderr
    assert f"not confirmed (passed): {SLOW} errors" in r.stderr


def test_failed_requests_found_by_the_confirming_round_alone_fail(tmp_path):
    slow = copy.deepcopy(base_doc())
    for b in repetitions(slow, SLOW):
        b["real_time"] *= 1.3
        b["efficiency"] /= 1.3
    r = confirm_gate(tmp_path, base_doc(), slow, base_doc(), failing(base_doc()))
    assert r.returncode == 1
    assert f"ERRORS {SLOW}" in r.stderr and "in the confirming round" in r.stderr


def test_a_confirming_round_that_measured_nothing_leaves_the_failures_standing(tmp_path):
    # ab.sh re-measures the benchmarks named in `regressions`; when the first judgement failed
    # only for missing benchmarks, that filter matches nothing and both files are empty.
    cur = base_doc()
    cur["benchmarks"] = [b for b in cur["benchmarks"] if b["name"] != SLOW]
    r = confirm_gate(tmp_path, base_doc(), cur, "", "")
    assert r.returncode == 1, r.stderr
    assert f"compare.py: MISSING {SLOW}" in r.stderr
    # A regression the confirming round did not measure stands.
    slow = copy.deepcopy(base_doc())
    for b in repetitions(slow, SLOW):
        b["real_time"] *= 1.3
        b["efficiency"] /= 1.3
    r = confirm_gate(tmp_path, base_doc(), slow, "", "")
    assert r.returncode == 1, r.stderr
    assert "not re-measured" in r.stderr


def test_a_confirming_round_that_is_no_measurement_is_an_input_error(tmp_path):
    broken = failing(base_doc())
    nan = base_doc()
    repetitions(nan, SLOW)[0]["p50_ms"] = math.nan
    r = confirm_gate(tmp_path, base_doc(), broken, base_doc(), nan)
    assert r.returncode == 2
    assert one_line(r).startswith("compare.py: --confirm:")


# --- scripts/ab.sh passes --allow-missing through -------------------------------------------

def test_ab_sh_takes_allow_missing():
    ab = ROOT / "scripts" / "ab.sh"
    r = subprocess.run([str(ab), "--allow-missing"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "missing BASE_REF" in r.stderr, r.stderr
    usage = subprocess.run([str(ab), "--help"], capture_output=True, text=True, timeout=60)
    assert "--allow-missing" in usage.stdout and "set -euo" not in usage.stdout
    judge = next(line for line in ab.read_text().splitlines()
                 if "scripts/compare.py" in line and '"$out/base.json"' in line)
    assert '"${allow[@]}"' in judge
