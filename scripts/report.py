#!/usr/bin/python3
"""Turn an iobench results file (Google Benchmark JSON) into charts, report.md and index.html.

    scripts/report.py RESULTS.json --out DIR [--history reports/history.db]
    scripts/report.py --history reports/history.db --out DIR [--suite ci]

With --history, the gate metrics over time (one point per run in the history database, for the
results' suite or --suite) are drawn too, or alone when no results file is given.

Charts are written as PNG and SVG. Repetitions of a benchmark are summarised by their median.
Models, their order, colours and roles come from the results' model registry.
Bad or empty input: one line on stderr, exit 2. The parts live in scripts/iobench_report/.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from iobench_report import charts, document, rows, sections  # noqa: E402


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, nargs="?",
                    help="Google Benchmark JSON written by build/bin/iobench")
    ap.add_argument("--out", type=Path, required=True, help="folder for charts and the report")
    ap.add_argument("--history", type=Path, help="history database (scripts/history.py)")
    ap.add_argument("--suite", help="with --history alone: which suite's runs (default ci)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    if args.results is None and args.history is None:
        print("report.py: give a results file, --history DB, or both (see --help)",
              file=sys.stderr)
        return 2
    run = None
    if args.results is not None:
        try:
            run = rows.load(args.results)
        except rows.InputError as e:
            print(f"report.py: {e}", file=sys.stderr)
            return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"report.py: cannot create {args.out}: {e.strerror}", file=sys.stderr)
        return 2
    figures = charts.draw_all(run, args.out) if run else []
    if args.history is not None:
        from iobench_report.history_chart import chart_history
        suite = args.suite or (run.context.get("iobench_suite") if run else None) or "ci"
        try:
            hist = chart_history(args.history, suite, args.out)
        except Exception as e:  # noqa: BLE001 - any unreadable database is bad input
            print(f"report.py: --history: {e}", file=sys.stderr)
            return 2
        if hist is None and run is None:
            print(f"report.py: --history: fewer than two runs of suite '{suite}' in "
                  f"{args.history}", file=sys.stderr)
            return 2
        if hist is not None:
            figures.append(hist)
    if run is not None:
        document.write(sections.report(run, figures), args.out)
    else:
        document.write(sections.history_page(figures, args.history), args.out)
    print(f"report.py: {len(run.rows) if run else 0} benchmarks, {len(figures)} charts -> "
          f"{args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
