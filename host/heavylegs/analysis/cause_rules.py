"""The cause rules: each reads the evidence meant for it and scores how strongly it points."""

from __future__ import annotations

from collections.abc import Callable

from heavylegs.analysis.cause_context import Cause, Context, baseline_vs_usual, flags_of
from heavylegs.analysis.flags import BALANCE_NORMAL_PCT, BALANCE_POOR_PCT
from heavylegs.analysis.history import DAY_S, baseline_drift_pct
from heavylegs.store.diary import CheckIn

# Shoe cushioning is commonly said to last 500-800 km.
SHOE_WORN_KM = 700.0
SHOE_AGEING_KM = 500.0


def _load_spike(ctx: Context) -> Cause | None:
    acwr = ctx.load.acwr
    if acwr is None or acwr < 1.3:
        return None
    score = 0.8 if acwr >= 1.5 else 0.5
    evidence = [
        f"last 7 days {ctx.load.acute_min:.0f} min of running against a weekly average of "
        f"{ctx.load.chronic_weekly_min:.0f} min over 4 weeks: ratio {acwr:.2f} "
        f"({'above 1.5, a spike' if acwr >= 1.5 else 'above 1.3, a steep rise'})"
    ]
    return Cause(
        "load_spike",
        "Training load spike",
        score,
        tuple(evidence),
        "Load rose faster than your legs are used to. Hold or trim next week's volume "
        "and build by about 10% a week.",
    )


def _overreaching(ctx: Context) -> Cause | None:
    drift = baseline_drift_pct(ctx.history)
    if drift is None or drift < 3.0:
        return None
    score = 0.45 + (0.2 if (ctx.load.acwr or 0) >= 1.2 else 0.0) + (0.1 if drift >= 6 else 0.0)
    evidence = [
        f"contact time at a comparable pace is {drift:+.1f}% over the last two weeks "
        "against the four weeks before: your legs have been getting less springy"
    ]
    if ctx.load.acwr is not None:
        evidence.append(f"training-load ratio {ctx.load.acwr:.2f}")
    return Cause(
        "overreaching",
        "Accumulated fatigue (overreaching)",
        min(score, 0.85),
        tuple(evidence),
        "A week of easier, shorter runs usually brings contact time back; if it does not, "
        "look at sleep, stress and nutrition too.",
    )


def _recovery(ctx: Context) -> Cause | None:
    evidence = []
    score = 0.0
    streak = ctx.load.consecutive_days
    if streak >= 6:
        score = 0.75 if streak >= 9 else 0.55
        evidence.append(f"{streak} days in a row with a run, no rest day")
    since = ctx.load.hours_since_previous
    if since is not None and since < 24 and len(ctx.history) > 1:
        prev = ctx.history[-2]
        prev_report = ctx.checkins.get(prev.run_id)
        hard = prev.running_min >= 90 or (
            prev_report is not None and (prev_report.effort or 0) >= 8
        )
        if hard:
            score = max(score, 0.5) + (0.1 if score else 0.0)
            what = "a long run" if prev.running_min >= 90 else "a hard session"
            evidence.append(f"{since:.0f} h after {what} ({prev.running_min:.0f} min)")
    if not evidence:
        return None
    return Cause(
        "recovery",
        "Too little recovery",
        min(score, 0.85),
        tuple(evidence),
        "Plan at least one rest day a week and keep the day after a long or hard run easy.",
    )


def _strength(ctx: Context) -> Cause | None:
    if not (ctx.checkin and ctx.checkin.strength_before):
        return None
    evidence = ["you reported strength work the day before"]
    score = 0.45
    early = [f for f in ctx.run.flags if f.onset_min <= 20]
    if early:
        score += 0.15
        evidence.append(
            f"fatigue showed early in the run (from minute {min(f.onset_min for f in early):.0f})"
        )
    elevated = baseline_vs_usual(ctx)
    if elevated is not None and elevated >= 3:
        score += 0.15
        evidence.append(
            f"contact time was {elevated:+.1f}% above your usual from the start, at a "
            "comparable pace"
        )
    return Cause(
        "strength_before",
        "Heavy strength work before the run",
        min(score, 0.8),
        tuple(evidence),
        "Legs need 24-48 h after heavy lower-body work: put it after a hard run day, "
        "or keep the next day's run easy.",
    )


