"""The gate and open-loop steps: compare.py judges closed-loop batches only. Open-loop
rows (open/<impl>/rate:R/...) in either file are listed as not judged, never missing nor new, and
a file of open-loop steps alone is one clear line, exit 2. On ci_run.json with steps of
open_suite.json added."""
import copy
import json
import subprocess

from conftest import FIXTURES, ROOT

from iobench_tools.gate.judge import judge
from iobench_tools.gate.samples import load, load_thresholds

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


def with_work(doc: dict, impls: tuple[str, ...]) -> dict:
    """`doc` plus, for each of `impls`, a copy of its first batch renamed as one with work per
    response (fetch/.../work_us:200): a row sharing every field of a plain batch but the work."""
    out = copy.deepcopy(doc)
    for impl in impls:
        first = next(b for b in doc["benchmarks"] if b["name"].startswith(f"fetch/{impl}/"))
        row = copy.deepcopy(first)
        for key in ("name", "run_name"):
            if key in row:
                plain = row[key].split("/iterations:")[0].split("/repeats:")[0]
                row[key] = row[key].replace(plain, plain + "/work_us:200")
        out["benchmarks"].append(row)
    return out


def test_batches_with_work_per_response_are_listed_not_judged(tmp_path):
    doc = json.loads((FIXTURES / "ci_run.json").read_text())
    base = write(tmp_path, "base.json", with_work(doc, ("sequential",)))
    cur = write(tmp_path, "cur.json", with_work(doc, ("sequential", "coroutine")))
    b, c = load(base), load(cur)
    assert not any("/work_us:" in name for name in list(b) + list(c)), "no plain batch"
    assert len(b.work) == 1 and len(c.work) == 2
    thresholds, alpha = load_thresholds(Args(), base)
    result = judge(b, c, thresholds, alpha)
    assert result["verdict"] == "pass"
    assert len(result["work"]) == 2 and result["new_in_current"] == []
    r = subprocess.run(["/usr/bin/python3", str(COMPARE), str(base), str(cur)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "2 batch(es) with work or a block per response not judged" in r.stdout


def test_a_file_of_work_batches_alone_says_so(tmp_path):
    doc = with_work(json.loads((FIXTURES / "ci_run.json").read_text()), ("coroutine",))
    doc["benchmarks"] = [b for b in doc["benchmarks"] if "/work_us:" in b["name"]]
    path = write(tmp_path, "work.json", doc)
    r = subprocess.run(["/usr/bin/python3", str(COMPARE), str(path), str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "only batches with work or a block per response" in r.stderr
