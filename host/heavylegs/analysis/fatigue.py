"""Fatigue flags within one run: a baseline after the warm-up, then lasting drifts from it.

The analysis runs after the run, on the whole of it, so a flag needs a drift that
*lasts*: contact time that rises on a climb and falls again on the way down is
terrain, not fatigue, while fatigue does not wear off before the run ends. Each
indicator is compared with its own baseline, its noise floor comes from the run's
own bin-to-bin scatter, and the onset is where a ramp or a step fits the drift best.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from heavylegs.analysis.drift import (
    SLOWDOWN_MIN_PCT,
    LastingRule,
    baseline_window,
    lasting_slowdown,
)
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
    robust_sd,
    rolling_nanmedian,
)
from heavylegs.analysis.pace_couplings import (
    CADENCE_COUPLING_PRIOR,
    GCT_PER_GRADE_PRIOR,
    GCT_SPEED_SD,
    beyond_pace_band,
    learn_couplings,
    stride_time_coupling,
)
from heavylegs.analysis.session import Session

# re-exported: reports, tests and the history import these from here
__all__ = [
    "BALANCE_NORMAL_PCT",
    "BALANCE_POOR_PCT",
    "CADENCE_COUPLING_PRIOR",
    "FLAG_KINDS",
    "FLAG_TITLES",
    "GCT_PER_GRADE_PRIOR",
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
        if speed_known:
            couplings = learn_couplings(
                gct_all, ls, lv, lc, li, gr0 if grade_known else None, self.cadence_coupling_prior
            )
            if couplings.cadence_evidence is not None:
                self.coupling_evidence_["cadence_per_speed"] = couplings.cadence_evidence
            assert couplings.cadence_sd is not None
            self.coupling_sd_["cadence_per_speed"] = couplings.cadence_sd
        else:
            couplings = stride_time_coupling(gct_all, ls)
            self.notes_.append(
                "no stride lengths, so speed is unknown: contact time is normalised for "
                "cadence only, and a slowdown that lasts to the end cannot be told from fatigue"
            )
        b_s, b_v, b_g = (
            couplings.gct_per_stride_time,
            couplings.gct_per_speed,
            couplings.gct_per_grade,
        )
        c_v, i_v = couplings.cadence_per_speed, couplings.impact_per_speed
        self.couplings_ = couplings.as_dict()
        if b_g:
            self.notes_.append(
                f"the watch's elevation judges contact time with grade: "
                f"+{b_g:.1f}% per % uphill at the same pace"
            )
        lv0 = np.where(np.isfinite(lv), lv, 0.0)
        norm = {f: lg[f] - b_s * ls - b_v * lv0 - b_g * gr0 for f in feet}
        norm_all = combine_feet(list(norm.values()))

        # settling is judged at comparable pace: an easy warm-up before faster running
        # is not a runner still settling in
        start, end, default_start = baseline_window(
            t, norm_all, lc - c_v * lv0, session.duration_min, self.baseline_min
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
            speed_change = np.abs(lv0 - base_of(lv))
            deviations["cadence"] = beyond_pace_band(
                deviations["cadence"], speed_change, self.coupling_sd_["cadence_per_speed"]
            )
            self.slowdown_ = lasting_slowdown(
                t,
                lv,
                gct_all,
                deviations["contact_time"],
                base_of,
                baseline_end_min=end,
                smooth_bins=self.smooth_bins,
                rule=self._lasting_rule(),
            )
            deviations["contact_time"] = beyond_pace_band(
                deviations["contact_time"], speed_change, GCT_SPEED_SD
            )
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

    def _lasting_rule(self) -> LastingRule:
        return LastingRule(self.bin_min, self.min_follow_min, self.persistence)

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
        found = self._lasting_rule().first_lasting(t, d, smoothed, threshold, first)
        return indicator, found


def analyse(session: Session, **params: object) -> FatigueDetector:
    return FatigueDetector(**params).detect(session)  # type: ignore[arg-type]
