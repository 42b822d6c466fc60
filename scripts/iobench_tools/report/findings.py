"""What the numbers say, computed from the rows: the findings at the top of the report, the blog
posts' claims judged, and the gap to the ceiling. None of it names a model: roles come from the
registry (concurrent or one at a time, model or reference). Rows that were server-bound are left
out of every ranking, ratio and verdict here (Run.judged); server.py says which and why."""
from __future__ import annotations

import dataclasses

from iobench_tools import results

from . import machine, open_loop, server
from .rows import (CEILING, CLAIM_TOLERANCE, HEADLINE_DELAY, SERVER_LATE_WARN_MS, Row, Run,
                   cost_points, finite, fmt, fmt_seconds, positive, zero_delay)


@dataclasses.dataclass
class Finding:
    kind: str    # what it is about: "all_at_once", "cost", "zero_delay_best", ...
    text: str    # the sentence in the report
    facts: dict  # the numbers behind it, for code and tests


def _concurrent(r: Row) -> bool:
    return not r.model.one_at_a_time and r.effective_concurrency > 1


def _largest(values: list[int]) -> int:
    """The largest value that at least two rows share (a comparison), else the largest; 0 for
    none. Server-bound rows left out may leave a single model at the largest point."""
    shared = [v for v in set(values) if values.count(v) >= 2]
    return max(shared or values or [0])


def all_at_once(run: Run) -> Finding | None:
    head = [r for r in run.judged() if r.delay_ms == HEADLINE_DELAY and r.plain
            and r.concurrency == r.requests and _concurrent(r) and positive(r.makespan_s)]
    if not head:
        return None
    n = _largest([r.requests for r in head])
    ranked = sorted((r for r in head if r.requests == n), key=lambda r: r.makespan_s)
    serial = n * HEADLINE_DELAY / 1000
    parts = ", ".join(f"{r.impl} {fmt_seconds(r.makespan_s)}" for r in ranked)
    return Finding("all_at_once",
                   f"{n} requests of {HEADLINE_DELAY} ms each, all in flight at once: {parts}; "
                   f"one after another they would take {fmt_seconds(serial)} "
                   f"({serial / ranked[0].makespan_s:.0f}× longer than the fastest).",
                   {"requests": n, "ranking": [r.impl for r in ranked]})


