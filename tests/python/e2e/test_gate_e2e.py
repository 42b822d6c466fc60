"""The regression gate end to end, on real runs of the ci suite: an unchanged build passes, a real
slowdown (the server's --extra-delay: every request 20 ms slower, +20% on the 100 ms batches)
fails. Skipped under sanitizers, whose overhead is not what the gate is for."""
import os
import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(os.environ.get("IOBENCH_SANITIZED") == "1",
                                reason="timing gate: not meaningful under ASan/UBSan")

# A subset of the ci suite: the latency-bound benchmarks of one model and the sequential
# reference. (The zero-delay sequential point would take minutes once slowed.)
IMPLS = "coroutine,sequential"
FILTER = "--benchmark_filter=delay_ms:100"


def ci_run(bins, out, *extra):
    r = subprocess.run([str(bins / "iobench"), "--suite", "ci", "--impls", IMPLS, FILTER,
                        "--benchmark_enable_random_interleaving=true",
                        f"--benchmark_out={out}", "--benchmark_out_format=json", *extra],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def gate(baseline, current):
    return subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "compare.py"),
                           str(baseline), str(current)], capture_output=True, text=True,
                          timeout=60)


def test_unchanged_passes_and_a_real_slowdown_fails(bins, tmp_path):
    baseline = ci_run(bins, tmp_path / "baseline.json")
    unchanged = gate(baseline, ci_run(bins, tmp_path / "unchanged.json"))
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    slowed = gate(baseline, ci_run(bins, tmp_path / "slowed.json", "--server-args",
                                   "--extra-delay 20ms"))
    assert slowed.returncode == 1, slowed.stdout
    assert ("REGRESSION fetch/coroutine/requests:100/delay_ms:100/concurrency:25/bytes:0"
            in slowed.stderr)
