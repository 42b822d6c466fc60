"""The charts of one run. Each takes the Run and the output folder, writes STEM.png and STEM.svg
and returns its Figure (or None when the run has no data for it)."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib
from matplotlib.patches import Patch

from . import open_chart, scale, work
from .document import Figure
from .machine import machine_phrase
from .plotting import (IDEAL_COLOR, REFERENCE_COLOR, bound_handle, figure, legend_below, plt,
                       readable_axis, save, series, styles)
from .rows import (HEADLINE_DELAY, LATENCY_LOAD, Run, by_model, cost_points, finite,
                   headline_points, one_at_a_time_names, positive)

BOUND_NOTE = (" Hollow: server-bound points, where the server set the pace (listed under "
              "“Server-bound benchmarks”).")


def _one_at_a_time(run: Run, names: list[str], sentence: str) -> str:
    """`sentence` ending with those of `names` that run one request at a time ('' if none)."""
    which = one_at_a_time_names([m for m in run.present() if m.name in names])
    return f" {sentence}: {which}." if which else ""


def chart_headline(run: Run, out: Path) -> Figure | None:
    timed = [r for r in headline_points(run.rows) if positive(r.makespan_s)]
    lines = {k: v for k, v in by_model(timed).items() if len({r.requests for r in v}) >= 2}
    if not lines:
        return None
    st = styles(run.models)
    fig, (ax,) = figure(1, (8, 5.2))
    ns = sorted({r.requests for v in lines.values() for r in v})
    lo, hi = min(ns), max(ns)
    delay_s = HEADLINE_DELAY / 1000
    ax.plot([lo, hi], [lo * delay_s, hi * delay_s], color=IDEAL_COLOR, linestyle=":",
            label=f"ideal one after another (N × {HEADLINE_DELAY} ms)")
    ax.plot([lo, hi], [delay_s] * 2, color=REFERENCE_COLOR, linestyle=":",
            label=f"ideal all at once ({HEADLINE_DELAY} ms)")
    shown = [m.name for m in run.models if m.name in lines]
    hollow = False
    for name in shown:
        v = sorted(lines[name], key=lambda r: r.requests)
        hollow |= series(ax, [r.requests for r in v], [r.makespan_s for r in v],
                         [r.server_bound for r in v], st[name], name)
    if hollow:
        ax.add_line(bound_handle())
    ax.set_xscale("log")
    ax.set_yscale("log")
    readable_axis(ax.xaxis)
    readable_axis(ax.yaxis)
    ax.set_xlabel(f"requests in the batch (N), each delayed {HEADLINE_DELAY} ms by the server")
    ax.set_ylabel("makespan: time for the whole batch (s)")
    ax.set_title("Makespan vs number of requests — everything in flight at once")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    save(fig, out, "makespan_vs_requests")
    one = _one_at_a_time(run, shown, "One request after another (C = 1)")
    return Figure("makespan_vs_requests",
                  f"Makespan vs number of requests ({HEADLINE_DELAY} ms each)",
                  f"Log-log. Concurrent models run all N requests at once (C = N).{one} "
                  "Dashed: reference implementations, same server, same run. The dotted lines "
                  f"are the ideal models: N × {HEADLINE_DELAY} ms and {HEADLINE_DELAY} ms. A flat "
                  "line is the blog posts' promise; its slope is what setup costs."
                  + (BOUND_NOTE if hollow else ""), shown)


def chart_throughput(run: Run, out: Path) -> Figure | None:
    panels = []
    for delay in (0, 10):
        pts = by_model([r for r in run.rows if r.delay_ms == delay and r.plain
                        and r.requests >= 20 * r.effective_concurrency
                        and positive(r.m("req_per_s"))])
        if pts and max(len(v) for v in pts.values()) >= 2:
            panels.append((delay, pts))
    if not panels:
        return None
    st = styles(run.models)
    fig, axes = figure(len(panels), (6.2 * len(panels), 4.8))
    shown, hollow, faded = [], False, False
    for ax, (delay, pts) in zip(axes, panels):
        for m in run.present([r for v in pts.values() for r in v]):
            v = sorted(pts[m.name], key=lambda r: r.concurrency)
            shown.append(m.name)
            if len(v) == 1:
                ax.axhline(v[0].m("req_per_s"), color=st[m.name].color, linestyle=":",
                           alpha=0.4 if v[0].server_bound else 1.0,  # greyed: server-bound
                           label=f"{m.name} (C = {v[0].effective_concurrency})")
                faded |= v[0].server_bound
                continue
            hollow |= series(ax, [r.concurrency for r in v], [r.m("req_per_s") for r in v],
                             [r.server_bound for r in v], st[m.name], m.name)
        if delay > 0:
            cs = sorted({r.concurrency for v in pts.values() for r in v})
            ax.plot(cs, [c * 1000 / delay for c in cs], color=IDEAL_COLOR, linestyle=":",
                    label=f"ideal: C / {delay} ms")
        ax.set_xscale("log")
        if delay:
            ax.set_yscale("log")  # spans decades, following C / delay
        else:
            ax.set_ylim(bottom=0)  # CPU-bound: differences are factors, read them linearly
        readable_axis(ax.yaxis)
        readable_axis(ax.xaxis)
        ax.set_xlabel("concurrency C (requests in flight)")
        ax.set_ylabel("throughput (requests/s)")
        ax.set_title(f"{delay} ms server delay" if delay else "zero delay: CPU-bound")
        ax.grid(True, which="both", alpha=0.3)
    if hollow:
        axes[0].add_line(bound_handle())
    fig.suptitle("Throughput vs concurrency")
    save(fig, out, "throughput_vs_concurrency", bottom=legend_below(fig, axes))
    where = machine_phrase(run.context)
    return Figure("throughput_vs_concurrency", "Throughput vs concurrency",
                  "At zero delay nothing waits, so throughput measures CPU cost per request"
                  + (f" ({where})" if where else "") + ". At 10 ms, throughput should follow "
                  "C / 10 ms until the CPU runs out." + (BOUND_NOTE if hollow else "")
                  + (" Faded dotted lines: server-bound rows measured at one concurrency only."
                     if faded else ""),
                  list(dict.fromkeys(shown)))


def chart_latency(run: Run, out: Path) -> Figure | None:
    delay, conc = LATENCY_LOAD
    pts = run.ordered([r for r in run.rows if r.delay_ms == delay and r.concurrency == conc
                       and r.plain and any(finite(r.m(f"{k}_ms")) for k in ("p50", "p90", "p99"))])
    if not pts:
        return None
    st = styles(run.models)
    fig, (ax,) = figure(1, (max(7.5, 0.9 * len(pts) + 2), 4.6))
    width = 0.25
    shades = (("p50", 1.0), ("p90", 0.7), ("p99", 0.45))
    for k, (key, shade) in enumerate(shades):
        xs = [i + (k - 1) * width for i in range(len(pts))]
        bars = ax.bar(xs, [r.m(f"{key}_ms") for r in pts], width,
                      color=[st[r.impl].color for r in pts], alpha=shade, edgecolor="black",
                      linewidth=0.4)
        for bar, r in zip(bars, pts):
            if r.model.reference:
                bar.set_hatch("//")
            if r.server_bound:  # hollow: the server's time, not the model's
                bar.set_facecolor("white")
                bar.set_edgecolor(st[r.impl].color)
                bar.set_linewidth(1.4)
    line = ax.axhline(delay, color=REFERENCE_COLOR, linestyle=":",
                      label=f"server delay ({delay} ms)")
    ax.set_xticks(range(len(pts)), [r.impl for r in pts])
    ax.set_ylabel("latency per request (ms)")
    ax.set_title(f"Latency percentiles at {delay} ms delay, concurrency {conc}")
    # The legend explains the shades (left to right: p50, p90, p99), not one model's colour.
    legend = [Patch(facecolor="#444444", alpha=a, edgecolor="black", label=key)
              for key, a in shades]
    legend.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="reference"))
    hollow = any(r.server_bound for r in pts)
    if hollow:
        legend.append(Patch(facecolor="white", edgecolor=REFERENCE_COLOR, linewidth=1.4,
                            label="hollow: server-bound"))
    ax.legend(handles=legend + [line], fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, out, "latency_percentiles")
    shown = [r.impl for r in pts]
    missing = _one_at_a_time(run, [m.name for m in run.present() if m.name not in shown],
                             "Not shown, since they run one request at a time")
    return Figure("latency_percentiles", f"Latency percentiles (delay {delay} ms, C = {conc})",
                  "Per-request latency over every request of every iteration (exact "
                  "percentiles). Anything above the server's delay is the model's own overhead "
                  "and queueing. Hatched: reference implementations."
                  + (BOUND_NOTE if hollow else "") + missing, shown)


def chart_cost(run: Run, out: Path) -> Figure | None:
    groups = cost_points(run.rows)
    if not groups or max(len(v) for v in groups.values()) < 2:
        return None
    st = styles(run.models)
    fig, axes = figure(3, (15, 4.8))
    shown = [m.name for m in run.present([r for v in groups.values() for r in v])]
    # CPU and threads span decades (log); memory is read linearly. A panel is drawn from the
    # points it has a value for; a log panel only from values above 0.
    logs = (True, False, True)
    drawn = [False] * 3
    hollow = False
    for name in shown:
        v = sorted(groups[name], key=lambda r: r.effective_concurrency)
        added = [max(r.m("peak_rss_mib") - r.metrics.get("rss_base_mib", 0.0), 0.0)
                 if finite(r.m("peak_rss_mib")) else math.nan for r in v]
        for i, (ax, ys) in enumerate(zip(axes, ([r.m("cpu_us_per_req") for r in v], added,
                                                [r.m("threads") for r in v]))):
            pts = [(r.effective_concurrency, y, r.server_bound) for r, y in zip(v, ys)
                   if (positive(y) if logs[i] else finite(y))]
            if not pts:
                continue
            drawn[i] = True
            cs, ys, bound = zip(*pts)
            hollow |= series(ax, cs, ys, bound, st[name], name)
    if not any(drawn):
        plt.close(fig)
        return None
    titles = ("CPU time per request (µs)", "memory the batch added (MiB, peak RSS − start)",
              "threads in the process")
    for ax, title, log, has in zip(axes, titles, logs, drawn):
        ax.set_xscale("log")
        readable_axis(ax.xaxis)
        ax.set_xlabel("concurrency C")
        ax.set_title(title if has else f"{title}: not measured")
        ax.grid(True, which="both", alpha=0.3)
        if log and has:
            ax.set_yscale("log")
            readable_axis(ax.yaxis)
    if hollow:
        axes[0].add_line(bound_handle())
    fig.suptitle(f"What concurrency costs ({HEADLINE_DELAY} ms delay, N = 10 × C)")
    save(fig, out, "cost_vs_concurrency", bottom=legend_below(fig, axes, ncol=8))
    return Figure("cost_vs_concurrency", "CPU, memory and threads vs concurrency",
                  f"Each batch is ten waves of C requests delayed {HEADLINE_DELAY} ms. CPU is the "
                  "benchmark process's user + system time per request; memory is its peak RSS "
                  "minus its RSS when the batch started (freed thread stacks and caches from "
                  "earlier batches are not charged again)." + (BOUND_NOTE if hollow else ""),
                  shown)


def chart_efficiency(run: Run, out: Path) -> Figure | None:
    groups = cost_points(run.rows)
    if not groups:
        return None
    shown = [m.name for m in run.present([r for v in groups.values() for r in v])]
    cs = sorted({r.effective_concurrency for v in groups.values() for r in v})
    grid = [[math.nan] * len(cs) for _ in shown]
    bound = set()  # cells shown grey: server-bound, their number marked
    for i, name in enumerate(shown):
        for r in groups[name]:
            grid[i][cs.index(r.effective_concurrency)] = r.m("efficiency")
            if r.server_bound:
                bound.add((i, cs.index(r.effective_concurrency)))
    fig, (ax,) = figure(1, (1.6 * len(cs) + 2.5, 0.6 * len(shown) + 1.8))
    cmap = matplotlib.colormaps["RdYlGn"].copy()
    cmap.set_bad("#eeeeee")
    im = ax.imshow([[math.nan if (i, j) in bound else v for j, v in enumerate(line)]
                    for i, line in enumerate(grid)], cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for i in range(len(shown)):
        for j in range(len(cs)):
            v = grid[i][j]
            ax.text(j, i, "–" if math.isnan(v) else f"{v:.2f}" + ("*" if (i, j) in bound else ""),
                    ha="center", va="center", fontsize=10,
                    color=REFERENCE_COLOR if (i, j) in bound else "black")
    ax.set_xticks(range(len(cs)), [str(c) for c in cs])
    ax.set_yticks(range(len(shown)), shown)
    st = styles(run.models)
    for label in ax.get_yticklabels():
        label.set_color(st[label.get_text()].color)
    ax.set_xlabel(f"concurrency C (N = 10 × C, {HEADLINE_DELAY} ms each)")
    ax.set_title("Efficiency: ideal makespan / measured")
    fig.colorbar(im, ax=ax, fraction=0.04)
    save(fig, out, "efficiency_heatmap")
    where = machine_phrase(run.context)
    one = _one_at_a_time(run, shown, "Only at C = 1, one request at a time")
    return Figure("efficiency_heatmap", "Efficiency heatmap",
                  f"1.0 means the batch took exactly ceil(N / C) × {HEADLINE_DELAY} ms. Below "
                  "that, the model (or the machine" + (f": {where}" if where else "")
                  + ") adds time." + one
                  + (" Grey with *: server-bound, where the server set the pace (listed under "
                     "“Server-bound benchmarks”)." if bound else ""), shown)


CHARTS = [chart_headline, scale.chart_scale, chart_throughput, chart_latency, chart_cost,
          chart_efficiency, open_chart.chart, work.chart_work]


def draw_all(run: Run, out: Path) -> list[Figure]:
    return [f for f in (chart(run, out) for chart in CHARTS) if f is not None]
