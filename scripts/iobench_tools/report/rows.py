"""One results file as rows (one per benchmark, repetitions summarised by their median), its model
registry and context, and the selections the charts and findings share."""
from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path

from iobench_tools import results

HEADLINE_DELAY = 100         # ms: the blog posts' scenario, drawn in the headline and cost charts
LATENCY_LOAD = (10, 64)      # delay ms, concurrency of the latency chart
SERVER_LATE_WARN_MS = 5.0
CLAIM_TOLERANCE = 0.15
# wrk is not a model but the measuring stick: the gap table divides by it and the claims leave
# its rows out (their labels are its command lines, not claims).
CEILING = "wrk"
EXTRA_METRICS = ["rss_base_mib", "ideal_s"] + results.EVIDENCE


class InputError(Exception):
    """The results file cannot be used; the message is the one line the user sees."""


class Measured:
    """What a row of either kind (a batch, an open-loop step) offers: its model's name, its
    metrics (medians over the repetitions), whether the server set its pace."""
    model: results.Model
    delay_ms: int
    metrics: dict

    @property
    def impl(self) -> str:
        return self.model.name

    def m(self, key: str) -> float:
        return self.metrics.get(key, float("nan"))

    @property
    def server(self) -> results.ServerBound:
        """Whether the server was this row's bottleneck (results.server_bound on the medians)."""
        return results.server_bound(self.delay_ms, self.metrics)

    @property
    def server_bound(self) -> bool:
        return self.server.bound


@dataclasses.dataclass
class Row(Measured):
    name: str
    model: results.Model
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
    def effective_concurrency(self) -> int:
        return 1 if self.model.one_at_a_time else self.concurrency

    @property
    def plain(self) -> bool:
        """Keep-alive and an empty body: the rows most charts compare."""
        return self.keep_alive and self.bytes == 0


@dataclasses.dataclass
class WorkRow(Measured):
    """A batch whose model did work (`work_us` of CPU) or a blocking call (`block_us` of sleep)
    after each complete response (results.WORK_RE); repetitions summarised by their median."""
    name: str
    model: results.Model
    requests: int
    delay_ms: int
    concurrency: int
    bytes: int
    keep_alive: bool
    work_us: int
    block_us: int
    makespan_s: float
    repetitions: int
    metrics: dict

    def same_batch(self, r: Row) -> bool:
        """`r` is this batch without the work: its plain counterpart (W = B = 0)."""
        return (r.impl, r.requests, r.delay_ms, r.concurrency, r.bytes, r.keep_alive) == (
            self.impl, self.requests, self.delay_ms, self.concurrency, self.bytes,
            self.keep_alive)


@dataclasses.dataclass
class TlsRow(Measured):
    """A batch over https to the suite's TLS server (results.TLS_RE); repetitions summarised by
    their median. Its metrics add tls_handshakes_per_req and tls_resumed_per_req."""
    name: str
    model: results.Model
    requests: int
    delay_ms: int
    concurrency: int
    bytes: int
    keep_alive: bool
    makespan_s: float
    repetitions: int
    metrics: dict

    def same_batch(self, r: Row) -> bool:
        """`r` is this batch in plaintext."""
        return (r.impl, r.requests, r.delay_ms, r.concurrency, r.bytes, r.keep_alive) == (
            self.impl, self.requests, self.delay_ms, self.concurrency, self.bytes,
            self.keep_alive)


@dataclasses.dataclass
class OpenRow(Measured):
    """One open-loop step (results.OPEN_RE): `rate` requests per second offered for a duration,
    on a schedule; repetitions summarised by their median."""
    name: str
    model: results.Model
    rate: int          # R of the name: requests per second offered
    delay_ms: int
    concurrency: int
    repetitions: int
    label: str
    metrics: dict

    @property
    def offered(self) -> float:
        """Requests per second offered: the `target_rate` counter, else the name's R."""
        return self.m("target_rate") if finite(self.m("target_rate")) else float(self.rate)


