"""Dating a drift: where it began, by fitting a ramp or a step to the deviation from the baseline."""

from __future__ import annotations

import numpy as np

# the pre-onset level of a drift is pulled towards the baseline with the weight of
# this many bins: a chance-low baseline cannot date an onset early, yet an onset
# just after the baseline keeps its level
_LEVEL_PRIOR_BINS = 6
# ramp lengths (minutes) tried for the onset fit; 0 is a step
_RAMP_MIN = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0)


def fit_change(t: np.ndarray, d: np.ndarray, lo: int) -> tuple[float, float, float, str] | None:
    """Where the drift began: a penalised change-point fit over the whole run after the baseline.

    The model is a level, then a rise over a ramp of some length (0: a step) to a
    plateau; every start bin and ramp length in `_RAMP_MIN` is tried. The level is
    free but pulled towards 0 (the baseline), so a chance-low baseline shows up as a
    level, not as an early onset, and the onset is where the change is, not where the
    deviation first crossed a line. Returns (onset, level, rise, model) or None.
    """
    sel = np.arange(lo, len(t))
    sel = sel[np.isfinite(d[sel])]
    if len(sel) < 6:
        return None
    tt, dd = t[sel], d[sel]
    # a change needs a few bins after it to be a change
    taus = tt[: max(1, len(tt) - 3)]
    ramps = np.asarray(_RAMP_MIN)
    lead = tt[None, None, :] - taus[None, :, None]  # (1, tau, time)
    width = np.maximum(ramps, 1e-9)[:, None, None]
    shape = np.where(
        ramps[:, None, None] > 0, np.clip(lead / width, 0.0, 1.0), (lead >= 0).astype(float)
    )  # (ramp, tau, time)
    n = len(dd) + _LEVEL_PRIOR_BINS
    sg = shape.sum(axis=2)
    sgg = (shape**2).sum(axis=2)
    sgd = shape @ dd
    sd = dd.sum()
    det = n * sgg - sg**2
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.where(det > 0, (sgg * sd - sg * sgd) / det, sd / n)
        rise = np.where(det > 0, (n * sgd - sg * sd) / det, 0.0)
    gain = np.where(rise > 0, level * sd + rise * sgd, -np.inf)
    if not np.isfinite(gain).any():
        return None
    r, k = np.unravel_index(int(np.argmax(gain)), gain.shape)
    model = "step" if ramps[r] == 0 else f"{ramps[r]:g}-minute ramp"
    return float(taus[k]), float(level[r, k]), float(rise[r, k]), model


def fit_onset(t: np.ndarray, d: np.ndarray, lo: int, alarm: int, hi: int) -> tuple[float, str]:
    """Where the drift began: the best of a ramp and a step starting at each bin in [lo, alarm].

    Fitted on the deviation from the end of the baseline to a little past the alarm,
    before a plateau or later terrain could pull the fit around.
    """
    sel = np.arange(lo, hi)
    sel = sel[np.isfinite(d[sel])]
    if len(sel) < 3:
        return float(t[alarm]), "threshold"
    tt, dd = t[sel], d[sel]
    taus = tt[tt <= t[alarm]]
    if len(taus) == 0:
        return float(t[alarm]), "threshold"
    ramp = np.maximum(tt[None, :] - taus[:, None], 0.0)
    rr = (ramp**2).sum(axis=1)
    rd = ramp @ dd
    ramp_gain = np.where(rr > 0, np.maximum(rd, 0) ** 2 / np.maximum(rr, 1e-12), 0.0)
    step = (tt[None, :] >= taus[:, None]).astype(float)
    ss = step.sum(axis=1)
    sd = step @ dd
    step_gain = np.where(ss > 0, np.maximum(sd, 0) ** 2 / np.maximum(ss, 1), 0.0)
    # equal parameter counts, so the larger reduction in squared error wins
    if ramp_gain.max() >= step_gain.max():
        # the ramp's start is where it leaves zero: half a bin before the bin centre
        return float(taus[np.argmax(ramp_gain)]), "ramp"
    return float(taus[np.argmax(step_gain)]), "step"
