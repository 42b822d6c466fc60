"""How makespan grows with the number of connections: the scale suite's points (N = C, everything
in flight at once, at the headline delay, from BURST connections up), as a chart and a table."""
from __future__ import annotations

from pathlib import Path

from .document import Figure, Paragraph, Section, Table
from .plotting import (IDEAL_COLOR, REFERENCE_COLOR, bound_handle, figure, legend_below,
                       readable_axis, save, series, styles)
from .rows import HEADLINE_DELAY, Row, Run, by_model, finite, fmt, fmt_seconds, positive

STEM = "makespan_vs_connections"
BURST = 1000  # the scale suite's smallest C; server.BURST names the same points


def points(run: Run) -> dict[str, list[Row]]:
    """model -> its N = C rows at the headline delay from BURST up, by C."""
    pts = [r for r in run.rows if r.delay_ms == HEADLINE_DELAY and r.plain
           and r.requests == r.concurrency >= BURST and not r.model.one_at_a_time]
    return {k: sorted(v, key=lambda r: r.concurrency) for k, v in by_model(pts).items()}


def _drawable(run: Run) -> dict[str, list[Row]]:
    """The models with a makespan at two values of C or more (a curve has a shape)."""
    pts = {k: [r for r in v if positive(r.makespan_s)] for k, v in points(run).items()}
    return {k: v for k, v in pts.items() if len(v) >= 2}


def chart_scale(run: Run, out: Path) -> Figure | None:
    lines = _drawable(run)
    if not lines:
        return None
    st = styles(run.models)
    fig, (left, right) = figure(2, (13, 5.2))
    cs = sorted({r.concurrency for v in lines.values() for r in v})
    ideal = HEADLINE_DELAY / 1000
    left.plot([cs[0], cs[-1]], [ideal] * 2, color=REFERENCE_COLOR, linestyle=":",
              label=f"ideal: {HEADLINE_DELAY} ms whatever C")
    shown = [m.name for m in run.models if m.name in lines]
    hollow = False
    for name in shown:
        v = lines[name]
        hollow |= series(left, [r.concurrency for r in v], [r.makespan_s for r in v],
                         [r.server_bound for r in v], st[name], name)
        for r in v:
            if finite(r.m("errors")) and r.m("errors") > 0:
                left.annotate(f"{fmt(r.m('errors'), 0)} failed", (r.concurrency, r.makespan_s),
                              textcoords="offset points", xytext=(-6, 6), ha="right",
                              fontsize=8, color=st[name].color)
        # What the batch took beyond the ideal: on log-log axes its slope is the order of growth.
        over = [(r.concurrency, r.makespan_s - ideal, r.server_bound) for r in v
                if r.makespan_s > ideal]
        if over:
            xs, ys, bound = zip(*over)
            series(right, xs, ys, bound, st[name], name)
    left.set_ylim(bottom=0)
    left.set_ylabel("makespan: time for the whole batch (s)")
    left.set_title(f"Makespan, N = C requests of {HEADLINE_DELAY} ms at once")
    right.set_yscale("log")
    right.set_ylabel(f"makespan − {HEADLINE_DELAY} ms (s)")
    right.set_title("Time beyond the ideal (log-log: slope 1 linear, 2 quadratic)")
    _guides(right)
    for ax in (left, right):
        ax.set_xscale("log")
        readable_axis(ax.xaxis)
        ax.set_xticks(cs, [f"{c:,}" for c in cs])
        ax.set_xlabel("connections C (= requests N, all in flight at once)")
        ax.grid(True, which="both", alpha=0.3)
    if hollow:
        left.add_line(bound_handle())
    fig.suptitle("How makespan grows with the number of connections")
    save(fig, out, STEM, bottom=legend_below(fig, [left, right], ncol=7))
    return Figure(STEM, f"Makespan vs connections (N = C, {HEADLINE_DELAY} ms each)",
                  f"Every request of the batch is in flight at once, each delayed {HEADLINE_DELAY} "
                  f"ms by the server, so the ideal is {HEADLINE_DELAY} ms whatever C (dotted). "
                  "Left: the makespan, linear, to read the cost in seconds; right: the time "
                  "beyond the ideal on log-log axes, where a slope of 1 is linear growth with C "
                  "and 2 quadratic (grey guides). Failed requests are named at their point."
                  + (" Hollow: server-bound points, where the server set the pace (listed under "
                     "“Server-bound benchmarks”)." if hollow else ""), shown)


def _guides(ax) -> None:
    """Dotted lines of slope 1 and 2 through the lower left of the data, to read slopes by."""
    xs = [x for line in ax.get_lines() for x in line.get_xdata()]
    ys = [y for line in ax.get_lines() for y in line.get_ydata()]
    if not xs:
        return
    x0, x1, y0 = min(xs), max(xs), min(ys)
    for power, label in ((1, "∝ C"), (2, "∝ C²")):
        ax.plot([x0, x1], [y0, y0 * (x1 / x0) ** power], color=IDEAL_COLOR, linestyle=":")
        xm = x0 * (x1 / x0) ** 0.8  # labelled inside the axes, where the guide still is
        ax.annotate(label, (xm, y0 * (xm / x0) ** power), textcoords="offset points",
                    xytext=(-4, 4), ha="right", fontsize=8, color=REFERENCE_COLOR)


def table(run: Run) -> Table | None:
    """model x C: makespan and CPU per request, with failed requests and server-bound marked."""
    pts = points(run)
    if not _drawable(run):
        return None
    cs = sorted({r.concurrency for v in pts.values() for r in v})

    def cell(r: Row | None) -> str:
        if r is None:
            return "–"
        text = f"{fmt_seconds(r.makespan_s)} · {fmt(r.m('cpu_us_per_req'))} µs"
        if finite(r.m("errors")) and r.m("errors") > 0:
            text += f", {fmt(r.m('errors'), 0)} failed"
        return text + (" (server-bound)" if r.server_bound else "")

    rows = [[m.name] + [cell(next((r for r in pts[m.name] if r.concurrency == c), None))
                        for c in cs] for m in run.models if m.name in pts]
    return Table(["model"] + [f"C = {c:,}" for c in cs], rows)


def section(run: Run, fig: Figure) -> Section:
    blocks = [fig]
    t = table(run)
    if t is not None:
        blocks += [Paragraph("Each cell: the makespan · the benchmark process's CPU time per "
                             "request; failed requests and server-bound points are named."), t]
    return Section(fig.stem, fig.title, blocks)
