"""What the gate reads: the metrics it judges, each benchmark's samples (one per repetition),
validated, and the thresholds. Part of scripts/compare.py, the regression gate."""
from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from iobench_tools import results

NAME_RE = results.NAME_RE

# Which way is better, the default threshold (relative change of the medians), and which
# benchmarks a metric is judged on: "delayed" (delay > 0: latency-bound, stable run to run),
# "zero" (delay 0: CPU-bound, noisier on a shared machine) or "all". reports/baseline/README.md
# records the spread measured on this machine these come from.
METRICS = {
    "efficiency": ("higher", 0.06, "delayed"),
    "speedup_vs_sequential": ("higher", 0.08, "delayed"),
    "makespan_ms": ("lower", 0.08, "delayed"),
    "p50_ms": ("lower", 0.08, "delayed"),
    "p99_ms": ("lower", 0.20, "delayed"),
    "req_per_s": ("higher", 0.30, "zero"),
    "cpu_us_per_req": ("lower", 0.30, "zero"),
    "peak_rss_mib": ("lower", 0.15, "all"),
    "threads": ("lower", 0.05, "all"),
}
# The client's own cost: what the model spends on a request whoever sets the pace. These (and
# the failed requests) are judged on a server-bound benchmark as on any other; the rest are
# timings, which there the server's pace decides, so they are not judged.
OWN = ("cpu_us_per_req", "peak_rss_mib", "threads")
TIMING = tuple(m for m in METRICS if m not in OWN)
DERIVED = {"makespan_ms", "speedup_vs_sequential"}  # computed here, not counters in the file
# The counters read from each repetition: the gate's, and the failed requests.
COUNTED = [m for m in METRICS if m not in DERIVED] + ["errors"]
DEFAULT_ALPHA = 0.05
MIN_REPETITIONS = 4  # below this even a perfect separation cannot reach p < 0.05 one-sided
# Efficiency is ideal / measured: above 1 the batch beat the ideal, which only failed requests
# (fast) can do. This much above 1 is left to timer and rounding slack.
EFFICIENCY_SLACK = 1.02
NOT_JUDGED = "not judged (requests failed)"
# The evidence of a server-bound benchmark (results.server_bound), read beside the counters: a
# benchmark whose server set the pace, in either run, has its timings left unjudged.
EVIDENCE = ["server_cpu_util", "server_late_p99_ms", "listen_overflows"]


class InputError(Exception):
    pass


class Samples(dict):
    """name -> metric -> samples (one per repetition), as load() reads a results file. Beside the
    metrics each benchmark has "errors" (failed requests, per repetition) and "requests" (requests
    per repetition, None where unknown). `errored` maps each benchmark with a repetition that
    reported an error (Google Benchmark's error_occurred) to its message; those have no samples.
    `open_loop` names the file's open-loop steps (results.OPEN_RE): no batch, so not judged;
    `work` its batches with work or a block per response (results.WORK_RE): not judged either."""

    def __init__(self, *args, errored: dict[str, str] | None = None,
                 open_loop: list[str] | None = None, work: list[str] | None = None):
        super().__init__(*args)
        self.errored = errored or {}
        self.open_loop = open_loop or []
        self.work = work or []


# --- loading --------------------------------------------------------------------------------

class _Problems:
    """What makes a results file unusable, kept by kind; the first of the most serious kind is
    the one line a user sees."""
    ORDER = ["nonfinite", "value", "time", "partial", "efficiency"]

    def __init__(self, path: Path):
        self.path = path
        self.found: dict[str, list[str]] = {}

    def add(self, kind: str, message: str) -> None:
        self.found.setdefault(kind, []).append(message)

    def raise_first(self) -> None:
        for kind in self.ORDER:
            if kind in self.found:
                first, more = self.found[kind][0], len(self.found[kind]) - 1
                raise InputError(f"{self.path}: {first}"
                                 + (f" (and {more} more like it)" if more else ""))


def _number_text(v) -> str:
    """A value from a results file as JSON writes it (NaN, "fast", null)."""
    try:
        return json.dumps(v)
    except (TypeError, ValueError):
        return repr(v)


