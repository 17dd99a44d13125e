"""Report plots as PNG bytes.

Figures are built with matplotlib.figure.Figure, not pyplot: no global backend or
figure registry is touched, so this works headless and next to any other matplotlib
user in the same process, and a figure is freed as soon as it goes out of scope.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from heavylegs.analysis.flags import (
    BALANCE_NORMAL_PCT,
    BALANCE_POOR_PCT,
    Flag,
    Indicator,
)
from heavylegs.analysis.history import Week
from heavylegs.analysis.session import FootData
from heavylegs.report.summary import STRIKE_ORDER, FootSummary

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FOOT_COLOURS = {"left": "#1f77b4", "right": "#e66100"}
FLAG_COLOURS = {
    "contact_time": "#d62728",
    "asymmetry": "#5e3c99",
    "cadence": "#2c7fb8",
    "strike": "#8c510a",
    "variability": "#7f7f7f",
    "impact": "#e7298a",
}
# At least about 20 s of running, and 1% of the run for long runs: enough to smooth
# stride-to-stride scatter, short enough that a drift over a few minutes shows.
ROLLING_STRIDES = 31
# A line with more points than the plot has pixels only costs time.
_MAX_LINE_POINTS = 1000
_DPI = 100
# Past this many dots a scatter is a solid band and only costs drawing time (a
# 3-hour run has 16,000 strides per foot); the rolling median still uses every one.
_MAX_DOTS = 4000


def _thin(count: int) -> int:
    return max(1, -(-count // _MAX_DOTS))


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


def gct_png(data: FootData, marks: Marks | None = None) -> bytes:
    fig, ax = _figure(9, 3.2)
    colour = FOOT_COLOURS[data.foot]
    use = _running_or_all(data)
    minutes, gct = data.minutes[use], data.gct_ms[use]
    step = _thin(len(gct))
    label = "per stride" if step == 1 else f"every {step}th stride"
    ax.plot(minutes[::step], gct[::step], ".", ms=2.5, color=colour, alpha=0.35, label=label)
    ax.plot(*rolling_median(minutes, gct), color=_darker(colour), lw=1.8, label="rolling median")
    _robust_ylim(ax, gct, min_margin=10.0)
    _mark(ax, marks)
    ax.set_title(f"{data.foot.capitalize()} foot", loc="left")
    _label(ax, "contact time (ms)")
    _legend(ax, markerscale=3)
    return _png(fig)


def cadence_png(feet: Mapping[str, FootData], marks: Marks | None = None) -> bytes:
    fig, ax = _figure(9, 3.2)
    shown = []
    for foot, data in feet.items():
        colour = FOOT_COLOURS[foot]
        use = _running_or_all(data)
        minutes, cadence = data.minutes[use], data.cadence_spm[use]
        step = _thin(len(cadence))
        ax.plot(minutes[::step], cadence[::step], ".", ms=2, color=colour, alpha=0.2)
        ax.plot(*rolling_median(minutes, cadence), color=_darker(colour), lw=1.8, label=foot)
        shown.append(cadence)
    _robust_ylim(ax, np.concatenate(shown), min_margin=3.0)
    _mark(ax, marks)
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


@dataclass(frozen=True, slots=True)
class Marks:
    """What a time plot marks: the baseline window and the flags' onsets."""

    baseline: tuple[float, float] | None
    flags: tuple[Flag, ...]


def _mark(ax: Axes, marks: Marks | None) -> None:
    if marks is None:
        return
    if marks.baseline is not None:
        ax.axvspan(*marks.baseline, color="#2ca02c", alpha=0.12, lw=0, label="baseline")
    for flag in marks.flags:
        colour = FLAG_COLOURS.get(flag.kind, "#444444")
        ax.axvline(flag.onset_min, color=colour, ls="--", lw=1.4, label=f"onset: {flag.kind}")


