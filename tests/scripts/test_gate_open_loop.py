"""The gate and open-loop steps: compare.py judges closed-loop batches only. Open-loop
rows (open/<impl>/rate:R/...) in either file are listed as not judged, never missing nor new, and
a file of open-loop steps alone is one clear line, exit 2. On ci_run.json with steps of
open_suite.json added."""
import copy
import json
import subprocess

from conftest import FIXTURES, ROOT

from iobench_gate.judge import judge
from iobench_gate.samples import load, load_thresholds

COMPARE = ROOT / "scripts" / "compare.py"


def with_steps(impls: tuple[str, ...]) -> dict:
    """ci_run.json plus the open suite's 10 ms steps of `impls`."""
    doc = json.loads((FIXTURES / "ci_run.json").read_text())
    steps = json.loads((FIXTURES / "open_suite.json").read_text())["benchmarks"]
    doc["benchmarks"] += [copy.deepcopy(b) for b in steps
                          if b["name"].split("/")[1] in impls and "/delay_ms:10/" in b["name"]]
    return doc


def write(tmp_path, name: str, doc: dict):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


class Args:
    thresholds = None
    threshold: list = []
    alpha = None


def test_open_steps_are_not_judged_missing_or_new(tmp_path):
    base = write(tmp_path, "base.json", with_steps(("sequential", "thread_pool")))
    cur = write(tmp_path, "cur.json", with_steps(("coroutine",)))
    b, c = load(base), load(cur)
    assert not any(name.startswith("open/") for name in list(b) + list(c))
    assert len(b.open_loop) == 18 and len(c.open_loop) == 9
    thresholds, alpha = load_thresholds(Args(), base)
    result = judge(b, c, thresholds, alpha)
    assert result["verdict"] == "pass"
    assert result["missing_in_current"] == [] and result["new_in_current"] == []
    assert len(result["open_loop"]) == 27
    assert not any(r["benchmark"].startswith("open/") for r in result["comparisons"])


def test_cli_lists_them_as_not_judged(tmp_path):
    base = write(tmp_path, "base.json", with_steps(("sequential",)))
    cur = write(tmp_path, "cur.json", with_steps(("sequential",)))
    r = subprocess.run(["/usr/bin/python3", str(COMPARE), str(base), str(cur)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "9 open-loop step(s) not judged: open loop" in r.stdout
    j = subprocess.run(["/usr/bin/python3", str(COMPARE), str(base), str(cur), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert j.returncode == 0 and len(json.loads(j.stdout)["open_loop"]) == 9


def test_open_steps_alone_are_one_line_and_exit_2(tmp_path):
    steps = FIXTURES / "open_suite.json"
    r = subprocess.run(["/usr/bin/python3", str(COMPARE), str(steps), str(steps)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "has only open-loop benchmarks" in r.stderr
