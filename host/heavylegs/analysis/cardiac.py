"""Heart rate beside contact time: cardiac drift as context for heavy legs.

With a merged watch activity, heart rate at the same pace early and late in the
run (the idea of Friel's Pa:HR decoupling) tells how hard that pace became. A heart
rate that drifts up while contact time holds is heat or hydration; both rising
together is the runner tiring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heavylegs.analysis.fatigue import FatigueDetector
from heavylegs.analysis.indicators import combine_feet

# Below this rise in heart rate at the same pace the heart did not drift.
DRIFT_MIN_PCT = 5.0
# Stretches within this share of the baseline's speed count as the same pace.
_COMPARABLE_PACE = 0.06


@dataclass(frozen=True, slots=True)
class CardiacDrift:
    """Heart rate in the baseline window and in the later half of the run's stretches at
    the baseline's pace."""

    base_bpm: float
    late_bpm: float
    # heart rate at the baseline's pace, late against baseline, in %
    drift_pct: float
    # contact time at comparable pace (and grade), late against baseline, in %
    gct_pct: float | None

    @property
    def text(self) -> str:
        hr = (
            f"Heart rate {self.base_bpm:.0f} bpm in the baseline, {self.late_bpm:.0f} "
            "later at the same pace"
        )
        drift = (
            f"{self.drift_pct:+.0f}%: cardiac drift"
            if self.drift_pct >= DRIFT_MIN_PCT
            else f"{self.drift_pct:+.0f}%: no cardiac drift"
        )
        if self.gct_pct is None:
            return f"{hr} ({drift})."
        return f"{hr} ({drift}); contact time at comparable pace {self.gct_pct:+.0f}%."


def cardiac_drift(detector: FatigueDetector) -> CardiacDrift | None:
    """None without a heart rate from a watch, a baseline, or later running at its pace."""
    bins, base = detector.bins_, detector.baseline_
    if bins is None or base is None:
        return None
    rates = [fb.heart_rate_bpm for fb in bins.feet.values() if fb.heart_rate_bpm is not None]
    if not rates:
        return None
    hr = combine_feet(rates)
    speed = combine_feet([fb.speed_mps for fb in bins.feet.values()])
    t = bins.t_min
    in_base = (t >= base.start_min) & (t < base.end_min) & np.isfinite(hr) & np.isfinite(speed)
    if in_base.sum() < 3:
        return None
    base_speed = float(np.nanmedian(speed[in_base]))
    # heart rate is not proportional to pace (it has a resting floor): only stretches
    # run at the baseline's pace are compared with it
    comparable = np.abs(speed / base_speed - 1) <= _COMPARABLE_PACE
    after = np.flatnonzero((t >= base.end_min) & np.isfinite(hr) & comparable)
    if len(after) < 3:
        return None
    late = after[-max(2, len(after) // 2) :]
    drift = 100 * (np.nanmedian(hr[late]) / np.nanmedian(hr[in_base]) - 1)
    gct = detector.indicators_.get("contact_time")
    gct_pct = None
    if gct is not None and np.isfinite(gct.deviation[late]).any():
        gct_pct = float(np.nanmedian(gct.deviation[late]))
    return CardiacDrift(
        base_bpm=float(np.nanmedian(hr[in_base])),
        late_bpm=float(np.nanmedian(hr[late])),
        drift_pct=float(drift) if np.isfinite(drift) else 0.0,
        gct_pct=gct_pct,
    )