def _check_repetition(name: str, rep: int, b: dict, problems: _Problems) -> None:
    """What one repetition's entry cannot be: NaN or infinite, a counter that is no number or
    below 0, no batch time, an efficiency no working batch reaches."""
    where = f"{name}: repetition {rep}"
    for key in results.nonfinite(b):
        problems.add("nonfinite", f"{where}: {key} is {_number_text(b[key])}, not a measurement")
    for key in COUNTED + ["real_time"]:
        v = b.get(key)
        if key not in b or (results.is_number(v) and not math.isfinite(v)):
            continue
        if not results.is_number(v) or v < 0:
            problems.add("value", f"{where}: {key} is {_number_text(v)}, not a count or a time")
    rt = b.get("real_time")
    if "real_time" not in b:
        problems.add("time", f"{where}: no real_time, so no batch time")
    elif results.is_number(rt) and math.isfinite(rt) and results.ms_per_unit(b) is None:
        problems.add("time", f"{where}: time_unit {_number_text(b.get('time_unit'))} is not one "
                     f"of {', '.join(results.MS_PER_UNIT)}, so its batch time cannot be read")
    eff, errors = b.get("efficiency"), b.get("errors", 0)
    if results.is_number(eff) and math.isfinite(eff) and eff > EFFICIENCY_SLACK \
            and results.is_number(errors) and errors == 0:
        problems.add("efficiency", f"{where}: efficiency {eff:.3g} with no failed request: "
                     "efficiency is ideal / measured and cannot exceed 1 (beyond "
                     f"{EFFICIENCY_SLACK} of measurement slack), so the measurement is broken")


def load(path: Path, allow_empty: bool = False) -> Samples:
    """The samples of a results file, checked (InputError, one line, on anything that cannot be
    a measurement). allow_empty: a file with no iobench benchmark (an empty file, as a run whose
    filter matched nothing writes) gives no samples instead of an error."""
    try:
        doc = results.read(path)
        # Open-loop steps are rates, not batches: the gate leaves them out, by name.
        open_loop = sorted({name for name, _ in results.open_entries(doc)})
        work = sorted({name for name, _ in results.work_entries(doc)})
        reps = list(results.entries(doc, path))
        base = results.baseline(results.models(doc))
    except results.NoBenchmarks as e:
        if allow_empty:
            return Samples()
        raise InputError(str(e)) from e
    except results.ResultsError as e:
        raise InputError(str(e)) from e
    out = Samples(errored={}, open_loop=open_loop, work=work)
    problems = _Problems(path)
    count: dict[str, int] = {}
    for name, b in reps:
        if b.get("error_occurred"):
            out.errored.setdefault(name, str(b.get("error_message") or "no message"))
            continue
        rep = count[name] = count.get(name, 0) + 1
        _check_repetition(name, rep, b, problems)
        samples = out.setdefault(name, {})
        makespan = results.makespan_ms(b)
        if makespan is not None:
            samples.setdefault("makespan_ms", []).append(makespan)
        for key in COUNTED:
            if results.is_number(b.get(key)):
                samples.setdefault(key, []).append(float(b[key]))
        samples.setdefault("requests", []).append(results.requests_per_repetition(name, b))
        for key in EVIDENCE:
            if results.is_number(b.get(key)):
                samples.setdefault("evidence", {}).setdefault(key, []).append(float(b[key]))
    for name, samples in out.items():
        for key, values in samples.items():
            if key != "evidence" and len(values) != count[name]:
                problems.add("partial", f"{name}: {key} is in {len(values)} of its {count[name]} "
                             "repetitions")
    problems.raise_first()
    for name in out.errored:
        out.pop(name, None)
    add_speedups(out, base)
    return out


def server_bound(name: str, samples: dict) -> results.ServerBound:
    """Whether the server set the pace of benchmark `name` (its evidence's medians over the
    repetitions); not judged where the file has no evidence."""
    evidence = {k: statistics.median(v) for k, v in samples.get("evidence", {}).items() if v}
    return results.server_bound(int(NAME_RE.match(name)["l"]), evidence)