def cost(run: Run) -> Finding | None:
    pts = cost_points(run.judged())
    top = _largest([r.effective_concurrency for v in pts.values() for r in v
                    if finite(r.m("cpu_us_per_req"))])
    at_top = sorted((r for v in pts.values() for r in v if r.effective_concurrency == top
                     and finite(r.m("cpu_us_per_req"))),
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
    for r in zero_delay(run.judged()):
        if not positive(r.m("req_per_s")):
            continue
        if r.impl not in best or r.m("req_per_s") > best[r.impl].m("req_per_s"):
            best[r.impl] = r
    if not best:
        return None
    ranked = sorted(best.values(), key=lambda r: -r.m("req_per_s"))
    cores = machine.core_count(run.context, ranked)
    # Ahead of the ceiling only where both ran at the same concurrency and neither was
    # server-bound: a model's best at C = 256 says nothing against wrk's at C = 1 (wrk's rows at
    # higher C may all have been server-bound, so left out of judged()).
    ceiling_at = {r.effective_concurrency: r.m("req_per_s") for r in zero_delay(run.judged())
                  if r.impl == CEILING and positive(r.m("req_per_s"))}
    over = [r.impl for r in ranked if r.impl != CEILING and any(
        o.impl == r.impl and positive(o.m("req_per_s")) and o.effective_concurrency in ceiling_at
        and o.m("req_per_s") > ceiling_at[o.effective_concurrency]
        for o in zero_delay(run.judged()))]
    above = (f" Ahead of {CEILING}, the ceiling, at the same concurrency: {', '.join(over)}; the "
             "gap to the ceiling says why." if over else "")
    return Finding("zero_delay_best", "Best zero-delay throughput: " + ", ".join(
        f"{r.impl} {fmt(r.m('req_per_s'), 0)} req/s (C = {r.effective_concurrency})"
        for r in ranked) + "." + above + (f" {cores}" if cores else ""),
        {"ranking": [r.impl for r in ranked], "cores": cores})


def fastest_vs_references(run: Run) -> Finding | None:
    """The fastest concurrent model against each reference (but the ceiling) in the largest
    scenario of the headline delay where both ran at the same concurrency."""
    scenarios: dict[tuple, list[Row]] = {}
    for r in run.judged():
        if r.delay_ms == HEADLINE_DELAY and r.plain and r.impl != CEILING \
                and r.effective_concurrency > 1 and positive(r.makespan_s):
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
    each other reference, as fractions of it; above it, why."""
    zero = [r for r in zero_delay(run.judged()) if finite(r.m("req_per_s"))]
    tops = {r.concurrency: r for r in zero if r.impl == CEILING and positive(r.m("req_per_s"))}
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
        above = ""
        if best.m("req_per_s") > top:
            above = (" The model is above the ceiling: "
                     + server.above_ceiling(run, best, tops[c], list(tops.values())))
        return Finding("ceiling", f"Zero delay at concurrency {c}: {CEILING}, the ceiling, does "
                       f"{fmt(top, 0)} req/s; the fastest model, {best.impl}, "
                       f"{fmt(best.m('req_per_s'), 0)} req/s "
                       f"({best.m('req_per_s') / top:.2f} of {CEILING}){refs}.{above}",
                       {"concurrency": c, "fastest": best.impl,
                        "fraction": best.m("req_per_s") / top})
    return None


def late_server(run: Run) -> Finding | None:
    """Late timers in rows without the server evidence (older files); where it is present, the
    server-bound rule covers them."""
    late = [r for r in run.rows if not r.server.judged
            and r.m("server_late_p99_ms") > SERVER_LATE_WARN_MS]
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


def gaps(run: Run) -> Finding | None:
    """What the file lacks, said first: everything below is read without it."""
    if not run.gaps:
        return None
    return Finding("gaps", "Incomplete data: " + " ".join(run.gaps), {"gaps": list(run.gaps)})


def server_bound(run: Run) -> Finding | None:
    said = server.summary(run)
    return Finding("server_bound", *said) if said else None


def open_loop_rates(run: Run) -> Finding | None:
    """The maximum sustainable rates (open_loop.py); the open-loop section says why."""
    said = open_loop.summary(run)
    if said is None:
        return None
    return Finding("open_loop", said + " The open-loop section below has the rule, why a step "
                   "missed, and how far corrected latency was from what a closed-loop tool "
                   "reports.",
                   {"best": {(ln.delay_ms, ln.label): ln.best.offered if ln.best else None
                             for ln in open_loop.lines(run)}})


FINDINGS = [gaps, server_bound, all_at_once, cost, zero_delay_best, fastest_vs_references,
            ceiling, open_loop_rates, late_server, errors]


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
    unknown: list[str] = dataclasses.field(default_factory=list)  # no makespan measured
    bound: list[str] = dataclasses.field(default_factory=list)    # server-bound: not judged

    @property
    def verdict(self) -> str:
        if self.failing:
            text = "does not hold for " + ", ".join(self.failing)
        elif self.unknown:
            text = "not measured for " + ", ".join(self.unknown)
        elif len(self.bound) == len(self.measured):
            return "not judged: server-bound"
        else:
            text = "holds"
        return text + (f"; not judged (server-bound): {', '.join(self.bound)}"
                       if self.bound else "")


def claims(run: Run) -> list[Claim]:
    """Each labelled scenario (the seed suite's claims), predicted vs measured; a server-bound
    model's makespan is shown but not judged."""
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
        ideal = next((r.m("ideal_s") for r in serial if positive(r.m("ideal_s"))), None)
        one_by_one = ideal if ideal is not None else n * delay / 1000
        at_once = delay / 1000
        judged = run.ordered(run.judged(rs))
        timed = [r for r in judged if finite(r.makespan_s)]
        failing = [r.impl for r in timed
                   if (abs(r.makespan_s - one_by_one) > one_by_one * CLAIM_TOLERANCE
                       if r.model.one_at_a_time
                       else r.makespan_s > at_once * (1 + CLAIM_TOLERANCE))]
        unknown = [r.impl for r in judged if not finite(r.makespan_s)]
        bound = [r.impl for r in run.ordered(rs) if r.server_bound]
        out.append(Claim(claim, at_once, one_by_one, {r.impl: r.makespan_s for r in rs}, failing,
                         unknown, bound))
    return out


# --- the gap to the ceiling -----------------------------------------------------------------

@dataclasses.dataclass
class Gap:
    concurrency: list[int]
    fraction: dict   # (model, C) -> req/s over the ceiling's at that C (judged rows only)
    req_per_s: dict  # (model, C) -> req/s, the ceiling's included
    models: list[str]
    bound: dict = dataclasses.field(default_factory=dict)    # (name, C) -> why server-bound
    threads: dict = dataclasses.field(default_factory=dict)  # C -> the ceiling's -t
    above: dict = dataclasses.field(default_factory=dict)    # (model, C) -> (fraction, why)


def gap(run: Run) -> Gap | None:
    """Zero-delay req/s of each model as a fraction of the ceiling's at the same concurrency.
    A server-bound row (the model's or the ceiling's) gives no ratio; a ratio above 1 comes with
    its reason."""
    zero = [r for r in zero_delay(run.rows) if finite(r.m("req_per_s"))]
    top = {r.concurrency: r for r in zero if r.impl == CEILING and positive(r.m("req_per_s"))}
    rest = [r for r in zero if r.impl != CEILING and r.concurrency in top]
    if not top or not rest:
        return None
    bound = {(r.impl, r.concurrency): r.server.why for r in rest + list(top.values())
             if r.server_bound}
    ceilings = run.judged(list(top.values()))
    fraction = {(r.impl, r.concurrency): r.m("req_per_s") / top[r.concurrency].m("req_per_s")
                for r in run.judged(rest) if (CEILING, r.concurrency) not in bound}
    above = {(name, c): (f, server.above_ceiling(run, next(r for r in rest if r.impl == name
                                                           and r.concurrency == c),
                                                 top[c], ceilings))
             for (name, c), f in fraction.items() if f > 1}
    rps = {(r.impl, r.concurrency): r.m("req_per_s") for r in rest + list(top.values())}
    return Gap(sorted(top), fraction, rps, [m.name for m in run.present(rest)], bound,
               {c: results.wrk_threads(r.label) for c, r in top.items()}, above)
