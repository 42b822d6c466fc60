"""scripts/merge_runs.py: runs merge only from one machine and one suite (exit 2, one line, no
output), like the gate's own refusal; each merged repetition keeps the run it came from, so that
no consumer reads two runs' repetition 1 as one repetition measured twice."""
import copy
import json
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT

from iobench_tools import gate
from iobench_tools import results

MERGE = ROOT / "scripts" / "merge_runs.py"


def run() -> dict:
    return json.loads((FIXTURES / "ci_run.json").read_text())


def write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def merge(out: Path, *files: Path):
    return subprocess.run(["/usr/bin/python3", str(MERGE), str(out), *map(str, files)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("ctx, needle", [
    ({"num_cpus": 64, "mhz_per_cpu": 3500}, "comes from another machine than"),
    ({"num_cpus": 16}, "CPUs"),
    ({"iobench_suite": "quick"}, "runs merge only within one suite"),
])
def test_runs_of_another_machine_or_suite_are_refused(tmp_path, ctx, needle):
    ours = write(tmp_path / "ours.json", run())
    theirs = run()
    theirs["context"].update(ctx)
    theirs = write(tmp_path / "theirs.json", theirs)
    out = tmp_path / "merged.json"
    for files in ((ours, theirs), (theirs, ours), (ours, ours, theirs)):
        r = merge(out, *files)
        assert r.returncode == 2, r.stdout
        (line,) = r.stderr.strip().splitlines()
        assert line.startswith("merge_runs.py: ") and needle in line, line
        assert not out.exists()


def test_a_three_times_slower_run_of_a_64_cpu_machine_cannot_pass_the_gate_merged(tmp_path):
    """The walk-around: merge a foreign run into ours, then compare the merge with ours."""
    theirs = run()
    theirs["context"].update(num_cpus=64)
    for b in theirs["benchmarks"]:
        b["real_time"] *= 3
    r = merge(tmp_path / "m.json", write(tmp_path / "ours.json", run()),
              write(tmp_path / "theirs.json", theirs))
    assert r.returncode == 2 and "CPUs 2 vs 64" in r.stderr


def test_merged_repetitions_keep_their_run_and_merge_again(tmp_path):
    one, two = write(tmp_path / "one.json", run()), write(tmp_path / "two.json", run())
    r = merge(tmp_path / "m.json", one, two)
    assert r.returncode == 0, r.stderr
    assert "from 2 runs" in r.stdout
    merged = json.loads((tmp_path / "m.json").read_text())
    assert merged["context"]["merged_runs"] == 2
    reps = [b for b in merged["benchmarks"]]
    assert {b["merged_run"] for b in reps} == {0, 1}
    r = merge(tmp_path / "m3.json", tmp_path / "m.json", one)
    assert r.returncode == 0, r.stderr
    again = json.loads((tmp_path / "m3.json").read_text())
    assert again["context"]["merged_runs"] == 3
    assert {b["merged_run"] for b in again["benchmarks"]} == {0, 1, 2}
    samples = gate.load(tmp_path / "m3.json")
    name = "fetch/coroutine/requests:200/delay_ms:20/concurrency:50/bytes:0"
    assert len(samples[name]["p50_ms"]) == 3 * len(gate.load(one)[name]["p50_ms"])


def test_a_file_merged_before_runs_were_tagged_is_read_and_merged_apart(tmp_path):
    old = run()
    reps = [b for b in old["benchmarks"] if b.get("run_type") == "iteration"]
    old["benchmarks"] = copy.deepcopy(reps) + copy.deepcopy(reps)
    old["context"]["merged_runs"] = 2
    path = write(tmp_path / "old.json", old)
    results.read(path)  # each repetition twice, as two runs: allowed by merged_runs
    r = merge(tmp_path / "m.json", path, write(tmp_path / "one.json", run()))
    assert r.returncode == 0, r.stderr
    merged = json.loads((tmp_path / "m.json").read_text())
    assert merged["context"]["merged_runs"] == 3
    assert sorted({b["merged_run"] for b in merged["benchmarks"]}) == [0, 1, 2]
