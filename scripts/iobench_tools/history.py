"""The run history's database: every scripts/bench.sh run appends its results to SQLite (one
row per run: git sha, date, machine, suite; one row per sample: benchmark, metric, repetition,
value). Its command line is commands/history.py (scripts/history.py)."""
from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from pathlib import Path

from iobench_tools import ROOT, results

DEFAULT_DB = ROOT / "reports" / "history.db"
# How long a reader or writer waits for another process's lock on the database before it gives
# up (sqlite3's own default).
BUSY_TIMEOUT_S = 5.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  date TEXT NOT NULL,
  git_sha TEXT NOT NULL,
  suite TEXT NOT NULL,
  machine TEXT NOT NULL,
  source TEXT NOT NULL,
  models TEXT
);
CREATE TABLE IF NOT EXISTS samples (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  benchmark TEXT NOT NULL,
  metric TEXT NOT NULL,
  repetition INTEGER NOT NULL,
  value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_by_run ON samples(run_id);
"""


class OpenLoopOnly(Exception):
    """Nothing the history tracks: its metrics are the gate's, which open-loop steps do not have."""


class HistoryError(Exception):
    pass


def _has_models_column(con: sqlite3.Connection) -> bool:
    # Databases written before the registry have no `models` column.
    return any(row[1] == "models" for row in con.execute("PRAGMA table_info(runs)"))


def _locked(e: sqlite3.Error) -> bool:
    """Whether `e` says another connection holds the database (SQLITE_BUSY, SQLITE_LOCKED)."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(e) or "busy" in str(e)


def _locked_message(db: Path, e: sqlite3.Error) -> str:
    return (f"{db} is locked: another process held it for more than {BUSY_TIMEOUT_S:g} s "
            f"(sqlite: {e}); try again when it is done")


def connect(db: Path) -> sqlite3.Connection:
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db, timeout=BUSY_TIMEOUT_S)
    con.executescript(SCHEMA)
    if not _has_models_column(con):
        con.execute("ALTER TABLE runs ADD COLUMN models TEXT")
    return con


def append(db: Path, results_file: Path) -> tuple[int, list[str]]:
    """Adds one run; returns its id and what was left out (values that are not finite numbers,
    which are no measurement: "benchmark metric (repetition)")."""
    try:
        doc = results.read(results_file)
        entries = list(results.runs(doc, results_file))
        registry = results.models(doc)
    except results.OpenLoopOnly as e:
        raise OpenLoopOnly(str(e)) from e
    except results.ResultsError as e:
        raise HistoryError(str(e)) from e
    if not entries:
        raise HistoryError(f"{results_file}: every benchmark reported an error: nothing to record")
    ctx = doc.get("context")
    ctx = ctx if isinstance(ctx, dict) else {}
    machine = (f"{ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} CPUs, "
               f"{ctx.get('kernel', '?')}")
    # The registry as read (fallback included), so that every run drawn later knows its baseline.
    models = json.dumps([dataclasses.asdict(m) for m in registry])
    samples, skipped = [], []
    reps: dict[str, int] = {}
    for name, b in entries:
        rep = reps[name] = reps.get(name, -1) + 1
        makespan = results.makespan_ms(b)
        if makespan is not None:
            samples.append((name, "makespan_ms", rep, makespan))
        for m in results.COUNTERS:
            if not results.is_number(b.get(m)):
                continue
            if math.isfinite(b[m]):
                samples.append((name, m, rep, float(b[m])))
            else:
                skipped.append(f"{name} {m} (repetition {rep + 1})")
    try:
        con = connect(db)
        with con:
            cur = con.execute("INSERT INTO runs(date, git_sha, suite, machine, source, models) "
                              "VALUES (?,?,?,?,?,?)",
                              (str(ctx.get("date", "?")), str(ctx.get("git_sha", "unknown")),
                               str(ctx.get("iobench_suite", "?")), machine, str(results_file),
                               models))
            run_id = cur.lastrowid
            con.executemany("INSERT INTO samples VALUES (?,?,?,?,?)",
                            [(run_id, *s) for s in samples])
        con.close()
    except sqlite3.Error as e:
        raise HistoryError(f"cannot record the run: {_locked_message(db, e)}" if _locked(e)
                           else f"cannot record the run in {db}: {e}") from e
    except OSError as e:
        raise HistoryError(f"cannot record the run in {db}: {e}") from e
    return run_id, skipped


def runs(db: Path, suite: str | None = None) -> list[dict]:
    """Every run (of one suite), oldest first, each with its samples as the shape compare.py
    loads (benchmark -> metric -> values) and its model registry (results.Model list)."""
    if not db.exists():
        raise HistoryError(f"no history at {db} (scripts/bench.sh creates it)")
    try:
        con = sqlite3.connect(db, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as e:
        raise HistoryError(f"cannot open {db}: {e}") from e
    try:
        models = "models" if _has_models_column(con) else "NULL"
        rows = con.execute(f"SELECT id, date, git_sha, suite, machine, {models} FROM runs "
                           + ("WHERE suite = ? " if suite else "") + "ORDER BY id",
                           (suite,) if suite else ()).fetchall()
        out = []
        for run_id, date, sha, s, machine, registry in rows:
            data: dict[str, dict[str, list[float]]] = {}
            for bench, metric, value in con.execute(
                    "SELECT benchmark, metric, value FROM samples WHERE run_id = ? "
                    "ORDER BY benchmark, metric, repetition", (run_id,)):
                data.setdefault(bench, {}).setdefault(metric, []).append(value)
            names = [g["impl"] for g in map(results.NAME_RE.match, data) if g]
            out.append({"id": run_id, "date": date, "git_sha": sha, "suite": s,
                        "machine": machine, "data": data,
                        "models": results.parse_models(registry, names)})
        return out
    except sqlite3.DatabaseError as e:
        raise HistoryError(_locked_message(db, e) if _locked(e)
                           else f"{db} is not an iobench history database: {e}") from e
    except results.ResultsError as e:
        raise HistoryError(f"{db}: {e}") from e
    finally:
        con.close()
