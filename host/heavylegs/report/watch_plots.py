"""The report's watch section: pace, elevation and heart rate over the run, beside
contact time, from a merged watch activity (`heavylegs merge`)."""

from __future__ import annotations

from html import escape

import numpy as np

from heavylegs.analysis.cardiac import cardiac_drift
from heavylegs.analysis.indicators import combine_feet
from heavylegs.analysis.run import RunAnalysis
from heavylegs.analysis.watch_track import WatchTrack
from heavylegs.report.figure import FONT_PT, WIDTH_IN, axis_labels, fonts, new_figure, png
from heavylegs.report.page import img, section
from heavylegs.report.page import plots as plot_grid


def watch_section(analysis: RunAnalysis) -> str | None:
    """The section's HTML, or None when the run holds no watch activity."""
    track = analysis.session.watch
    if track is None or len(track.t_min) == 0:
        return None
    det = analysis.detector
    gct = None
    if det.bins_ is not None and det.bins_.feet:
        gct = combine_feet([fb.gct_ms for fb in det.bins_.feet.values()])
    picture = watch_png(track, det.t_min, gct)
    alt = "Pace and elevation, heart rate and contact time over the run, from the watch"
    drift = cardiac_drift(det)
    note = (
        f"From {escape(track.source)}, aligned with the pods "
        + (
            f"by cadence (offset {track.offset_s:+.1f} s, r = {track.correlation:.2f})."
            if track.correlation is not None
            else f"by the clocks (offset {track.offset_s:+.1f} s)."
        )
        + " Contact time is judged at the watch's GPS pace"
        + (" and the grade from its elevation." if track.has_grade else ".")
    )
    parts = [plot_grid(img(picture, "watch", alt)), f'<p class="note">{note}</p>']
    if drift is not None:
        parts.append(f'<p data-watch="cardiac">{escape(drift.text)}</p>')
    elif np.isfinite(track.heart_rate_bpm).any():
        parts.append(
            f'<p data-watch="cardiac">Heart rate {np.nanmedian(track.heart_rate_bpm):.0f} bpm '
            "(median); too little running at the baseline's pace later on to judge "
            "cardiac drift.</p>"
        )
    return section("watch", "Pace and heart rate (watch)", *parts)


def watch_png(track: WatchTrack, t_min: np.ndarray, gct_ms: np.ndarray | None) -> bytes:
    """Two panels on the run's minutes: pace with elevation, heart rate with contact time."""
    # two stacked panels, each with a second axis on the right: margins for both labels
    fig, pace_ax = new_figure(WIDTH_IN, 6.0)
    left, right = 0.85 / WIDTH_IN, 1 - 0.85 / WIDTH_IN
    pace_ax.set_position((left, 0.6, right - left, 0.32))
    hr_ax = fig.add_axes((left, 0.1, right - left, 0.32), sharex=pace_ax)
    with np.errstate(divide="ignore", invalid="ignore"):
        pace = np.where(track.speed_mps > 1.0, 1000 / 60 / track.speed_mps, np.nan)
    pace_ax.plot(track.t_min, _smooth(pace), color="#0b5394", lw=1.0, label="pace")
    pace_ax.invert_yaxis()
    pace_ax.set_ylabel("pace (min/km)")
    pace_ax.grid(alpha=0.3)
    if np.isfinite(track.altitude_m).any():
        elevation = pace_ax.twinx()
        elevation.fill_between(
            track.t_min, track.altitude_m, np.nanmin(track.altitude_m), color="#999", alpha=0.25
        )
        elevation.set_ylabel("elevation (m)")
    hr_ax.plot(track.t_min, track.heart_rate_bpm, color="#c0392b", lw=1.0)
    axis_labels(hr_ax, "heart rate (bpm)")
    if gct_ms is not None and np.isfinite(gct_ms).any():
        contact = hr_ax.twinx()
        contact.plot(t_min, gct_ms, color="#333", lw=1.2, marker=".", ms=3)
        contact.set_ylabel("contact time (ms)")
    for ax in (pace_ax, hr_ax):
        for start, _end in track.laps[1:]:
            ax.axvline(start, color="#888", lw=0.8, ls=":")
    pace_ax.set_title("Pace (blue), elevation (grey)", fontsize=FONT_PT)
    hr_ax.set_title("Heart rate (red), contact time (black)", fontsize=FONT_PT)
    fonts(fig)
    return png(fig)


def _smooth(values: np.ndarray, window: int = 15) -> np.ndarray:
    """A centred 15-sample mean: GPS pace jitters second to second."""
    ok = np.isfinite(values)
    if ok.sum() < window:
        return values
    filled = np.where(ok, values, 0.0)
    kernel = np.ones(window)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.convolve(filled, kernel, "same") / np.convolve(ok.astype(float), kernel, "same")
    out[~ok] = np.nan
    return out
