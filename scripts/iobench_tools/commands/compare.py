"""Judge an iobench run against a baseline: the CI regression gate.

    scripts/compare.py BASELINE.json CURRENT.json [--alpha A] [--threshold METRIC=FRACTION]...
                       [--thresholds FILE] [--format markdown|json|github] [--allow-other-machine]
                       [--allow-missing] [--confirm BASELINE2 CURRENT2]

Correctness is judged before speed:
  - a benchmark whose requests failed (the `errors` counter) in this run where the baseline had
    no failed request fails the gate, whatever its timings (failed requests are fast: a broken
    I/O path looks like a speed-up), and its timings are not judged;
  - a benchmark that reported an error in this run (Google Benchmark's error_occurred) fails the
    gate; one that is in the baseline but not in this run fails it unless --allow-missing (then
    it is listed).
A benchmark that was server-bound in either run (results.server_bound: the server's CPUs at least
90% busy, its timers late beyond max(1 ms, 5% of the delay) at p99, or listen-queue overflows;
medians over the repetitions) has its timings (makespan, throughput, latency, efficiency,
speedup) left unjudged: the server, not the model, set the pace. The client's own cost (CPU per
request, peak memory, threads) and its failed requests are judged there as anywhere. It is listed
with the reason (stdout, JSON "server_bound", a note on stderr), and the output says per model
which benchmarks had their timings judged (JSON "timing_by_model", "judged"). Files without that
evidence (older runs) judge everything.
Then benchmarks are matched by name, and a metric regresses only when both hold:
  - a one-sided Mann-Whitney U test over the repetitions says the current run is worse
    (p < alpha), and
  - the relative change of the medians is worse than the metric's threshold.
Exit 0: pass. Exit 1: regressions or failures (each named on stderr). Exit 2: bad input, with one
line on stderr: an unreadable file, NaN or infinite values, an efficiency above 1 (beyond
measurement slack) in a repetition without failed requests, fewer than MIN_REPETITIONS
repetitions on a side, a malformed threshold; or the two files come from different machines (see
fingerprint.py; --allow-other-machine judges anyway and labels the output). A markdown table goes
to stdout (--format json: JSON; --format github: a one-line verdict, then the table of what moved,
for a CI job summary). Benchmarks new in this run are listed.
Thresholds and alpha come from the flags, else from thresholds.json next to the baseline, else
from the defaults below.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from iobench_tools import fingerprint, results
from iobench_tools.gate.judge import confirm, judge
from iobench_tools.gate.render import stderr_lines, github, markdown, to_json
from iobench_tools.gate.samples import DEFAULT_ALPHA, InputError, load, load_thresholds


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("baseline", type=Path)
    ap.add_argument("current", type=Path)
    ap.add_argument("--alpha", type=float, help=f"significance level (default {DEFAULT_ALPHA})")
    ap.add_argument("--threshold", action="append", default=[], metavar="METRIC=FRACTION",
                    help="relative change allowed for a metric, e.g. efficiency=0.05")
    ap.add_argument("--thresholds", help="JSON file {alpha, metrics: {metric: fraction}}")
    ap.add_argument("--format", choices=("markdown", "json", "github"), default="markdown",
                    help="markdown table (default), JSON, or a CI job summary (github)")
    ap.add_argument("--json", action="store_true", help="the same as --format json")
    ap.add_argument("--allow-other-machine", action="store_true",
                    help="judge files from different machines anyway (labelled as such)")
    ap.add_argument("--allow-missing", action="store_true",
                    help="benchmarks of the baseline that this run lacks are listed instead of "
                         "failing the gate (one that reported an error fails it all the same)")
    ap.add_argument("--confirm", nargs=2, type=Path, metavar=("BASELINE2", "CURRENT2"),
                    help="a second, independent measurement: a regression fails only if it is "
                         "flagged in both")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    fmt = "json" if args.json else args.format
    try:
        thresholds, alpha = load_thresholds(args, args.baseline)
        base, cur = load(args.baseline), load(args.current)
        contexts = [results.read(p).get("context") for p in (args.baseline, args.current)]
    except (InputError, results.ResultsError) as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    other = fingerprint.differences(*(c if isinstance(c, dict) else None for c in contexts))
    if other and not args.allow_other_machine:
        print(f"compare.py: the two files come from different machines ({'; '.join(other)}): "
              "absolute numbers do not compare across machines. Measure both revisions here with "
              "scripts/ab.sh BASE_REF, or re-record the baseline on this machine with "
              "scripts/update-baseline.sh; --allow-other-machine compares anyway.",
              file=sys.stderr)
        return 2
    try:
        result = judge(base, cur, thresholds, alpha, args.allow_missing)
    except InputError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    if not result["comparisons"] and result["verdict"] == "pass":
        print("compare.py: nothing to judge: " + (
            f"no metric of the {len(result['judged'])} benchmark(s) both runs have was measured "
            "in both" if result["judged"] else
            f"no benchmark ran in both {args.baseline} and {args.current}"), file=sys.stderr)
        return 2
    if args.confirm:
        try:
            # The confirming round measures only what was flagged: the rest is not missing.
            again = judge(load(args.confirm[0], allow_empty=True),
                          load(args.confirm[1], allow_empty=True), thresholds, alpha, True)
        except InputError as e:
            print(f"compare.py: --confirm: {e}", file=sys.stderr)
            return 2
        confirm(result, again)
    if other:
        result["other_machine"] = "; ".join(other)
    render = {"json": to_json, "markdown": markdown, "github": github}[fmt]
    print(render(result), end="")
    for line in stderr_lines(result):
        print(line, file=sys.stderr)
    return 1 if result["verdict"] == "fail" else 0


def guarded(argv: list[str]) -> int:
    """main(), with anything unforeseen as one line and exit 2 (never a traceback, whose exit 1
    would read as "regression"); IOBENCH_DEBUG=1 shows the traceback."""
    try:
        return main(argv)
    except Exception as e:  # noqa: BLE001 - the last line of defence of a CI gate
        if os.environ.get("IOBENCH_DEBUG"):
            raise
        print(f"compare.py: internal error, nothing judged: {type(e).__name__}: {e} "
              "(IOBENCH_DEBUG=1 shows where)", file=sys.stderr)
        return 2
