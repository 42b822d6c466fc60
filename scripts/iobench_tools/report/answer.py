"""The report's first block: the question answered in a few sentences computed from the run. For
each kind of load, the fastest model and by how much; what each mechanism costs per request; the
blog posts' claims; how far the Python clients are; how many rows the server bounded. The
findings and the sections below give the detail. Rankings use judged rows only (a server-bound
row's timings are the server's); CPU and memory per request are the client's own, whoever set the
pace, so they come from every row, as the regression gate judges them."""
from __future__ import annotations

import statistics

from . import findings as fnd
from . import open_loop, server
from .document import Bullets, Paragraph, Section
from .rows import (CEILING, HEADLINE_DELAY, Row, Run, cost_points, finite, fmt, fmt_seconds,
                   positive, zero_delay)


def _models(rows: list[Row]) -> list[Row]:
    """iobench's own models (not the references), run concurrently."""
    return [r for r in rows if not r.model.reference and not r.model.one_at_a_time]


def _margins(ranked: list, value, higher_is_better: bool, shown, name=lambda r: r.impl) -> str:
    """How far the first of `ranked` (best first) is ahead of the next and of the last:
    ', 1.02× ahead of the next, uring (112 ms), and 1.11× ahead of the slowest, thread_pool
    (122 ms)'. `value` reads an entry's number, `shown` formats it, `name` names the entry."""
    def ahead(which: str, other) -> str:
        a, b = value(ranked[0]), value(other)
        return (f"{(a / b if higher_is_better else b / a):.2f}× ahead of {which}, "
                f"{name(other)} ({shown(b)})")
    if len(ranked) < 2:
        return ""
    text = ", " + ahead("the next", ranked[1])
    if len(ranked) > 2:
        text += ", and " + ahead("the slowest", ranked[-1])
    return text


def _largest_shared(values: list[int]) -> int | None:
    shared = [v for v in set(values) if values.count(v) >= 2]
    return max(shared or values or [0]) or None


def many_at_once(run: Run) -> str | None:
    """Many slow calls in flight at once: the makespan of N requests of the headline delay."""
    rows = [r for r in _models(run.judged()) if r.delay_ms == HEADLINE_DELAY and r.plain
            and r.concurrency == r.requests and r.requests > 1 and positive(r.makespan_s)]
    n = _largest_shared([r.requests for r in rows])
    ranked = sorted((r for r in rows if r.requests == n), key=lambda r: r.makespan_s)
    if not ranked:
        return None
    best, serial = ranked[0], n * HEADLINE_DELAY / 1000
    text = (f"**Many slow calls at once** ({n:,} requests of {HEADLINE_DELAY} ms, all in flight): "
            f"{best.impl} finished first, in {fmt_seconds(best.makespan_s)}")
    text += _margins(ranked, lambda r: r.makespan_s, False, fmt_seconds)
    text += f"; one after another they take {fmt_seconds(serial)}"
    # A larger N left out: too few of its rows were free of the server's bound to rank.
    larger = [r for r in _models(run.rows) if r.delay_ms == HEADLINE_DELAY and r.plain
              and r.concurrency == r.requests and r.requests > n]
    for m in sorted({r.requests for r in larger}):
        at = [r for r in larger if r.requests == m]
        bound = sum(r.server_bound for r in at)
        text += (f"; at N = {m:,} the server set the pace for {bound} of {len(at)} models, "
                 "too many to rank")
    return text + "."


def _best_zero_delay(rows: list[Row]) -> dict[str, Row]:
    best: dict[str, Row] = {}
    for r in zero_delay(rows):
        if positive(r.m("req_per_s")) and (r.impl not in best
                                           or r.m("req_per_s") > best[r.impl].m("req_per_s")):
            best[r.impl] = r
    return best


def nothing_to_wait_for(run: Run) -> str | None:
    """Zero delay: each model's best throughput, which measures its CPU cost per request."""
    best = _best_zero_delay([r for r in run.judged() if not r.model.reference])
    ranked = sorted(best.values(), key=lambda r: -r.m("req_per_s"))
    if not ranked:
        return None
    top = ranked[0]
    text = (f"**Nothing to wait for** (zero delay, the CPU cost per request decides): {top.impl} "
            f"did the most, {fmt(top.m('req_per_s'), 0)} req/s (C = {top.effective_concurrency})")
    text += _margins(ranked, lambda r: r.m("req_per_s"), True, lambda v: f"{fmt(v, 0)} req/s")
    return text + "."


def steady_arrivals(run: Run) -> str | None:
    """Open loop: the highest rate each model sustained under the SLO, per delay."""
    parts = []
    for delay in open_loop.delays(run):
        at = sorted((ln for ln in open_loop.lines(run) if ln.delay_ms == delay and ln.best
                     and not ln.model.reference), key=lambda ln: -ln.best.offered)
        if not at:
            continue
        text = (f"at {delay} ms (SLO {open_loop.fmt_ms(at[0].slo_ms)} ms) {at[0].label} "
                f"sustained the most, {open_loop.rate(at[0].best.offered)}")
        parts.append(text + _margins(at, lambda ln: ln.best.offered, True, open_loop.rate,
                                     lambda ln: ln.label))
    if not parts:
        return None
    return "**Requests arriving at a steady rate** (open loop): " + "; ".join(parts) + "."


def _memory_kib(r: Row) -> float:
    """Memory per request in flight: the peak above the process's baseline, over C."""
    base = r.m("rss_base_mib") if finite(r.m("rss_base_mib")) else 0.0
    return (r.m("peak_rss_mib") - base) * 1024 / r.effective_concurrency


