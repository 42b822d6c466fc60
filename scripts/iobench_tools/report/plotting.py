"""matplotlib set up once: the style of each model, readable axes, the shared legend, save()."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

os.environ.setdefault("MPLCONFIGDIR", "/tmp/iobench-matplotlib")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from iobench_tools import results  # noqa: E402

MARKERS = ["o", "s", "D", "^", "v", "P", "X", "*", "<", ">", "h", "p"]
DPI = 130
IDEAL_COLOR = "#bbbbbb"      # the ideal models' dotted lines, kept out of the models' palette
REFERENCE_COLOR = "#555555"


@dataclasses.dataclass(frozen=True)
class Style:
    color: str
    marker: str
    linestyle: str

    def kw(self) -> dict:
        """Keyword arguments for Axes.plot."""
        return {"color": self.color, "marker": self.marker, "linestyle": self.linestyle}


def styles(models: list[results.Model]) -> dict[str, Style]:
    """One style per registry entry, by its position in the registry: colours from a qualitative
    colormap (tab10, or tab20 past ten entries), markers cycled, references dashed. A model keeps
    its style in every chart, and across runs of the same registry."""
    palette = matplotlib.colormaps["tab10" if len(models) <= 10 else "tab20"].colors
    return {m.name: Style(color=matplotlib.colors.to_hex(palette[i % len(palette)]),
                          marker=MARKERS[i % len(MARKERS)],
                          linestyle="--" if m.reference else "-")
            for i, m in enumerate(models)}


BOUND_LABEL = "hollow: server-bound (not judged)"


def series(ax, xs, ys, bound, style: Style, label: str) -> bool:
    """One model's line; the points where `bound` is true (server-bound) drawn hollow on top,
    so the curve stays whole and those points read as not the model's. Returns whether any
    point was hollow. A single point is a marker alone."""
    ax.plot(xs, ys, label=label, **style.kw())
    hollow = [(x, y) for x, y, b in zip(xs, ys, bound) if b]
    if hollow:
        hx, hy = zip(*hollow)
        ax.plot(hx, hy, linestyle="none", marker=style.marker, markersize=9,
                markerfacecolor="white", markeredgecolor=style.color, markeredgewidth=1.6,
                zorder=4)
    return bool(hollow)


def bound_handle() -> Line2D:
    """The legend entry for hollow (server-bound) points."""
    return Line2D([], [], linestyle="none", marker="o", markersize=8, markerfacecolor="white",
                  markeredgecolor=REFERENCE_COLOR, label=BOUND_LABEL)


def human(x: float, _pos=None) -> str:
    """Tick labels people read: 500, 2k, 40k, 1.5M."""
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            v = x / div
            return f"{v:.0f}{suffix}" if v >= 10 or v == int(v) else f"{v:.1f}{suffix}"
    return f"{x:g}"


def readable_axis(axis) -> None:
    """Human tick labels and no minor labels (log axes would otherwise label every minor tick)."""
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(human))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def figure(ncols: int, size: tuple[float, float], **kw):
    """A figure with one row of `ncols` axes (a list, even for one)."""
    fig, axes = plt.subplots(1, ncols, figsize=size, squeeze=False, **kw)
    return fig, list(axes[0])


def legend_below(fig, axes, handles=None, ncol: int = 6) -> float:
    """One legend for every panel, below them, so that no line hides behind it. Returns the
    fraction of the figure's height it needs (for save's `bottom`)."""
    if handles is None:
        seen = {}
        for ax in axes:
            for h, label in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(label, h)
        handles = [h for h in seen.values()]
        labels = list(seen)
    else:
        labels = [h.get_label() for h in handles]
    ncol = max(1, min(len(labels), ncol))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8)
    rows = -(-len(labels) // ncol)
    return min((0.15 + 0.2 * rows) / fig.get_figheight(), 0.4)  # inches per legend row


def save(fig, out: Path, stem: str, bottom: float = 0.0) -> None:
    """Lay out (leaving `bottom` of the height to a legend below), write PNG and SVG, close."""
    fig.tight_layout(rect=(0, bottom, 1, 1))
    for ext in ("png", "svg"):
        fig.savefig(out / f"{stem}.{ext}", dpi=DPI)
    plt.close(fig)
