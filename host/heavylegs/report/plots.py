"""The run report's plots: a `*_figure` function builds each, `*_png` renders it
(shared sizes, legend and output in report.figure)."""

from __future__ import annotations

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
from heavylegs.analysis.session import FootData
from heavylegs.report.figure import (
    FONT_PT,
    WIDTH_IN,
    axis_labels,
    fonts,
    legend,
    new_figure,
    png,
    robust_limits,
)
from heavylegs.report.summary import STRIKE_ORDER, FootSummary
from heavylegs.report.terms import ordinal

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


def shared_gct_ylim(feet: Mapping[str, FootData]) -> tuple[float, float] | None:
    """One contact-time scale for both feet, so their plots compare at a glance."""
    values = [data.gct_ms[_running_or_all(data)] for data in feet.values() if len(data)]
    if not values:
        return None
    return robust_limits(np.concatenate(values), min_margin=10.0)


def gct_figure(
    data: FootData,
    marks: Marks | None = None,
    ylim: tuple[float, float] | None = None,
    at_earlier_pace: tuple[np.ndarray, np.ndarray] | None = None,
) -> Figure:
    """Contact time per stride and its typical value; with `at_earlier_pace` (minutes,
    ms), also the contact time the flag judges: what it would be at the baseline's
    pace, so a slowdown's share of the rise shows as the gap between the two lines."""
    fig, ax = new_figure(WIDTH_IN, 3.4)
    colour = FOOT_COLOURS[data.foot]
    use = _running_or_all(data)
    minutes, gct = data.minutes[use], data.gct_ms[use]
    step = _thin(len(gct))
    label = "each stride" if step == 1 else f"every {ordinal(step)} stride"
    ax.plot(minutes[::step], gct[::step], ".", ms=2.5, color=colour, alpha=0.35, label=label)
    ax.plot(*rolling_median(minutes, gct), color=_darker(colour), lw=2.0, label="typical")
    if at_earlier_pace is not None:
        ax.plot(*at_earlier_pace, color="black", ls=(0, (2, 1.5)), lw=1.6, label="at earlier pace")
    ax.set_ylim(*(ylim or robust_limits(gct, min_margin=10.0)))
    _mark(ax, marks)
    axis_labels(ax, "contact time (ms)")
    legend(fig, ax, title=f"{data.foot.capitalize()} foot", markerscale=3)
    return fig


def gct_png(
    data: FootData,
    marks: Marks | None = None,
    ylim: tuple[float, float] | None = None,
    at_earlier_pace: tuple[np.ndarray, np.ndarray] | None = None,
) -> bytes:
    return png(gct_figure(data, marks, ylim, at_earlier_pace))


# Left solid and drawn first, right dashed on top: where they overlap both still show.
FOOT_STYLES: dict[str, tuple[str | tuple[int, tuple[int, int]], float]] = {
    "left": ("-", 2.6),
    "right": ((0, (4, 2)), 1.8),
}


def cadence_figure(feet: Mapping[str, FootData], marks: Marks | None = None) -> Figure:
    fig, ax = new_figure(WIDTH_IN, 3.4)
    shown = []
    for foot, data in feet.items():
        colour = FOOT_COLOURS[foot]
        use = _running_or_all(data)
        minutes, cadence = data.minutes[use], data.cadence_spm[use]
        step = _thin(len(cadence))
        ax.plot(minutes[::step], cadence[::step], ".", ms=2, color=colour, alpha=0.15)
        ax.plot(
            *rolling_median(minutes, cadence),
            color=_darker(colour),
            label=foot,
            ls=FOOT_STYLES[foot][0],
            lw=FOOT_STYLES[foot][1],
        )
        shown.append(cadence)
    ax.set_ylim(*robust_limits(np.concatenate(shown), min_margin=3.0))
    _mark(ax, marks)
    axis_labels(ax, "cadence (steps/min)")
    legend(fig, ax)
    return fig


def cadence_png(feet: Mapping[str, FootData], marks: Marks | None = None) -> bytes:
    return png(cadence_figure(feet, marks))


def strike_figure(summaries: Mapping[str, FootSummary]) -> Figure:
    fig, ax = new_figure(WIDTH_IN, 3.0)
    shown = [
        n
        for n in STRIKE_ORDER
        if n != "unknown" or any(s.strike_fraction[n] for s in summaries.values())
    ]
    slots = np.arange(len(shown))
    width = 0.8 / max(1, len(summaries))
    for index, (foot, summary) in enumerate(summaries.items()):
        shares = [100 * summary.strike_fraction[name] for name in shown]
        ax.bar(
            slots + index * width,
            shares,
            width,
            color=FOOT_COLOURS[foot],
            hatch="//" if foot == "right" else None,
            edgecolor="white",
            label=foot,
        )
    ax.set_xticks(slots + width * (len(summaries) - 1) / 2, [_STRIKE_WORDS[n] for n in shown])
    ax.set_ylabel("landings (%)")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    legend(fig, ax)
    return fig


def strike_png(summaries: Mapping[str, FootSummary]) -> bytes:
    return png(strike_figure(summaries))


_STRIKE_WORDS = {"rearfoot": "heel", "midfoot": "flat", "forefoot": "ball", "unknown": "?"}


@dataclass(frozen=True, slots=True)
class Marks:
    """What a time plot marks: the baseline window and the flags' onsets."""

    baseline: tuple[float, float] | None
    flags: tuple[Flag, ...]


