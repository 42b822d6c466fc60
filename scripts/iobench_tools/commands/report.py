"""Turn an iobench results file (Google Benchmark JSON) into charts, report.md and index.html.

    scripts/report.py RESULTS.json --out DIR [--history reports/history.db] [--slo 50ms]
    scripts/report.py --history reports/history.db --out DIR [--suite ci]

With --history, the gate metrics over time (one point per run in the history database, for the
results' suite or --suite) are drawn too, or alone when no results file is given.

Open-loop steps (open/<impl>/rate:R/...), where the results have them, get their own section:
latency against offered load, each model's maximum sustainable rate under --slo (default 5x
each step's delay). Charts are written as PNG and SVG. Repetitions of a benchmark are
summarised by their median. Models, their order, colours and roles come from the results' model
registry. Bad or empty input: one line on stderr, exit 2. Values that are no measurement (NaN,
infinite) are shown as "–" and the findings say what is missing. The pages are written whole, after
everything is computed, or not at all. The parts live in iobench_tools/report/.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from iobench_tools.report import charts, document, open_loop, rows, sections


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, nargs="?",
                    help="Google Benchmark JSON written by build/bin/iobench")
    ap.add_argument("--out", type=Path, required=True, help="folder for charts and the report")
    ap.add_argument("--history", type=Path, help="history database (scripts/history.py)")
    ap.add_argument("--suite", help="with --history alone: which suite's runs (default ci)")
    ap.add_argument("--slo", type=_slo, metavar="DURATION",
                    help="the open loop's latency objective for corrected p99, e.g. 50ms or "
                         "0.5s (default: 5x each step's delay)")
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
            run.slo_ms = args.slo
        except rows.InputError as e:
            print(f"report.py: {e}", file=sys.stderr)
            return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        # Charts are drawn in a folder of their own and moved beside the pages once everything
        # is computed: a failure leaves the previous report whole, never half of a new one.
        stage = Path(tempfile.mkdtemp(prefix=".report-", dir=args.out))
    except OSError as e:
        print(f"report.py: cannot write to {args.out}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        return _build(args, run, stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _slo(text: str) -> float:
    try:
        return open_loop.parse_ms(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def _build(args, run: rows.Run | None, stage: Path) -> int:
    figures = charts.draw_all(run, stage) if run else []
    if args.history is not None:
        from iobench_tools.report.history_chart import chart_history
        suite = args.suite or (run.context.get("iobench_suite") if run else None) or "ci"
        try:
            hist = chart_history(args.history, str(suite), stage)
        except Exception as e:  # noqa: BLE001 - any unreadable database is bad input
            print(f"report.py: --history: {e}", file=sys.stderr)
            return 2
        if hist is None and run is None:
            print(f"report.py: --history: fewer than two runs of suite '{suite}' in "
                  f"{args.history}", file=sys.stderr)
            return 2
        if hist is not None:
            figures.append(hist)
    doc = (sections.report(run, figures) if run is not None
           else sections.history_page(figures, args.history))
    pages = document.render(doc)
    try:
        for f in sorted(stage.iterdir()):
            os.replace(f, args.out / f.name)
        document.publish(pages, args.out)
    except OSError as e:
        print(f"report.py: cannot write the report to {args.out}: {e.strerror}", file=sys.stderr)
        return 2
    count = (len(run.rows) + len(run.open_rows) + len(run.work_rows) + len(run.tls_rows)
             if run else 0)
    print(f"report.py: {count} benchmarks, {len(figures)} charts -> "
          f"{args.out / 'index.html'}")
    return 0


def guarded(argv: list[str]) -> int:
    """main(), with anything unforeseen as one line and exit 2 instead of a traceback;
    IOBENCH_DEBUG=1 shows the traceback."""
    try:
        return main(argv)
    except Exception as e:  # noqa: BLE001 - one line for the user, whatever broke
        if os.environ.get("IOBENCH_DEBUG"):
            raise
        print(f"report.py: cannot draw the report: {type(e).__name__}: {e} "
              "(IOBENCH_DEBUG=1 shows where)", file=sys.stderr)
        return 2