def balance_png(t_min: np.ndarray, balance_pct: np.ndarray, marks: Marks | None = None) -> bytes:
    """Left share of contact time per bin, with Garmin's bands either side of 50%."""
    fig, ax = _figure(9, 3.0)
    ok = np.isfinite(balance_pct)
    ax.axhspan(100 - BALANCE_NORMAL_PCT, BALANCE_NORMAL_PCT, color="#888888", alpha=0.12, lw=0)
    for level in (BALANCE_POOR_PCT, 100 - BALANCE_POOR_PCT):
        ax.axhline(level, color="#b2182b", lw=0.8, ls=":")
    ax.plot(t_min[ok], balance_pct[ok], color="#5e3c99", lw=1.6, label="left share")
    _mark(ax, marks)
    values = balance_pct[ok] if ok.any() else np.array([50.0])
    low = min(float(np.min(values)), 100 - BALANCE_POOR_PCT) - 0.5
    high = max(float(np.max(values)), BALANCE_POOR_PCT) + 0.5
    ax.set_ylim(low, high)
    _label(ax, "left share of contact time (%)")
    _legend(ax)
    return _png(fig)


def drift_png(
    t_min: np.ndarray, indicators: Mapping[str, Indicator], flags: Sequence[Flag]
) -> bytes:
    """Every indicator's smoothed drift in multiples of its own threshold, on one axes.

    One scale for all: 1 is where a flag becomes possible, whatever the unit.
    """
    fig, ax = _figure(9, 3.4)
    fig.subplots_adjust(top=1 - 0.6 / 3.4)
    onsets = {f.kind: f.onset_min for f in flags}
    top = 1.6
    for kind, ind in indicators.items():
        colour = FLAG_COLOURS.get(kind, "#444444")
        scaled = ind.smoothed / ind.threshold
        flagged = kind in onsets
        ax.plot(
            t_min,
            scaled,
            color=colour,
            lw=2.0 if flagged else 1.0,
            alpha=1.0 if flagged else 0.6,
            label=_SHORT_NAMES[kind],
        )
        if flagged:
            ax.axvline(onsets[kind], color=colour, ls="--", lw=1.2)
        if np.isfinite(scaled).any():
            top = max(top, float(np.nanmax(scaled)) * 1.1)
    ax.axhline(1.0, color="#b2182b", lw=1.0, ls="--")
    ax.axhline(0.5, color="#b2182b", lw=0.6, ls=":")
    ax.axhline(0.0, color="#555555", lw=0.6)
    ax.set_ylim(-1.2, top)
    _label(ax, "drift / threshold")
    ax.legend(
        loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, fontsize="small", frameon=False
    )
    return _png(fig)


def trends_png(weeks: Sequence[Week]) -> bytes:
    """Running time per week, and contact time at a comparable pace over the weeks."""
    fig, ax = _figure(9, 3.2)
    fig.subplots_adjust(right=1 - 0.8 / 9)  # room for the second axis
    x = np.arange(len(weeks))
    ax.bar(x, [w.minutes for w in weeks], color="#9ecae1", label="running (min)")
    ax.set_ylabel("running per week (min)")
    ax.set_xticks(x, [w.start.strftime("%d %b") for w in weeks], fontsize="small")
    ax.set_xlabel("week starting")
    ax.grid(axis="y", alpha=0.3)
    gct = np.array([np.nan if w.gct_at_ref_ms is None else w.gct_at_ref_ms for w in weeks])
    twin = ax.twinx()
    twin.plot(x, gct, "o-", color="#d6604d", label="contact time at 170 steps/min")
    twin.set_ylabel("contact time (ms)")
    if np.isfinite(gct).any():
        mid = float(np.nanmedian(gct))
        spread = max(15.0, float(np.nanmax(np.abs(gct - mid))) * 1.3)
        twin.set_ylim(mid - spread, mid + spread)
    handles = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(
        handles[0] + more[0],
        handles[1] + more[1],
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=2,
        fontsize="small",
        frameon=False,
    )
    return _png(fig)


_SHORT_NAMES = {
    "contact_time": "contact time",
    "asymmetry": "asymmetry",
    "cadence": "cadence drop",
    "strike": "strike to heel",
    "variability": "variability",
    "impact": "impact",
}


def _figure(width_in: float, height_in: float) -> tuple[Figure, Axes]:
    # Imported here: matplotlib takes half a second to load, and every CLI command
    # (a refused one too) would pay it at start.
    from matplotlib.figure import Figure

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
