"""Plots across runs: weekly running time, each indicator week by week, and load."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from heavylegs.analysis.history import Week
from heavylegs.report.figure import FONT_PT, WIDTH_IN, fonts, legend, new_figure, png, thin_ticks

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One calendar week of runs: load, and each indicator's weekly median."""

    start: date
    runs: int
    minutes: float
    km: float | None
    load_ratio: float | None  # this week's minutes over the mean of the 4 weeks to it
    values: dict[str, float | None]  # indicator key -> weekly median


# (key, label with unit): contact time and impact at a comparable pace, the rest as run
INDICATORS = (
    ("gct", "contact time* (ms)"),
    ("cadence", "cadence (steps/min)"),
    ("balance", "balance (% left)"),
    ("strike", "strike angle (°)"),
    ("impact", "impact* (g)"),
)


def _minutes_per_week(
    weeks: Sequence[Week] | Sequence[WeekFigures],
) -> tuple[Figure, Axes, np.ndarray]:
    """Bars of minutes run per week, with room on the right for a second axis."""
    fig, ax = new_figure(WIDTH_IN, 3.4)
    fig.subplots_adjust(right=1 - 0.75 / WIDTH_IN)  # room for the second axis
    x = np.arange(len(weeks))
    ax.bar(x, [w.minutes for w in weeks], color="#9ecae1", label="minutes run")
    ax.set_ylabel("minutes per week")
    ax.set_xticks(x, [w.start.strftime("%d %b") for w in weeks])
    thin_ticks(ax, len(weeks))
    ax.set_xlabel("week starting")
    ax.grid(axis="y", alpha=0.3)
    return fig, ax, x


def trends_figure(weeks: Sequence[Week]) -> Figure:
    """Running time per week, and contact time at a comparable pace over the weeks."""
    fig, ax, x = _minutes_per_week(weeks)
    gct = np.array([np.nan if w.gct_at_ref_ms is None else w.gct_at_ref_ms for w in weeks])
    twin = ax.twinx()
    twin.plot(x, gct, "o-", color="#d6604d", label="contact time*")
    twin.set_ylabel("contact time (ms)")
    if np.isfinite(gct).any():
        mid = float(np.nanmedian(gct))
        spread = max(15.0, float(np.nanmax(np.abs(gct - mid))) * 1.3)
        twin.set_ylim(mid - spread, mid + spread)
    legend(fig, ax, extra=twin)
    return fig


def trends_png(weeks: Sequence[Week]) -> bytes:
    return png(trends_figure(weeks))


def indicators_figure(weeks: Sequence[WeekFigures]) -> Figure:
    """One small panel per indicator, a point per week: a slow drift over weeks shows."""
    from matplotlib.figure import Figure

    shown = [
        (key, label)
        for key, label in INDICATORS
        if any(w.values.get(key) is not None for w in weeks)
    ]
    rows = max(1, len(shown))
    fig = Figure(figsize=(WIDTH_IN, 0.5 + 1.55 * rows))
    height = fig.get_figheight()
    fig.subplots_adjust(
        left=0.8 / WIDTH_IN,
        right=1 - 0.15 / WIDTH_IN,
        top=1 - 0.35 / height,
        bottom=0.55 / height,
        hspace=0.55,
    )
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False).ravel()
    x = np.arange(len(weeks))
    for ax, (key, label) in zip(axes, shown, strict=False):
        y = np.array([np.nan if w.values.get(key) is None else w.values[key] for w in weeks])
        ax.plot(x, y, "o-", color="#3b6ea5", lw=1.8, ms=5)
        ax.set_title(label, loc="left", pad=2, fontsize=FONT_PT)
        ax.grid(alpha=0.3)
        if np.isfinite(y).any():
            mid = float(np.nanmedian(y))
            spread = max(float(np.nanmax(np.abs(y - mid))) * 1.3, 0.02 * abs(mid), 0.5)
            ax.set_ylim(mid - spread, mid + spread)
    axes[-1].set_xticks(x, [w.start.strftime("%d %b") for w in weeks])
    thin_ticks(axes[-1], len(weeks))
    axes[-1].set_xlabel("week starting")
    fonts(fig)
    return fig


def indicators_png(weeks: Sequence[WeekFigures]) -> bytes:
    return png(indicators_figure(weeks))


def load_figure(weeks: Sequence[WeekFigures]) -> Figure:
    """Minutes run per week, with this week against the four weeks to it."""
    fig, ax, x = _minutes_per_week(weeks)
    ratio = np.array([np.nan if w.load_ratio is None else w.load_ratio for w in weeks])
    twin = ax.twinx()
    twin.axhspan(0.8, 1.3, color="#2ca02c", alpha=0.1, lw=0, label="steady build")
    twin.plot(x, ratio, "s-", color="#b2182b", label="week ÷ usual")
    twin.set_ylabel("week ÷ usual week")
    top = float(np.nanmax(ratio)) if np.isfinite(ratio).any() else 1.5
    twin.set_ylim(0, max(2.0, top * 1.15))
    legend(fig, ax, extra=twin)
    return fig


def load_png(weeks: Sequence[WeekFigures]) -> bytes:
    return png(load_figure(weeks))
