"""Work and a blocking call per response (the `work` suite): makespan and p99 against the work W
per response, each model beside the ideal for how it runs, and the posts' pitfall ("a blocking
call inside the event loop stalls every request") as a claim with its prediction and verdict."""
from __future__ import annotations

import math
from pathlib import Path

from iobench_tools import results

from .document import Figure, Paragraph, Section, Table
from .plotting import REFERENCE_COLOR, figure, legend_below, save, series, styles
from .rows import CLAIM_TOLERANCE, Row, Run, WorkRow, finite, fmt, fmt_seconds, positive

STEM = "makespan_vs_work"

# How each model runs, for registries written before the models carried their factors.
_MECHANISMS = {"sequential": "one_at_a_time", "thread_pool": "thread_per_request",
               "coroutine": "event_loop", "curl_multi": "event_loop",
               "coroutine_mt": "event_loop_per_core"}
_ONE_LOOP = ("one_at_a_time", "event_loop")


def mechanism(model: results.Model) -> str:
    """The model's mechanism from the registry (its factors), else what is known of it, else ''."""
    return model.mechanism or _MECHANISMS.get(model.name, "")


def client_cpus(run: Run) -> int:
    """The CPUs the client side could use: the partition's client list, else the machine's."""
    n = results.cpu_count(run.context.get("client_cpus"))
    cpus = run.context.get("num_cpus")
    return n or (int(cpus) if isinstance(cpus, (int, float)) and cpus >= 1 else 1)


def ideal_s(r: WorkRow | Row, work_us: int, block_us: int, cpus: int) -> float:
    """The least makespan the model's mechanism allows: C in flight, each request its delay, then
    W of CPU and B of blocking on the thread that received it. One thread (one at a time, one
    event loop) does every request's W and B in turn; a loop per core or threads share the W
    among the CPUs they may use, and threads sleep their B side by side. NaN when the mechanism
    is unknown."""
    n, c = r.requests, max(1, r.concurrency)
    waves = math.ceil(n / c)
    delay, work, block = r.delay_ms / 1000, work_us / 1e6, block_us / 1e6
    how = mechanism(r.model)
    if how == "one_at_a_time":
        return n * (delay + work + block)
    if how == "event_loop":
        return max(waves * delay, n * (work + block))
    if how == "event_loop_per_core":
        loops = min(c, cpus)
        return max(waves * delay, n * (work + block) / loops)
    if how == "thread_per_request":
        return max(waves * (delay + work + block), n * work / min(c, cpus))
    return math.nan


def series_of(run: Run) -> dict[str, dict[tuple[int, int], WorkRow | Row]]:
    """model -> {(W, B): row}, the plain batch each work row extends counted as (0, 0)."""
    out: dict[str, dict[tuple[int, int], WorkRow | Row]] = {}
    for w in run.work_rows:
        pts = out.setdefault(w.impl, {})
        pts[(w.work_us, w.block_us)] = w
        plain = next((r for r in run.rows if w.same_batch(r)), None)
        if plain is not None:
            pts.setdefault((0, 0), plain)
    return out


def chart_work(run: Run, out: Path) -> Figure | None:
    pts = series_of(run)
    drawn = {k: sorted((wb for wb in v if wb[1] == 0), key=lambda wb: wb[0])
             for k, v in pts.items()}
    # One request at a time takes N x L and more: on the same axis it would flatten the rest (its
    # numbers are in the table).
    drawn = {k: v for k, v in drawn.items()
             if len(v) >= 2 and mechanism(run.model(k)) != "one_at_a_time"}
    if not drawn:
        return None
    st, cpus = styles(run.models), client_cpus(run)
    fig, (left, right) = figure(2, (13, 5.2))
    shown = [m.name for m in run.models if m.name in drawn]
    ws = sorted({wb[0] for v in drawn.values() for wb in v})
    for how, label in (("event_loop", "ideal, one thread (one event loop)"),
                       ("thread_per_request", f"ideal, threads on {cpus} CPU(s)")):
        first = next((pts[n][drawn[n][0]] for n in shown if mechanism(run.model(n)) == how), None)
        if first is not None:
            left.plot(ws, [ideal_s(first, w, 0, cpus) for w in ws], color=REFERENCE_COLOR,
                      linestyle=":" if how == "event_loop" else "--", label=label)
    for name in shown:
        rows = [pts[name][wb] for wb in drawn[name]]
        xs = [wb[0] for wb in drawn[name]]
        series(left, xs, [r.makespan_s for r in rows], [r.server_bound for r in rows], st[name],
               name)
        series(right, xs, [r.m("p99_ms") for r in rows], [r.server_bound for r in rows],
               st[name], name)
    left.set_ylim(bottom=0)
    left.set_xlabel("CPU work per response, W (µs)")
    left.set_ylabel("makespan (s)")
    left.set_title("Makespan against the work done per response")
    right.set_ylim(bottom=0)
    right.set_xlabel("CPU work per response, W (µs)")
    right.set_ylabel("p99 latency (ms)")
    right.set_title("p99 against the work done per response")
    save(fig, out, STEM, legend_below(fig, [left, right]))
    return Figure(STEM, "Makespan and p99 against the work per response",
                  f"Each model does W µs of CPU work after each complete response, on the thread "
                  f"that received it; the dotted line is the least one thread can take, the "
                  f"dashed one what threads on the {cpus} client CPU(s) can. Hollow points are "
                  f"server-bound; models that run one request at a time are in the table only.",
                  shown)


