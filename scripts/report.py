#!/usr/bin/python3
"""Turn an iobench results file (Google Benchmark JSON) into charts, report.md and index.html.

    scripts/report.py RESULTS.json --out DIR [--history reports/history.db]
    scripts/report.py --history reports/history.db --out DIR [--suite ci]

With --history, the gate metrics over time (one point per run in the history database, for the
results' suite or --suite) are drawn too, or alone when no results file is given.

Charts are written as PNG and SVG. Repetitions of a benchmark are summarised by their median.
Bad or empty input: one line on stderr, exit 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import html
import math
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("MPLCONFIGDIR", "/tmp/iobench-matplotlib")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.lines  # noqa: E402
import matplotlib.ticker  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gbench  # noqa: E402  (same folder: reading results files)

NAME_RE = gbench.NAME_RE

COUNTERS = ["req_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "efficiency", "cpu_us_per_req",
            "peak_rss_mib", "threads", "errors", "server_max_in_flight", "server_late_p99_ms"]

# One colour per model across every chart; reference implementations (issue: same run, the
# blog posts' Python and wrk) are drawn dashed so they stand apart.
STYLE = {
    "sequential": {"color": "#7f7f7f", "marker": "o"},
    "thread_pool": {"color": "#ff7f0e", "marker": "s"},
    "coroutine": {"color": "#1f77b4", "marker": "D"},
    "curl_multi": {"color": "#2ca02c", "marker": "^"},
    "py_sequential": {"color": "#3a3a3a", "marker": "o", "linestyle": "--"},
    "py_threads": {"color": "#ff7f0e", "marker": "s", "linestyle": "--"},
    "py_asyncio": {"color": "#9467bd", "marker": "v", "linestyle": "--"},
    "wrk": {"color": "#d62728", "marker": "*", "linestyle": "--"},
}
ORDER = list(STYLE)
REFERENCE = {"py_sequential", "py_threads", "py_asyncio", "wrk"}
HEADLINE_DELAY = 100
LATENCY_LOAD = (10, 64)  # delay ms, concurrency
SERVER_LATE_WARN_MS = 5.0
CLAIM_TOLERANCE = 0.15


class InputError(Exception):
    """The results file cannot be used; the message is the one line the user sees."""


@dataclasses.dataclass
class Row:
    name: str
    impl: str
    requests: int
    delay_ms: int
    concurrency: int
    bytes: int
    keep_alive: bool
    makespan_s: float
    repetitions: int
    label: str
    metrics: dict

    def m(self, key: str) -> float:
        return self.metrics.get(key, float("nan"))

    @property
    def effective_concurrency(self) -> int:
        return 1 if self.impl in ("sequential", "py_sequential") else self.concurrency


def load(path: Path) -> tuple[dict, list[Row]]:
    try:
        doc = gbench.read(path)
        runs: dict[str, list[dict]] = {}
        for name, b in gbench.runs(doc, path):
            runs.setdefault(name, []).append(b)
    except gbench.ResultsError as e:
        raise InputError(str(e)) from e
    rows = []
    for name, ok in runs.items():
        g = NAME_RE.match(name)
        metrics = {}
        for key in COUNTERS + ["rss_base_mib", "ideal_s"]:
            values = [float(r[key]) for r in ok if isinstance(r.get(key), (int, float))]
            if values:
                metrics[key] = statistics.median(values)
        makespans = [m / 1000 for m in map(gbench.makespan_ms, ok) if m is not None]
        rows.append(Row(name=name, impl=g["impl"], requests=int(g["n"]), delay_ms=int(g["l"]),
                        concurrency=int(g["c"]), bytes=int(g["b"]), keep_alive=not g["close"],
                        makespan_s=statistics.median(makespans) if makespans else float("nan"),
                        repetitions=len(ok), label=str(ok[0].get("label", "")), metrics=metrics))
    if not rows:
        raise InputError(f"{path}: every benchmark reported an error")
    return doc.get("context", {}), rows


def impls_in(rows: list[Row]) -> list[str]:
    present = {r.impl for r in rows}
    return [i for i in ORDER if i in present] + sorted(present - set(ORDER))


def style(impl: str) -> dict:
    s = dict(STYLE.get(impl, {"color": "black", "marker": "x"}))
    s.setdefault("linestyle", "-")
    return s


def fmt_seconds(s: float) -> str:
    if math.isnan(s):
        return "–"
    if s >= 1:
        return f"{s:.2f} s"
    return f"{s * 1000:.0f} ms" if s >= 0.01 else f"{s * 1000:.2f} ms"


def fmt(v: float, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


# --- charts ---------------------------------------------------------------------------------

@dataclasses.dataclass
class Chart:
    stem: str
    title: str
    caption: str


def human(x: float, _pos=None) -> str:
    """Tick labels people read: 500, 2k, 40k, 1.5M."""
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            v = x / div
            return f"{v:.0f}{suffix}" if v >= 10 or v == int(v) else f"{v:.1f}{suffix}"
    return f"{x:g}"


def readable_log_axis(axis) -> None:
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(human))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def save(fig, out: Path, stem: str) -> None:
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(out / f"{stem}.{ext}", dpi=130)
    plt.close(fig)


def chart_headline(rows: list[Row], out: Path) -> Chart | None:
    pts = [r for r in rows if r.delay_ms == HEADLINE_DELAY and r.keep_alive and r.bytes == 0
           and (r.concurrency == r.requests or r.effective_concurrency == 1 and r.concurrency == 1)]
    # Sequential points come from the same N sweep at concurrency 1.
    by_impl = {}
    for r in pts:
        if r.impl not in ("sequential", "py_sequential") and r.concurrency != r.requests:
            continue
        by_impl.setdefault(r.impl, []).append(r)
    by_impl = {k: v for k, v in by_impl.items() if len({r.requests for r in v}) >= 2}
    if not by_impl:
        return None
    fig, ax = plt.subplots(figsize=(8, 5.2))
    ns = sorted({r.requests for v in by_impl.values() for r in v})
    lo, hi = min(ns), max(ns)
    ax.plot([lo, hi], [lo * HEADLINE_DELAY / 1000, hi * HEADLINE_DELAY / 1000], color="#bbbbbb",
            linestyle=":", label="ideal one after another (N × 100 ms)")
    ax.plot([lo, hi], [HEADLINE_DELAY / 1000] * 2, color="#555555", linestyle=":",
            label="ideal all at once (100 ms)")
    for impl in impls_in([r for v in by_impl.values() for r in v]):
        v = sorted(by_impl[impl], key=lambda r: r.requests)
        st = style(impl)
        ax.plot([r.requests for r in v], [r.makespan_s for r in v], label=impl, **st)
    ax.set_xscale("log")
    ax.set_yscale("log")
    readable_log_axis(ax.xaxis)
    readable_log_axis(ax.yaxis)
    ax.set_xlabel("requests in the batch (N), each delayed 100 ms by the server")
    ax.set_ylabel("makespan: time for the whole batch (s)")
    ax.set_title("Makespan vs number of requests — everything in flight at once")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    save(fig, out, "makespan_vs_requests")
    return Chart("makespan_vs_requests", "Makespan vs number of requests (100 ms each)",
                 "Log-log. Concurrent models run all N requests at once (C = N); sequential runs "
                 "them one after another. Dashed: the blog posts' own Python code, same server, "
                 "same run. The dotted lines are the ideal models: N × 100 ms and "
                 "100 ms. A flat line is the blog posts' promise; its slope is what setup costs.")


def chart_throughput(rows: list[Row], out: Path) -> Chart | None:
    panels = []
    for delay in (0, 10):
        pts = [r for r in rows if r.delay_ms == delay and r.keep_alive and r.bytes == 0
               and r.requests >= 20 * r.effective_concurrency]
        by_impl = {}
        for r in pts:
            by_impl.setdefault(r.impl, []).append(r)
        if by_impl and max(len(v) for v in by_impl.values()) >= 2:
            panels.append((delay, by_impl))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.8), squeeze=False)
    for ax, (delay, by_impl) in zip(axes[0], panels):
        for impl in impls_in([r for v in by_impl.values() for r in v]):
            v = sorted(by_impl[impl], key=lambda r: r.concurrency)
            st = style(impl)
            if len(v) == 1:
                ax.axhline(v[0].m("req_per_s"), color=st["color"], linestyle=":",
                           label=f"{impl} (C = {v[0].effective_concurrency})")
                continue
            ax.plot([r.concurrency for r in v], [r.m("req_per_s") for r in v], label=impl, **st)
        if delay > 0:
            cs = sorted({r.concurrency for v in by_impl.values() for r in v})
            ax.plot(cs, [c * 1000 / delay for c in cs], color="#bbbbbb", linestyle=":",
                    label=f"ideal: C / {delay} ms")
        ax.set_xscale("log")
        if delay:
            ax.set_yscale("log")  # spans decades, following C / delay
        else:
            ax.set_ylim(bottom=0)  # CPU-bound: differences are factors, read them linearly
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(human))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(human))
        ax.set_xlabel("concurrency C (requests in flight)")
        ax.set_ylabel("throughput (requests/s)")
        ax.set_title(f"{delay} ms server delay" if delay else "zero delay: CPU-bound")
        ax.grid(True, which="both", alpha=0.3)
    # One legend for both panels, below them, so that no line hides behind it.
    handles, labels = {}, []
    for ax in axes[0]:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in handles:
                handles[l] = h
                labels.append(l)
    fig.suptitle("Throughput vs concurrency")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.legend([handles[l] for l in labels], labels, loc="lower center", ncol=min(len(labels), 6),
               fontsize=8)
    for ext in ("png", "svg"):
        fig.savefig(out / f"throughput_vs_concurrency.{ext}", dpi=130)
    plt.close(fig)
    return Chart("throughput_vs_concurrency", "Throughput vs concurrency",
                 "At zero delay nothing waits, so throughput measures CPU cost per request (one "
                 "core each for client and server here). At 10 ms, throughput should follow "
                 "C / 10 ms until the CPU runs out.")


def chart_latency(rows: list[Row], out: Path) -> Chart | None:
    delay, conc = LATENCY_LOAD
    pts = [r for r in rows if r.delay_ms == delay and r.concurrency == conc and r.keep_alive
           and r.bytes == 0]
    if not pts:
        return None
    pts = sorted(pts, key=lambda r: ORDER.index(r.impl) if r.impl in ORDER else 99)
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    width = 0.25
    for k, (key, shade) in enumerate((("p50_ms", 1.0), ("p90_ms", 0.7), ("p99_ms", 0.45))):
        xs = [i + (k - 1) * width for i in range(len(pts))]
        bars = ax.bar(xs, [r.m(key) for r in pts], width,
                      color=[style(r.impl)["color"] for r in pts], alpha=shade,
                      label=key.replace("_ms", ""), edgecolor="black", linewidth=0.4)
        for bar, r in zip(bars, pts):
            if r.impl in REFERENCE:
                bar.set_hatch("//")
    line = ax.axhline(delay, color="#555555", linestyle=":", label=f"server delay ({delay} ms)")
    ax.set_xticks(range(len(pts)), [r.impl for r in pts])
    ax.set_ylabel("latency per request (ms)")
    ax.set_title(f"Latency percentiles at {delay} ms delay, concurrency {conc}")
    # The legend explains the shades (left to right: p50, p90, p99), not one model's colour.
    shades = [Patch(facecolor="#444444", alpha=a, edgecolor="black", label=l)
              for l, a in (("p50", 1.0), ("p90", 0.7), ("p99", 0.45))]
    ax.legend(handles=shades + [line], fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, out, "latency_percentiles")
    return Chart("latency_percentiles", f"Latency percentiles (delay {delay} ms, C = {conc})",
                 "Per-request latency over every request of every iteration (exact percentiles). "
                 "Anything above the server's delay is the model's own overhead and queueing. "
                 "Sequential has no C = 64 run and is not shown.")


def cost_points(rows: list[Row]) -> dict[str, list[Row]]:
    pts = [r for r in rows if r.delay_ms == HEADLINE_DELAY and r.keep_alive and r.bytes == 0
           and r.requests == 10 * r.effective_concurrency]
    by_impl: dict[str, list[Row]] = {}
    for r in pts:
        by_impl.setdefault(r.impl, []).append(r)
    return by_impl


def chart_cost(rows: list[Row], out: Path) -> Chart | None:
    by_impl = cost_points(rows)
    if not by_impl or max(len(v) for v in by_impl.values()) < 2:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    for impl in impls_in([r for v in by_impl.values() for r in v]):
        v = sorted(by_impl[impl], key=lambda r: r.effective_concurrency)
        st = style(impl)
        cs = [r.effective_concurrency for r in v]
        added = [max(r.m("peak_rss_mib") - r.metrics.get("rss_base_mib", 0.0), 0.0) for r in v]
        for ax, ys in zip(axes, ([r.m("cpu_us_per_req") for r in v], added,
                                 [r.m("threads") for r in v])):
            if len(v) == 1:
                ax.scatter(cs, ys, color=st["color"], marker=st["marker"], label=impl, zorder=3)
            else:
                ax.plot(cs, ys, label=impl, **st)
    titles = ("CPU time per request (µs)", "memory the batch added (MiB, peak RSS − start)",
              "threads in the process")
    for ax, title in zip(axes, titles):
        ax.set_xscale("log")
        ax.set_xlabel("concurrency C")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_yscale("log")
    axes[2].set_yscale("log")
    for ax in axes:
        readable_log_axis(ax.xaxis)
    readable_log_axis(axes[0].yaxis)
    readable_log_axis(axes[2].yaxis)
    axes[0].legend(fontsize=8)
    fig.suptitle("What concurrency costs (100 ms delay, N = 10 × C)")
    save(fig, out, "cost_vs_concurrency")
    return Chart("cost_vs_concurrency", "CPU, memory and threads vs concurrency",
                 "Each batch is ten waves of C requests delayed 100 ms. CPU is the benchmark "
                 "process's user + system time per request; memory is its peak RSS minus its RSS "
                 "when the batch started (freed thread stacks and caches from earlier batches are "
                 "not charged again).")


def chart_efficiency(rows: list[Row], out: Path) -> Chart | None:
    by_impl = cost_points(rows)
    if not by_impl:
        return None
    impls = impls_in([r for v in by_impl.values() for r in v])
    cs = sorted({r.effective_concurrency for v in by_impl.values() for r in v})
    grid = [[math.nan] * len(cs) for _ in impls]
    for i, impl in enumerate(impls):
        for r in by_impl[impl]:
            grid[i][cs.index(r.effective_concurrency)] = r.m("efficiency")
    fig, ax = plt.subplots(figsize=(1.6 * len(cs) + 2.5, 0.6 * len(impls) + 1.8))
    cmap = matplotlib.colormaps["RdYlGn"].copy()
    cmap.set_bad("#eeeeee")
    im = ax.imshow([[v for v in row] for row in grid], cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for i in range(len(impls)):
        for j in range(len(cs)):
            v = grid[i][j]
            ax.text(j, i, "–" if math.isnan(v) else f"{v:.2f}", ha="center", va="center",
                    fontsize=10)
    ax.set_xticks(range(len(cs)), [str(c) for c in cs])
    ax.set_yticks(range(len(impls)), impls)
    ax.set_xlabel("concurrency C (N = 10 × C, 100 ms each)")
    ax.set_title("Efficiency: ideal makespan / measured")
    fig.colorbar(im, ax=ax, fraction=0.04)
    save(fig, out, "efficiency_heatmap")
    return Chart("efficiency_heatmap", "Efficiency heatmap",
                 "1.0 means the batch took exactly ceil(N / C) × 100 ms. Below that, the model "
                 "(or the machine: both client and server share two cores) adds time. Sequential "
                 "only exists at C = 1.")


# --- tables ---------------------------------------------------------------------------------

def claim_rows(rows: list[Row]) -> list[dict]:
    """The blog posts' claims: each labelled scenario, predicted vs measured, with a verdict."""
    scenarios: dict[tuple, list[Row]] = {}
    for r in rows:
        # Claims are the seed scenarios' labels; wrk rows carry a label too (its command line).
        if r.label and r.impl != "wrk" and not r.label.startswith("wrk "):
            claim = r.label.split(";")[0]
            scenarios.setdefault((claim, r.requests, r.delay_ms, r.bytes), []).append(r)
    out = []
    for (claim, n, delay, _), rs in scenarios.items():
        # The delays of a scenario are in its claim's numbers; the ideal models are exactly the
        # sum (one after another) and the slowest (all at once) of those delays.
        seq = next((r for r in rs if r.effective_concurrency == 1), None)
        conc = [r for r in rs if r.effective_concurrency > 1]
        at_once = delay / 1000  # the slowest request: the name's delay is the largest
        # One after another is the sum of the delays; each run records its ideal, and the
        # sequential run's ideal is that sum (uniform delays without one: N x delay).
        one_by_one = seq.m("ideal_s") if seq and not math.isnan(seq.m("ideal_s")) \
            else n * delay / 1000
        measured = {r.impl: r.makespan_s for r in rs}
        failing = [r.impl for r in conc if r.makespan_s > at_once * (1 + CLAIM_TOLERANCE)]
        if seq and abs(seq.makespan_s - one_by_one) > one_by_one * CLAIM_TOLERANCE:
            failing.append(seq.impl)
        verdict = "holds" if not failing else "does not hold for " + ", ".join(failing)
        out.append({"claim": claim, "at_once": at_once, "one_by_one": one_by_one,
                    "measured": measured, "verdict": verdict})
    return out


