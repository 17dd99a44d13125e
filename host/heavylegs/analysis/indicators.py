"""Rolling indicators of one run: per-foot medians in fixed time bins, and pace couplings.

Everything downstream works on bins (30 s by default) rather than strides: a bin's
median shrugs off misdetected strides, a 3-hour run becomes a few hundred points,
and both feet line up on the same bins for the left/right balance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from heavylegs.analysis.session import FootData, Session

# A stop or walk longer than this breaks the running; the strides right after it
# are the runner accelerating again, not their running form.
_GAP_S = 3.0
_RESUME_S = 12.0
# A bin needs this many running strides of a foot to count: a quarter of a normal bin.
_MIN_STRIDES = 8
# Speed counts as known in a bin when most of its strides carry a length.
_SPEED_KNOWN_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class FootBins:
    """Per-bin medians of one foot; NaN where the bin had too few running strides."""

    count: np.ndarray
    gct_ms: np.ndarray
    stride_ms: np.ndarray
    cadence_spm: np.ndarray
    strike_deg: np.ndarray
    impact_g: np.ndarray
    speed_mps: np.ndarray
    # stride-to-stride variability: SD of successive stride-time differences / sqrt 2,
    # relative to the median stride time, in %; slow pace drifts do not enter it
    stride_cv_pct: np.ndarray
    rearfoot_share: np.ndarray
    # from a merged watch activity (None without one): context, not pod measures
    grade_pct: np.ndarray | None = None
    heart_rate_bpm: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Bins:
    bin_min: float
    t_min: np.ndarray  # bin centres
    feet: dict[str, FootBins]

    def __len__(self) -> int:
        return len(self.t_min)


def bin_session(session: Session, bin_min: float = 0.5) -> Bins:
    if bin_min <= 0:
        raise ValueError(f"bin length must be positive, got {bin_min} min")
    count = max(1, int(np.ceil(session.duration_min / bin_min + 1e-9)))
    t = (np.arange(count) + 0.5) * bin_min
    feet = {foot: _bin_foot(data, count, bin_min) for foot, data in session.feet.items()}
    return Bins(bin_min=bin_min, t_min=t, feet=feet)


def usable_strides(data: FootData) -> np.ndarray:
    """Running strides with sane values, minus those just after a stop or walk."""
    use = data.running & (data.gct_ms > 0) & (data.stride_ms > 0) & (data.cadence_spm > 0)
    idx = np.flatnonzero(use)
    if len(idx) < 2:
        return use
    t = data.minutes[idx]
    restart = np.concatenate(([False], np.diff(t) * 60 > _GAP_S))
    # the first stride of the run also "restarts", but settling from a standing
    # start is the warm-up's business, not a stop's
    starts = t[restart]
    if len(starts):
        last = np.searchsorted(starts, t, side="right") - 1
        since = np.where(last >= 0, (t - starts[np.maximum(last, 0)]) * 60, np.inf)
        use[idx[since < _RESUME_S]] = False
    return use


def _bin_foot(data: FootData, count: int, bin_min: float) -> FootBins:
    use = usable_strides(data)
    idx = np.flatnonzero(use)
    which = np.minimum((data.minutes[idx] / bin_min).astype(np.int64), count - 1)
    n = np.bincount(which, minlength=count)
    full = n >= _MIN_STRIDES

    def medians(values: np.ndarray) -> np.ndarray:
        """Median per bin with one sort: order by (bin, value), take the middle."""
        out = np.full(count, np.nan)
        ok = np.isfinite(values)
        bins, vals = which[ok], values[ok]
        if len(vals) == 0:
            return out
        order = np.lexsort((vals, bins))
        ordered = vals[order]
        have = np.bincount(bins, minlength=count)
        starts = np.concatenate(([0], np.cumsum(have)[:-1]))
        some = have > 0
        lo = starts[some] + (have[some] - 1) // 2
        hi = starts[some] + have[some] // 2
        out[some] = (ordered[lo] + ordered[hi]) / 2
        # a bin where most strides lack the value has no median of it
        out[have < np.maximum(_MIN_STRIDES, _SPEED_KNOWN_SHARE * n)] = np.nan
        return out

    stride = data.stride_ms[idx]
    out = {
        "gct_ms": medians(data.gct_ms[idx]),
        "stride_ms": medians(stride),
        "cadence_spm": medians(data.cadence_spm[idx]),
        "strike_deg": medians(data.strike_deg[idx]),
        "impact_g": medians(data.impact_g[idx]),
        "speed_mps": medians(data.speed_mps[idx]),
    }
    if data.grade_pct is not None and data.heart_rate_bpm is not None:
        out["grade_pct"] = medians(data.grade_pct[idx])
        out["heart_rate_bpm"] = medians(data.heart_rate_bpm[idx])
    rear = np.bincount(which, weights=(data.strike_class[idx] == "rearfoot"), minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rearfoot_share"] = rear / n
    # Stride-to-stride variability from successive differences between strides that
    # follow each other within a bin; a missed contact doubles one stride time, so
    # differences are capped at 5 times the bin's median absolute difference.
    pair = (np.diff(idx) == 1) & (which[1:] == which[:-1])
    diffs = np.abs(np.diff(stride))[pair]
    pair_bin = which[1:][pair]
    typical = np.full(count, np.nan)
    if len(diffs):
        order = np.lexsort((diffs, pair_bin))
        ordered = diffs[order]
        have = np.bincount(pair_bin, minlength=count)
        starts = np.concatenate(([0], np.cumsum(have)[:-1]))
        some = have > 0
        typical[some] = ordered[starts[some] + (have[some] - 1) // 2]
    capped = np.minimum(diffs, 5 * typical[pair_bin] + 1e-9)
    sums = np.bincount(pair_bin, weights=capped**2, minlength=count)
    pairs = np.bincount(pair_bin, minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = 100 * np.sqrt(sums / pairs / 2) / out["stride_ms"]
    cv[pairs < _MIN_STRIDES - 1] = np.nan
    out["stride_cv_pct"] = cv
    for name in out:
        out[name][~full] = np.nan
    return FootBins(count=n, **out)


# --- helpers shared by the detectors ------------------------------------------------


def rolling_nanmedian(values: np.ndarray, window: int) -> np.ndarray:
    """Centred running median that ignores NaN; NaN where a window holds no value."""
    if window <= 1 or len(values) == 0:
        return values.copy()
    half = window // 2
    padded = np.concatenate((np.full(half, np.nan), values, np.full(half, np.nan)))
    windows = sliding_window_view(padded, 2 * half + 1)
    out = np.full(len(values), np.nan)
    some = ~np.all(np.isnan(windows), axis=1)
    out[some] = np.nanmedian(windows[some], axis=1)
    return out


def robust_sd(values: np.ndarray) -> float:
    """SD from the median absolute deviation; NaN with fewer than 3 values."""
    finite = values[np.isfinite(values)]
    if len(finite) < 3:
        return float("nan")
    return float(1.4826 * np.median(np.abs(finite - np.median(finite))))


def combine_feet(series: list[np.ndarray]) -> np.ndarray:
    """Mean over the feet present in each bin: two pods halve the noise, one still works."""
    stack = np.vstack(series)
    out = np.full(stack.shape[1], np.nan)
    some = ~np.all(np.isnan(stack), axis=0)
    out[some] = np.nanmean(stack[:, some], axis=0)
    return out


def pace_coupling(
    y: np.ndarray,
    covariates: list[np.ndarray],
    priors: list[float],
    bounds: list[tuple[float, float]],
    *,
    window: int = 11,
    prior_spread: float = 0.01,
) -> list[float]:
    """How `y` follows pace covariates over minutes, learned from this run.

    Both sides are high-passed (minus a rolling median over `window` bins) first, so
    only short-term co-variation counts: hills and pace changes teach the coupling,
    a slow fatigue drift does not. A ridge pulls each slope towards its prior; the
    prior weighs as much as data whose covariate swings by `prior_spread` (1% in
    stride time or speed) around its trend, so a steady run keeps the prior.
    """
    hp_y = y - rolling_nanmedian(y, window)
    hp_x = [x - rolling_nanmedian(x, window) for x in covariates]
    ok = np.isfinite(hp_y)
    for x in hp_x:
        ok &= np.isfinite(x)
    k = len(covariates)
    if ok.sum() < 3 * k + 3:
        return list(priors)
    X = np.column_stack([x[ok] for x in hp_x])
    Y = hp_y[ok]
    lam = ok.sum() * prior_spread**2
    prior = np.array(priors)
    beta = np.linalg.solve(X.T @ X + lam * np.eye(k), X.T @ Y + lam * prior)
    return [float(np.clip(b, lo, hi)) for b, (lo, hi) in zip(beta, bounds, strict=True)]


def coupling_evidence(
    y: np.ndarray, x: np.ndarray, *, window: int = 11
) -> tuple[float, float] | None:
    """What this run alone says about the slope of `y` on `x`: (slope, precision).

    The same high-pass as `pace_coupling`, so only short-term co-variation counts;
    precision is 1 / variance of the least-squares slope, so runs (or a prior) can be
    pooled by adding precisions. None when the run has no pace changes to learn from.
    """
    hp_y = y - rolling_nanmedian(y, window)
    hp_x = x - rolling_nanmedian(x, window)
    ok = np.isfinite(hp_y) & np.isfinite(hp_x)
    if ok.sum() < 8:
        return None
    xx, yy = hp_x[ok], hp_y[ok]
    sxx = float(xx @ xx)
    if sxx <= 0:
        return None
    slope = float(xx @ yy) / sxx
    residual = robust_sd(yy - slope * xx)
    if not np.isfinite(residual) or residual <= 0:
        return None
    return slope, sxx / residual**2


def pooled_coupling(
    prior: tuple[float, float], evidence: list[tuple[float, float]]
) -> tuple[float, float]:
    """(mean, sd) of a coupling: a (mean, sd) prior updated with (slope, precision) evidence."""
    mean, sd = prior
    precision = 1 / sd**2
    weighted = mean * precision
    for slope, p in evidence:
        if np.isfinite(slope) and np.isfinite(p) and p > 0:
            precision += p
            weighted += slope * p
    return weighted / precision, 1 / math.sqrt(precision)
