"""Reading iobench results files (Google Benchmark JSON), for report.py, compare.py and
history.py: one place for the validation, the name pattern and the time units."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

# fetch/<impl>/requests:<N>/delay_ms:<L>/concurrency:<C>/bytes:<B>[/close] (DESIGN.md)
NAME_RE = re.compile(
    r"^fetch/(?P<impl>[a-z_]+)/requests:(?P<n>\d+)/delay_ms:(?P<l>\d+)"
    r"/concurrency:(?P<c>\d+)/bytes:(?P<b>\d+)(?P<close>/close)?$")

MS_PER_UNIT = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


class ResultsError(Exception):
    """The file cannot be used; the message is the one line a user sees."""


def read(path: Path) -> dict:
    """The parsed results file, checked to be a Google Benchmark document."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ResultsError(f"cannot read {path}: {e.strerror}") from e
    if not text.strip():
        raise ResultsError(f"{path} is empty")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path} is not JSON: {e.msg} at line {e.lineno}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise ResultsError(f"{path} is not a Google Benchmark results file (no 'benchmarks' list)")
    return doc


def runs(doc: dict, path: Path) -> Iterator[tuple[str, dict]]:
    """(name, entry) for every repetition of an iobench benchmark that ran; aggregates (mean,
    median, ...) are skipped since every consumer recomputes them. Raises ResultsError when the
    file has no iobench benchmark at all."""
    found = False
    for b in doc["benchmarks"]:
        if not isinstance(b, dict) or b.get("run_type", "iteration") != "iteration":
            continue
        name = str(b.get("run_name") or b.get("name", ""))
        if not NAME_RE.match(name):
            continue
        found = True
        if not b.get("error_occurred"):
            yield name, b
    if not found:
        raise ResultsError(f"{path} has no iobench benchmarks "
                           "(names like fetch/<impl>/requests:N/...)")


def makespan_ms(entry: dict) -> float | None:
    """The batch time of one repetition, in ms."""
    t = entry.get("real_time")
    if not isinstance(t, (int, float)):
        return None
    return float(t) * MS_PER_UNIT.get(entry.get("time_unit", "ns"), 1e-6)