def _span(values: list[float], unit: str, digits: int = 0) -> str:
    lo, hi = min(values), max(values)
    if fmt(lo, digits) == fmt(hi, digits):
        return f"{fmt(lo, digits)} {unit}"
    return f"{fmt(lo, digits)}–{fmt(hi, digits)} {unit}"


def mechanism_cost(run: Run) -> str | None:
    """CPU µs and memory per request of each mechanism (the registry's factor; each model alone
    where the file predates the factors), at the largest concurrency of the cost series."""
    pts = cost_points(_models(run.rows))
    rows = [r for v in pts.values() for r in v
            if finite(r.m("cpu_us_per_req")) and finite(r.m("peak_rss_mib"))]
    c = _largest_shared([r.effective_concurrency for r in rows])
    at = run.ordered([r for r in rows if r.effective_concurrency == c])
    if not c or c <= 1 or not at:
        return None
    groups: dict[str, list[Row]] = {}
    for r in at:
        groups.setdefault(r.model.mechanism.replace("_", " ") or r.impl, []).append(r)
    parts = []
    for mech, rs in sorted(groups.items(),
                           key=lambda kv: statistics.median(r.m("cpu_us_per_req")
                                                            for r in kv[1])):
        cheap = min(rs, key=lambda r: r.m("cpu_us_per_req"))
        dear = max(rs, key=lambda r: r.m("cpu_us_per_req"))
        cpu = (f"{fmt(cheap.m('cpu_us_per_req'))} µs ({cheap.impl}) to "
               f"{fmt(dear.m('cpu_us_per_req'))} µs ({dear.impl})" if len(rs) > 1
               else f"{fmt(cheap.m('cpu_us_per_req'))} µs"
               + (f" ({cheap.impl})" if cheap.impl != mech else ""))
        parts.append(f"{mech} {cpu} CPU and {_span([_memory_kib(r) for r in rs], 'KiB')}")
    return (f"**What each mechanism costs** per request, at C = {c:,} ({HEADLINE_DELAY} ms, the "
            "client's own CPU and memory above its baseline per request in flight): "
            + "; ".join(parts) + ".")


def claims(run: Run) -> str | None:
    said = fnd.claims(run)
    if not said:
        return None
    held = [c for c in said if c.verdict.startswith("holds")]
    failed = [c for c in said if c.failing]
    text = f"**The blog posts' claims**: {len(held)} of {len(said)} hold"
    if failed:
        text += "; " + "; ".join(f"“{c.claim}” {c.verdict.split(';')[0]}" for c in failed)
    rest = len(said) - len(held) - len(failed)
    if rest:
        text += f"; {rest} could not be judged (server-bound or not measured)"
    return text + " (the claims section has each prediction and measurement)."


def _python(r: Row) -> bool:
    return r.model.reference and (r.model.runtime == "python"
                                  or (not r.model.runtime and r.impl.startswith("py_")))


def python_distance(run: Run) -> str | None:
    """How far the Python clients are from the fastest model, slow calls at once and at zero
    delay."""
    parts = []
    head = [r for r in run.judged() if r.delay_ms == HEADLINE_DELAY and r.plain
            and r.concurrency == r.requests and r.requests > 1 and positive(r.makespan_s)]
    shared = [n for n in {r.requests for r in head}
              if any(_python(r) for r in head if r.requests == n)
              and any(r in _models(head) for r in head if r.requests == n)]
    if shared:
        n = max(shared)
        py = min((r for r in head if r.requests == n and _python(r)), key=lambda r: r.makespan_s)
        best = min((r for r in _models(head) if r.requests == n), key=lambda r: r.makespan_s)
        parts.append(f"for {n:,} slow calls at once the fastest, {py.impl}, took "
                     f"{py.makespan_s / best.makespan_s:.2f}× as long as {best.impl}")
    zero = _best_zero_delay(run.judged())
    py_zero = [r for r in zero.values() if _python(r)]
    own = [r for r in zero.values() if not r.model.reference]
    if py_zero and own:
        py = max(py_zero, key=lambda r: r.m("req_per_s"))
        best = max(own, key=lambda r: r.m("req_per_s"))
        parts.append(f"with nothing to wait for the best, {py.impl}, did "
                     f"{py.m('req_per_s') / best.m('req_per_s'):.2f}× the requests per second "
                     f"of {best.impl}")
    if not parts:
        return None
    return "**Python** (the references, same server, same run): " + "; ".join(parts) + "."


def server_line(run: Run) -> str | None:
    said = server.summary(run)
    if said is None or not said[1].get("bound"):
        return None
    n = len(said[1]["bound"])
    return (f"{n} of {len(run.rows)} benchmarks were server-bound: their timings are left out "
            "of these answers (“Server-bound benchmarks” lists them and says why).")


ANSWERS = [many_at_once, nothing_to_wait_for, steady_arrivals, mechanism_cost, claims,
           python_distance]


def section(run: Run) -> Section | None:
    """The answer block; None when the run answers none of it (no rows of those kinds)."""
    said = [a for a in (answer(run) for answer in ANSWERS) if a]
    if not said:
        return None
    blocks: list = [Bullets(said)]
    bound = server_line(run)
    if bound:
        blocks.append(Paragraph(bound))
    if any(r.impl == CEILING for r in run.rows):
        blocks.append(Paragraph(f"{CEILING}, the load generator, is the ceiling, not a model: "
                                "it is left out of these rankings (the gap to the ceiling "
                                "compares them)."))
    return Section("answer", "The answer, from this run", blocks)
