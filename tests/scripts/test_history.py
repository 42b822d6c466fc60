"""scripts/history.py and report.py --history: runs recorded in SQLite, drawn over time."""
import json
import sqlite3
import subprocess
from pathlib import Path

from conftest import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
HISTORY = ROOT / "scripts" / "history.py"
REPORT = ROOT / "scripts" / "report.py"


def py(*args):
    return subprocess.run(["/usr/bin/python3", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_append_records_the_run_and_every_sample(tmp_path):
    db = tmp_path / "h.db"
    r = py(HISTORY, "append", FIXTURES / "ci_run.json", "--db", db)
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db)
    (sha, suite, machine), = con.execute("SELECT git_sha, suite, machine FROM runs").fetchall()
    doc = json.loads((FIXTURES / "ci_run.json").read_text())
    assert sha == doc["context"]["git_sha"] and suite == "ci" and "2 CPUs" in machine
    iterations = [b for b in doc["benchmarks"] if b.get("run_type") == "iteration"]
    (n,), = con.execute("SELECT COUNT(*) FROM samples WHERE metric = 'efficiency'").fetchall()
    assert n == len(iterations)
    (reps,), = con.execute("SELECT MAX(repetition) + 1 FROM samples").fetchall()
    assert reps == 6


def test_list_and_report_over_time(tmp_path):
    db = tmp_path / "h.db"
    for _ in range(3):
        assert py(HISTORY, "append", FIXTURES / "ci_run.json", "--db", db).returncode == 0
    r = py(HISTORY, "list", "--db", db)
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 3
    out = tmp_path / "hist"
    r = py(REPORT, "--history", db, "--out", out)
    assert r.returncode == 0, r.stderr
    assert (out / "history.png").stat().st_size > 10_000
    assert "history.svg" in (out / "index.html").read_text()


def test_history_section_in_a_run_report(tmp_path):
    db = tmp_path / "h.db"
    for _ in range(2):
        py(HISTORY, "append", FIXTURES / "ci_run.json", "--db", db)
    r = py(REPORT, FIXTURES / "ci_run.json", "--out", tmp_path / "out", "--history", db)
    assert r.returncode == 0, r.stderr
    assert "Gate metrics over time (suite ci)" in (tmp_path / "out" / "report.md").read_text()


def test_bad_inputs_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert py(HISTORY, "append", bad, "--db", tmp_path / "h.db").returncode == 2
    assert py(HISTORY, "list", "--db", tmp_path / "none.db").returncode == 2
    not_db = tmp_path / "not.db"
    not_db.write_text("hello")
    assert py(REPORT, "--history", not_db, "--out", tmp_path / "o").returncode == 2
    one = tmp_path / "one.db"
    py(HISTORY, "append", FIXTURES / "ci_run.json", "--db", one)
    r = py(REPORT, "--history", one, "--out", tmp_path / "o2")
    assert r.returncode == 2 and "fewer than two runs" in r.stderr
    assert py(REPORT, "--out", tmp_path / "o3").returncode == 2