def ceiling_rows(rows: list[Row]) -> tuple[list[int], list[str], list[list[str]]]:
    """Zero-delay req/s of each model as a fraction of wrk's at the same concurrency."""
    wrk = {r.concurrency: r for r in rows if r.impl == "wrk" and r.bytes == 0}
    zero = [r for r in rows if r.delay_ms == 0 and r.bytes == 0 and r.keep_alive
            and r.impl != "wrk" and (r.concurrency in wrk or (r.effective_concurrency == 1 and 1 in wrk))]
    if not wrk or not zero:
        return [], [], []
    cs = sorted(wrk)
    impls = impls_in(zero)
    table = []
    for impl in impls:
        cells = [impl]
        for c in cs:
            r = next((x for x in zero if x.impl == impl and x.concurrency == c), None)
            cells.append("–" if r is None else
                         f"{r.m('req_per_s') / wrk[c].m('req_per_s'):.2f} ({fmt(r.m('req_per_s'), 0)})")
        table.append(cells)
    table.append(["wrk"] + [f"1.00 ({fmt(wrk[c].m('req_per_s'), 0)})" for c in cs])
    return cs, impls, table


def findings(rows: list[Row]) -> list[str]:
    """Sentences computed from the data, for the top of the report."""
    out = []
    head = [r for r in rows if r.delay_ms == HEADLINE_DELAY and r.bytes == 0 and r.keep_alive
            and r.concurrency == r.requests and r.effective_concurrency > 1]
    if head:
        n = max(r.requests for r in head)
        best = sorted((r for r in head if r.requests == n), key=lambda r: r.makespan_s)
        seq_time = n * HEADLINE_DELAY / 1000
        parts = ", ".join(f"{r.impl} {fmt_seconds(r.makespan_s)}" for r in best)
        out.append(f"{n} requests of 100 ms each, all in flight at once: {parts}; one after another "
                   f"they would take {fmt_seconds(seq_time)} ({seq_time / best[0].makespan_s:.0f}× "
                   f"longer than the fastest).")
    cost = cost_points(rows)
    top_c = max((r.effective_concurrency for v in cost.values() for r in v), default=0)
    at_top = [v for impl in cost for v in cost[impl] if v.effective_concurrency == top_c and top_c > 1]
    if at_top:
        cheap = sorted(at_top, key=lambda r: r.m("cpu_us_per_req"))
        mem = ", ".join(f"{r.impl} {fmt(r.m('peak_rss_mib'))} MiB / {fmt(r.m('threads'), 0)} threads"
                        for r in cheap)
        cpu = ", ".join(f"{r.impl} {fmt(r.m('cpu_us_per_req'))} µs" for r in cheap)
        out.append(f"At concurrency {top_c} the CPU cost per request is {cpu}; peak memory and "
                   f"threads: {mem}.")
    zero = [r for r in rows if r.delay_ms == 0 and r.bytes == 0 and r.keep_alive]
    if zero:
        best = {}
        for r in zero:
            if r.impl not in best or r.m("req_per_s") > best[r.impl].m("req_per_s"):
                best[r.impl] = r
        ranked = sorted(best.values(), key=lambda r: -r.m("req_per_s"))
        out.append("Best zero-delay throughput: " + ", ".join(
            f"{r.impl} {fmt(r.m('req_per_s'), 0)} req/s (C = {r.effective_concurrency})"
            for r in ranked) + ".")
    by = {(r.impl, r.requests, r.delay_ms, r.concurrency, r.bytes, r.keep_alive): r for r in rows}
    pairs = [((1000, 100, 100), "1000 requests of 100 ms at concurrency 100"),
             ((10000, 100, 10000), "10,000 requests of 100 ms all at once")]
    for (n, l, c), what in pairs:
        co = by.get(("coroutine", n, l, c, 0, True))
        py = by.get(("py_asyncio", n, l, c, 0, True))
        if co and py:
            out.append(f"{what}: coroutine {fmt_seconds(co.makespan_s)}, the posts' asyncio code "
                       f"{fmt_seconds(py.makespan_s)} (coroutine/py_asyncio speed ratio "
                       f"{py.makespan_s / co.makespan_s:.2f}); CPU per request "
                       f"{fmt(co.m('cpu_us_per_req'))} µs vs {fmt(py.m('cpu_us_per_req'))} µs.")
    for c in (64, 16):
        co = by.get(("coroutine", max(2000, 20 * c), 0, c, 0, True))
        wrk = next((r for r in rows if r.impl == "wrk" and r.concurrency == c and r.bytes == 0), None)
        py = by.get(("py_asyncio", max(2000, 20 * c), 0, c, 0, True))
        if co and wrk:
            extra = (f", py_asyncio {fmt(py.m('req_per_s'), 0)} req/s "
                     f"({py.m('req_per_s') / wrk.m('req_per_s'):.2f} of it)") if py else ""
            out.append(f"Zero delay at concurrency {c}: wrk, the ceiling, does {fmt(wrk.m('req_per_s'), 0)} "
                       f"req/s; coroutine {fmt(co.m('req_per_s'), 0)} req/s "
                       f"({co.m('req_per_s') / wrk.m('req_per_s'):.2f} of wrk){extra}.")
            break
    late = [r for r in rows if r.m("server_late_p99_ms") > SERVER_LATE_WARN_MS]
    if late:
        worst = max(late, key=lambda r: r.m("server_late_p99_ms"))
        out.append(f"Caution: in {len(late)} benchmark(s) the mock server's timers fired more than "
                   f"{SERVER_LATE_WARN_MS:.0f} ms late at p99 (worst {fmt(worst.m('server_late_p99_ms'))} ms "
                   f"in {worst.name}): there the client and the server competed for the same "
                   "cores, and part of the measured time is the server's.")
    errors = [r for r in rows if r.m("errors") > 0]
    if errors:
        out.append(f"{len(errors)} benchmark(s) had failed requests: "
                   + ", ".join(f"{r.name} ({fmt(r.m('errors'), 0)})" for r in errors[:5]) + ".")
    return out


