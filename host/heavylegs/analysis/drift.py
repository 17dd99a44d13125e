"""When a departure from the baseline counts: the baseline window, the first lasting drift,
and a lasting slowdown dated like one.

A drift counts only if it lasts: it must hold for a while after crossing the
threshold, stay above half of it for most of the rest of the run, and still be
there at the end, since fatigue does not wear off before the run ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from heavylegs.analysis.flags import Detection, Slowdown
from heavylegs.analysis.indicators import rolling_nanmedian
from heavylegs.analysis.onset import fit_change, fit_onset

# a lasting slowdown worth saying out loud, in %
SLOWDOWN_MIN_PCT = 3.0


def baseline_window(
    t: np.ndarray,
    gct_norm: np.ndarray,
    log_cadence: np.ndarray,
    duration: float,
    baseline_min: tuple[float, float],
) -> tuple[float, float, float]:
    """(start, end, default start): the default window, moved later while the runner settles.

    Settling means contact time still falling or cadence still rising from one
    window to the next; a worsening trend (fatigue) never moves the baseline.
    """
    start, end = baseline_min
    length = end - start
    if duration < end + 2 * length:
        # a short run: the same shape, scaled to it
        start, length = 0.15 * duration, max(2.5, 0.25 * duration)
    default_start = start
    latest = min(start + 15.0, duration / 2 - length)

    def level(x: np.ndarray, a: float, b: float) -> float:
        sel = (t >= a) & (t < b) & np.isfinite(x)
        return float(np.median(x[sel])) if sel.sum() >= 3 else float("nan")

    while start + 0.5 <= latest:
        # against the next 15 minutes rather than the next window alone, so one
        # hill in a window does not look like settling
        later = (start + length, start + length + 15.0)
        gct_drop = level(gct_norm, start, start + length) - level(gct_norm, *later)
        cadence_rise = level(log_cadence, *later) - level(log_cadence, start, start + length)
        if not (gct_drop > 0.015 or cadence_rise > 0.01):
            break
        start += 0.5
    return start, start + length, default_start


@dataclass(frozen=True, slots=True)
class LastingRule:
    """What makes a drift last; the detector's parameters of the same names."""

    bin_min: float
    # a drift must last this long after crossing the threshold ...
    min_follow_min: float
    # ... and stay above half the threshold for this share of the rest of the run
    persistence: float

    def first_lasting(
        self, t: np.ndarray, d: np.ndarray, smoothed: np.ndarray, threshold: float, first: int
    ) -> Detection | None:
        """The first drift of `d` from bin `first` on that lasts, dated; None if none does."""
        finite = np.isfinite(smoothed)
        holds = finite & (smoothed > threshold / 2)
        # counts from each bin to the end of the run
        finite_after = np.cumsum(finite[::-1])[::-1]
        holds_after = np.cumsum(holds[::-1])[::-1]
        last_t = t[np.flatnonzero(finite)[-1]] if finite.any() else -np.inf
        for i in np.flatnonzero(finite & (smoothed > threshold)).tolist():
            if i < first or last_t - t[i] < self.min_follow_min:
                continue
            share = holds_after[i] / finite_after[i]
            if share < self.persistence:
                continue
            late = d[t >= last_t - 5.0]
            if not np.nanmedian(late) > threshold / 2:
                # back to the baseline by the end: a stretch at another pace (a tempo
                # block, say) the couplings did not quite explain; fatigue does not
                # wear off before the run ends
                return None
            fit = fit_change(t, d, first)
            if fit is None:
                return None
            onset, level, rise, model = fit
            # a drift that was there from the baseline's end on is a chance-low
            # baseline, not fatigue: the change itself must clear the threshold
            if rise < threshold:
                return None
            alarm = i
            if t[alarm] < onset:
                later = np.flatnonzero((t >= onset) & finite & (smoothed - level > threshold))
                alarm = int(later[0]) if len(later) else alarm
            # dated near the alarm, where later terrain cannot pull the fit around,
            # on the drift from the level the run held before it
            onset, model = fit_onset(
                t, d - level, first, alarm, min(len(t), alarm + int(3 / self.bin_min) + 1)
            )
            rest = d[alarm:]
            return Detection(
                alarm=int(alarm),
                onset_min=onset,
                size=float(np.nanmedian(rest) - level),
                late=float(np.nanmedian(late)),
                persistence=float(share),
                model=model,
            )
        return None


def lasting_slowdown(
    t: np.ndarray,
    lv: np.ndarray,
    gct_all: np.ndarray,
    gct_corrected: np.ndarray,
    base_of: Callable[[np.ndarray], float],
    *,
    baseline_end_min: float,
    smooth_bins: int,
    rule: LastingRule,
) -> Slowdown | None:
    """A lasting slowdown from the baseline pace, dated like a drift.

    `lv` is the log speed, `gct_all` the log contact time and `gct_corrected`
    contact time's deviation in % once pace is accounted for.
    """
    slowing = -100 * (lv - base_of(lv))
    if np.isfinite(slowing).sum() < 10:
        return None
    first = int(np.searchsorted(t, baseline_end_min))
    smoothed = rolling_nanmedian(slowing, smooth_bins)
    found = rule.first_lasting(t, slowing, smoothed, SLOWDOWN_MIN_PCT, first)
    if found is None:
        return None
    after = t >= found.onset_min
    speed_pct = float(100 * (1 - math.exp(-np.nanmedian(slowing[after]) / 100)))
    if speed_pct < SLOWDOWN_MIN_PCT:
        return None
    raw = float(100 * (math.exp(np.nanmedian(gct_all[after]) - base_of(gct_all)) - 1))
    corrected = float(100 * (math.exp(np.nanmedian(gct_corrected[after]) / 100) - 1))
    return Slowdown(round(found.onset_min, 1), speed_pct, raw, corrected)