def _warmup(ctx: Context) -> Cause | None:
    settling = ctx.run.settling_min
    if settling is None or settling < 4:
        return None
    # a slow start is only a cause of something: a fatigue sign or legs that felt heavy
    heavy = ctx.checkin is not None and ctx.checkin.legs is not None and ctx.checkin.legs >= 4
    if not ctx.run.flags and not heavy:
        return None
    score = 0.5 if settling >= 8 else 0.35
    return Cause(
        "warmup",
        "Skipped or short warm-up",
        score,
        (
            f"contact time and cadence took {settling:.1f} min longer than usual to settle "
            "(falling contact time or rising cadence at the start of the run)",
        ),
        "Start with 10 minutes of very easy running or drills before picking up the pace.",
    )


def _overstriding(ctx: Context) -> Cause | None:
    r = ctx.run
    if r.gct_median_ms is None or r.rearfoot_share is None or r.strike_deg_median is None:
        return None
    if not (r.gct_median_ms >= 290 and r.rearfoot_share >= 0.6 and r.strike_deg_median >= 12):
        return None
    score = 0.45
    evidence = [
        f"median contact time {r.gct_median_ms:.0f} ms (long: above 290 ms)",
        f"{r.rearfoot_share:.0%} heel strikes, median strike angle {r.strike_deg_median:.0f}° "
        "toe up",
    ]
    if r.cadence_median_spm is not None and r.cadence_median_spm < 162:
        score += 0.15
        evidence.append(f"cadence {r.cadence_median_spm:.0f} steps/min (low)")
    return Cause(
        "overstriding",
        "Form: overstriding",
        score,
        tuple(evidence),
        "Long contact with a strong heel strike suggests the foot lands far ahead of you. "
        "Try a 5% higher cadence and landing closer under the hips; a coach can check it.",
    )


def _weaker_leg(ctx: Context) -> Cause | None:
    evidence = []
    score = 0.0
    for flag in flags_of(ctx, "asymmetry"):
        score = max(score, 0.6)
        evidence.append(
            f"left/right balance drifted {flag.size:.1f} points from minute "
            f"{flag.onset_min:.0f}, the {flag.foot} foot staying longer on the ground"
        )
    balance = ctx.run.balance_pct
    if balance is not None:
        longer = max(balance, 100 - balance)
        side = "left" if balance > 50 else "right"
        if longer > BALANCE_POOR_PCT:
            score = max(score, 0.55)
            evidence.append(
                f"baseline balance {longer:.1f}% on the {side}: beyond {BALANCE_POOR_PCT}% "
                "(Garmin's 'poor')"
            )
        elif longer > BALANCE_NORMAL_PCT:
            score = max(score, 0.3)
            evidence.append(
                f"baseline balance {longer:.1f}% on the {side}: beyond the normal "
                f"{BALANCE_NORMAL_PCT}%"
            )
    if not evidence:
        return None
    return Cause(
        "weaker_leg",
        "One leg working harder (asymmetry)",
        score,
        tuple(evidence),
        "Single-leg strength work (step-ups, single-leg squats, calf raises) helps "
        "a weaker side; a new asymmetry with pain needs a physiotherapist.",
    )


def _self_report_rule(
    key: str,
    title: str,
    attribute: str,
    low: float,
    describe: Callable[[float], str],
    advice: str,
    late_boost: bool,
) -> Callable[[Context], Cause | None]:
    def rule(ctx: Context) -> Cause | None:
        value = getattr(ctx.checkin, attribute, None) if ctx.checkin else None
        if value is None or value > low:
            return None
        score = 0.5
        evidence = [describe(value)]
        late = [f for f in ctx.run.flags if f.onset_min >= 40]
        if late_boost and late:
            score += 0.15
            evidence.append(
                f"fatigue came late in the run (from minute {min(f.onset_min for f in late):.0f}), "
                "as when energy or fluid runs short"
            )
        if ctx.run.running_min >= 75 and late_boost:
            score += 0.05
            evidence.append(f"a long run ({ctx.run.running_min:.0f} min)")
        return Cause(key, title, min(score, 0.75), tuple(evidence), advice)

    return rule