def add_speedups(runs: dict[str, dict[str, list[float]]], baseline: str | None) -> None:
    """Each model's throughput over the baseline model's (the registry's `baseline`, sequential
    today) at the same delay and body size, in one run: a ratio the machine's speed mostly
    cancels out of. Where the baseline ran several batch sizes there, its largest batch counts.
    The metric keeps its name, speedup_vs_sequential."""
    base_rps: dict[tuple[str, str], tuple[int, float]] = {}
    for name, m in runs.items():
        g = NAME_RE.match(name)
        if g["impl"] == baseline and not g["close"] and m.get("req_per_s"):
            key, n = (g["l"], g["b"]), int(g["n"])
            if key not in base_rps or n > base_rps[key][0]:
                base_rps[key] = (n, statistics.median(m["req_per_s"]))
    for name, m in runs.items():
        g = NAME_RE.match(name)
        base = base_rps.get((g["l"], g["b"]), (0, None))[1]
        if g["impl"] != baseline and base and m.get("req_per_s"):
            m["speedup_vs_sequential"] = [v / base for v in m["req_per_s"]]


def applies(metric: str, name: str) -> bool:
    """Whether `metric` is judged on benchmark `name` by its delay (METRICS' scope)."""
    scope = METRICS[metric][2]
    return scope == "all" or (scope == "delayed") == (int(NAME_RE.match(name)["l"]) > 0)


def judged_metrics(name: str, bound: bool) -> list[str]:
    """The metrics the gate judges on benchmark `name`: every one that applies to its delay, or,
    where the server set the pace (`bound`), only the client's own."""
    return [m for m in METRICS if applies(m, name) and (m in OWN or not bound)]


def metrics_text(names) -> str:
    """'makespan_ms, p50_ms at delay > 0; req_per_s at zero delay': metrics grouped by where
    they are judged, for a reader."""
    where = {"delayed": "at delay > 0", "zero": "at zero delay", "all": "on every benchmark"}
    groups: dict[str, list[str]] = {}
    for m in names:
        groups.setdefault(METRICS[m][2], []).append(m)
    return "; ".join(f"{', '.join(ms)} {where[scope]}" for scope, ms in groups.items())


# --- thresholds -----------------------------------------------------------------------------

def _fraction(value, where: str) -> float:
    """A threshold: a finite number above 0."""
    if not results.is_number(value) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{where}: a threshold is a finite fraction above 0, e.g. 0.05 "
                         f"(got {_number_text(value)})")
    return float(value)


def _alpha(value, where: str) -> float:
    if not results.is_number(value) or not 0 < value < 1:  # NaN fails both comparisons
        raise InputError(f"{where}: alpha must be a number between 0 and 1, e.g. 0.05 "
                         f"(got {_number_text(value)})")
    return float(value)


def load_thresholds(args, baseline: Path) -> tuple[dict[str, float], float]:
    thresholds = {m: t for m, (_, t, _) in METRICS.items()}
    alpha = DEFAULT_ALPHA
    file = Path(args.thresholds) if args.thresholds else baseline.parent / "thresholds.json"
    if args.thresholds or file.exists():
        try:
            doc = json.loads(file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"bad thresholds file {file}: {e}") from e
        shape = 'an object {"alpha": 0.05, "metrics": {"efficiency": 0.06, ...}}'
        if not isinstance(doc, dict):
            raise InputError(f"{file}: expected {shape}, not {type(doc).__name__}")
        unknown = sorted(set(doc) - {"alpha", "metrics"})
        if unknown:
            raise InputError(f"{file}: unknown key(s) {', '.join(map(repr, unknown))}; expected "
                             f"{shape}")
        if "alpha" in doc:
            alpha = _alpha(doc["alpha"], f"{file}: alpha")
        metrics = doc.get("metrics", {})
        if not isinstance(metrics, dict):
            raise InputError(f"{file}: 'metrics' must be an object {{metric: fraction}}, not "
                             f"{type(metrics).__name__}")
        for m, t in metrics.items():
            if m not in METRICS:
                raise InputError(f"{file}: unknown metric '{m}' (known: {', '.join(METRICS)})")
            thresholds[m] = _fraction(t, f"{file}: metrics.{m}")
    for item in args.threshold:
        m, _, t = item.partition("=")
        if m not in METRICS:
            raise InputError(f"--threshold: unknown metric '{m}' (known: {', '.join(METRICS)})")
        try:
            value = float(t)
        except ValueError as e:
            raise InputError(f"--threshold {item}: expected METRIC=FRACTION, "
                             "e.g. efficiency=0.05") from e
        thresholds[m] = _fraction(value, f"--threshold {item}")
    if args.alpha is not None:
        alpha = _alpha(args.alpha, "--alpha")
    return thresholds, alpha
