#!/usr/bin/python3
"""Merge several iobench results files into one: every repetition of every file, so a judgement
sees the spread between runs as well as within one.

    scripts/merge_runs.py OUT.json RUN.json [RUN.json ...]

The context is the last file's, plus `merged_runs` (how many files). Aggregates (mean, median, ...)
are dropped: every consumer recomputes them from the repetitions. Exit 2 on unreadable input.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gbench  # noqa: E402  (same folder: reading results files)


def merge(docs: list[dict]) -> dict:
    merged = {"context": dict(docs[-1].get("context") or {}, merged_runs=len(docs)),
              "benchmarks": []}
    for d in docs:
        merged["benchmarks"] += [b for b in d["benchmarks"]
                                 if isinstance(b, dict) and b.get("run_type") == "iteration"]
    return merged


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(argv) < 2 else sys.stdout)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    out, files = Path(argv[0]), [Path(a) for a in argv[1:]]
    try:
        docs = [gbench.read(f) for f in files]
    except gbench.ResultsError as e:
        print(f"merge_runs.py: {e}", file=sys.stderr)
        return 2
    merged = merge(docs)
    out.write_text(json.dumps(merged, indent=1))
    print(f"merge_runs.py: {out}: {len(merged['benchmarks'])} repetitions from {len(docs)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
