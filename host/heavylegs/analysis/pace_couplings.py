"""How one run's contact time, cadence and impact follow its pace, learned from the run.

Fatigue is judged on what is left once pace is accounted for; a coupling the run
cannot pin down widens the comparisons at another pace instead of raising a flag.
The fits themselves (`pace_coupling`, `coupling_evidence`, `pooled_coupling`)
are in `heavylegs.analysis.indicators`; this module decides which of them a run
supports and with which priors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heavylegs.analysis.indicators import coupling_evidence, pace_coupling, pooled_coupling

# Cadence follows speed as speed^0.25 on average, but runners differ (about 0.15 to
# 0.35): the prior's SD says so, and a run or the runner's history narrows it.
CADENCE_COUPLING_PRIOR = (0.25, 0.08)
# however much evidence piles up, a runner's coupling is not known better than this
COUPLING_SD_FLOOR = 0.02
# a comparison at another pace is widened by this many SDs of the coupling
COUPLING_Z = 2.0
# Contact time's combined response to speed is about speed^-0.8 but runners (and the
# simulator, about -0.6) differ, and step changes of pace (a tempo block, a stepped
# warm-up) teach the high-passed regression nothing: its SD widens comparisons too.
GCT_SPEED_SD = 0.2
# Contact time per unit of grade (log per rise/run): about +1.2% per % uphill at the
# same speed (Vernillo et al. 2017 review: uphill lengthens contact). The prior for
# the coupling a run with a merged watch's elevation learns from its own hills.
GCT_PER_GRADE_PRIOR = 1.2

__all__ = [
    "CADENCE_COUPLING_PRIOR",
    "GCT_PER_GRADE_PRIOR",
    "GCT_SPEED_SD",
    "PaceCouplings",
    "beyond_pace_band",
    "learn_couplings",
    "stride_time_coupling",
]


@dataclass(frozen=True, slots=True)
class PaceCouplings:
    """Log-log slopes of one run; zero where the run cannot tell (speed unknown, no grade)."""

    gct_per_stride_time: float
    gct_per_speed: float
    gct_per_grade: float
    cadence_per_speed: float
    impact_per_speed: float
    # SD of cadence_per_speed after this run (None when speed is unknown)
    cadence_sd: float | None = None
    # what this run alone says about cadence_per_speed: (slope, precision), for pooling
    cadence_evidence: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, float]:
        """By name, as reports and the history read them; grade only when it was learned."""
        named = {
            "gct_per_stride_time": self.gct_per_stride_time,
            "gct_per_speed": self.gct_per_speed,
            "cadence_per_speed": self.cadence_per_speed,
            "impact_per_speed": self.impact_per_speed,
        }
        if self.gct_per_grade:
            named["gct_per_grade"] = self.gct_per_grade
        return named


def learn_couplings(
    log_gct: np.ndarray,
    log_stride: np.ndarray,
    log_speed: np.ndarray,
    log_cadence: np.ndarray,
    log_impact: np.ndarray,
    grade: np.ndarray | None,
    cadence_prior: tuple[float, float] = CADENCE_COUPLING_PRIOR,
) -> PaceCouplings:
    """The couplings of a run whose speed is known (else `stride_time_coupling`).

    `grade` (rise/run, 0 where unknown) is given only when the run's elevation is known.
    """
    graded = grade is not None
    b_s, b_v, *by_grade = pace_coupling(
        log_gct,
        [log_stride, log_speed] + ([grade] if grade is not None else []),
        [0.5, -0.8] + ([GCT_PER_GRADE_PRIOR] if graded else []),
        [(0.0, 2.0), (-1.5, 0.0)] + ([(0.0, 4.0)] if graded else []),
    )
    # cadence: a Bayesian update of the prior, so its remaining uncertainty can
    # widen comparisons at another pace (a slow pace trend teaches nothing)
    evidence = coupling_evidence(log_cadence, log_speed)
    c_v, c_sd = pooled_coupling(cadence_prior, [evidence] if evidence is not None else [])
    (i_v,) = pace_coupling(log_impact, [log_speed], [1.0], [(0.0, 2.0)])
    return PaceCouplings(
        gct_per_stride_time=b_s,
        gct_per_speed=b_v,
        gct_per_grade=by_grade[0] if by_grade else 0.0,
        cadence_per_speed=float(np.clip(c_v, 0.0, 0.6)),
        impact_per_speed=i_v,
        cadence_sd=max(c_sd, COUPLING_SD_FLOOR),
        cadence_evidence=evidence,
    )


def stride_time_coupling(log_gct: np.ndarray, log_stride: np.ndarray) -> PaceCouplings:
    """Without speed, a slowdown shows only through stride time.

    Its coupling is capped so that a fatigue-driven cadence drop cannot explain
    away the contact time that rose with it.
    """
    (b_s,) = pace_coupling(log_gct, [log_stride], [1.0], [(0.0, 2.0)])
    return PaceCouplings(b_s, 0.0, 0.0, 0.0, 0.0)


def beyond_pace_band(
    deviation: np.ndarray, speed_change: np.ndarray, coupling_sd: float
) -> np.ndarray:
    """`deviation` less what an uncertain coupling could explain at another pace.

    `speed_change` is the log speed's distance from the baseline's: the farther
    from the baseline pace, the more of a change the coupling's SD could explain.
    """
    band = COUPLING_Z * coupling_sd * 100 * speed_change
    narrowed: np.ndarray = np.sign(deviation) * np.maximum(np.abs(deviation) - band, 0.0)
    return narrowed