def pitfall(run: Run) -> list[str] | None:
    """The claim row: prediction N x B for one event loop, each one-loop model's makespan, and
    the verdict; None when the run has no block."""
    blocked = [w for w in run.work_rows if w.block_us > 0 and w.work_us == 0
               and mechanism(w.model) == "event_loop" and positive(w.makespan_s)]
    if not blocked:
        return None
    b = blocked[0]
    predicted = b.requests * b.block_us / 1e6
    held = [w for w in blocked if w.makespan_s >= predicted * (1 - CLAIM_TOLERANCE)]
    verdict = ("holds" if len(held) == len(blocked) else
               "holds for " + ", ".join(w.impl for w in held) if held else "does not hold")
    measured = ", ".join(f"{w.impl} {fmt_seconds(w.makespan_s)}" for w in blocked)
    return [f"a {fmt(b.block_us / 1000, 0)} ms blocking call per response inside one event loop "
            f"stalls every request", f"N × B = {fmt_seconds(predicted)}", measured, verdict]


def finding(run: Run) -> str | None:
    """Where the one loop falls behind threads, and whether a loop per core catches up."""
    pts, cpus = series_of(run), client_cpus(run)
    loops = [n for n in pts if mechanism(run.model(n)) == "event_loop"]
    threads = [n for n in pts if mechanism(run.model(n)) == "thread_per_request"]
    if not loops or not threads:
        return None
    loop, thread = loops[0], threads[0]
    for w in sorted({wb[0] for wb in pts[loop] if wb[1] == 0 and wb[0] > 0}):
        a, t = pts[loop].get((w, 0)), pts[thread].get((w, 0))
        if a is None or t is None or not (positive(a.makespan_s) and positive(t.makespan_s)):
            continue
        if a.makespan_s > t.makespan_s * (1 + CLAIM_TOLERANCE):
            return (f"With {w} µs of work per response the one event loop ({loop}) falls behind "
                    f"threads ({thread}): {fmt_seconds(a.makespan_s)} against "
                    f"{fmt_seconds(t.makespan_s)} on {cpus} client CPU(s).")
    top = max(w for wb in pts[loop] for w in (wb[0],))
    return (f"Up to {top} µs of work per response the one event loop ({loop}) keeps up with "
            f"threads ({thread}) on {cpus} client CPU(s): the work hides in the waiting, or "
            "threads have no more CPUs to spread it over.")


def section(run: Run, fig: Figure | None) -> Section | None:
    pts = series_of(run)
    if not pts:
        return None
    cpus = client_cpus(run)
    cols = sorted({wb for v in pts.values() for wb in v}, key=lambda wb: (wb[1] > 0, wb))
    head = [("none" if wb == (0, 0) else f"W {wb[0]} µs" if wb[1] == 0
             else f"B {fmt(wb[1] / 1000, 0)} ms" if wb[0] == 0
             else f"W {wb[0]} µs + B {fmt(wb[1] / 1000, 0)} ms") for wb in cols]
    body = []
    for m in run.models:
        if m.name not in pts:
            continue
        cells = []
        for wb in cols:
            r = pts[m.name].get(wb)
            if r is None:
                cells.append("–")
                continue
            ideal = ideal_s(r, wb[0], wb[1], cpus)
            cells.append(f"{fmt_seconds(r.makespan_s)} (ideal {fmt_seconds(ideal)}; "
                         f"p99 {fmt(r.m('p99_ms'))} ms)" if finite(ideal)
                         else f"{fmt_seconds(r.makespan_s)} (p99 {fmt(r.m('p99_ms'))} ms)")
        body.append([m.name, mechanism(m) or "–"] + cells)
    blocks = ([fig] if fig else []) + [
        Paragraph(f"Makespan per model with W µs of CPU work or a B ms blocking call after each "
                  f"complete response, on the thread that received it; the ideal is the least "
                  f"its mechanism allows on the {cpus} client CPU(s) this run had."),
        Table(["model", "mechanism"] + head, body)]
    claim = pitfall(run)
    if claim:
        blocks.append(Table(["claim", "predicted", "measured", "verdict"], [claim]))
    found = finding(run)
    if found:
        blocks.append(Paragraph(found))
    return Section(STEM, "Work and a blocking call per response", blocks)
