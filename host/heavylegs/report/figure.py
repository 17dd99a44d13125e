"""What every report plot shares: size, text size, margins, legend, PNG output.

Figures are built with matplotlib.figure.Figure, not pyplot: no global backend or
figure registry is touched, so this works headless and next to any other matplotlib
user in the same process, and a figure is freed as soon as it goes out of scope.
A new plot module builds on new_figure, axis_labels, legend and png.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Plots are drawn WIDTH_IN wide with no text under FONT_PT: shown 358 CSS px wide (a
# 390 px phone less the page margins) that is 11/72/5 x 358 = 10.9 px of text.
# Twice the pixels of that width keep them sharp on a phone's dense screen.
WIDTH_IN = 5.0
FONT_PT = 11.0
LEGEND_COLUMNS = 3
DPI = 144


def new_figure(width_in: float, height_in: float) -> tuple[Figure, Axes]:
    # Imported here: matplotlib takes half a second to load, and every CLI command
    # (a refused one too) would pay it at start.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in))
    # Fixed margins, not a layout engine: constrained layout measures every artist
    # and makes savefig draw twice, which tripled the time for 16,000-point plots.
    # The top margin holds the legend (see legend).
    fig.subplots_adjust(
        left=0.8 / width_in,
        right=1 - 0.15 / width_in,
        bottom=0.6 / height_in,
        top=1 - 0.75 / height_in,
    )
    return fig, fig.add_subplot()


def axis_labels(ax: Axes, ylabel: str) -> None:
    ax.set_xlabel("minutes from the start")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def legend(
    fig: Figure,
    ax: Axes,
    title: str | None = None,
    markerscale: float = 1.0,
    extra: Axes | None = None,
) -> None:
    """The legend in the figure's top margin, in rows of LEGEND_COLUMNS, never over strides.

    The margin is fixed (see new_figure) and holds two rows; a plot that needs more
    makes its figure taller rather than clipping the legend.
    """
    handles, labels = ax.get_legend_handles_labels()
    if extra is not None:
        more = extra.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    # as many columns as the longest label allows (a character is about 0.6 em wide)
    longest = max((len(label) for label in labels), default=0) * 0.6 * FONT_PT + 45
    columns = max(1, min(LEGEND_COLUMNS, int(fig.get_figwidth() * 72 // longest)))
    rows = -(-len(labels) // columns)
    if rows > 2:
        grow = (rows - 2) * 0.25
        height = fig.get_figheight()
        top_in = (1 - fig.subplotpars.top) * height + grow
        fig.set_figheight(height + grow)
        bottom_in = fig.subplotpars.bottom * height
        fig.subplots_adjust(top=1 - top_in / (height + grow), bottom=bottom_in / (height + grow))
    fig.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(0.0, 1.0),
        ncols=columns,
        markerscale=markerscale,
        frameon=False,
        title=title,
        alignment="left",
        borderaxespad=0.2,
        handlelength=1.6,
        columnspacing=1.0,
    )
    fonts(fig)


def fonts(fig: Figure) -> None:
    """Every text at FONT_PT or more: at a phone's width it still reads (see FONT_PT).

    Walks the axes and legends, not every artist: fig.findobj visits each tick of
    each axis and cost a third of a second per report.
    """
    texts = []
    for ax in fig.axes:
        ax.tick_params(labelsize=FONT_PT)
        texts += [ax.xaxis.label, ax.yaxis.label, *ax.texts]
        texts += [ax.xaxis.get_offset_text(), ax.yaxis.get_offset_text()]
        # titles are set at FONT_PT where they are made (set_title(..., fontsize=FONT_PT))
        texts.append(ax.title)
        own = ax.get_legend()
        if own is not None:
            texts += [*own.get_texts(), own.get_title()]
    for legend_ in fig.legends:
        texts += [*legend_.get_texts(), legend_.get_title()]
    for text in texts:
        if float(text.get_fontsize()) < FONT_PT:
            text.set_fontsize(FONT_PT)


def thin_ticks(ax: Axes, count: int) -> None:
    # at FONT_PT four dates fit side by side under a plot WIDTH_IN wide with two y axes
    every = max(1, -(-count // 4))
    for index, label in enumerate(ax.get_xticklabels()):
        label.set_visible(index % every == 0)


def robust_limits(values: np.ndarray, min_margin: float) -> tuple[float, float]:
    # Percentile limits keep a few misdetected strides from flattening the trend.
    low, high = np.percentile(values, [0.5, 99.5])
    margin = max(min_margin, 0.1 * (high - low))
    return float(low - margin), float(high + margin)


def text_px(png: bytes) -> float:
    """The smallest text in a plot as a share of its width, for a page to check at any
    width: the PNG header holds the width in pixels."""
    width = int.from_bytes(png[16:20], "big")
    return FONT_PT / 72 * DPI / width


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
