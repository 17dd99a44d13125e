"""Report plots as PNG bytes.

Figures are built with matplotlib.figure.Figure, not pyplot: no global backend or
figure registry is touched, so this works headless and next to any other matplotlib
user in the same process, and a figure is freed as soon as it goes out of scope.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.lib.stride_tricks import sliding_window_view

from heavylegs.report.summary import STRIKE_ORDER, FootData, FootSummary

FOOT_COLOURS = {"left": "#1f77b4", "right": "#e66100"}
# At least about 20 s of running, and 1% of the run for long runs: enough to smooth
# stride-to-stride scatter, short enough that a drift over a few minutes shows.
ROLLING_STRIDES = 31
# A line with more points than the plot has pixels only costs time.
_MAX_LINE_POINTS = 1000
_DPI = 100


def rolling_median(
    minutes: np.ndarray, values: np.ndarray, window: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Centred running median over `window` strides (by default scaled to the run).

    The ends, which lack a full window, are dropped; long series are evaluated at
    about _MAX_LINE_POINTS evenly spaced centres.
    """
    count = len(values)
    if window is None:
        window = max(ROLLING_STRIDES, count // 100)
    window = min(window, count)
    if window % 2 == 0:
        window -= 1
    if window < 1:
        return minutes[:0], values[:0]
    step = max(1, (count - window + 1) // _MAX_LINE_POINTS)
    medians = np.median(sliding_window_view(values, window)[::step], axis=1)
    half = window // 2
    return minutes[half : count - half : step], medians


def gct_png(data: FootData) -> bytes:
    fig, ax = _figure(9, 3.2)
    colour = FOOT_COLOURS[data.foot]
    use = _running_or_all(data)
    minutes, gct = data.minutes[use], data.gct_ms[use]
    ax.plot(minutes, gct, ".", ms=2.5, color=colour, alpha=0.35, label="per stride")
    ax.plot(*rolling_median(minutes, gct), color=_darker(colour), lw=1.8, label="rolling median")
    _robust_ylim(ax, gct, min_margin=10.0)
    ax.set_title(f"{data.foot.capitalize()} foot", loc="left")
    _label(ax, "contact time (ms)")
    _legend(ax, markerscale=3)
    return _png(fig)


def cadence_png(feet: Mapping[str, FootData]) -> bytes:
    fig, ax = _figure(9, 3.2)
    shown = []
    for foot, data in feet.items():
        colour = FOOT_COLOURS[foot]
        use = _running_or_all(data)
        minutes, cadence = data.minutes[use], data.cadence_spm[use]
        ax.plot(minutes, cadence, ".", ms=2, color=colour, alpha=0.2)
        ax.plot(*rolling_median(minutes, cadence), color=_darker(colour), lw=1.8, label=foot)
        shown.append(cadence)
    _robust_ylim(ax, np.concatenate(shown), min_margin=3.0)
    _label(ax, "cadence (steps/min)")
    _legend(ax)
    return _png(fig)


def strike_png(summaries: Mapping[str, FootSummary]) -> bytes:
    fig, ax = _figure(6, 3)
    slots = np.arange(len(STRIKE_ORDER))
    width = 0.8 / max(1, len(summaries))
    for index, (foot, summary) in enumerate(summaries.items()):
        shares = [100 * summary.strike_fraction[name] for name in STRIKE_ORDER]
        ax.bar(slots + index * width, shares, width, color=FOOT_COLOURS[foot], label=foot)
    ax.set_xticks(slots + width * (len(summaries) - 1) / 2, STRIKE_ORDER)
    ax.set_ylabel("strides (%)")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    _legend(ax)
    return _png(fig)


def _figure(width_in: float, height_in: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width_in, height_in))
    # Fixed margins, not a layout engine: constrained layout measures every artist
    # and makes savefig draw twice, which tripled the time for 16,000-point plots.
    fig.subplots_adjust(
        left=0.75 / width_in,
        right=1 - 0.2 / width_in,
        bottom=0.5 / height_in,
        top=1 - 0.35 / height_in,
    )
    return fig, fig.add_subplot()


def _label(ax: Axes, ylabel: str) -> None:
    ax.set_xlabel("minutes from first stride")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def _legend(ax: Axes, markerscale: float = 1.0) -> None:
    # Above the plot area, right of the title, so it never hides strides.
    ax.legend(
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=4,
        fontsize="small",
        markerscale=markerscale,
        frameon=False,
        borderaxespad=0.2,
    )


def _robust_ylim(ax: Axes, values: np.ndarray, min_margin: float) -> None:
    # Percentile limits keep a few misdetected strides from flattening the trend.
    low, high = np.percentile(values, [0.5, 99.5])
    margin = max(min_margin, 0.1 * (high - low))
    ax.set_ylim(low - margin, high + margin)


def _running_or_all(data: FootData) -> np.ndarray:
    """Running strides; every stride for a foot that never ran, rather than no plot."""
    return data.running if data.running.any() else np.ones_like(data.running)


def _darker(colour: str) -> tuple[float, float, float]:
    rgb = tuple(int(colour[i : i + 2], 16) / 255 * 0.7 for i in (1, 3, 5))
    return rgb[0], rgb[1], rgb[2]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()
