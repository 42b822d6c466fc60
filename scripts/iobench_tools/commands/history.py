"""The run history: every scripts/bench.sh run appends its results to a SQLite database.

    scripts/history.py append RESULTS.json [--db reports/history.db]
    scripts/history.py list [--db reports/history.db]

One row per run (git sha, date, machine, suite) and one row per sample (benchmark, metric,
repetition, value). scripts/report.py --history DB draws the gate metrics over time.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from iobench_tools.history import DEFAULT_DB, HistoryError, OpenLoopOnly, append, runs


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("append", help="add a results file as a run")
    a.add_argument("results", type=Path)
    a.add_argument("--db", type=Path, default=DEFAULT_DB)
    ls = sub.add_parser("list", help="list the runs")
    ls.add_argument("--db", type=Path, default=DEFAULT_DB)
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    try:
        if args.cmd == "append":
            try:
                run_id, skipped = append(args.db, args.results)
            except OpenLoopOnly as e:
                print(f"history.py: nothing to record: {e}; the history follows the gate's "
                      "closed-loop metrics")
                return 0
            print(f"history.py: run {run_id} added to {args.db}")
            if skipped:
                print(f"history.py: note: {len(skipped)} value(s) that are not finite numbers "
                      f"were left out, first {skipped[0]}", file=sys.stderr)
        else:
            for r in runs(args.db):
                print(f"{r['id']:4d}  {r['date']}  {r['git_sha']:12s}  {r['suite']:8s}  "
                      f"{len(r['data'])} benchmarks  {r['machine']}")
    except HistoryError as e:
        print(f"history.py: {e}", file=sys.stderr)
        return 2
    return 0
