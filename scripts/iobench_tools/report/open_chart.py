"""The open loop in the report: latency against offered load (a column per delay: corrected p99
and p50 with the SLO and each model's maximum sustainable rate above, achieved against offered
rate with y = x below), the table of maximum sustainable rates, the gap sentence and every step."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator

from . import open_loop as ol
from .document import Bullets, Figure, Paragraph, Section, Table
from .plotting import (IDEAL_COLOR, REFERENCE_COLOR, bound_handle, legend_below, plt,
                       readable_axis, save, series, styles)
from .rows import OpenRow, Run, fmt, join_names, positive

STEM = "open_latency_vs_load"
SLO_COLOR = "#b00020"
P50_STYLE = (0, (1.5, 1.5))
BEST_MARKER = dict(marker="*", markersize=17, markeredgecolor="black", markeredgewidth=0.9,
                   linestyle="none", zorder=6)


@dataclasses.dataclass
class Curve:
    """What the chart draws of one Line: by offered rate, the corrected p50 and p99 and the
    achieved rate, which points are hollow (server-bound), and the marker (None: none)."""
    label: str
    impl: str
    offered: list[float]
    p50: list[float]
    p99: list[float]
    achieved: list[float]
    bound: list[bool]
    best: tuple[float, float] | None


def curves(run: Run) -> dict[int, list[Curve]]:
    """delay -> one curve per model (and concurrency), the steps with a corrected p99 above 0."""
    out: dict[int, list[Curve]] = {}
    for ln in ol.lines(run):
        pts = [r for r in ln.steps if positive(r.m("latency_p99_ms"))]
        if not pts:
            continue
        best = ln.best
        out.setdefault(ln.delay_ms, []).append(Curve(
            ln.label, ln.impl, [r.offered for r in pts], [r.m("latency_p50_ms") for r in pts],
            [r.m("latency_p99_ms") for r in pts], [r.m("achieved_rate") for r in pts],
            [r.server_bound for r in pts],
            (best.offered, best.m("latency_p99_ms")) if best else None))
    return out


def _concurrency(run: Run, delay: int) -> str:
    """'C = 100; sequential C = 1' for the steps at `delay`."""
    at = [ln for ln in ol.lines(run) if ln.delay_ms == delay]
    cs: dict[int, list[str]] = {}
    for ln in at:
        cs.setdefault(ln.concurrency, []).append(ln.impl)
    if len(cs) == 1:
        return f"C = {next(iter(cs))}"
    common = max(cs, key=lambda c: len(cs[c]))
    return f"C = {common}; " + "; ".join(f"{join_names(v)} C = {c}" for c, v in cs.items()
                                         if c != common)


def chart(run: Run, out: Path) -> Figure | None:
    drawn = curves(run)
    if not drawn:
        return None
    st = styles(run.models)
    delays = sorted(drawn)
    fig, grid = plt.subplots(2, len(delays), figsize=(max(7.4 * len(delays), 9), 8.6),
                             squeeze=False,
                             sharex="col", gridspec_kw={"height_ratios": [3, 1.45]})
    hollow = False
    for col, delay in enumerate(delays):
        top, low = grid[0][col], grid[1][col]
        xs = [x for c in drawn[delay] for x in c.offered]
        for c in drawn[delay]:
            s = st[c.impl]
            hollow |= series(top, c.offered, c.p99, c.bound, s, c.label)
            top.plot(c.offered, c.p50, color=s.color, linewidth=1.1, linestyle=P50_STYLE)
            if c.best:
                top.plot(*c.best, color=s.color, **BEST_MARKER)
            series(low, c.offered, c.achieved, c.bound, s, c.label)
        slo = ol.slo_ms(run, delay)
        top.axhline(slo, color=SLO_COLOR, linestyle="-.", linewidth=1.3)
        top.annotate(f"SLO {ol.fmt_ms(slo)} ms", (0.01, slo), xycoords=("axes fraction", "data"),
                     textcoords="offset points", xytext=(2, 3), color=SLO_COLOR, fontsize=9)
        top.axhline(delay, color=IDEAL_COLOR, linestyle=":", linewidth=1)
        top.annotate(f"server delay {delay} ms", (0.01, delay),
                     xycoords=("axes fraction", "data"), textcoords="offset points",
                     xytext=(2, -10), color=REFERENCE_COLOR, fontsize=8)
        top.set_yscale("log")
        top.yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
        top.set_ylim(bottom=min(delay, slo) * 0.8)
        readable_axis(top.yaxis)
        top.set_ylabel("corrected latency (ms, from the intended send)")
        top.set_title(f"{delay} ms server delay, {_concurrency(run, delay)}")
        lo, hi = min(xs), max(xs)
        low.plot([lo, hi], [lo, hi], color=REFERENCE_COLOR, linestyle=":", linewidth=1)
        low.set_yscale("log")
        low.set_ylabel("achieved (sent/s)")
        low.set_xlabel("offered rate (requests/s, log)")
        for ax in (top, low):
            ax.set_xscale("log")
            readable_axis(ax.xaxis)
            readable_axis(ax.yaxis)
            ax.grid(True, which="both", alpha=0.25)
    handles = _handles(run, drawn, st, hollow)
    fig.suptitle("Latency against offered load (open loop)")
    ncol = 6 if len(delays) > 1 else 4
    save(fig, out, STEM, bottom=legend_below(fig, [], handles, ncol=ncol))
    shown = list(dict.fromkeys(c.impl for cs in drawn.values() for c in cs))
    return Figure(STEM, "Latency against offered load (open loop)", _caption(run, hollow),
                  shown)


def _handles(run: Run, drawn: dict[int, list[Curve]], st: dict, hollow: bool) -> list:
    seen = list(dict.fromkeys((c.label, c.impl) for cs in drawn.values() for c in cs))
    out = [Line2D([], [], label=label, **st[impl].kw()) for label, impl in seen]
    out += [Line2D([], [], color="#444444", marker="o", label="p99: solid, markers"),
            Line2D([], [], color="#444444", linewidth=1.1, linestyle=P50_STYLE,
                   label="p50: thin, dotted"),
            Line2D([], [], color=SLO_COLOR, linestyle="-.", label="SLO"),
            Line2D([], [], color="#cccccc", label="max sustainable rate", **BEST_MARKER),
            Line2D([], [], color=REFERENCE_COLOR, linestyle=":", label="achieved = offered")]
    return out + ([bound_handle()] if hollow else [])


def _caption(run: Run, hollow: bool) -> str:
    return ("Each point is one step: requests sent on a schedule at the offered rate (a fraction "
            "of the model's own closed-loop throughput) for a fixed time, whether or not the "
            "earlier ones were done. Above: corrected latency, measured from when each request "
            "should have been sent, p99 thick and p50 thin, on log axes; the dash-dotted line is "
            "the SLO; a star marks each model's maximum sustainable rate. Below: the rate the "
            "sends really reached against the rate offered; a model that keeps up stays on the "
            "dotted y = x." + (" Hollow: server-bound steps, drawn but not judged." if hollow
                               else ""))


# --- the tables -----------------------------------------------------------------------------

def _rate_cell(ln: ol.Line) -> str:
    if ln.best is not None:
        return ol.rate(ln.best.offered)
    if ln.bound and len(ln.bound) == len(ln.steps):
        return ("none judged: its only step server-bound" if len(ln.steps) == 1
                else f"none judged: all {len(ln.steps)} steps server-bound")
    return "none in the sweep"


def _above_cell(ln: ol.Line) -> str:
    r = ln.above()
    if r is None:
        return "– (the top of the sweep)"
    return f"{ol.rate(r.offered)}: {ln.code(r)}"


def _counted_cell(ln: ol.Line) -> str:
    """The maximum counting server-bound steps too, where it differs."""
    u = ln.unjudged_best
    if u is None or (ln.best is not None and u.offered == ln.best.offered):
        return ""
    return f"{ol.rate(u.offered)} ({ol.share(ln.fraction(u))})"


def sustainable_table(run: Run) -> Table:
    lines = ol.lines(run)
    return Table(["delay", "model", "SLO", "max sustainable rate", "× its closed-loop throughput",
                  "closed-loop throughput", "the next step up", "server-bound steps",
                  "counting server-bound steps"],
                 [[f"{ln.delay_ms} ms", ln.label, f"{ol.fmt_ms(ln.slo_ms)} ms", _rate_cell(ln),
                   ol.share(ln.fraction(ln.best)) if ln.best else "–",
                   ol.rate(ln.capacity), _above_cell(ln),
                   f"{len(ln.bound)} of {len(ln.steps)}", _counted_cell(ln)] for ln in lines])


STEP_COLUMNS = ["step", "offered", "× closed loop", "sent/s", "goodput/s", "p50 ms", "p99 ms",
                "service p99 ms", "send lag p99 ms", "peak queue", "failed", "incomplete",
                "server late p99 ms", "verdict"]


def _step_cells(ln: ol.Line, r: OpenRow) -> list[str]:
    return [r.name, ol.rate(r.offered), ol.share(ln.fraction(r)),
            fmt(r.m("achieved_rate"), 0), fmt(r.m("goodput"), 0),
            fmt(r.m("latency_p50_ms")), fmt(r.m("latency_p99_ms")), fmt(r.m("service_p99_ms")),
            fmt(r.m("send_lag_p99_ms")), fmt(r.m("peak_queue"), 0), fmt(r.m("failed"), 0),
            fmt(r.m("incomplete"), 0), fmt(r.m("server_late_p99_ms")),
            ln.code(r)]


def _codes(run: Run, above: bool) -> set[str]:
    """The codes a table shows: of each line's next step up, or of every step."""
    return {c for ln in ol.lines(run)
            for r in ([ln.above()] if above else ln.steps) if r is not None
            for c in ln.code(r).split("+")}


def steps_table(run: Run) -> Table:
    return Table(STEP_COLUMNS, [_step_cells(ln, r) for ln in ol.lines(run) for r in ln.steps])


def section(run: Run, fig: Figure | None) -> Section | None:
    """The open-loop section; None when the run has no open-loop step."""
    if not run.open_rows:
        return None
    blocks: list = [fig] if fig is not None else []
    gap = ol.gap_sentence(run)
    if gap:
        blocks.append(Paragraph(gap))
    blocks += [Paragraph("Maximum sustainable rate per model. " + ol.rule(run)
                         + " “The next step up” says what the first step above it missed; "
                         "“counting server-bound steps” gives the maximum the model's own "
                         "numbers would allow if those steps were judged."),
               sustainable_table(run), Paragraph(ol.legend(_codes(run, above=True)))]
    bound = ol.bound_sentences(run)
    if bound:
        blocks.append(Bullets(bound))
    blocks += [Paragraph("Every step: the rates per second; latency (p50, p99) is corrected, "
                         "from the intended send time; service time is from the actual send, "
                         "what a closed-loop tool would report."), steps_table(run),
               Paragraph(ol.legend(_codes(run, above=False)))]
    return Section(STEM, "Open loop: latency against offered load", blocks)
