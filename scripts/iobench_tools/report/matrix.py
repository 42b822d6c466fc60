"""The models as a factor matrix: mechanism x library (with the kernel interface in each cell),
for CPU time per request at zero delay and for makespan with N = C = 1,000 at 100 ms, and the
sentences that name one factor's effect with the other two equal (the registry's factors: the
results' `models` context)."""
from __future__ import annotations

import itertools

from .document import Bullets, Paragraph, Section, Table
from .rows import HEADLINE_DELAY, Row, Run, fmt, fmt_seconds, positive

MECHANISMS = ["one_at_a_time", "thread_per_request", "event_loop", "event_loop_per_core"]
SCALE_N = 1000


def _zero_delay_points(run: Run) -> dict[str, Row]:
    """model -> its zero-delay keep-alive row at the largest C every concurrent model with
    factors has (one-at-a-time models at C = 1)."""
    rows = [r for r in run.rows if r.delay_ms == 0 and r.plain and r.model.mechanism
            and not r.model.reference]
    concurrent = {r.impl for r in rows if not r.model.one_at_a_time}
    shared = [c for c in {r.concurrency for r in rows}
              if concurrent and all(any(r.impl == m and r.concurrency == c for r in rows)
                                    for m in concurrent)]
    c = max(shared, default=None)
    out = {}
    for r in rows:
        if (r.concurrency == c or (r.model.one_at_a_time and r.concurrency == 1)) \
                and positive(r.m("cpu_us_per_req")):
            out.setdefault(r.impl, r)
    return out


def _scale_points(run: Run) -> dict[str, Row]:
    """model -> its N = C = 1,000 row at the headline delay."""
    return {r.impl: r for r in run.rows
            if r.delay_ms == HEADLINE_DELAY and r.plain and r.requests == r.concurrency == SCALE_N
            and r.model.mechanism and not r.model.reference and positive(r.makespan_s)}


def _cpu(r: Row) -> str:
    return f"{fmt(r.m('cpu_us_per_req'))} µs" + (" (server-bound)" if r.server_bound else "")


def _makespan(r: Row) -> str:
    return fmt_seconds(r.makespan_s) + (" (server-bound)" if r.server_bound else "")


def _table(points: dict[str, Row], value) -> Table | None:
    if not points:
        return None
    libraries = sorted({r.model.library for r in points.values()})
    mechanisms = [m for m in MECHANISMS if any(r.model.mechanism == m for r in points.values())]
    body = []
    for mech in mechanisms:
        cells = []
        for lib in libraries:
            here = [r for r in points.values()
                    if r.model.mechanism == mech and r.model.library == lib]
            cells.append("; ".join(f"{r.impl} ({r.model.interface}): {value(r)}" for r in here)
                         or "–")
        body.append([mech.replace("_", " ")] + cells)
    return Table(["mechanism \\ library"] + libraries, body)


FACTORS = ["library", "mechanism", "interface"]


def _word(factor: int, value: str) -> str:
    """A factor's value as prose: mechanisms are spelled with spaces, the rest as named."""
    return value.replace("_", " ") if FACTORS[factor] == "mechanism" else value


def effects(points: dict[str, Row], metric: str, what: str) -> list[str]:
    """One sentence per pair of models that differ in exactly one factor: that factor's effect on
    `metric`, the other two held equal. A server-bound row's makespan is the server's, so it is
    left out; its CPU per request is still the client's own (the gate judges it there too)."""
    out = []
    rows = [r for r in points.values() if metric != "makespan" or not r.server_bound]
    for a, b in itertools.combinations(rows, 2):
        fa = (a.model.library, a.model.mechanism, a.model.interface)
        fb = (b.model.library, b.model.mechanism, b.model.interface)
        differ = [i for i in range(3) if fa[i] != fb[i]]
        if len(differ) != 1:
            continue
        va = a.makespan_s if metric == "makespan" else a.m(metric)
        vb = b.makespan_s if metric == "makespan" else b.m(metric)
        if not (positive(va) and positive(vb)):
            continue
        show = fmt_seconds if metric == "makespan" else (lambda v: f"{fmt(v)} µs")
        d = differ[0]
        factor = FACTORS[d]
        same = " and ".join(f"{FACTORS[i]} {_word(i, fa[i])}" for i in range(3) if i != d)
        out.append(f"{factor.capitalize()} alone ({same} on both): {a.impl} "
                   f"({_word(d, fa[d])}) {show(va)} against {b.impl} ({_word(d, fb[d])}) "
                   f"{show(vb)} {what}, "
                   f"{max(va, vb) / min(va, vb):.2f}x"
                   + (" (a server-bound row: the client's own cost, not its pace)."
                      if a.server_bound or b.server_bound else "."))
    return out


def section(run: Run) -> Section | None:
    zero, scale = _zero_delay_points(run), _scale_points(run)
    cpu_table, scale_table = _table(zero, _cpu), _table(scale, _makespan)
    if cpu_table is None and scale_table is None:
        return None
    blocks = [Paragraph("Each model is one cell of library × mechanism (with the kernel interface "
                        "it waits through), so that two cells that differ in one factor show "
                        "that factor's effect with the others equal.")]
    said = []
    if cpu_table is not None:
        c = max((r.concurrency for r in zero.values()), default=0)
        blocks += [Paragraph(f"Client CPU time per request at zero delay, C = {c} (one at a "
                             "time: C = 1):"), cpu_table]
        said += effects(zero, "cpu_us_per_req", "of CPU per request at zero delay")
    if scale_table is not None:
        blocks += [Paragraph(f"Makespan with N = C = {SCALE_N:,} requests of {HEADLINE_DELAY} ms "
                             "at once:"), scale_table]
        said += effects(scale, "makespan", f"for N = C = {SCALE_N:,}")
    if said:
        blocks.append(Bullets(said))
    return Section("factors", "The factor matrix", blocks)
