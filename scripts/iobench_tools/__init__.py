"""iobench's results toolkit: what reads the benchmark results and judges, charts and records them.

Library modules (imported, never run):
  results      the results files (Google Benchmark JSON): names, rows, the model registry,
               the server-bound evidence (docs/results.md is their contract)
  fingerprint  which machine a results file is from, and whether two are comparable
  stats        the one-sided Mann-Whitney U test
  history      the run history's SQLite database
  gate/        the regression gate: samples (loading, thresholds), judge, render
  report/      the report: rows, findings, charts, sections, document (markdown and HTML)
Commands (one module per command, each with main(argv) -> exit status), run through the thin
scripts of the same name in scripts/: commands/compare, report, history, merge_runs, spread,
conform, run_workflow (scripts/run-workflow.py).
Nothing imports a command module but its script and the tests; the library never imports one.
"""
from pathlib import Path

# The repository's root: scripts/iobench_tools/ is two folders below it.
ROOT = Path(__file__).resolve().parents[2]
