"""iobench_tools.history, scripts/history.py and report.py --history: runs recorded in SQLite,
drawn over time."""
import json
import sqlite3
import subprocess

from conftest import FIXTURES, ROOT

from iobench_tools import results
from iobench_tools import history
from iobench_tools.report.history_chart import chart_history

HISTORY = ROOT / "scripts" / "history.py"
REPORT = ROOT / "scripts" / "report.py"
NEW = "coro.v2-x"


def py(*args):
    return subprocess.run(["/usr/bin/python3", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def renamed_ci(tmp_path):
    """ci_run.json with coroutine renamed and the registry of renamed_model.json."""
    doc = json.loads((FIXTURES / "ci_run.json").read_text())
    registry = json.loads((FIXTURES / "renamed_model.json").read_text())["context"]["models"]
    doc["context"]["models"] = registry
    for b in doc["benchmarks"]:
        for k in ("name", "run_name"):
            b[k] = b[k].replace("fetch/coroutine/", f"fetch/{NEW}/")
    f = tmp_path / "renamed_ci.json"
    f.write_text(json.dumps(doc))
    return f


def test_append_records_the_run_and_every_sample(tmp_path):
    db = tmp_path / "h.db"
    history.append(db, FIXTURES / "ci_run.json")
    con = sqlite3.connect(db)
    (sha, suite, machine), = con.execute("SELECT git_sha, suite, machine FROM runs").fetchall()
    doc = json.loads((FIXTURES / "ci_run.json").read_text())
    assert sha == doc["context"]["git_sha"] and suite == "ci" and "2 CPUs" in machine
    iterations = [b for b in doc["benchmarks"] if b.get("run_type") == "iteration"]
    (n,), = con.execute("SELECT COUNT(*) FROM samples WHERE metric = 'efficiency'").fetchall()
    assert n == len(iterations)
    (reps,), = con.execute("SELECT MAX(repetition) + 1 FROM samples").fetchall()
    assert reps == 6
    metrics = {m for (m,) in con.execute("SELECT DISTINCT metric FROM samples")}
    assert metrics == set(results.COUNTERS) | {"makespan_ms"}


def test_each_run_keeps_its_registry(tmp_path):
    db = tmp_path / "h.db"
    history.append(db, FIXTURES / "ci_run.json")
    history.append(db, renamed_ci(tmp_path))
    old, new = history.runs(db)
    assert old["models"] == results.fallback_models([])
    assert [m.name for m in new["models"]][2] == NEW
    assert new["models"] == results.models(json.loads(renamed_ci(tmp_path).read_text()))


def test_a_database_from_before_the_registry_still_works(tmp_path):
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, date TEXT NOT NULL,
          git_sha TEXT NOT NULL, suite TEXT NOT NULL, machine TEXT NOT NULL,
          source TEXT NOT NULL);
        CREATE TABLE samples (run_id INTEGER NOT NULL REFERENCES runs(id),
          benchmark TEXT NOT NULL, metric TEXT NOT NULL, repetition INTEGER NOT NULL,
          value REAL NOT NULL);
        INSERT INTO runs VALUES (1, 'd', 'abc', 'ci', 'vm', 'x.json');
        INSERT INTO samples VALUES
          (1, 'fetch/newcomer9/requests:9/delay_ms:5/concurrency:3/bytes:0', 'req_per_s', 0, 1.0);
    """)
    con.commit()
    con.close()
    (run,) = history.runs(db)
    assert results.baseline(run["models"]) == "sequential"
    assert "newcomer9" in [m.name for m in run["models"]]
    history.append(db, FIXTURES / "ci_run.json")  # adds the column
    assert [r["id"] for r in history.runs(db)] == [1, 2]


def test_the_history_chart_draws_a_renamed_model_with_its_baseline(tmp_path):
    db = tmp_path / "h.db"
    for _ in range(2):
        history.append(db, renamed_ci(tmp_path))
    fig = chart_history(db, "ci", tmp_path)
    assert fig.series[:3] == ["sequential", "thread_pool", NEW]
    assert (tmp_path / "history.png").stat().st_size > 10_000
    assert chart_history(db, "other-suite", tmp_path) is None


def test_cli_list_and_report_over_time(tmp_path):
    db = tmp_path / "h.db"
    for _ in range(3):
        r = py(HISTORY, "append", FIXTURES / "ci_run.json", "--db", db)
        assert r.returncode == 0, r.stderr
    r = py(HISTORY, "list", "--db", db)
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 3
    out = tmp_path / "hist"
    r = py(REPORT, "--history", db, "--out", out)
    assert r.returncode == 0, r.stderr
    assert (out / "history.png").stat().st_size > 10_000
    assert (out / "history.svg").exists()
    assert "history.svg" in (out / "index.html").read_text()
    assert "](history.png)" in (out / "report.md").read_text()


def test_history_section_in_a_run_report(tmp_path):
    db = tmp_path / "h.db"
    for _ in range(2):
        history.append(db, FIXTURES / "ci_run.json")
    r = py(REPORT, FIXTURES / "ci_run.json", "--out", tmp_path / "out", "--history", db)
    assert r.returncode == 0, r.stderr
    assert "## Gate metrics over time (suite ci)" in (tmp_path / "out" / "report.md").read_text()


def test_bad_inputs_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert py(HISTORY, "append", bad, "--db", tmp_path / "h.db").returncode == 2
    assert py(HISTORY, "list", "--db", tmp_path / "none.db").returncode == 2
    not_db = tmp_path / "not.db"
    not_db.write_text("hello")
    r = py(REPORT, "--history", not_db, "--out", tmp_path / "o")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    one = tmp_path / "one.db"
    history.append(one, FIXTURES / "ci_run.json")
    r = py(REPORT, "--history", one, "--out", tmp_path / "o2")
    assert r.returncode == 2 and "fewer than two runs" in r.stderr
    assert py(REPORT, "--out", tmp_path / "o3").returncode == 2


def test_an_open_loop_only_run_is_not_an_error_and_records_nothing(tmp_path):
    # bench.sh --suite open appends every run: a file of open-loop steps has none of the gate's
    # metrics, so the history says so and leaves the database as it was.
    db = tmp_path / "h.db"
    r = py(ROOT / "scripts" / "history.py", "append", FIXTURES / "open_suite.json", "--db", db)
    assert r.returncode == 0, r.stderr
    assert "nothing to record" in r.stdout
    assert not db.exists() or history.runs(db, "open") == []


def test_a_locked_database_is_said_to_be_locked(tmp_path, monkeypatch):
    """Another process holding the database is a lock to wait out, not a broken database."""
    db = tmp_path / "h.db"
    history.append(db, FIXTURES / "ci_run.json")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(history, "BUSY_TIMEOUT_S", 0.1)
    try:
        for read in (lambda: history.runs(db),
                     lambda: history.append(db, FIXTURES / "ci_run.json")):
            try:
                read()
            except history.HistoryError as e:
                text = str(e)
            else:
                raise AssertionError("a locked database was read")
            assert f"{db} is locked: another process held it for more than 0.1 s" in text, text
            assert "not an iobench history database" not in text
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(history.runs(db)) == 1
