"""One results file as rows (one per benchmark, repetitions summarised by their median), its model
registry and context, and the selections the charts and findings share."""
from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path

import gbench

HEADLINE_DELAY = 100         # ms: the blog posts' scenario, drawn in the headline and cost charts
LATENCY_LOAD = (10, 64)      # delay ms, concurrency of the latency chart
SERVER_LATE_WARN_MS = 5.0
CLAIM_TOLERANCE = 0.15
# wrk is not a model but the measuring stick: the gap table divides by it and the claims leave
# its rows out (their labels are its command lines, not claims).
CEILING = "wrk"
EXTRA_METRICS = ["rss_base_mib", "ideal_s"] + gbench.EVIDENCE


class InputError(Exception):
    """The results file cannot be used; the message is the one line the user sees."""


@dataclasses.dataclass
class Row:
    name: str
    model: gbench.Model
    requests: int
    delay_ms: int
    concurrency: int
    bytes: int
    keep_alive: bool
    makespan_s: float
    repetitions: int
    label: str
    metrics: dict

    @property
    def impl(self) -> str:
        return self.model.name

    def m(self, key: str) -> float:
        return self.metrics.get(key, float("nan"))

    @property
    def effective_concurrency(self) -> int:
        return 1 if self.model.one_at_a_time else self.concurrency

    @property
    def server(self) -> gbench.ServerBound:
        """Whether the server was this row's bottleneck (gbench.server_bound on the medians)."""
        return gbench.server_bound(self.delay_ms, self.metrics)

    @property
    def server_bound(self) -> bool:
        return self.server.bound

    @property
    def plain(self) -> bool:
        """Keep-alive and an empty body: the rows most charts compare."""
        return self.keep_alive and self.bytes == 0


@dataclasses.dataclass
class Run:
    context: dict
    models: list[gbench.Model]   # the whole registry, in registry order
    rows: list[Row]
    source: Path | None = None
    # What the file lacks or holds that is no measurement, one sentence each, for the findings:
    # values left out (NaN, infinite, not numbers), batch times that cannot be read, benchmarks
    # that reported an error.
    gaps: list[str] = dataclasses.field(default_factory=list)

    def rank(self, name: str) -> int:
        return next(i for i, m in enumerate(self.models) if m.name == name)

    def present(self, rows: list[Row] | None = None) -> list[gbench.Model]:
        """The models with rows (among `rows`, default all), in registry order."""
        names = {r.impl for r in (self.rows if rows is None else rows)}
        return [m for m in self.models if m.name in names]

    def ordered(self, rows: list[Row]) -> list[Row]:
        return sorted(rows, key=lambda r: self.rank(r.impl))

    def judged(self, rows: list[Row] | None = None) -> list[Row]:
        """The rows (among `rows`, default all) whose numbers are the client's: those that were
        not server-bound. Findings, ratios and verdicts are computed from these only."""
        return [r for r in (self.rows if rows is None else rows) if not r.server_bound]


def finite(v) -> bool:
    """A number that is a measurement: not NaN, not infinite, not a boolean or a string."""
    return gbench.is_number(v) and math.isfinite(v)


def examples(items: list[str]) -> str:
    return ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")