_fuelling = _self_report_rule(
    "fuelling",
    "Low fuelling",
    "fuelling",
    2,
    lambda v: f"you rated fuelling {v:.0f} of 5",
    "Eat a carbohydrate-rich meal 2-3 h before, and take 30-60 g of carbohydrate an "
    "hour in runs over 75 minutes.",
    late_boost=True,
)
_hydration = _self_report_rule(
    "hydration",
    "Dehydration",
    "hydration",
    2,
    lambda v: f"you rated hydration {v:.0f} of 5",
    "Drink through the day before running, and to thirst during long or hot runs.",
    late_boost=True,
)
_sleep = _self_report_rule(
    "sleep",
    "Poor sleep",
    "sleep_h",
    6.0,
    lambda v: f"you slept {v:.1f} h (under 6 h)",
    "Short sleep slows recovery: aim for 7-9 h, and keep the run easy after a bad night.",
    late_boost=False,
)


def _shoes(ctx: Context) -> Cause | None:
    evidence = []
    score = 0.0
    for shoe in ctx.shoes:
        total = shoe.total_km
        if total is not None and total >= SHOE_AGEING_KM:
            score = max(score, 0.45 if total >= SHOE_WORN_KM else 0.3)
            evidence.append(f"{shoe.name}: {total:.0f} km on it")
        trend = shoe.impact_trend_pct
        if trend is not None and trend >= 10:
            score = max(score, 0.5) + (0.15 if evidence else 0.0)
            evidence.append(
                f"{shoe.name}: impact at a comparable pace {trend:+.0f}% from its first "
                f"three runs to its last three ({shoe.runs} runs)"
            )
    if not evidence:
        return None
    return Cause(
        "shoes",
        "Worn or unsuitable shoes",
        min(score, 0.75),
        tuple(evidence),
        "Cushioning wears out over 500-800 km; rotate in a fresh pair and compare how "
        "impact and contact time read in it.",
    )


def _professional(ctx: Context) -> Cause | None:
    evidence = []
    score = 0.0
    recent = [r for r in ctx.history if ctx.run.started_at - r.started_at < 21 * DAY_S]
    heavy = [r for r in recent if (ctx.checkins.get(r.run_id) or CheckIn()).legs in (4, 5)]
    span = (heavy[-1].started_at - heavy[0].started_at) / DAY_S if len(heavy) >= 2 else 0.0
    low_load = ctx.load.acwr is None or ctx.load.acwr < 1.3
    if len(heavy) >= 3 and span >= 10 and low_load:
        score = 0.6
        evidence.append(
            f"you reported heavy legs after {len(heavy)} runs over {span:.0f} days without a "
            "rise in training load to explain it"
        )
    lopsided = [
        r
        for r in ctx.history[-5:]
        if any(f.kind == "asymmetry" for f in r.flags)
        or (r.balance_pct is not None and max(r.balance_pct, 100 - r.balance_pct) > 53.0)
    ]
    if len(lopsided) >= 3:
        score = max(score, 0.55)
        evidence.append(
            f"asymmetry in {len(lopsided)} of the last {min(5, len(ctx.history))} runs: a gait "
            "that keeps favouring one side"
        )
    for flag in flags_of(ctx, "asymmetry"):
        if flag.size >= 3.0:
            score = max(score, 0.5)
            evidence.append(
                f"a large asymmetry appeared within the run ({flag.size:.1f} points), as when "
                "pain changes how you land"
            )
    if not evidence:
        return None
    return Cause(
        "professional",
        "Worth seeing a professional",
        score,
        tuple(evidence),
        "This pattern is not explained by training alone. Heavy legs that persist can come "
        "from circulation problems (e.g. venous insufficiency, exertional compartment "
        "syndrome), low iron or an injury: see a doctor or physiotherapist. The pods cannot "
        "diagnose any of these.",
    )


RULES: tuple[Callable[[Context], Cause | None], ...] = (
    _load_spike,
    _overreaching,
    _recovery,
    _strength,
    _warmup,
    _overstriding,
    _weaker_leg,
    _fuelling,
    _hydration,
    _sleep,
    _shoes,
    _professional,
)
CAUSE_KEYS = (
    "load_spike",
    "overreaching",
    "recovery",
    "strength_before",
    "warmup",
    "overstriding",
    "weaker_leg",
    "fuelling",
    "hydration",
    "sleep",
    "shoes",
    "professional",
)
