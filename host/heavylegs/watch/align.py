"""Place a watch activity on a run's clock: by the two clocks, then by cadence.

Watch and host clocks usually agree within a second or two, but a pod synced from
its journal, or a watch with a wrong time zone, can be minutes apart. Both devices
measured the same feet, so their cadence series rise and fall together (each stop,
walk break and surge): the lag that best correlates them is the clock difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heavylegs.watch.fit import WatchActivity

# How far apart the clocks may be for the cadence search.
MAX_LAG_S = 300.0
# Below this correlation the cadence series do not identify a lag: keep the clocks.
MIN_CORRELATION = 0.5
# Seconds of common cadence needed to judge a lag at all.
_MIN_OVERLAP_S = 120.0
# Gaps in either cadence series shorter than this are bridged (GPS dropouts, a
# second without a stride); longer ones are stops and stay out of the correlation.
_BRIDGE_S = 5.0


@dataclass(frozen=True, slots=True)
class Alignment:
    """run clock = watch clock + offset_s.

    `method` is "cadence" when the cadence correlation set the offset, "clock" when
    the clocks were trusted (no cadence in the watch file, or none that correlated).
    """

    offset_s: float
    correlation: float | None
    overlap_s: float
    method: str

    def describe(self) -> str:
        corr = (
            "no cadence to compare" if self.correlation is None else f"r = {self.correlation:.2f}"
        )
        how = (
            "by cadence correlation"
            if self.method == "cadence"
            else "by the clocks alone (cadence did not settle it)"
        )
        return (
            f"aligned {how}: offset {_signed(self.offset_s)} s (run clock = watch clock "
            f"{_signed(self.offset_s)} s), "
            f"{corr}, {self.overlap_s / 60:.1f} min in common"
        )


def _signed(x: float) -> str:
    return f"{x:+.1f}"


def overlap_s(activity: WatchActivity, run_start_s: float, run_end_s: float) -> float:
    """Seconds the watch activity and the run share by their own clocks."""
    return max(0.0, min(activity.end_s, run_end_s) - max(activity.start_s, run_start_s))


def pod_cadence_grid(
    stride_t_s: np.ndarray, cadence_spm: np.ndarray, grid_s: np.ndarray
) -> np.ndarray:
    """Pod cadence (steps/min) on a 1 s grid: the median of each second's strides, bridged
    over short gaps, NaN over longer ones."""
    out = np.full(len(grid_s), np.nan)
    ok = np.isfinite(stride_t_s) & np.isfinite(cadence_spm) & (cadence_spm > 0)
    t, c = stride_t_s[ok], cadence_spm[ok]
    if len(t) == 0:
        return out
    # each grid second takes the strides within half a second of it
    which = np.searchsorted(grid_s - 0.5, t, side="right") - 1
    inside = (which >= 0) & (which < len(grid_s))
    which, c = which[inside], c[inside]
    order = np.lexsort((c, which))
    which, c = which[order], c[order]
    bins, first, count = np.unique(which, return_index=True, return_counts=True)
    out[bins] = (c[first + (count - 1) // 2] + c[first + count // 2]) / 2
    return _bridge(grid_s, out)


def _bridge(grid_s: np.ndarray, values: np.ndarray) -> np.ndarray:
    known = np.flatnonzero(np.isfinite(values))
    if len(known) < 2:
        return values
    filled = np.interp(grid_s, grid_s[known], values[known])
    # distance of each grid point to the nearest known one on either side
    nxt = np.searchsorted(known, np.arange(len(grid_s)))
    prev_gap = grid_s - grid_s[known[np.maximum(nxt - 1, 0)]]
    next_gap = grid_s[known[np.minimum(nxt, len(known) - 1)]] - grid_s
    near = (np.abs(prev_gap) <= _BRIDGE_S) & (np.abs(next_gap) <= _BRIDGE_S)
    return np.where(np.isfinite(values) | near, filled, np.nan)


def align(
    activity: WatchActivity,
    stride_t_s: np.ndarray,
    stride_cadence_spm: np.ndarray,
    *,
    max_lag_s: float = MAX_LAG_S,
) -> Alignment:
    """The offset that puts the watch on the run's clock (run = watch + offset).

    `stride_t_s` are the run's strides on its own clock (unix s), with their cadence.
    """
    run_start, run_end = float(np.nanmin(stride_t_s)), float(np.nanmax(stride_t_s))
    common = overlap_s(activity, run_start, run_end)
    watch_grid = np.arange(np.floor(activity.start_s), activity.end_s + 1.0)
    known = np.isfinite(activity.cadence_spm)
    if known.sum() < _MIN_OVERLAP_S:
        return Alignment(0.0, None, common, "clock")
    watch = _bridge(
        watch_grid,
        np.interp(watch_grid, activity.t_s[known], activity.cadence_spm[known]),
    )
    # stretches the watch had no cadence for (longer than a bridge) stay unknown
    gaps = np.interp(watch_grid, activity.t_s[known], np.diff(activity.t_s[known], prepend=0.0))
    watch[gaps > _BRIDGE_S] = np.nan
    lags = np.arange(-np.floor(max_lag_s), np.floor(max_lag_s) + 1.0)
    pod_grid = np.arange(watch_grid[0] - lags[-1], watch_grid[-1] - lags[0] + 1.0)
    pod = pod_cadence_grid(stride_t_s, stride_cadence_spm, pod_grid)
    scores = np.array([_correlation(watch, pod, int(k)) for k in range(len(lags))])
    if not np.isfinite(scores).any():
        return Alignment(0.0, None, common, "clock")
    best = int(np.nanargmax(scores))
    peak = float(scores[best])
    if peak < MIN_CORRELATION:
        return Alignment(0.0, peak, common, "clock")
    lag = float(lags[best]) + _vertex(scores, best)
    shifted = overlap_s(activity, run_start - lag, run_end - lag)
    return Alignment(round(lag, 2), round(peak, 3), shifted, "cadence")


def _correlation(watch: np.ndarray, pod: np.ndarray, shift: int) -> float:
    """Pearson r of the watch series against the pod series `shift` grid steps on.

    pod[shift + i] is the pod's cadence at watch second i under lag lags[shift].
    """
    other = pod[shift : shift + len(watch)]
    ok = np.isfinite(watch) & np.isfinite(other)
    if ok.sum() < _MIN_OVERLAP_S:
        return float("nan")
    a, b = watch[ok] - watch[ok].mean(), other[ok] - other[ok].mean()
    denom = float(np.sqrt((a @ a) * (b @ b)))
    return float(a @ b) / denom if denom > 0 else float("nan")


def _vertex(scores: np.ndarray, best: int) -> float:
    """Sub-second refinement: the vertex of the parabola through the peak and its neighbours."""
    if best == 0 or best == len(scores) - 1:
        return 0.0
    left, mid, right = scores[best - 1], scores[best], scores[best + 1]
    if not (np.isfinite(left) and np.isfinite(right)):
        return 0.0
    curve = left - 2 * mid + right
    return float(np.clip(0.5 * (left - right) / curve, -0.5, 0.5)) if curve < 0 else 0.0