def _mark(ax: Axes, marks: Marks | None) -> None:
    if marks is None:
        return
    if marks.baseline is not None:
        ax.axvspan(*marks.baseline, color="#2ca02c", alpha=0.15, lw=0, label="baseline")
    for flag in marks.flags:
        colour = FLAG_COLOURS.get(flag.kind, "#444444")
        ax.axvline(
            flag.onset_min, color=colour, ls="--", lw=1.6, label=f"{_SHORT_NAMES[flag.kind]} flag"
        )


def balance_figure(
    t_min: np.ndarray, balance_pct: np.ndarray, marks: Marks | None = None
) -> Figure:
    """Left share of contact time per bin, with Garmin's bands either side of 50%."""
    fig, ax = new_figure(WIDTH_IN, 3.2)
    ok = np.isfinite(balance_pct)
    ax.axhspan(
        100 - BALANCE_NORMAL_PCT,
        BALANCE_NORMAL_PCT,
        color="#888888",
        alpha=0.15,
        lw=0,
        label="even",
    )
    for level in (BALANCE_POOR_PCT, 100 - BALANCE_POOR_PCT):
        ax.axhline(level, color="#b2182b", lw=1.0, ls=":")
    ax.plot(t_min[ok], balance_pct[ok], color="#5e3c99", lw=1.8, label="left share")
    _mark(ax, marks)
    values = balance_pct[ok] if ok.any() else np.array([50.0])
    low = min(float(np.min(values)), 100 - BALANCE_POOR_PCT) - 0.5
    high = max(float(np.max(values)), BALANCE_POOR_PCT) + 0.5
    ax.set_ylim(low, high)
    axis_labels(ax, "left share (%)")
    legend(fig, ax)
    return fig


def balance_png(t_min: np.ndarray, balance_pct: np.ndarray, marks: Marks | None = None) -> bytes:
    return png(balance_figure(t_min, balance_pct, marks))


def drift_figure(
    t_min: np.ndarray, indicators: Mapping[str, Indicator], flags: Sequence[Flag]
) -> Figure:
    """One small panel per indicator, on one scale: 1 is the level where a flag can start.

    Separate panels, not one crowded axes: six lines on top of each other read as none.
    """
    from matplotlib.figure import Figure

    kinds = list(indicators)
    columns = 2
    rows = -(-len(kinds) // columns)
    fig = Figure(figsize=(WIDTH_IN, 0.6 + 1.75 * rows))
    top_in, bottom_in = 0.3, 0.55
    fig.subplots_adjust(
        left=0.7 / WIDTH_IN,
        right=1 - 0.1 / WIDTH_IN,
        top=1 - top_in / fig.get_figheight(),
        bottom=bottom_in / fig.get_figheight(),
        hspace=0.55,
        wspace=0.12,
    )
    axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
    onsets = {f.kind: f.onset_min for f in flags}
    top = 1.6
    for ind in indicators.values():
        scaled = ind.smoothed / ind.threshold
        if np.isfinite(scaled).any():
            top = max(top, float(np.nanmax(scaled)) * 1.1)
    for ax, kind in zip(axes, kinds, strict=False):
        ind = indicators[kind]
        flagged = kind in onsets
        colour = FLAG_COLOURS.get(kind, "#444444") if flagged else "#555555"
        ax.axhspan(1.0, max(top, 1.6), color="#b2182b", alpha=0.08, lw=0)
        ax.axhline(1.0, color="#b2182b", lw=1.0, ls="--")
        ax.axhline(0.0, color="#999999", lw=0.8)
        ax.plot(t_min, ind.smoothed / ind.threshold, color=colour, lw=2.0)
        if flagged:
            ax.axvline(onsets[kind], color=colour, ls=":", lw=1.4)
            ax.annotate(
                f" from {onsets[kind]:.0f} min",
                (onsets[kind], 0.97),
                xycoords=("data", "axes fraction"),
                va="top",
                color=colour,
            )
        ax.set_title(_SHORT_NAMES[kind], loc="left", color=colour, pad=3, fontsize=FONT_PT)
        ax.grid(alpha=0.3)
    for ax in axes[len(kinds) :]:
        ax.set_visible(False)
    axes[0].set_ylim(-1.2, top)
    axes[0].set_yticks([0, 1], ["usual", "flag"])
    for ax in axes[-columns:]:
        ax.set_xlabel("minutes")
    fonts(fig)
    return fig


def drift_png(
    t_min: np.ndarray, indicators: Mapping[str, Indicator], flags: Sequence[Flag]
) -> bytes:
    return png(drift_figure(t_min, indicators, flags))


_SHORT_NAMES = {
    "contact_time": "contact time",
    "asymmetry": "asymmetry",
    "cadence": "cadence drop",
    "strike": "strike to heel",
    "variability": "variability",
    "impact": "impact",
}


def _running_or_all(data: FootData) -> np.ndarray:
    """Running strides; every stride for a foot that never ran, rather than no plot."""
    return data.running if data.running.any() else np.ones_like(data.running)


def _darker(colour: str) -> tuple[float, float, float]:
    rgb = tuple(int(colour[i : i + 2], 16) / 255 * 0.7 for i in (1, 3, 5))
    return rgb[0], rgb[1], rgb[2]