@dataclasses.dataclass
class Run:
    context: dict
    models: list[results.Model]   # the whole registry, in registry order
    rows: list[Row]
    source: Path | None = None
    # What the file lacks or holds that is no measurement, one sentence each, for the findings:
    # values left out (NaN, infinite, not numbers), batch times that cannot be read, benchmarks
    # that reported an error.
    gaps: list[str] = dataclasses.field(default_factory=list)
    open_rows: list[OpenRow] = dataclasses.field(default_factory=list)
    work_rows: list[WorkRow] = dataclasses.field(default_factory=list)
    tls_rows: list[TlsRow] = dataclasses.field(default_factory=list)
    # report.py --slo: the open loop's latency objective in ms; None: 5 x each step's delay.
    slo_ms: float | None = None

    def model(self, name: str) -> results.Model:
        return next(m for m in self.models if m.name == name)

    def rank(self, name: str) -> int:
        return next(i for i, m in enumerate(self.models) if m.name == name)

    def present(self, rows: list | None = None) -> list[results.Model]:
        """The models with rows (among `rows`, default all, the open-loop steps included), in
        registry order."""
        names = {r.impl for r in (self.rows + self.open_rows if rows is None else rows)}
        return [m for m in self.models if m.name in names]

    def ordered(self, rows: list[Row]) -> list[Row]:
        return sorted(rows, key=lambda r: self.rank(r.impl))

    def judged(self, rows: list[Row] | None = None) -> list[Row]:
        """The rows (among `rows`, default all) whose numbers are the client's: those that were
        not server-bound. Findings, ratios and verdicts are computed from these only."""
        return [r for r in (self.rows if rows is None else rows) if not r.server_bound]


def finite(v) -> bool:
    """A number that is a measurement: not NaN, not infinite, not a boolean or a string."""
    return results.is_number(v) and math.isfinite(v)


def examples(items: list[str]) -> str:
    return ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")


def _medians(name: str, reps: list[dict], keys: list[str], dropped: list[str]) -> dict:
    """key -> the median of its finite values over the repetitions; a value that is no finite
    number is left out and named in `dropped`."""
    metrics = {}
    for key in keys:
        present = [r[key] for r in reps if key in r]
        values = [float(v) for v in present if finite(v)]
        if len(values) < len(present):
            dropped.append(f"{name} {key}")
        if values:
            metrics[key] = statistics.median(values)
    return metrics


def _ran(entries) -> dict[str, list[dict]]:
    """name -> its repetitions that ran (no error_occurred), in file order."""
    by_name: dict[str, list[dict]] = {}
    for name, b in entries:
        if not b.get("error_occurred"):
            by_name.setdefault(name, []).append(b)
    return by_name


def _open_rows(doc: dict, model: dict, dropped: list[str]) -> list[OpenRow]:
    out = []
    for name, ok in _ran(results.open_entries(doc)).items():
        g = results.OPEN_RE.match(name)
        out.append(OpenRow(name=name, model=model[g["impl"]], rate=int(g["rate"]),
                           delay_ms=int(g["l"]), concurrency=int(g["c"]), repetitions=len(ok),
                           label=str(ok[0].get("label", "")),
                           metrics=_medians(name, ok, results.OPEN_COUNTERS + results.EVIDENCE,
                                            dropped)))
    return out


def _work_rows(doc: dict, model: dict, dropped: list[str]) -> list[WorkRow]:
    out = []
    for name, ok in _ran(results.work_entries(doc)).items():
        g = results.WORK_RE.match(name)
        makespans = [m / 1000 for m in map(results.makespan_ms, ok) if m is not None]
        out.append(WorkRow(name=name, model=model[g["impl"]], requests=int(g["n"]),
                           delay_ms=int(g["l"]), concurrency=int(g["c"]), bytes=int(g["b"]),
                           keep_alive=not g["close"], work_us=int(g["w"] or 0),
                           block_us=int(g["bl"] or 0),
                           makespan_s=statistics.median(makespans) if makespans else math.nan,
                           repetitions=len(ok),
                           metrics=_medians(name, ok, results.COUNTERS + EXTRA_METRICS,
                                            dropped)))
    return out


