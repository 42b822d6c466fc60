"""What the numbers say, computed from the rows: the findings at the top of the report, the blog
posts' claims judged, and the gap to the ceiling. None of it names a model: roles come from the
registry (concurrent or one at a time, model or reference)."""
from __future__ import annotations

import dataclasses
import math

from .rows import (CEILING, CLAIM_TOLERANCE, HEADLINE_DELAY, SERVER_LATE_WARN_MS, Row, Run,
                   cost_points, fmt, fmt_seconds, zero_delay)


@dataclasses.dataclass
class Finding:
    kind: str    # what it is about: "all_at_once", "cost", "zero_delay_best", ...
    text: str    # the sentence in the report
    facts: dict  # the numbers behind it, for code and tests


def _concurrent(r: Row) -> bool:
    return not r.model.one_at_a_time and r.effective_concurrency > 1


def all_at_once(run: Run) -> Finding | None:
    head = [r for r in run.rows if r.delay_ms == HEADLINE_DELAY and r.plain
            and r.concurrency == r.requests and _concurrent(r)]
    if not head:
        return None
    n = max(r.requests for r in head)
    ranked = sorted((r for r in head if r.requests == n), key=lambda r: r.makespan_s)
    serial = n * HEADLINE_DELAY / 1000
    parts = ", ".join(f"{r.impl} {fmt_seconds(r.makespan_s)}" for r in ranked)
    return Finding("all_at_once",
                   f"{n} requests of {HEADLINE_DELAY} ms each, all in flight at once: {parts}; "
                   f"one after another they would take {fmt_seconds(serial)} "
                   f"({serial / ranked[0].makespan_s:.0f}× longer than the fastest).",
                   {"requests": n, "ranking": [r.impl for r in ranked]})


def cost(run: Run) -> Finding | None:
    pts = cost_points(run.rows)
    top = max((r.effective_concurrency for v in pts.values() for r in v), default=0)
    at_top = sorted((r for v in pts.values() for r in v if r.effective_concurrency == top),
                    key=lambda r: r.m("cpu_us_per_req"))
    if top <= 1 or not at_top:
        return None
    cpu = ", ".join(f"{r.impl} {fmt(r.m('cpu_us_per_req'))} µs" for r in at_top)
    mem = ", ".join(f"{r.impl} {fmt(r.m('peak_rss_mib'))} MiB / {fmt(r.m('threads'), 0)} threads"
                    for r in at_top)
    return Finding("cost", f"At concurrency {top} the CPU cost per request is {cpu}; peak memory "
                   f"and threads: {mem}.",
                   {"concurrency": top, "ranking": [r.impl for r in at_top]})


def zero_delay_best(run: Run) -> Finding | None:
    best: dict[str, Row] = {}
    for r in zero_delay(run.rows):
        if r.impl not in best or r.m("req_per_s") > best[r.impl].m("req_per_s"):
            best[r.impl] = r
    if not best:
        return None
    ranked = sorted(best.values(), key=lambda r: -r.m("req_per_s"))
    return Finding("zero_delay_best", "Best zero-delay throughput: " + ", ".join(
        f"{r.impl} {fmt(r.m('req_per_s'), 0)} req/s (C = {r.effective_concurrency})"
        for r in ranked) + ".", {"ranking": [r.impl for r in ranked]})


def fastest_vs_references(run: Run) -> Finding | None:
    """The fastest concurrent model against each reference (but the ceiling) in the largest
    scenario of the headline delay where both ran at the same concurrency."""
    scenarios: dict[tuple, list[Row]] = {}
    for r in run.rows:
        if r.delay_ms == HEADLINE_DELAY and r.plain and r.impl != CEILING \
                and r.effective_concurrency > 1:
            scenarios.setdefault((r.requests, r.concurrency), []).append(r)
    both = {k: v for k, v in scenarios.items()
            if any(r.model.reference for r in v) and any(not r.model.reference for r in v)}
    if not both:
        return None
    (n, c), rs = max(both.items())
    best = min((r for r in rs if not r.model.reference), key=lambda r: r.makespan_s)
    refs = run.ordered([r for r in rs if r.model.reference])
    versus = "; ".join(f"{r.impl} {fmt_seconds(r.makespan_s)} "
                       f"({r.makespan_s / best.makespan_s:.2f}× as long) at "
                       f"{fmt(r.m('cpu_us_per_req'))} µs" for r in refs)
    return Finding("fastest_vs_references",
                   f"{n:,} requests of {HEADLINE_DELAY} ms at concurrency {c:,}: the fastest "
                   f"model, {best.impl}, took {fmt_seconds(best.makespan_s)} at "
                   f"{fmt(best.m('cpu_us_per_req'))} µs CPU per request; {versus}.",
                   {"requests": n, "concurrency": c, "fastest": best.impl,
                    "references": [r.impl for r in refs]})


