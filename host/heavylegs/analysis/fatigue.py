"""Fatigue flags within one run: a baseline after the warm-up, then lasting drifts from it.

The analysis runs after the run, on the whole of it, so a flag needs a drift that
*lasts*: contact time that rises on a climb and falls again on the way down is
terrain, not fatigue, while fatigue does not wear off before the run ends. Each
indicator is compared with its own baseline, its noise floor comes from the run's
own bin-to-bin scatter, and the onset is where a ramp or a step fits the drift best.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from heavylegs.analysis.indicators import (
    Bins,
    bin_session,
    combine_feet,
    coupling_evidence,
    pace_coupling,
    pooled_coupling,
    robust_sd,
    rolling_nanmedian,
)
from heavylegs.analysis.session import Session

FLAG_KINDS = ("contact_time", "asymmetry", "cadence", "strike", "variability", "impact")
FLAG_TITLES = {
    "contact_time": "Rising contact time",
    "asymmetry": "Growing left/right asymmetry",
    "cadence": "Cadence drop",
    "strike": "Strike shifting towards the heel",
    "variability": "Rising stride-to-stride variability",
    "impact": "Rising impact",
}
# The smallest drift worth a flag, whatever the noise: below these a change is
# within what runners show from day to day (see docs/analysis.md for sources).
MIN_EFFECT = {
    "contact_time": 3.0,  # % at comparable cadence and speed
    "asymmetry": 1.0,  # percentage points of left share (normal asymmetry ~2.6% = ±1.3)
    "cadence": 2.0,  # % at comparable speed
    "strike": 3.0,  # degrees towards the heel
    "variability": 30.0,  # % rise of stride-time variability
    "impact": 12.0,  # % at comparable speed
}
_UNITS = {
    "contact_time": "%",
    "asymmetry": "pt",
    "cadence": "%",
    "strike": "°",
    "variability": "%",
    "impact": "%",
}
# Cadence follows speed as speed^0.25 on average, but runners differ (about 0.15 to
# 0.35): the prior's SD says so, and a run or the runner's history narrows it.
CADENCE_COUPLING_PRIOR = (0.25, 0.08)
# however much evidence piles up, a runner's coupling is not known better than this
_COUPLING_SD_FLOOR = 0.02
# a comparison at another pace is widened by this many SDs of the coupling
_COUPLING_Z = 2.0
# Contact time's combined response to speed is about speed^-0.8 but runners (and the
# simulator, about -0.6) differ, and step changes of pace (a tempo block, a stepped
# warm-up) teach the high-passed regression nothing: its SD widens comparisons too.
_GCT_SPEED_SD = 0.2
# a lasting slowdown worth saying out loud, in %
SLOWDOWN_MIN_PCT = 3.0
# the pre-onset level of a drift is pulled towards the baseline with the weight of
# this many bins: a chance-low baseline cannot date an onset early, yet an onset
# just after the baseline keeps its level
_LEVEL_PRIOR_BINS = 6
# ramp lengths (minutes) tried for the onset fit; 0 is a step
_RAMP_MIN = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 25.0, 30.0)

# Garmin's bands for the longer side's share of contact time.
BALANCE_NORMAL_PCT = 50.7
BALANCE_POOR_PCT = 52.2


@dataclass(frozen=True, slots=True)
class Flag:
    """One lasting drift: where it began, how large it grew, and why we believe it."""

    kind: str
    title: str
    foot: str | None  # asymmetry: the side whose contact time grew; else None
    onset_min: float
    alarm_min: float  # first bin where the smoothed drift crossed the threshold
    size: float  # median drift from the alarm to the end, in `unit`, positive = worse
    unit: str
    baseline_value: float  # natural units (ms, steps/min, %, degrees, g)
    late_value: float  # the last 5 minutes, same units
    threshold: float
    noise: float
    persistence: float
    confidence: float
    evidence: tuple[str, ...]

    @property
    def confidence_label(self) -> str:
        if self.confidence >= 0.75:
            return "high"
        return "medium" if self.confidence >= 0.5 else "low"

    @property
    def size_text(self) -> str:
        sign = "+" if self.kind not in ("cadence",) else "-"
        return f"{sign}{self.size:.1f}{'' if self.unit == '%' else ' '}{self.unit}"


@dataclass(frozen=True, slots=True)
class Baseline:
    start_min: float
    end_min: float
    default_start_min: float
    # minutes the runner took to settle: the baseline moved this far past its default
    settling_min: float
    speed_known: bool
    gct_ms: dict[str, float]
    cadence_spm: float
    balance_pct: float | None
    strike_deg: float
    stride_cv_pct: float
    impact_g: float
    speed_mps: float | None


@dataclass(frozen=True, slots=True)
class Slowdown:
    """A lasting slowdown and what it did to contact time, as measured and as corrected."""

    onset_min: float
    speed_pct: float  # how much slower than the baseline, from the onset on (positive)
    raw_gct_pct: float  # contact time as measured, from the onset on, vs the baseline
    corrected_gct_pct: float  # contact time at comparable pace, from the onset on

    @property
    def text(self) -> str:
        def change(pct: float) -> str:
            return f"{'rose' if pct >= 0 else 'fell'} {abs(pct):.0f}%"

        return (
            f"You slowed {self.speed_pct:.0f}% from minute {self.onset_min:.0f}; contact time "
            f"{change(self.raw_gct_pct)} as measured, {change(self.corrected_gct_pct)} once "
            "corrected for pace"
        )


@dataclass(frozen=True, slots=True)
class Indicator:
    """A drift series on the bins: deviation from baseline (positive = worse)."""

    kind: str
    deviation: np.ndarray
    smoothed: np.ndarray
    threshold: float
    noise: float
    unit: str


@dataclass(slots=True)
class _Detection:
    alarm: int
    onset_min: float
    size: float
    late: float
    persistence: float
    model: str


@dataclass(slots=True)
class FatigueDetector:
    """Finds fatigue flags in a session.

    `__init__` stores parameters only; `detect(session)` computes and sets the
    attributes ending in `_` and returns self.
    """

    baseline_min: tuple[float, float] = (3.0, 8.0)
    bin_min: float = 0.5
    smooth_bins: int = 5
    # a drift must last this long after crossing the threshold ...
    min_follow_min: float = 4.0
    # ... and stay above half the threshold for this share of the rest of the run
    persistence: float = 0.8
    threshold_sigmas: float = 4.0
    min_effect: dict[str, float] = field(default_factory=lambda: dict(MIN_EFFECT))
    # (mean, sd) of the cadence-speed coupling before this run: the population prior,
    # or the runner's own from their history (see analysis.run)
    cadence_coupling_prior: tuple[float, float] = CADENCE_COUPLING_PRIOR

    bins_: Bins | None = None
    baseline_: Baseline | None = None
    couplings_: dict[str, float] = field(default_factory=dict)
    indicators_: dict[str, Indicator] = field(default_factory=dict)
    per_foot_gct_pct_: dict[str, np.ndarray] = field(default_factory=dict)
    balance_pct_: np.ndarray | None = None
    flags_: list[Flag] = field(default_factory=list)
    notes_: list[str] = field(default_factory=list)
    # what this run alone says about each coupling: (slope, precision), for pooling
    coupling_evidence_: dict[str, tuple[float, float]] = field(default_factory=dict)
    coupling_sd_: dict[str, float] = field(default_factory=dict)
    slowdown_: Slowdown | None = None

    def __post_init__(self) -> None:
        start, end = self.baseline_min
        if not 0 <= start < end:
            raise ValueError(f"baseline window must be 0 <= start < end, got {self.baseline_min}")
        if self.bin_min <= 0 or self.smooth_bins < 1:
            raise ValueError("bin length and smoothing window must be positive")
        unknown = set(self.min_effect) - set(FLAG_KINDS)
        if unknown:
            raise ValueError(f"no indicator named {', '.join(sorted(unknown))}")

    @property
    def t_min(self) -> np.ndarray:
        return np.empty(0) if self.bins_ is None else self.bins_.t_min

    def detect(self, session: Session) -> FatigueDetector:
        self.bins_ = bins = bin_session(session, self.bin_min)
        self.flags_, self.notes_, self.indicators_ = [], [], {}
        self.baseline_, self.couplings_, self.per_foot_gct_pct_ = None, {}, {}
        self.balance_pct_, self.slowdown_ = None, None
        self.coupling_evidence_, self.coupling_sd_ = {}, {}
        feet = list(bins.feet)
        if not feet:
            self.notes_.append("no running strides: nothing to analyse")
            return self
        t = bins.t_min
        fb = bins.feet
        with np.errstate(divide="ignore", invalid="ignore"):
            lg = {f: np.log(fb[f].gct_ms) for f in feet}
            ls = combine_feet([np.log(fb[f].stride_ms) for f in feet])
            lv = combine_feet([np.log(fb[f].speed_mps) for f in feet])
            lc = combine_feet([np.log(fb[f].cadence_spm) for f in feet])
            li = combine_feet([np.log(fb[f].impact_g) for f in feet])
            cv = combine_feet([fb[f].stride_cv_pct for f in feet])
        strike = combine_feet([fb[f].strike_deg for f in feet])
        running = np.isfinite(ls)
        if running.sum() * self.bin_min < 10.0:
            self.notes_.append(
                f"only {running.sum() * self.bin_min:.0f} min of steady running: "
                "at least 10 min are needed to judge fatigue"
            )
            return self
        speed_known = bool(np.isfinite(lv[running]).mean() >= 0.8)
        gct_all = combine_feet(list(lg.values()))
        if speed_known:
            b_s, b_v = pace_coupling(gct_all, [ls, lv], [0.5, -0.8], [(0.0, 2.0), (-1.5, 0.0)])
            # cadence: a Bayesian update of the prior, so its remaining uncertainty can
            # widen comparisons at another pace (a slow pace trend teaches nothing)
            evidence = coupling_evidence(lc, lv)
            if evidence is not None:
                self.coupling_evidence_["cadence_per_speed"] = evidence
            c_v, c_sd = pooled_coupling(
                self.cadence_coupling_prior, [evidence] if evidence is not None else []
            )
            c_v = float(np.clip(c_v, 0.0, 0.6))
            self.coupling_sd_["cadence_per_speed"] = max(c_sd, _COUPLING_SD_FLOOR)
            (i_v,) = pace_coupling(li, [lv], [1.0], [(0.0, 2.0)])
        else:
            # Without speed, a slowdown shows only through stride time; its coupling
            # is capped so that a fatigue-driven cadence drop cannot explain away
            # the contact time that rose with it.
            (b_s,) = pace_coupling(gct_all, [ls], [1.0], [(0.0, 2.0)])
            b_v = c_v = i_v = 0.0
            self.notes_.append(
                "no stride lengths, so speed is unknown: contact time is normalised for "
                "cadence only, and a slowdown that lasts to the end cannot be told from fatigue"
            )
        self.couplings_ = {
            "gct_per_stride_time": b_s,
            "gct_per_speed": b_v,
            "cadence_per_speed": c_v,
            "impact_per_speed": i_v,
        }
        lv0 = np.where(np.isfinite(lv), lv, 0.0)
        norm = {f: lg[f] - b_s * ls - b_v * lv0 for f in feet}
        norm_all = combine_feet(list(norm.values()))

        # settling is judged at comparable pace: an easy warm-up before faster running
        # is not a runner still settling in
        start, end, default_start = self._baseline_window(
            t, norm_all, lc - c_v * lv0, session.duration_min
        )
        base = (t >= start) & (t < end)
        if np.isfinite(norm_all[base]).sum() < 4:
            self.notes_.append("too few running strides in the baseline window to judge fatigue")
            return self

        def base_of(x: np.ndarray) -> float:
            return float(np.nanmedian(x[base])) if np.isfinite(x[base]).any() else float("nan")

        balance = None
        if "left" in fb and "right" in fb:
            balance = 100 * fb["left"].gct_ms / (fb["left"].gct_ms + fb["right"].gct_ms)
            self.balance_pct_ = balance
        self.baseline_ = Baseline(
            start_min=start,
            end_min=end,
            default_start_min=default_start,
            settling_min=start - default_start,
            speed_known=speed_known,
            gct_ms={f: float(np.exp(base_of(lg[f]))) for f in feet},
            cadence_spm=float(np.exp(base_of(lc))),
            balance_pct=None if balance is None else base_of(balance),
            strike_deg=base_of(strike),
            stride_cv_pct=base_of(cv),
            impact_g=float(np.exp(base_of(li))),
            speed_mps=float(np.exp(base_of(lv))) if speed_known else None,
        )
        self.per_foot_gct_pct_ = {f: 100 * (norm[f] - base_of(norm[f])) for f in feet}
        deviations = {
            "contact_time": 100 * (norm_all - base_of(norm_all)),
            "cadence": -100 * ((lc - c_v * lv0) - base_of(lc - c_v * lv0)),
            "strike": strike - base_of(strike),
            "variability": 100 * (cv / base_of(cv) - 1),
            "impact": 100 * ((li - i_v * lv0) - base_of(li - i_v * lv0)),
        }
        if speed_known:
            # the coupling is uncertain: a cadence change at another pace is only
            # counted beyond what that uncertainty could explain
            band = (
                _COUPLING_Z
                * self.coupling_sd_["cadence_per_speed"]
                * 100
                * np.abs(lv0 - base_of(lv))
            )
            d = deviations["cadence"]
            deviations["cadence"] = np.sign(d) * np.maximum(np.abs(d) - band, 0.0)
            self.slowdown_ = self._slowdown(t, lv, gct_all, deviations["contact_time"], base_of)
            band = _COUPLING_Z * _GCT_SPEED_SD * 100 * np.abs(lv0 - base_of(lv))
            d = deviations["contact_time"]
            deviations["contact_time"] = np.sign(d) * np.maximum(np.abs(d) - band, 0.0)
        if balance is not None:
            deviations["asymmetry"] = balance - base_of(balance)
        first = int(np.searchsorted(t, end))
        for kind in FLAG_KINDS:
            if kind not in deviations:
                continue
            if kind == "asymmetry":
                # either leg may take over: look both ways, keep the stronger
                up = self._indicator_and_flag(kind, t, deviations[kind], base, first)
                down = self._indicator_and_flag(kind, t, -deviations[kind], base, first)
                chosen, side = (
                    (up, "left") if up[1] is not None or down[1] is None else (down, "right")
                )
                indicator, found = chosen
            else:
                indicator, found = self._indicator_and_flag(kind, t, deviations[kind], base, first)
                side = None
            self.indicators_[kind] = indicator
            if found is not None:
                self.flags_.append(self._flag(kind, side, found, indicator, deviations[kind]))
        # strongest evidence first: a weak flag must not be read first for being early
        self.flags_.sort(key=lambda f: (-f.confidence, f.onset_min))
        return self

    def _slowdown(
        self,
        t: np.ndarray,
        lv: np.ndarray,
        gct_all: np.ndarray,
        gct_corrected: np.ndarray,
        base_of: Callable[[np.ndarray], float],
    ) -> Slowdown | None:
        """A lasting slowdown from the baseline pace, dated like a drift."""
        assert self.baseline_ is not None
        slowing = -100 * (lv - base_of(lv))
        if np.isfinite(slowing).sum() < 10:
            return None
        first = int(np.searchsorted(t, self.baseline_.end_min))
        smoothed = rolling_nanmedian(slowing, self.smooth_bins)
        found = self._first_lasting(t, slowing, smoothed, SLOWDOWN_MIN_PCT, first)
        if found is None:
            return None
        after = t >= found.onset_min
        speed_pct = float(100 * (1 - math.exp(-np.nanmedian(slowing[after]) / 100)))
        if speed_pct < SLOWDOWN_MIN_PCT:
            return None
        raw = float(100 * (math.exp(np.nanmedian(gct_all[after]) - base_of(gct_all)) - 1))
        corrected = float(100 * (math.exp(np.nanmedian(gct_corrected[after]) / 100) - 1))
        return Slowdown(round(found.onset_min, 1), speed_pct, raw, corrected)

    # --- baseline -----------------------------------------------------------------

    def _baseline_window(
        self, t: np.ndarray, gct_norm: np.ndarray, log_cadence: np.ndarray, duration: float
    ) -> tuple[float, float, float]:
        """The default window, moved later while the runner is still settling in.

        Settling means contact time still falling or cadence still rising from one
        window to the next; a worsening trend (fatigue) never moves the baseline.
        """
        start, end = self.baseline_min
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

    # --- detection ----------------------------------------------------------------

    def _indicator_and_flag(
        self, kind: str, t: np.ndarray, d: np.ndarray, base: np.ndarray, first: int
    ) -> tuple[Indicator, _Detection | None]:
        valid = np.flatnonzero(np.isfinite(d))
        # Two noise estimates from the data: scatter within the baseline, and the
        # bin-to-bin scatter over the whole run (differences cancel slow drifts).
        noise_base = robust_sd(d[base])
        noise_step = robust_sd(np.diff(d[valid])) / math.sqrt(2) if len(valid) > 3 else math.nan
        noise = float(np.nanmax([noise_base, noise_step, 1e-3]))
        smoothed = rolling_nanmedian(d, self.smooth_bins)
        # a median of n values scatters about 1.25 / sqrt(n) as much as one value
        noise_smoothed = noise * 1.25 / math.sqrt(self.smooth_bins)
        threshold = max(self.min_effect[kind], self.threshold_sigmas * noise_smoothed)
        indicator = Indicator(kind, d, smoothed, threshold, noise, _UNITS[kind])
        found = self._first_lasting(t, d, smoothed, threshold, first)
        return indicator, found

    def _first_lasting(
        self, t: np.ndarray, d: np.ndarray, smoothed: np.ndarray, threshold: float, first: int
    ) -> _Detection | None:
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
            fit = _fit_change(t, d, first)
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
            onset, model = _fit_onset(
                t, d - level, first, alarm, min(len(t), alarm + int(3 / self.bin_min) + 1)
            )
            rest = d[alarm:]
            return _Detection(
                alarm=int(alarm),
                onset_min=onset,
                size=float(np.nanmedian(rest) - level),
                late=float(np.nanmedian(late)),
                persistence=float(share),
                model=model,
            )
        return None

    # --- presentation ------------------------------------------------------------

    def _flag(
        self,
        kind: str,
        side: str | None,
        found: _Detection,
        indicator: Indicator,
        deviation: np.ndarray,
    ) -> Flag:
        assert self.baseline_ is not None
        b = self.baseline_
        t = self.t_min
        size, late = found.size, found.late
        if side == "right":
            size, late = -size, -late  # deviation was mirrored to look for the right side
        base_value, late_value, what = _natural(kind, b, late, side)
        strength = 1 - math.exp(-((abs(found.size) / indicator.threshold) ** 2))
        confidence = found.persistence * strength
        if kind == "contact_time" and not b.speed_known:
            confidence *= 0.85  # a lasting slowdown would look the same
        unit = indicator.unit
        evidence = [
            f"{what}: {_fmt(base_value, kind)} in the baseline "
            f"({b.start_min:.1f}–{b.end_min:.1f} min) → {_fmt(late_value, kind)} "
            f"in the last 5 min",
            f"drift {abs(found.size):.1f} {unit} from the alarm on; threshold "
            f"{indicator.threshold:.1f} {unit} = max(smallest meaningful "
            f"{self.min_effect[kind]:g} {unit}, {self.threshold_sigmas:g} × noise of the "
            f"smoothed series); noise {indicator.noise:.2f} {unit} per bin, from this run",
            f"crossed the threshold at {t[found.alarm]:.1f} min and stayed above half of it "
            f"for {found.persistence:.0%} of the rest of the run; onset from the best "
            f"{found.model} fit",
        ]
        if kind == "contact_time":
            per_foot = ", ".join(
                f"{f} {np.nanmedian(v[found.alarm :]):+.1f}%"
                for f, v in self.per_foot_gct_pct_.items()
            )
            evidence.append(f"per foot: {per_foot}")
            coupling = self.couplings_["gct_per_stride_time"]
            evidence.append(
                "normalised for pace: contact time ∝ stride time^"
                f"{coupling:.2f}"
                + (f" × speed^{self.couplings_['gct_per_speed']:.2f}" if b.speed_known else "")
                + ", couplings learned from this run's pace changes"
            )
        if kind == "asymmetry" and self.balance_pct_ is not None:
            longer = max(late_value, 100 - late_value)
            band = (
                "normal"
                if longer <= BALANCE_NORMAL_PCT
                else ("poor" if longer > BALANCE_POOR_PCT else "borderline")
            )
            evidence.append(
                f"late balance {late_value:.1f}% left: the longer side holds {longer:.1f}%, "
                f"{band} by Garmin's bands (≤ {BALANCE_NORMAL_PCT}% normal, "
                f"> {BALANCE_POOR_PCT}% poor)"
            )
        return Flag(
            kind=kind,
            title=FLAG_TITLES[kind] + (f" ({side} longer)" if side else ""),
            foot=side,
            onset_min=round(found.onset_min, 2),
            alarm_min=float(t[found.alarm]),
            size=abs(size),
            unit=unit,
            baseline_value=base_value,
            late_value=late_value,
            threshold=indicator.threshold,
            noise=indicator.noise,
            persistence=found.persistence,
            confidence=round(confidence, 3),
            evidence=tuple(evidence),
        )


def analyse(session: Session, **params: object) -> FatigueDetector:
    return FatigueDetector(**params).detect(session)  # type: ignore[arg-type]


def _fit_change(t: np.ndarray, d: np.ndarray, lo: int) -> tuple[float, float, float, str] | None:
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


def _fit_onset(t: np.ndarray, d: np.ndarray, lo: int, alarm: int, hi: int) -> tuple[float, str]:
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


def _natural(kind: str, b: Baseline, late: float, side: str | None) -> tuple[float, float, str]:
    """Baseline and late value in the indicator's own units, and what they are."""
    if kind == "contact_time":
        base = float(np.mean(list(b.gct_ms.values())))
        return base, base * math.exp(late / 100), "contact time at comparable pace"
    if kind == "cadence":
        return b.cadence_spm, b.cadence_spm * math.exp(-late / 100), "cadence at comparable pace"
    if kind == "strike":
        return b.strike_deg, b.strike_deg + late, "strike angle (toe up +)"
    if kind == "variability":
        return b.stride_cv_pct, b.stride_cv_pct * (1 + late / 100), "stride-time variability"
    if kind == "impact":
        return b.impact_g, b.impact_g * math.exp(late / 100), "impact at comparable pace"
    assert b.balance_pct is not None
    return b.balance_pct, b.balance_pct + late, "contact-time balance (left share)"


def _fmt(value: float, kind: str) -> str:
    unit = {
        "contact_time": " ms",
        "cadence": " steps/min",
        "strike": "°",
        "variability": "% CV",
        "impact": " g",
        "asymmetry": "% left",
    }[kind]
    digits = 1 if kind in ("strike", "variability", "impact", "asymmetry") else 0
    return f"{value:.{digits}f}{unit}"
