"""What a fatigue analysis reports: the indicators, their flags, the baseline and a slowdown."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
UNITS = {
    "contact_time": "%",
    "asymmetry": "pt",
    "cadence": "%",
    "strike": "°",
    "variability": "%",
    "impact": "%",
}

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
class Detection:
    alarm: int
    onset_min: float
    size: float
    late: float
    persistence: float
    model: str


def natural_values(
    kind: str, b: Baseline, late: float, side: str | None
) -> tuple[float, float, str]:
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


def format_value(value: float, kind: str) -> str:
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


def build_flag(
    kind: str,
    side: str | None,
    found: Detection,
    indicator: Indicator,
    *,
    baseline: Baseline,
    t: np.ndarray,
    min_effect: float,
    threshold_sigmas: float,
    per_foot_gct_pct: dict[str, np.ndarray],
    couplings: dict[str, float],
    balance_known: bool,
) -> Flag:
    """The flag for one detected drift, with the evidence a runner can check it by."""
    b = baseline
    size, late = found.size, found.late
    if side == "right":
        size, late = -size, -late  # deviation was mirrored to look for the right side
    base_value, late_value, what = natural_values(kind, b, late, side)
    strength = 1 - math.exp(-((abs(found.size) / indicator.threshold) ** 2))
    confidence = found.persistence * strength
    if kind == "contact_time" and not b.speed_known:
        confidence *= 0.85  # a lasting slowdown would look the same
    unit = indicator.unit
    evidence = [
        f"{what}: {format_value(base_value, kind)} in the baseline "
        f"({b.start_min:.1f}–{b.end_min:.1f} min) → {format_value(late_value, kind)} "
        f"in the last 5 min",
        f"drift {abs(found.size):.1f} {unit} from the alarm on; threshold "
        f"{indicator.threshold:.1f} {unit} = max(smallest meaningful "
        f"{min_effect:g} {unit}, {threshold_sigmas:g} × noise of the "
        f"smoothed series); noise {indicator.noise:.2f} {unit} per bin, from this run",
        f"crossed the threshold at {t[found.alarm]:.1f} min and stayed above half of it "
        f"for {found.persistence:.0%} of the rest of the run; onset from the best "
        f"{found.model} fit",
    ]
    if kind == "contact_time":
        per_foot = ", ".join(
            f"{f} {np.nanmedian(v[found.alarm :]):+.1f}%" for f, v in per_foot_gct_pct.items()
        )
        evidence.append(f"per foot: {per_foot}")
        coupling = couplings["gct_per_stride_time"]
        evidence.append(
            "normalised for pace: contact time ∝ stride time^"
            f"{coupling:.2f}"
            + (f" × speed^{couplings['gct_per_speed']:.2f}" if b.speed_known else "")
            + ", couplings learned from this run's pace changes"
        )
    if kind == "asymmetry" and balance_known:
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
