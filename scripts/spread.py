#!/usr/bin/python3
"""Run-to-run spread of the gate's metrics over several results files of the same suite.

    scripts/spread.py RUN1.json RUN2.json ... [--markdown]

For every benchmark and gate metric: the median of each run's repetitions, then across runs the
median, the spread ((max - min) / median) and the coefficient of variation. Then every ordered
pair of runs is judged as the gate would judge it (scripts/compare.py with its thresholds): any
regression found there is a false alarm on an unchanged build. This is how the thresholds in
scripts/compare.py were chosen; reports/baseline/README.md records the figures.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

import compare


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--alpha", type=float, default=compare.DEFAULT_ALPHA)
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    if len(args.runs) < 2:
        print("spread.py: need at least two runs", file=sys.stderr)
        return 2
    thresholds = {m: t for m, (_, t, _) in compare.METRICS.items()}
    pairs = list(itertools.permutations(range(len(args.runs)), 2))
    try:
        runs = [compare.load(p) for p in args.runs]
        judged = {(i, j): compare.judge(runs[i], runs[j], thresholds, args.alpha, True)
                  for i, j in pairs}
    except compare.InputError as e:
        print(f"spread.py: {e}", file=sys.stderr)
        return 2

    print(f"Spread over {len(runs)} runs (per run: median of its repetitions)\n")
    print("| metric | benchmark | median | min | max | spread (max-min)/median | CV | threshold |")
    print("|---|---|---|---|---|---|---|---|")
    worst: dict[str, float] = {}
    names = sorted(set.intersection(*(set(r) for r in runs)))
    for metric, (_, threshold, _) in compare.METRICS.items():
        for name in names:
            if not compare.applies(metric, name):
                continue
            meds = [statistics.median(r[name][metric]) for r in runs if r[name].get(metric)]
            if len(meds) < 2:
                continue
            mid = statistics.median(meds)
            spread = (max(meds) - min(meds)) / mid if mid else 0.0
            cv = statistics.stdev(meds) / statistics.mean(meds) if statistics.mean(meds) else 0.0
            worst[metric] = max(worst.get(metric, 0.0), spread)
            print(f"| {metric} | {name} | {compare.fmt_value(mid)} "
                  f"| {compare.fmt_value(min(meds))} | {compare.fmt_value(max(meds))} "
                  f"| {spread:.1%} | {cv:.1%} | {threshold:.0%} |")

    print("\nWorst spread per metric: " + ", ".join(f"{m} {v:.1%}" for m, v in worst.items()))
    alarms = [(i, j, r) for (i, j), result in judged.items() for r in result["regressions"]]
    checks = len(judged[(0, 1)]["comparisons"])
    print(f"\nFalse alarms, judging every ordered pair of these unchanged runs: {len(alarms)} "
          f"regressions flagged in {len(pairs)} comparisons of {checks} metric checks each")
    for i, j, r in alarms[:20]:
        what = (r["message"] if r["metric"] == "errors"
                else f"{r['change']:+.1%} p={r['p_value']:.4f}")
        print(f"  run {i + 1} -> run {j + 1}: {r['benchmark']} {r['metric']} {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