def ceiling(run: Run) -> Finding | None:
    """At the highest concurrency where the ceiling ran at zero delay: the fastest model and
    each other reference, as fractions of it."""
    zero = zero_delay(run.rows)
    tops = {r.concurrency: r for r in zero if r.impl == CEILING}
    for c in sorted(tops, reverse=True):
        at_c = [r for r in zero if r.concurrency == c and r.impl != CEILING]
        models = [r for r in at_c if not r.model.reference]
        if not models:
            continue
        best = max(models, key=lambda r: r.m("req_per_s"))
        top = tops[c].m("req_per_s")
        refs = "".join(f", {r.impl} {fmt(r.m('req_per_s'), 0)} req/s "
                       f"({r.m('req_per_s') / top:.2f} of it)"
                       for r in run.ordered([r for r in at_c if r.model.reference]))
        return Finding("ceiling", f"Zero delay at concurrency {c}: {CEILING}, the ceiling, does "
                       f"{fmt(top, 0)} req/s; the fastest model, {best.impl}, "
                       f"{fmt(best.m('req_per_s'), 0)} req/s "
                       f"({best.m('req_per_s') / top:.2f} of {CEILING}){refs}.",
                       {"concurrency": c, "fastest": best.impl,
                        "fraction": best.m("req_per_s") / top})
    return None


def late_server(run: Run) -> Finding | None:
    late = [r for r in run.rows if r.m("server_late_p99_ms") > SERVER_LATE_WARN_MS]
    if not late:
        return None
    worst = max(late, key=lambda r: r.m("server_late_p99_ms"))
    return Finding("late_server", f"Caution: in {len(late)} benchmark(s) the mock server's timers "
                   f"fired more than {SERVER_LATE_WARN_MS:.0f} ms late at p99 (worst "
                   f"{fmt(worst.m('server_late_p99_ms'))} ms in {worst.name}): there the server "
                   "was short of CPU, and part of the measured time is the server's.",
                   {"count": len(late), "worst": worst.name})


def errors(run: Run) -> Finding | None:
    failed = [r for r in run.rows if r.m("errors") > 0]
    if not failed:
        return None
    return Finding("errors", f"{len(failed)} benchmark(s) had failed requests: "
                   + ", ".join(f"{r.name} ({fmt(r.m('errors'), 0)})" for r in failed[:5]) + ".",
                   {"benchmarks": [r.name for r in failed]})


FINDINGS = [all_at_once, cost, zero_delay_best, fastest_vs_references, ceiling, late_server,
            errors]


def findings(run: Run) -> list[Finding]:
    return [f for f in (find(run) for find in FINDINGS) if f is not None]


# --- the blog posts' claims -----------------------------------------------------------------

@dataclasses.dataclass
class Claim:
    claim: str
    at_once: float       # s: the ideal with every request in flight (the slowest request)
    one_by_one: float    # s: the ideal one request after another (the sum of the delays)
    measured: dict       # model -> makespan s
    failing: list[str]   # the models whose makespan misses their ideal by more than the tolerance

    @property
    def verdict(self) -> str:
        return "holds" if not self.failing else "does not hold for " + ", ".join(self.failing)


def claims(run: Run) -> list[Claim]:
    """Each labelled scenario (the seed suite's claims), predicted vs measured."""
    scenarios: dict[tuple, list[Row]] = {}
    for r in run.rows:
        if r.label and r.impl != CEILING:
            scenarios.setdefault((r.label.split(";")[0], r.requests, r.delay_ms, r.bytes),
                                 []).append(r)
    out = []
    for (claim, n, delay, _), rs in scenarios.items():
        # The name's delay is the slowest request's; a one-at-a-time run records the ideal sum of
        # the scenario's delays (uniform delays without one: N x delay).
        serial = run.ordered([r for r in rs if r.model.one_at_a_time])
        ideal = next((r.m("ideal_s") for r in serial if not math.isnan(r.m("ideal_s"))), None)
        one_by_one = ideal if ideal is not None else n * delay / 1000
        at_once = delay / 1000
        failing = [r.impl for r in run.ordered(rs)
                   if (abs(r.makespan_s - one_by_one) > one_by_one * CLAIM_TOLERANCE
                       if r.model.one_at_a_time
                       else r.makespan_s > at_once * (1 + CLAIM_TOLERANCE))]
        out.append(Claim(claim, at_once, one_by_one, {r.impl: r.makespan_s for r in rs}, failing))
    return out


# --- the gap to the ceiling -----------------------------------------------------------------

@dataclasses.dataclass
class Gap:
    concurrency: list[int]
    fraction: dict   # (model, C) -> req/s over the ceiling's at that C
    req_per_s: dict  # (model, C) -> req/s, the ceiling's included
    models: list[str]


def gap(run: Run) -> Gap | None:
    """Zero-delay req/s of each model as a fraction of the ceiling's at the same concurrency."""
    zero = zero_delay(run.rows)
    top = {r.concurrency: r for r in zero if r.impl == CEILING}
    rest = [r for r in zero if r.impl != CEILING and r.concurrency in top]
    if not top or not rest:
        return None
    fraction = {(r.impl, r.concurrency): r.m("req_per_s") / top[r.concurrency].m("req_per_s")
                for r in rest}
    rps = {(r.impl, r.concurrency): r.m("req_per_s") for r in rest + list(top.values())}
    return Gap(sorted(top), fraction, rps, [m.name for m in run.present(rest)])
