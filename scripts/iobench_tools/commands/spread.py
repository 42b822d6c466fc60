"""Run-to-run spread of the gate's metrics over several results files of the same suite.

    scripts/spread.py RUN1.json RUN2.json ... [--markdown]

For every benchmark and gate metric: the median of each run's repetitions, then across runs the
median, the spread ((max - min) / median) and the coefficient of variation. Then every ordered
pair of runs is judged as the gate would judge it (scripts/py with its thresholds): any
regression found there is a false alarm on an unchanged build. This is how the thresholds in
scripts/py were chosen; reports/baseline/README.md records the figures.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

from iobench_tools.gate.judge import judge
from iobench_tools.gate.render import fmt_value
from iobench_tools.gate.samples import DEFAULT_ALPHA, METRICS, InputError, applies, load


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    if len(args.runs) < 2:
        print("spread.py: need at least two runs", file=sys.stderr)
        return 2
    thresholds = {m: t for m, (_, t, _) in METRICS.items()}
    pairs = list(itertools.permutations(range(len(args.runs)), 2))
    try:
        runs = [load(p) for p in args.runs]
        judged = {(i, j): judge(runs[i], runs[j], thresholds, args.alpha, True)
                  for i, j in pairs}
    except InputError as e:
        print(f"spread.py: {e}", file=sys.stderr)
        return 2

    print(f"Spread over {len(runs)} runs (per run: median of its repetitions)\n")
    print("| metric | benchmark | median | min | max | spread (max-min)/median | CV | threshold |")
    print("|---|---|---|---|---|---|---|---|")
    worst: dict[str, float] = {}
    names = sorted(set.intersection(*(set(r) for r in runs)))
    for metric, (_, threshold, _) in METRICS.items():
        for name in names:
            if not applies(metric, name):
                continue
            meds = [statistics.median(r[name][metric]) for r in runs if r[name].get(metric)]
            if len(meds) < 2:
                continue
            mid = statistics.median(meds)
            spread = (max(meds) - min(meds)) / mid if mid else 0.0
            cv = statistics.stdev(meds) / statistics.mean(meds) if statistics.mean(meds) else 0.0
            worst[metric] = max(worst.get(metric, 0.0), spread)
            print(f"| {metric} | {name} | {fmt_value(mid)} "
                  f"| {fmt_value(min(meds))} | {fmt_value(max(meds))} "
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
