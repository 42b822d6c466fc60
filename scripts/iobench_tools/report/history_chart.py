"""The gate's metrics over the runs recorded in the history database (scripts/history.py)."""
from __future__ import annotations

import math
import statistics
from pathlib import Path

import matplotlib.lines

from iobench_tools import history, results
from iobench_tools.gate.samples import add_speedups

from .document import Figure
from .plotting import REFERENCE_COLOR, figure, legend_below, save, styles

# The gate's metrics (scripts/compare.py): name, panel title, judged on delayed benchmarks.
HISTORY_METRICS = [("efficiency", "efficiency (delay > 0)", True),
                   ("speedup_vs_sequential", "speedup over {baseline} (delay > 0)", True),
                   ("req_per_s", "throughput, req/s (zero delay)", False)]


def registry(runs: list[dict]) -> list[results.Model]:
    """The newest run's registry, completed with the models only older runs had."""
    names = [g["impl"] for r in reversed(runs) for g in map(results.NAME_RE.match, r["data"]) if g]
    return results.complete(runs[-1]["models"], names)


def chart_history(db: Path, suite: str, out: Path) -> Figure | None:
    runs = history.runs(db, suite)
    if len(runs) < 2:
        return None
    for r in runs:
        add_speedups(r["data"], results.baseline(r["models"]))
    models = registry(runs)
    st = styles(models)
    fig, axes = figure(len(HISTORY_METRICS), (6 * len(HISTORY_METRICS), 5.2), sharey=True)
    xs = list(range(len(runs)))
    seen = set()
    for ax, (metric, title, delayed) in zip(axes, HISTORY_METRICS):
        names = sorted({n for r in runs for n, m in r["data"].items()
                        if metric in m and results.NAME_RE.match(n)
                        and (int(results.NAME_RE.match(n)["l"]) > 0) == delayed})
        for n in names:
            ys = [statistics.median(r["data"][n][metric]) if metric in r["data"].get(n, {})
                  else math.nan for r in runs]
            known = [y for y in ys if not math.isnan(y)]
            mid = statistics.median(known) if known else math.nan
            if not mid or math.isnan(mid):
                continue
            # Each benchmark against its own median over these runs: drift reads the same on
            # every line, whatever its absolute value.
            impl = results.NAME_RE.match(n)["impl"]
            seen.add(impl)
            kw = st[impl].kw()
            kw["linestyle"] = ":" if n.endswith("/close") else "-"
            ax.plot(xs, [y / mid for y in ys], alpha=0.8, **kw)
        ax.axhline(1.0, color=REFERENCE_COLOR, linewidth=0.8)
        ax.set_title(title.format(baseline=results.baseline(models) or "the baseline"))
        ax.set_xticks(xs, [f"{r['git_sha'][:7]}\n{r['date'][5:16]}" for r in runs],
                      fontsize=7, rotation=45, ha="right")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("value / that benchmark's median over these runs")
    handles = [matplotlib.lines.Line2D([], [], color=st[m.name].color, marker=st[m.name].marker,
                                       label=m.name) for m in models if m.name in seen]
    handles.append(matplotlib.lines.Line2D([], [], color="black", linestyle=":",
                                           label="connection per request"))
    fig.suptitle(f"Gate metrics over {len(runs)} runs of suite '{suite}' (median of repetitions)")
    save(fig, out, "history", bottom=legend_below(fig, axes, handles, ncol=len(handles)))
    return Figure("history", f"Gate metrics over time (suite {suite})",
                  "One point per scripts/bench.sh run recorded in the history database, oldest "
                  "left, labelled with its git sha and date; each line is one benchmark divided "
                  "by its own median over these runs, so 0.9 means 10% below its usual value. "
                  "These are the metrics the regression gate judges (scripts/compare.py).",
                  sorted(seen, key=[m.name for m in models].index))
