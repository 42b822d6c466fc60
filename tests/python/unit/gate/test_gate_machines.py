"""The gate across machines: compare.py refuses to judge files from different machines (exit 2,
one line naming the differences) unless told to, and then labels its verdict; the CI summary
format and the confirming round."""
import copy
import json
from pathlib import Path

import pytest

from gate_docs import SLOW, base_doc, run_compare, slowed

from iobench_tools import fingerprint, gate


def on_machine(d: dict, **ctx) -> dict:
    d = copy.deepcopy(d)
    d["context"].update(ctx)
    return d


def test_fingerprint_names_each_difference_and_ignores_what_one_side_lacks():
    a = {"cpu_model": "AMD EPYC", "mhz_per_cpu": 2096, "num_cpus": 2, "kernel": "Linux 6.1",
         "libcurl_version": "7.88.1", "build_type": "Release"}
    assert fingerprint.differences(a, dict(a)) == []
    b = dict(a, mhz_per_cpu=2596, num_cpus=16)
    assert fingerprint.differences(a, b) == ["CPU MHz 2096 vs 2596", "CPUs 2 vs 16"]
    assert fingerprint.differences(a, dict(a, mhz_per_cpu=2110)) == [], "rounding, not a machine"
    older = {k: v for k, v in a.items() if k != "cpu_model"}
    assert fingerprint.differences(older, dict(a, cpu_model="Intel")) == []
    assert fingerprint.differences(None, a) == []


def test_different_machines_are_refused_with_one_line(tmp_path):
    base = base_doc()
    cur = on_machine(base, num_cpus=16, kernel="Linux 6.8.0-generic")
    r = run_compare(tmp_path, base, cur)
    assert r.returncode == 2, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "different machines" in lines[0] and "CPUs 2 vs 16" in lines[0]
    assert "scripts/ab.sh" in lines[0] and "--allow-other-machine" in lines[0]
    assert r.stdout == ""


def test_allow_other_machine_judges_and_labels_it(tmp_path):
    base = base_doc()
    cur = slowed(on_machine(base, num_cpus=16), SLOW, 1.3)
    r = run_compare(tmp_path, base, cur, "--allow-other-machine")
    assert r.returncode == 1, r.stderr
    assert "Compared across machines" in r.stdout and "CPUs 2 vs 16" in r.stdout
    assert f"REGRESSION {SLOW}" in r.stderr
    same = run_compare(tmp_path, base, on_machine(base, num_cpus=16), "--allow-other-machine",
                       "--format", "json")
    assert same.returncode == 0
    assert json.loads(same.stdout)["other_machine"] == "CPUs 2 vs 16"


def test_same_machine_needs_no_flag(tmp_path):
    base = base_doc()
    r = run_compare(tmp_path, base, on_machine(base, git_sha="something else", date="tomorrow"))
    assert r.returncode == 0, r.stderr
    assert "Compared across machines" not in r.stdout


def test_github_format_puts_the_verdict_first_then_what_moved(tmp_path):
    base = base_doc()
    r = run_compare(tmp_path, base, slowed(base, SLOW, 1.3), "--format", "github")
    assert r.returncode == 1
    first = r.stdout.splitlines()[0]
    assert first.startswith("**iobench: FAIL**") and SLOW in first
    moved = r.stdout.split("<details>")[0]
    assert SLOW in moved
    assert "fetch/thread_pool/requests:200/delay_ms:20/concurrency:50/bytes:0 |" not in moved, \
        "an unchanged benchmark is only in the folded full table"
    ok = run_compare(tmp_path, base, base, "--format", "github")
    assert ok.returncode == 0 and ok.stdout.startswith("**iobench: PASS**")


def judged(tmp_path: Path, base: dict, cur: dict) -> dict:
    b, c = tmp_path / "jb.json", tmp_path / "jc.json"
    b.write_text(json.dumps(base))
    c.write_text(json.dumps(cur))
    thresholds = {m: spec[1] for m, spec in gate.METRICS.items()}
    return gate.judge(gate.load(b), gate.load(c), thresholds, 0.05)


def test_a_regression_fails_only_when_the_confirming_round_flags_it_again(tmp_path):
    base = base_doc()
    result = judged(tmp_path, base, slowed(base, SLOW, 1.3))
    assert result["regressions"]
    again_clean = judged(tmp_path, base, base)
    unconfirmed = gate.confirm(copy.deepcopy(result), again_clean)
    assert unconfirmed["verdict"] == "pass" and not unconfirmed["regressions"]
    assert {r["benchmark"] for r in unconfirmed["unconfirmed"]} == {SLOW}
    assert all(r["verdict"] == "flagged, not confirmed" for r in unconfirmed["unconfirmed"])
    confirmed = gate.confirm(copy.deepcopy(result), copy.deepcopy(result))
    assert confirmed["verdict"] == "fail"
    assert all(r["confirmed"] for r in confirmed["regressions"])


def test_confirm_flag_end_to_end(tmp_path):
    base = base_doc()
    slow = slowed(base, SLOW, 1.3)
    (tmp_path / "b2.json").write_text(json.dumps(base))
    (tmp_path / "c2.json").write_text(json.dumps(base))
    r = run_compare(tmp_path, base, slow, "--confirm", str(tmp_path / "b2.json"),
                    str(tmp_path / "c2.json"))
    assert r.returncode == 0, r.stderr
    assert "not confirmed, so not failed" in r.stdout
    assert f"not confirmed (passed): {SLOW}" in r.stderr
    (tmp_path / "c2.json").write_text(json.dumps(slow))
    r = run_compare(tmp_path, base, slow, "--confirm", str(tmp_path / "b2.json"),
                    str(tmp_path / "c2.json"))
    assert r.returncode == 1
    assert f"REGRESSION {SLOW}" in r.stderr and "confirmed" in r.stderr


@pytest.mark.parametrize("args", [["--confirm", "x.json"], ["--format", "yaml"]])
def test_bad_flags_exit_2(tmp_path, args):
    base = base_doc()
    assert run_compare(tmp_path, base, base, *args).returncode == 2