def load(path: Path) -> Run:
    try:
        doc = gbench.read(path)
        by_name: dict[str, list[dict]] = {}
        for name, b in gbench.runs(doc, path):
            by_name.setdefault(name, []).append(b)
        errored = gbench.errored(doc, path)
        registry = gbench.models(doc)
    except gbench.ResultsError as e:
        raise InputError(str(e)) from e
    model = {m.name: m for m in registry}
    rows = []
    dropped, untimed, bare, idle = [], [], [], []
    for name, ok in by_name.items():
        g = gbench.NAME_RE.match(name)
        metrics = {}
        for key in gbench.COUNTERS + EXTRA_METRICS:
            present = [r[key] for r in ok if key in r]
            values = [float(v) for v in present if finite(v)]
            if len(values) < len(present):
                dropped.append(f"{name} {key}")
            if values:
                metrics[key] = statistics.median(values)
        if not any(key in r for r in ok for key in gbench.COUNTERS):
            bare.append(name)
        makespans = [m / 1000 for m in map(gbench.makespan_ms, ok) if m is not None]
        if len(makespans) < len(ok):
            untimed.append(name)
        elif not any(makespans) or metrics.get("req_per_s") == 0:
            idle.append(name)
        rows.append(Row(name=name, model=model[g["impl"]], requests=int(g["n"]),
                        delay_ms=int(g["l"]), concurrency=int(g["c"]), bytes=int(g["b"]),
                        keep_alive=not g["close"],
                        makespan_s=statistics.median(makespans) if makespans else math.nan,
                        repetitions=len(ok), label=str(ok[0].get("label", "")), metrics=metrics))
    if not rows:
        first = next(iter(errored.items()))
        raise InputError(f"{path}: every benchmark reported an error (first {first[0]}: "
                         f"{first[1]})")
    gaps = []
    if dropped:
        gaps.append(f"{len(dropped)} value(s) were no finite number (NaN, infinite or not a "
                    f"number) and are left out, shown as –: {examples(dropped)}.")
    if untimed:
        gaps.append(f"{len(untimed)} benchmark(s) have no readable batch time (real_time or "
                    f"time_unit missing or unknown), so no makespan: {examples(untimed)}.")
    if idle:
        gaps.append(f"{len(idle)} benchmark(s) report a batch time or a throughput of 0: nothing "
                    f"was measured there: {examples(idle)}.")
    if bare:
        gaps.append(f"{len(bare)} benchmark(s) report none of the counters: {examples(bare)}.")
    only_errored = sorted(set(errored) - set(by_name))
    if only_errored:
        gaps.append(f"{len(only_errored)} benchmark(s) reported an error and are not shown: "
                    + examples([f"{n} ({errored[n]})" for n in only_errored]) + ".")
    ctx = doc.get("context")
    if not isinstance(ctx, dict):
        gaps.append("The file has no context: the machine and the build are unknown.")
    return Run(context=ctx if isinstance(ctx, dict) else {}, models=registry, rows=rows,
               source=path, gaps=gaps)


# --- selections -----------------------------------------------------------------------------

def positive(v: float) -> bool:
    """Drawable on a log axis, and a divisor: finite and above 0."""
    return finite(v) and v > 0


def by_model(rows: list[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for r in rows:
        out.setdefault(r.impl, []).append(r)
    return out


def headline_points(rows: list[Row]) -> list[Row]:
    """100 ms each, everything in flight at once (C = N), or one at a time for the models that
    only run that way."""
    return [r for r in rows if r.delay_ms == HEADLINE_DELAY and r.plain
            and (r.concurrency == r.requests if not r.model.one_at_a_time
                 else r.concurrency == 1)]


def cost_points(rows: list[Row]) -> dict[str, list[Row]]:
    """100 ms each, ten waves of C requests (N = 10 x C)."""
    return by_model([r for r in rows if r.delay_ms == HEADLINE_DELAY and r.plain
                     and r.requests == 10 * r.effective_concurrency])


def zero_delay(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.delay_ms == 0 and r.plain]


def one_at_a_time_names(models: list[gbench.Model]) -> str:
    """'sequential and py_sequential' (for captions), '' when there is none."""
    return join_names([m.name for m in models if m.one_at_a_time])


def join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# --- formatting -----------------------------------------------------------------------------

def fmt_seconds(s: float) -> str:
    if not finite(s):
        return "–"
    if s >= 1:
        return f"{s:.2f} s"
    return f"{s * 1000:.0f} ms" if s >= 0.01 else f"{s * 1000:.2f} ms"


def fmt(v: float | None, digits: int = 1) -> str:
    if not finite(v):
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"