CONTEXT_KEYS = [("date", "date"), ("host_name", "host"), ("executable", "executable"),
                ("num_cpus", "CPUs"), ("mhz_per_cpu", "MHz per CPU"),
                ("cpu_scaling_enabled", "CPU scaling"), ("load_avg", "load average"),
                ("library_build_type", "Google Benchmark library build (Debian's says 'debug'; it "
                 "affects the library's bookkeeping, not the wall-clock batches measured here)"), ("iobench_suite", "suite"),
                ("git_sha", "git sha"), ("build_type", "build type"),
                ("boost_version", "Boost"), ("libcurl_version", "libcurl"),
                ("kernel", "kernel"), ("cores", "cores"), ("server", "server")]


def context_table(ctx: dict) -> list[tuple[str, str]]:
    rows = []
    for key, label in CONTEXT_KEYS:
        if key in ctx:
            v = ctx[key]
            if isinstance(v, list):
                v = ", ".join(f"{x:.2f}" if isinstance(x, float) else str(x) for x in v)
            rows.append((label, str(v)))
    caches = ctx.get("caches")
    if isinstance(caches, list) and caches:
        rows.append(("caches", ", ".join(
            f"L{c.get('level')} {c.get('type', '')} {int(c.get('size', 0)) // 1024} KiB"
            for c in caches)))
    return rows