TLS_METRICS = ["tls_handshakes_per_req", "tls_resumed_per_req"]


def _tls_rows(doc: dict, model: dict, dropped: list[str]) -> list[TlsRow]:
    out = []
    for name, ok in _ran(results.tls_entries(doc)).items():
        g = results.TLS_RE.match(name)
        makespans = [m / 1000 for m in map(results.makespan_ms, ok) if m is not None]
        out.append(TlsRow(name=name, model=model[g["impl"]], requests=int(g["n"]),
                          delay_ms=int(g["l"]), concurrency=int(g["c"]), bytes=int(g["b"]),
                          keep_alive=not g["close"],
                          makespan_s=statistics.median(makespans) if makespans else math.nan,
                          repetitions=len(ok),
                          metrics=_medians(name, ok,
                                           results.COUNTERS + EXTRA_METRICS + TLS_METRICS,
                                           dropped)))
    return out


def _errored_open(doc: dict) -> dict[str, str]:
    """The open-loop steps and the batches with work per response or over https that reported
    an error."""
    out: dict[str, str] = {}
    for name, b in [*results.open_entries(doc), *results.work_entries(doc),
                    *results.tls_entries(doc)]:
        if b.get("error_occurred"):
            out.setdefault(name, str(b.get("error_message") or "no message"))
    return out


def load(path: Path) -> Run:
    """The rows of a results file: its closed-loop batches and its open-loop steps (a file may
    hold either or both)."""
    try:
        doc = results.read(path)
        has_open = any(True for _ in results.open_entries(doc))
        by_name: dict[str, list[dict]] = {}
        errored = {}
        try:
            for name, b in results.runs(doc, path):
                by_name.setdefault(name, []).append(b)
            errored = results.errored(doc, path)
        except results.NoBenchmarks:
            if not has_open:
                raise
        errored.update(_errored_open(doc))
        registry = results.models(doc)
    except results.ResultsError as e:
        raise InputError(str(e)) from e
    model = {m.name: m for m in registry}
    rows = []
    dropped, untimed, bare, idle = [], [], [], []
    for name, ok in by_name.items():
        g = results.NAME_RE.match(name)
        metrics = _medians(name, ok, results.COUNTERS + EXTRA_METRICS, dropped)
        if not any(key in r for r in ok for key in results.COUNTERS):
            bare.append(name)
        makespans = [m / 1000 for m in map(results.makespan_ms, ok) if m is not None]
        if len(makespans) < len(ok):
            untimed.append(name)
        elif not any(makespans) or metrics.get("req_per_s") == 0:
            idle.append(name)
        rows.append(Row(name=name, model=model[g["impl"]], requests=int(g["n"]),
                        delay_ms=int(g["l"]), concurrency=int(g["c"]), bytes=int(g["b"]),
                        keep_alive=not g["close"],
                        makespan_s=statistics.median(makespans) if makespans else math.nan,
                        repetitions=len(ok), label=str(ok[0].get("label", "")), metrics=metrics))
    open_rows = _open_rows(doc, model, dropped)
    work_rows = _work_rows(doc, model, dropped)
    tls_rows = _tls_rows(doc, model, dropped)
    if not rows and not open_rows:
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
    shown = set(by_name) | {r.name for r in open_rows + work_rows + tls_rows}
    only_errored = sorted(set(errored) - shown)
    if only_errored:
        gaps.append(f"{len(only_errored)} benchmark(s) reported an error and are not shown: "
                    + examples([f"{n} ({errored[n]})" for n in only_errored]) + ".")
    ctx = doc.get("context")
    if not isinstance(ctx, dict):
        gaps.append("The file has no context: the machine and the build are unknown.")
    return Run(context=ctx if isinstance(ctx, dict) else {}, models=registry, rows=rows,
               source=path, gaps=gaps, open_rows=open_rows, work_rows=work_rows,
               tls_rows=tls_rows)


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


def one_at_a_time_names(models: list[results.Model]) -> str:
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
