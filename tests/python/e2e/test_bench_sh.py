"""scripts/bench.sh's own checks, which come before it installs, builds or measures anything."""
import os
import re
import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.e2e  # runs the project's shell scripts

BENCH_SH = ROOT / "scripts" / "bench.sh"


def bench_sh(*args):
    return subprocess.run([str(BENCH_SH), *args], capture_output=True, text=True, timeout=600)


def test_an_unwritable_out_is_refused_before_building(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    r = bench_sh("--suite", "smoke", "--out", str(blocker / "out"))
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--out" in lines[0] and str(blocker) in lines[0], r.stderr
    assert "building" not in r.stdout, "checked before the build"


def test_allow_missing_is_an_option_for_compare(tmp_path):
    baseline = tmp_path / "baseline.json"
    baseline.write_text("{}")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # Accepted as an option (the run then stops at the unwritable --out, before building).
    r = bench_sh("--compare", str(baseline), "--allow-missing", "--out", str(blocker / "out"))
    assert r.returncode == 2 and "--out" in r.stderr, r.stderr
    r = bench_sh("--allow-missing")
    assert r.returncode == 2 and "only means something with --compare" in r.stderr, r.stderr
    assert "--allow-missing" in bench_sh("--help").stdout


@pytest.mark.skipif(os.environ.get("IOBENCH_SANITIZED") == "1",
                    reason="bench.sh builds and runs the release binaries, not these")
def test_a_run_with_errored_benchmarks_keeps_its_results_and_exits_1(tmp_path):
    # Nothing listens on port 9: every benchmark errors (and history.py and report.py, with
    # nothing to record or draw, say so in a line each).
    out = tmp_path / "out"
    r = bench_sh("--suite", "smoke", "--impls", "coroutine", "--server", "http://127.0.0.1:9",
                 "--out", str(out))
    assert r.returncode == 1, r.stdout + r.stderr
    assert (out / "results.json").exists() and (out / "console.txt").exists()
    assert re.search(r"iobench: \d+ benchmark runs errored", r.stderr), r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("bench.sh: some benchmarks errored")