RESULT_COLUMNS = [("benchmark", None), ("makespan", None), ("req/s", "req_per_s"),
                  ("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("max ms", "max_ms"),
                  ("efficiency", "efficiency"), ("CPU µs/req", "cpu_us_per_req"),
                  ("peak RSS MiB", "peak_rss_mib"), ("threads", "threads"), ("errors", "errors"),
                  ("server in flight", "server_max_in_flight"),
                  ("server late p99 ms", "server_late_p99_ms")]


def result_cells(r: Row) -> list[str]:
    cells = [r.name, fmt_seconds(r.makespan_s)]
    for _, key in RESULT_COLUMNS[2:]:
        digits = 0 if key in ("req_per_s", "threads", "errors", "server_max_in_flight") else 2
        if key == "efficiency" and r.delay_ms == 0:
            cells.append("–")  # nothing to overlap at zero delay
        else:
            cells.append(fmt(r.m(key), digits))
    return cells


# --- writers --------------------------------------------------------------------------------

def claims_header(impls: list[str]) -> list[str]:
    return ["claim", "predicted at once", "predicted one after another"] + impls + ["verdict"]


def claims_cells(c: dict, impls: list[str]) -> list[str]:
    return ([c["claim"], fmt_seconds(c["at_once"]), fmt_seconds(c["one_by_one"])]
            + [fmt_seconds(c["measured"].get(i, math.nan)) for i in impls] + [c["verdict"]])


def md_table(header: list[str], rows: list[list[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(esc, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines)


def html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(ctx: dict, rows: list[Row], charts: list[Chart], out: Path,
                 source: Path) -> None:
    impls = impls_in(rows)
    claims = claim_rows(rows)
    claim_impls = [i for i in impls if any(i in c["measured"] for c in claims)]
    notes = findings(rows)
    results = [result_cells(r) for r in sorted(rows, key=lambda r: (r.delay_ms, r.requests,
                                                                     r.concurrency, r.bytes,
                                                                     not r.keep_alive,
                                                                     ORDER.index(r.impl) if r.impl in ORDER else 99))]
    ctx_rows = [list(x) for x in context_table(ctx)]
    suite = ctx.get("iobench_suite", "?")

    md = [f"# iobench report — suite `{suite}`", "",
          "Sequential, threaded and asynchronous I/O against one mock HTTP server whose delay is "
          "the slow network. Every number below was measured in this run; the charts are PNG "
          "(and SVG next to them).", ""]
    if notes:
        md += ["## What the numbers say", ""] + [f"- {n}" for n in notes] + [""]
    for ch in charts:
        md += [f"## {ch.title}", "", f"![{ch.title}]({ch.stem}.png)", "", ch.caption, ""]
    if claims:
        md += ["## The blog posts' claims", "",
               "Each claim's prediction comes from the ideal model (all at once: the slowest "
               "request; one after another: their sum); a claim holds for a model when its "
               f"measured makespan is within {CLAIM_TOLERANCE:.0%} of the prediction for how "
               "that model runs.", "",
               md_table(claims_header(claim_impls), [claims_cells(c, claim_impls) for c in claims]),
               ""]
    cs, _, gap = ceiling_rows(rows)
    gap_header = ["model"] + [f"C = {c}" for c in cs]
    if gap:
        md += ["## Gap to the ceiling", "",
               "Zero-delay throughput of each model as a fraction of wrk's (`wrk -t1 -cC`, the "
               "best load generator there is) at the same concurrency, against the same server in "
               "the same run; req/s in brackets. Sequential and py_sequential run at C = 1.", "",
               md_table(gap_header, gap), ""]
    md += ["## All results", "", md_table([h for h, _ in RESULT_COLUMNS], results), "",
           "## Machine and build", "", md_table(["", ""], ctx_rows), "",
           f"Source: `{source}`", ""]
    (out / "report.md").write_text("\n".join(md))

    css = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
           "color:#222}img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse;"
           "font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;"
           "text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
           "p.caption{color:#555;font-size:14px}li{margin:.4em 0}")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>iobench report — "
             f"{html.escape(suite)}</title><style>{css}</style></head><body>",
             f"<h1>iobench report — suite <code>{html.escape(suite)}</code></h1>",
             "<p>Sequential, threaded and asynchronous I/O against one mock HTTP server whose "
             "delay is the slow network. Every number below was measured in this run.</p>"]
    if notes:
        parts.append("<h2>What the numbers say</h2><ul>" +
                     "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    for ch in charts:
        parts.append(f"<h2>{html.escape(ch.title)}</h2><img src='{ch.stem}.svg' "
                     f"alt='{html.escape(ch.title)}'><p class='caption'>{html.escape(ch.caption)}</p>")
    if claims:
        parts.append("<h2>The blog posts' claims</h2>" + html_table(
            claims_header(claim_impls), [claims_cells(c, claim_impls) for c in claims]))
    if gap:
        parts.append("<h2>Gap to the ceiling</h2><p class='caption'>Zero-delay throughput of each "
                     "model as a fraction of wrk's at the same concurrency, same server, same run; "
                     "req/s in brackets.</p>" + html_table(gap_header, gap))
    parts.append("<h2>All results</h2>" + html_table([h for h, _ in RESULT_COLUMNS], results))
    parts.append("<h2>Machine and build</h2>" + html_table(["", ""], ctx_rows))
    parts.append(f"<p class='caption'>Source: {html.escape(str(source))}</p></body></html>")
    (out / "index.html").write_text("\n".join(parts))


CHARTS = [chart_headline, chart_throughput, chart_latency, chart_cost, chart_efficiency]

# The gate's metrics (scripts/compare.py), drawn over the runs in the history database.
HISTORY_METRICS = [("efficiency", "efficiency (delay > 0)", True),
                   ("speedup_vs_sequential", "speedup over sequential (delay > 0)", True),
                   ("req_per_s", "throughput, req/s (zero delay)", False)]


def short_name(name: str) -> str:
    g = NAME_RE.match(name)
    tail = "/close" if g["close"] else ""
    return f"{g['impl']} N{g['n']} L{g['l']} C{g['c']}{tail}"


def chart_history(db: Path, suite: str, out: Path) -> Chart | None:
    import compare  # noqa: E402  (same folder: the gate's own speedup definition)
    import history  # noqa: E402

    runs = history.runs(db, suite)
    if len(runs) < 2:
        return None
    for r in runs:
        compare.add_speedups(r["data"])
    fig, axes = plt.subplots(1, len(HISTORY_METRICS), figsize=(6 * len(HISTORY_METRICS), 4.8),
                             sharey=True)
    xs = list(range(len(runs)))
    seen_impls = set()
    for ax, (metric, title, delayed) in zip(axes, HISTORY_METRICS):
        names = sorted({n for r in runs for n, m in r["data"].items()
                        if metric in m and NAME_RE.match(n)
                        and (int(NAME_RE.match(n)["l"]) > 0) == delayed})
        for n in names:
            ys = [statistics.median(r["data"][n][metric]) if metric in r["data"].get(n, {})
                  else math.nan for r in runs]
            known = [y for y in ys if not math.isnan(y)]
            mid = statistics.median(known) if known else math.nan
            if not mid or math.isnan(mid):
                continue
            # Each benchmark against its own median over these runs: drift reads the same on
            # every line, whatever its absolute value.
            impl = NAME_RE.match(n)["impl"]
            seen_impls.add(impl)
            st = style(impl)
            st["linestyle"] = ":" if "/close" in n else "-"
            ax.plot(xs, [y / mid for y in ys], alpha=0.8, **st)
        ax.axhline(1.0, color="#555555", linewidth=0.8)
        ax.set_title(title)
        ax.set_xticks(xs, [f"{r['git_sha'][:7]}\n{r['date'][5:16]}" for r in runs],
                      fontsize=7, rotation=45, ha="right")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("value / that benchmark's median over these runs")
    handles = [matplotlib.lines.Line2D([], [], color=style(i)["color"], marker=style(i)["marker"],
                                       label=i) for i in ORDER if i in seen_impls]
    handles.append(matplotlib.lines.Line2D([], [], color="black", linestyle=":",
                                           label="connection per request"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8)
    fig.subplots_adjust(bottom=0.28)
    fig.suptitle(f"Gate metrics over {len(runs)} runs of suite '{suite}' (median of repetitions)")
    fig.savefig(out / "history.png", dpi=130)
    fig.savefig(out / "history.svg")
    plt.close(fig)
    return Chart("history", f"Gate metrics over time (suite {suite})",
                 "One point per scripts/bench.sh run recorded in the history database, oldest "
                 "left, labelled with its git sha and date; each line is one benchmark divided by "
                 "its own median over these runs, so 0.9 means 10% below its usual value. These "
                 "are the metrics the regression gate judges (scripts/compare.py).")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path, nargs="?",
                    help="Google Benchmark JSON written by build/bin/iobench")
    ap.add_argument("--out", type=Path, required=True, help="folder for charts and the report")
    ap.add_argument("--history", type=Path, help="history database (scripts/history.py)")
    ap.add_argument("--suite", help="with --history alone: which suite's runs (default ci)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    if args.results is None and args.history is None:
        print("report.py: give a results file, --history DB, or both (see --help)", file=sys.stderr)
        return 2
    ctx, rows = {}, []
    if args.results is not None:
        try:
            ctx, rows = load(args.results)
        except InputError as e:
            print(f"report.py: {e}", file=sys.stderr)
            return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"report.py: cannot create {args.out}: {e.strerror}", file=sys.stderr)
        return 2
    charts = [c for c in (make(rows, args.out) for make in CHARTS) if c is not None] if rows else []
    if args.history is not None:
        suite = args.suite or ctx.get("iobench_suite") or "ci"
        try:
            hist = chart_history(args.history, suite, args.out)
        except Exception as e:  # noqa: BLE001 - any unreadable database is bad input
            print(f"report.py: --history: {e}", file=sys.stderr)
            return 2
        if hist is None and not rows:
            print(f"report.py: --history: fewer than two runs of suite '{suite}' in {args.history}",
                  file=sys.stderr)
            return 2
        if hist is not None:
            charts.append(hist)
    if rows:
        write_report(ctx, rows, charts, args.out, args.results)
    else:
        write_history_page(charts, args.out, args.history)
    print(f"report.py: {len(rows)} benchmarks, {len(charts)} charts -> {args.out / 'index.html'}")
    return 0


def write_history_page(charts: list[Chart], out: Path, db: Path) -> None:
    md = ["# iobench history", ""]
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>iobench history</title>"
             "</head><body style='font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto'>",
             "<h1>iobench history</h1>"]
    for ch in charts:
        md += [f"## {ch.title}", "", f"![{ch.title}]({ch.stem}.png)", "", ch.caption, ""]
        parts.append(f"<h2>{html.escape(ch.title)}</h2><img style='max-width:100%' "
                     f"src='{ch.stem}.svg'><p>{html.escape(ch.caption)}</p>")
    md.append(f"Source: `{db}`")
    parts.append(f"<p>Source: {html.escape(str(db))}</p></body></html>")
    (out / "report.md").write_text("\n".join(md) + "\n")
    (out / "index.html").write_text("\n".join(parts))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
