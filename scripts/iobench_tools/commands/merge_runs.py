"""Merge several iobench results files into one: every repetition of every file, so a judgement
sees the spread between runs as well as within one.

    scripts/merge_runs.py OUT.json RUN.json [RUN.json ...]

The runs must come from one machine (fingerprint.py, as scripts/compare.py checks) and one suite:
a merge across either would pass off one machine's or suite's numbers as another's (exit 2, one
line). The context is the last file's, plus `merged_runs` (how many runs); each repetition keeps
its `repetition_index` and gains `merged_run` (which run it came from, from 0), so that no
repetition reads as a duplicate of another. Aggregates (mean, median, ...) are dropped: every
consumer recomputes them from the repetitions. Exit 2 on unreadable input.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from iobench_tools import fingerprint, results


def _context(doc: dict) -> dict:
    ctx = doc.get("context")
    return ctx if isinstance(ctx, dict) else {}


def _runs_in(doc: dict) -> int:
    """How many runs a file holds: 1, or what an earlier merge recorded."""
    n = _context(doc).get("merged_runs")
    return int(n) if results.is_number(n) and n >= 1 else 1


def mismatch(files: list[Path], docs: list[dict]) -> str | None:
    """Why these runs must not be merged (another machine, another suite), or None."""
    first, ctx = files[0], _context(docs[0])
    suite = ctx.get("iobench_suite")
    for f, d in zip(files[1:], docs[1:]):
        other = fingerprint.differences(ctx, _context(d))
        if other:
            return (f"{f} comes from another machine than {first} ({'; '.join(other)}): runs "
                    "merge only from one machine (scripts/compare.py --allow-other-machine "
                    "compares two machines' runs, labelled as such)")
        theirs = _context(d).get("iobench_suite")
        if suite is not None and theirs is not None and str(theirs) != str(suite):
            return (f"{f} ran suite '{theirs}' and {first} suite '{suite}': runs merge only "
                    "within one suite")
    return None


def merge(docs: list[dict]) -> dict:
    merged = {"context": dict(_context(docs[-1])), "benchmarks": []}
    offset = 0
    for d in docs:
        # A file merged before merged_run existed holds its runs one after another: the k-th
        # row of a (benchmark, repetition) is run k.
        seen: dict[tuple, int] = {}
        for b in d["benchmarks"]:
            if not isinstance(b, dict) or b.get("run_type") != "iteration":
                continue
            run = b.get("merged_run")
            if not results.is_number(run):
                key = (b.get("run_name") or b.get("name"), b.get("repetition_index"))
                run = seen[key] = seen.get(key, -1) + 1
            merged["benchmarks"].append(dict(b, merged_run=offset + int(run)))
        offset += _runs_in(d)
    merged["context"]["merged_runs"] = offset
    return merged


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(argv) < 2 else sys.stdout)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    out, files = Path(argv[0]), [Path(a) for a in argv[1:]]
    try:
        docs = [results.read(f) for f in files]
        for f, d in zip(files, docs):
            next(results.entries(d, f))  # ResultsError when it has no iobench benchmark
            try:
                results.models(d)  # or a registry its readers would refuse
            except results.ResultsError as e:
                raise results.ResultsError(f"{f}: {e}") from e
    except results.ResultsError as e:
        print(f"merge_runs.py: {e}", file=sys.stderr)
        return 2
    why = mismatch(files, docs)
    if why:
        print(f"merge_runs.py: {why}", file=sys.stderr)
        return 2
    merged = merge(docs)
    # Written whole or not at all: a reader never sees half a file.
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(merged, indent=1))
        tmp.replace(out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        print(f"merge_runs.py: cannot write {out}: {e.strerror}", file=sys.stderr)
        return 2
    print(f"merge_runs.py: {out}: {len(merged['benchmarks'])} repetitions from "
          f"{merged['context']['merged_runs']} runs")
    return 0
