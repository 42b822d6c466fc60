"""Reading iobench results files (Google Benchmark JSON), for report.py, compare.py and
history.py: one place for the validation, the name pattern, the counters, the time units and the
model registry."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Iterable, Iterator

IMPL_PATTERN = r"[A-Za-z0-9_.-]+"
# fetch/<impl>/requests:<N>/delay_ms:<L>/concurrency:<C>/bytes:<B>[/close] (DESIGN.md)
NAME_RE = re.compile(
    rf"^fetch/(?P<impl>{IMPL_PATTERN})/requests:(?P<n>\d+)/delay_ms:(?P<l>\d+)"
    r"/concurrency:(?P<c>\d+)/bytes:(?P<b>\d+)(?P<close>/close)?$")

# The counters every benchmark reports (DESIGN.md, "Counters (exact names)").
COUNTERS = ["req_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "efficiency", "cpu_us_per_req",
            "peak_rss_mib", "threads", "errors", "server_max_in_flight", "server_late_p99_ms"]

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


# --- the model registry ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Model:
    """One entry of the registry iobench writes into the context as `models`."""
    name: str
    kind: str = "model"          # "model" (a fetcher) or "reference" (Python children, wrk)
    one_at_a_time: bool = False  # runs one request at a time whatever the concurrency asked
    baseline: bool = False       # the denominator of speedup_vs_sequential
    summary: str = ""

    @property
    def reference(self) -> bool:
        return self.kind == "reference"


# What was known before results files carried the registry: the four fetchers in registry order,
# then the references; sequential is the baseline; sequential and py_sequential take one request
# at a time.
_FALLBACK_MODELS = ["sequential", "thread_pool", "coroutine", "curl_multi"]
_FALLBACK_REFERENCES = ["py_asyncio", "py_threads", "py_sequential", "wrk"]
_FALLBACK_ONE_AT_A_TIME = {"sequential", "py_sequential"}
_FALLBACK_BASELINE = "sequential"


def fallback_models(names: Iterable[str]) -> list[Model]:
    """The registry of a results file written before the registry existed: today's knowledge,
    with any other name seen (in order of first appearance) taken for a model."""
    names = list(dict.fromkeys(names))
    known = set(_FALLBACK_MODELS) | set(_FALLBACK_REFERENCES)
    order = ([(n, "model") for n in _FALLBACK_MODELS]
             + [(n, "model") for n in names if n not in known]
             + [(n, "reference") for n in _FALLBACK_REFERENCES])
    return [Model(name=n, kind=kind, one_at_a_time=n in _FALLBACK_ONE_AT_A_TIME,
                  baseline=n == _FALLBACK_BASELINE) for n, kind in order]


def parse_models(raw, names: Iterable[str] = ()) -> list[Model]:
    """The registry from the context's `models` value (a JSON array serialized as a string, or
    already parsed), or the fallback when it is absent (None); completed with `names`, the
    models seen in the benchmarks."""
    if raw is None:
        return fallback_models(names)
    try:
        entries = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as e:
        raise ResultsError(f"context 'models' is not JSON: {e.msg}") from e
    if not isinstance(entries, list):
        raise ResultsError("context 'models' is not a JSON array")
    out = []
    for e in entries:
        if not isinstance(e, dict) or not re.fullmatch(IMPL_PATTERN, str(e.get("name", ""))):
            raise ResultsError(f"context 'models': bad entry {json.dumps(e)[:80]}")
        if e.get("kind", "model") not in ("model", "reference"):
            raise ResultsError(f"context 'models': {e['name']} has unknown kind {e['kind']!r}")
        out.append(Model(name=e["name"], kind=e.get("kind", "model"),
                         one_at_a_time=bool(e.get("one_at_a_time", False)),
                         baseline=bool(e.get("baseline", False)),
                         summary=str(e.get("summary", ""))))
    if len({m.name for m in out}) != len(out):
        raise ResultsError("context 'models' names a model twice")
    if sum(m.baseline for m in out) > 1:
        raise ResultsError("context 'models' flags more than one baseline")
    return complete(out, names)


def complete(registry: list[Model], names: Iterable[str]) -> list[Model]:
    """The registry with the names it lacks appended as models, so that nothing is dropped."""
    listed = {m.name for m in registry}
    return registry + [Model(name=n) for n in dict.fromkeys(names) if n not in listed]


def models(doc: dict) -> list[Model]:
    """The results' model registry in registry order (models first, then references)."""
    ctx = doc.get("context")
    raw = ctx.get("models") if isinstance(ctx, dict) else None
    names = []
    for b in doc.get("benchmarks", []):
        g = NAME_RE.match(str(b.get("run_name") or b.get("name", ""))) if isinstance(b, dict) \
            else None
        if g:
            names.append(g["impl"])
    return parse_models(raw, names)


def baseline(registry: list[Model]) -> str | None:
    """The name of the model flagged baseline, if any."""
    return next((m.name for m in registry if m.baseline), None)
