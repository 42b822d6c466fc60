"""The charts of one run. Each takes the Run and the output folder, writes STEM.png and STEM.svg
and returns its Figure (or None when the run has no data for it)."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib
from matplotlib.patches import Patch

from .document import Figure
from .plotting import IDEAL_COLOR, REFERENCE_COLOR, figure, legend_below, readable_axis, save
from .plotting import styles
from .rows import (HEADLINE_DELAY, LATENCY_LOAD, Run, by_model, cost_points, headline_points,
                   machine_phrase, one_at_a_time_names)


def _one_at_a_time(run: Run, names: list[str], sentence: str) -> str:
    """`sentence` ending with those of `names` that run one request at a time ('' if none)."""
    which = one_at_a_time_names([m for m in run.present() if m.name in names])
    return f" {sentence}: {which}." if which else ""


def chart_headline(run: Run, out: Path) -> Figure | None:
    series = {k: v for k, v in by_model(headline_points(run.rows)).items()
              if len({r.requests for r in v}) >= 2}
    if not series:
        return None
    st = styles(run.models)
    fig, (ax,) = figure(1, (8, 5.2))
    ns = sorted({r.requests for v in series.values() for r in v})
    lo, hi = min(ns), max(ns)
    delay_s = HEADLINE_DELAY / 1000
    ax.plot([lo, hi], [lo * delay_s, hi * delay_s], color=IDEAL_COLOR, linestyle=":",
            label=f"ideal one after another (N × {HEADLINE_DELAY} ms)")
    ax.plot([lo, hi], [delay_s] * 2, color=REFERENCE_COLOR, linestyle=":",
            label=f"ideal all at once ({HEADLINE_DELAY} ms)")
    shown = [m.name for m in run.models if m.name in series]
    for name in shown:
        v = sorted(series[name], key=lambda r: r.requests)
        ax.plot([r.requests for r in v], [r.makespan_s for r in v], label=name, **st[name].kw())
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
                  "line is the blog posts' promise; its slope is what setup costs.", shown)


def chart_throughput(run: Run, out: Path) -> Figure | None:
    panels = []
    for delay in (0, 10):
        series = by_model([r for r in run.rows if r.delay_ms == delay and r.plain
                           and r.requests >= 20 * r.effective_concurrency])
        if series and max(len(v) for v in series.values()) >= 2:
            panels.append((delay, series))
    if not panels:
        return None
    st = styles(run.models)
    fig, axes = figure(len(panels), (6.2 * len(panels), 4.8))
    shown = []
    for ax, (delay, series) in zip(axes, panels):
        for m in run.present([r for v in series.values() for r in v]):
            v = sorted(series[m.name], key=lambda r: r.concurrency)
            shown.append(m.name)
            if len(v) == 1:
                ax.axhline(v[0].m("req_per_s"), color=st[m.name].color, linestyle=":",
                           label=f"{m.name} (C = {v[0].effective_concurrency})")
                continue
            ax.plot([r.concurrency for r in v], [r.m("req_per_s") for r in v], label=m.name,
                    **st[m.name].kw())
        if delay > 0:
            cs = sorted({r.concurrency for v in series.values() for r in v})
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
    fig.suptitle("Throughput vs concurrency")
    save(fig, out, "throughput_vs_concurrency", bottom=legend_below(fig, axes))
    where = machine_phrase(run.context)
    return Figure("throughput_vs_concurrency", "Throughput vs concurrency",
                  "At zero delay nothing waits, so throughput measures CPU cost per request"
                  + (f" ({where})" if where else "") + ". At 10 ms, throughput should follow "
                  "C / 10 ms until the CPU runs out.", list(dict.fromkeys(shown)))


def chart_latency(run: Run, out: Path) -> Figure | None:
    delay, conc = LATENCY_LOAD
    pts = run.ordered([r for r in run.rows if r.delay_ms == delay and r.concurrency == conc
                       and r.plain])
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
    line = ax.axhline(delay, color=REFERENCE_COLOR, linestyle=":",
                      label=f"server delay ({delay} ms)")
    ax.set_xticks(range(len(pts)), [r.impl for r in pts])
    ax.set_ylabel("latency per request (ms)")
    ax.set_title(f"Latency percentiles at {delay} ms delay, concurrency {conc}")
    # The legend explains the shades (left to right: p50, p90, p99), not one model's colour.
    legend = [Patch(facecolor="#444444", alpha=a, edgecolor="black", label=key)
              for key, a in shades]
    legend.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="reference"))
    ax.legend(handles=legend + [line], fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, out, "latency_percentiles")
    shown = [r.impl for r in pts]
    missing = _one_at_a_time(run, [m.name for m in run.present() if m.name not in shown],
                             "Not shown, since they run one request at a time")
    return Figure("latency_percentiles", f"Latency percentiles (delay {delay} ms, C = {conc})",
                  "Per-request latency over every request of every iteration (exact "
                  "percentiles). Anything above the server's delay is the model's own overhead "
                  "and queueing. Hatched: reference implementations." + missing, shown)


def chart_cost(run: Run, out: Path) -> Figure | None:
    series = cost_points(run.rows)
    if not series or max(len(v) for v in series.values()) < 2:
        return None
    st = styles(run.models)
    fig, axes = figure(3, (15, 4.8))
    shown = [m.name for m in run.present([r for v in series.values() for r in v])]
    for name in shown:
        v = sorted(series[name], key=lambda r: r.effective_concurrency)
        cs = [r.effective_concurrency for r in v]
        added = [max(r.m("peak_rss_mib") - r.metrics.get("rss_base_mib", 0.0), 0.0) for r in v]
        for ax, ys in zip(axes, ([r.m("cpu_us_per_req") for r in v], added,
                                 [r.m("threads") for r in v])):
            if len(v) == 1:
                ax.scatter(cs, ys, color=st[name].color, marker=st[name].marker, label=name,
                           zorder=3)
            else:
                ax.plot(cs, ys, label=name, **st[name].kw())
    titles = ("CPU time per request (µs)", "memory the batch added (MiB, peak RSS − start)",
              "threads in the process")
    for ax, title in zip(axes, titles):
        ax.set_xscale("log")
        readable_axis(ax.xaxis)
        ax.set_xlabel("concurrency C")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    for ax in (axes[0], axes[2]):
        ax.set_yscale("log")
        readable_axis(ax.yaxis)
    fig.suptitle(f"What concurrency costs ({HEADLINE_DELAY} ms delay, N = 10 × C)")
    save(fig, out, "cost_vs_concurrency", bottom=legend_below(fig, axes[:1], ncol=8))
    return Figure("cost_vs_concurrency", "CPU, memory and threads vs concurrency",
                  f"Each batch is ten waves of C requests delayed {HEADLINE_DELAY} ms. CPU is the "
                  "benchmark process's user + system time per request; memory is its peak RSS "
                  "minus its RSS when the batch started (freed thread stacks and caches from "
                  "earlier batches are not charged again).", shown)


def chart_efficiency(run: Run, out: Path) -> Figure | None:
    series = cost_points(run.rows)
    if not series:
        return None
    shown = [m.name for m in run.present([r for v in series.values() for r in v])]
    cs = sorted({r.effective_concurrency for v in series.values() for r in v})
    grid = [[math.nan] * len(cs) for _ in shown]
    for i, name in enumerate(shown):
        for r in series[name]:
            grid[i][cs.index(r.effective_concurrency)] = r.m("efficiency")
    fig, (ax,) = figure(1, (1.6 * len(cs) + 2.5, 0.6 * len(shown) + 1.8))
    cmap = matplotlib.colormaps["RdYlGn"].copy()
    cmap.set_bad("#eeeeee")
    im = ax.imshow(grid, cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for i in range(len(shown)):
        for j in range(len(cs)):
            v = grid[i][j]
            ax.text(j, i, "–" if math.isnan(v) else f"{v:.2f}", ha="center", va="center",
                    fontsize=10)
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
                  + ") adds time." + one, shown)


CHARTS = [chart_headline, chart_throughput, chart_latency, chart_cost, chart_efficiency]


def draw_all(run: Run, out: Path) -> list[Figure]:
    return [f for f in (chart(run, out) for chart in CHARTS) if f is not None]
