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

from heavylegs.analysis.flags import (
    BALANCE_NORMAL_PCT,
    BALANCE_POOR_PCT,
    FLAG_KINDS,
    FLAG_TITLES,
    MIN_EFFECT,
    UNITS,
    Baseline,
    Detection,
    Flag,
    Indicator,
    Slowdown,
    build_flag,
)
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
from heavylegs.analysis.onset import fit_change, fit_onset
from heavylegs.analysis.session import Session

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
# Contact time per unit of grade (log per rise/run): about +1.2% per % uphill at the
# same speed (Vernillo et al. 2017 review: uphill lengthens contact). The prior for
# the coupling a run with a merged watch's elevation learns from its own hills.
GCT_PER_GRADE_PRIOR = 1.2

# re-exported: reports, tests and the history import these from here
__all__ = [
    "BALANCE_NORMAL_PCT",
    "BALANCE_POOR_PCT",
    "CADENCE_COUPLING_PRIOR",
    "FLAG_KINDS",
    "FLAG_TITLES",
    "MIN_EFFECT",
    "SLOWDOWN_MIN_PCT",
    "Baseline",
    "FatigueDetector",
    "Flag",
    "Indicator",
    "Slowdown",
    "analyse",
]


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
        grades = [fb[f].grade_pct for f in feet]
        grade = (
            combine_feet([g / 100 for g in grades if g is not None])
            if any(g is not None for g in grades)
            else np.full(len(t), np.nan)
        )
        running = np.isfinite(ls)
        if running.sum() * self.bin_min < 10.0:
            self.notes_.append(
                f"only {running.sum() * self.bin_min:.0f} min of steady running: "
                "at least 10 min are needed to judge fatigue"
            )
            return self
        speed_known = bool(np.isfinite(lv[running]).mean() >= 0.8)
        # a merged watch's elevation: a climb lengthens contact at any pace
        grade_known = bool(np.isfinite(grade[running]).mean() >= 0.8)
        gr0 = np.where(np.isfinite(grade), grade, 0.0)
        gct_all = combine_feet(list(lg.values()))
        b_g = 0.0
        if speed_known:
            b_s, b_v, *graded = pace_coupling(
                gct_all,
                [ls, lv] + ([gr0] if grade_known else []),
                [0.5, -0.8] + ([GCT_PER_GRADE_PRIOR] if grade_known else []),
                [(0.0, 2.0), (-1.5, 0.0)] + ([(0.0, 4.0)] if grade_known else []),
            )
            b_g = graded[0] if graded else 0.0
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
        if b_g:
            self.couplings_["gct_per_grade"] = b_g
            self.notes_.append(
                f"the watch's elevation judges contact time with grade: "
                f"+{b_g:.1f}% per % uphill at the same pace"
            )
        lv0 = np.where(np.isfinite(lv), lv, 0.0)
        norm = {f: lg[f] - b_s * ls - b_v * lv0 - b_g * gr0 for f in feet}
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
                self.flags_.append(
                    build_flag(
                        kind,
                        side,
                        found,
                        indicator,
                        baseline=self.baseline_,
                        t=t,
                        min_effect=self.min_effect[kind],
                        threshold_sigmas=self.threshold_sigmas,
                        per_foot_gct_pct=self.per_foot_gct_pct_,
                        couplings=self.couplings_,
                        balance_known=self.balance_pct_ is not None,
                    )
                )
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
    ) -> tuple[Indicator, Detection | None]:
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
        indicator = Indicator(kind, d, smoothed, threshold, noise, UNITS[kind])
        found = self._first_lasting(t, d, smoothed, threshold, first)
        return indicator, found

    def _first_lasting(
        self, t: np.ndarray, d: np.ndarray, smoothed: np.ndarray, threshold: float, first: int
    ) -> Detection | None:
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

    # --- presentation ------------------------------------------------------------


def analyse(session: Session, **params: object) -> FatigueDetector:
    return FatigueDetector(**params).detect(session)  # type: ignore[arg-type]
