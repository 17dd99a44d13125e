"""A fast, seeded stride-level run generator with planted effects, for tests and bench/.

It skips the sensor and the gait engine: strides come straight from a small model
of how running dynamics follow speed (contact time about speed^-0.8, cadence about
speed^0.25, impact about speed), so pace changes, hills, stops and warm-ups produce
the same couplings a real runner shows, and fatigue is planted on top at a known
minute. Ground truth (what was planted, and where) travels with each run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from heavylegs.store import Store, Stride

# Exponents of the speed couplings; the analysis does not read these, it learns
# the couplings from the data of each run.
GCT_SPEED_EXP = -0.8
CADENCE_SPEED_EXP = 0.25
IMPACT_SPEED_EXP = 1.0
_REARFOOT_ABOVE_DEG = 7.4
_FOREFOOT_BELOW_DEG = -0.8


@dataclass(frozen=True, slots=True)
class Effect:
    """A planted change from `onset_min`, growing linearly to full size over `ramp_min`.

    Sizes are relative (%) except strike, in degrees (positive = towards the heel).
    `foot` limits the effect to one leg, which is how a weakening leg is planted.
    """

    onset_min: float
    ramp_min: float = 10.0
    gct_pct: float = 0.0
    cadence_pct: float = 0.0
    strike_deg: float = 0.0
    variability_pct: float = 0.0
    impact_pct: float = 0.0
    foot: str | None = None

    def kinds(self) -> tuple[str, ...]:
        """The flags this effect must raise: those planted well above the smallest
        meaningful drift (a 1.5% cadence drop beside a 9% contact-time rise is
        realistic colour, not something a flag is owed for)."""
        out = []
        if self.foot is not None and abs(self.gct_pct) >= 4:
            out.append("asymmetry")
        elif self.foot is None and self.gct_pct >= 5:
            out.append("contact_time")
        if self.cadence_pct <= -3:
            out.append("cadence")
        if self.strike_deg >= 4.5:
            out.append("strike")
        if self.variability_pct >= 50:
            out.append("variability")
        if self.impact_pct >= 18:
            out.append("impact")
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Stretch:
    """A stretch at another pace: a hill, an interval or an easy part.

    `speed` multiplies the base speed; downhill running lands further on the heel
    (`strike_deg`) and harder (`impact`) at the same speed.
    """

    start_min: float
    end_min: float
    speed: float
    strike_deg: float = 0.0
    impact: float = 1.0


@dataclass(frozen=True, slots=True)
class SyntheticRun:
    minutes: float = 40.0
    speed_mps: float = 3.0
    cadence_spm: float = 170.0
    gct_ms: float = 260.0
    strike_deg: float = 10.0
    impact_g: float = 12.0
    stride_cv: float = 0.012
    gct_cv: float = 0.025
    strike_sd_deg: float = 2.5
    impact_cv: float = 0.12
    # Left share of the two contact times, in %: 50.6 is a normal 1.2% asymmetry.
    balance_pct: float = 50.6
    stretches: tuple[Stretch, ...] = ()
    # Minutes of settling: the runner starts slower and stiffer and eases in.
    warmup_min: float = 0.0
    # (start minute, seconds stood still): no strides, then a few accelerating ones.
    stops: tuple[tuple[float, float], ...] = ()
    # (start minute, end minute) walking.
    walks: tuple[tuple[float, float], ...] = ()
    effects: tuple[Effect, ...] = ()
    feet: tuple[str, ...] = ("left", "right")
    speed_known: bool = False
    # Treadmill belts hold the speed: less stride-to-stride drift in pace.
    pace_wander: float = 0.015
    # (minute, speed factor) knots of a slow pace trend, linear between them and held
    # beyond: a negative split, a progressive run, a runner slowing down.
    progression: tuple[tuple[float, float], ...] = ()
    # This runner's cadence-speed coupling: runners differ (about 0.15-0.35), and the
    # analysis only knows a prior for it.
    cadence_speed_exp: float = CADENCE_SPEED_EXP
    seed: int = 0
    notes: str = ""
    # Confounders present in this run that must not raise a flag.
    confounders: tuple[str, ...] = field(default=())

    @property
    def planted_onset_min(self) -> float | None:
        return min((e.onset_min for e in self.effects), default=None)

    def expected_kinds(self) -> tuple[str, ...]:
        kinds: list[str] = []
        for effect in self.effects:
            kinds.extend(k for k in effect.kinds() if k not in kinds)
        return tuple(kinds)


def generate(run: SyntheticRun) -> dict[str, list[Stride]]:
    """Strides per foot on one clock (ic_ms from the first contact of the run)."""
    rng = np.random.default_rng(run.seed)
    grid = _pace_grid(run, _pace_wander(run, rng))
    out: dict[str, list[Stride]] = {}
    for index, foot in enumerate(run.feet):
        out[foot] = _foot_strides(
            run, foot, index, grid, np.random.default_rng(rng.integers(2**32))
        )
    return out


def _pace_wander(run: SyntheticRun, rng: np.random.Generator) -> np.ndarray:
    """A slow random pace drift, one value per 10 s, shared by both feet."""
    # at least the 18-value pull-back window: np.convolve(..., "same") is as long as the
    # longer of the two, so a shorter walk would come back 18 long
    steps = max(int(run.minutes * 6) + 4, 18)
    walk = np.cumsum(rng.normal(0.0, run.pace_wander / 3, steps))
    # Pulled back towards 0 so a long run does not wander off to any pace.
    smooth = np.convolve(walk - np.convolve(walk, np.ones(18) / 18, "same"), np.ones(3) / 3, "same")
    return np.clip(smooth, -3 * run.pace_wander, 3 * run.pace_wander)


def _pace_grid(run: SyntheticRun, wander: np.ndarray) -> np.ndarray:
    """Speed factor, extra strike angle and impact factor on a 1-second grid."""
    t_min = np.arange(int(run.minutes * 60) + 120) / 60.0
    factor = 1.0 + wander[np.minimum((t_min * 6).astype(int), len(wander) - 1)]
    strike = np.zeros_like(t_min)
    impact = np.ones_like(t_min)
    for part in run.stretches:
        # 20-second transitions: nobody changes pace within one stride.
        ramp_in = np.clip((t_min - part.start_min) * 3, 0.0, 1.0)
        ramp_out = np.clip((part.end_min - t_min) * 3, 0.0, 1.0)
        weight = np.minimum(ramp_in, ramp_out)
        factor *= 1.0 + weight * (part.speed - 1.0)
        strike += weight * part.strike_deg
        impact *= 1.0 + weight * (part.impact - 1.0)
    if run.progression:
        knots = sorted(run.progression)
        factor *= np.interp(t_min, [k[0] for k in knots], [k[1] for k in knots])
    if run.warmup_min > 0:
        ease = np.clip(1.0 - t_min / run.warmup_min, 0.0, 1.0)
        factor *= 1.0 - 0.12 * ease
    return np.column_stack((factor, strike, impact))


def _effects_at(run: SyntheticRun, foot: str, t_min: float) -> dict[str, float]:
    total = {"gct": 0.0, "cadence": 0.0, "strike": 0.0, "variability": 0.0, "impact": 0.0}
    for e in run.effects:
        if e.foot is not None and e.foot != foot:
            continue
        w = float(np.clip((t_min - e.onset_min) / max(e.ramp_min, 1e-6), 0.0, 1.0))
        total["gct"] += w * e.gct_pct / 100
        total["cadence"] += w * e.cadence_pct / 100
        total["strike"] += w * e.strike_deg
        total["variability"] += w * e.variability_pct / 100
        total["impact"] += w * e.impact_pct / 100
    return total


def _foot_strides(
    run: SyntheticRun, foot: str, index: int, grid: np.ndarray, rng: np.random.Generator
) -> list[Stride]:
    share = run.balance_pct / 50 if foot == "left" else (100 - run.balance_pct) / 50
    end_ms = run.minutes * 60_000
    stops = sorted(run.stops)
    t_ms = 0.5 * 60_000 / run.cadence_spm * index * 2  # the second foot lands a step later
    seq = 0
    since_stop_s = 1e9
    strides: list[Stride] = []
    while t_ms < end_ms:
        t_min = t_ms / 60_000
        if stops and t_min >= stops[0][0]:
            t_ms += stops.pop(0)[1] * 1000
            since_stop_s = 0.0
            continue
        walking = any(a <= t_min < b for a, b in run.walks)
        factor, strike_add, impact_mult = grid[min(int(t_ms / 1000), len(grid) - 1)]
        if since_stop_s < 8.0:
            # accelerating away from a stop
            factor *= 0.55 + 0.45 * since_stop_s / 8.0
        eff = _effects_at(run, foot, t_min)
        noise = 1.0 + eff["variability"]
        if walking:
            cadence = 110.0 * (1 + rng.normal(0, 0.02))
            stride_ms = 120_000 / cadence
            gct = 620.0 * (1 + rng.normal(0, 0.04))
            speed = 1.4
        else:
            cadence_true = run.cadence_spm * factor**run.cadence_speed_exp * (1 + eff["cadence"])
            stride_ms = 120_000 / cadence_true * (1 + rng.normal(0, run.stride_cv * noise))
            cadence = 120_000 / stride_ms
            gct = (
                run.gct_ms
                * share
                * factor**GCT_SPEED_EXP
                * (1 + eff["gct"])
                * (1 + rng.normal(0, run.gct_cv * noise))
            )
            speed = run.speed_mps * factor
        strike = run.strike_deg + strike_add + eff["strike"] + rng.normal(0, run.strike_sd_deg)
        impact = (
            run.impact_g
            * factor**IMPACT_SPEED_EXP
            * impact_mult
            * (1 + eff["impact"])
            * max(0.2, 1 + rng.normal(0, run.impact_cv))
        )
        strides.append(
            Stride(
                seq=seq,
                foot=foot,
                running=not walking,
                clipped=impact > 32.0,
                strike_class=_strike_class(strike),
                ic_ms=int(round(t_ms)),
                gct_ms=round(float(gct), 2),
                stride_ms=round(float(stride_ms), 2),
                cadence_spm=round(float(cadence), 2),
                strike_deg=round(float(strike), 2),
                impact_g=round(float(min(impact, 32.0)), 2),
                stride_len_m=(
                    round(float(speed * stride_ms / 1000), 3) if run.speed_known else None
                ),
            )
        )
        seq += 1
        t_ms += stride_ms
        since_stop_s += stride_ms / 1000
    return strides


def _strike_class(angle_deg: float) -> str:
    if angle_deg > _REARFOOT_ABOVE_DEG:
        return "rearfoot"
    if angle_deg < _FOREFOOT_BELOW_DEG:
        return "forefoot"
    return "midfoot"


_FATIGUE = Effect(onset_min=25.0, ramp_min=12.0, gct_pct=9.0, cadence_pct=-1.5, strike_deg=1.0)
_HILLS = tuple(
    part
    for start in range(6, 58, 10)
    for part in (
        Stretch(start, start + 2.5, 0.85, strike_deg=-2.0),
        Stretch(start + 2.5, start + 4.5, 1.08, strike_deg=3.0, impact=1.25),
    )
)
_INTERVALS = tuple(Stretch(12 + 5 * k, 15 + 5 * k, 1.3) for k in range(6))
# A proper session: 10 easy minutes, six 3-minute repetitions, an easy cool-down.
_WARM_INTERVALS = (Stretch(0, 10, 0.85), *_INTERVALS, Stretch(45, 55, 0.85))
# Planted slowdown of the masked-fatigue run: 5% slower from minute 50.
SLOWDOWN_MIN, SLOWDOWN_PCT = 50.0, 5.0

# Named runs: every confounder the analysis must not flag, and every planted effect.
SCENARIOS: dict[str, SyntheticRun] = {
    "steady": SyntheticRun(minutes=45),
    "treadmill": SyntheticRun(minutes=40, pace_wander=0.002, confounders=("treadmill",)),
    "hilly": SyntheticRun(minutes=60, stretches=_HILLS, confounders=("hills",)),
    "hilly_speed": SyntheticRun(
        minutes=60, stretches=_HILLS, speed_known=True, confounders=("hills",)
    ),
    "intervals": SyntheticRun(minutes=50, stretches=_INTERVALS, confounders=("intervals",)),
    "easy_finish": SyntheticRun(
        minutes=45,
        stretches=(Stretch(30, 45, 0.85),),
        speed_known=True,
        confounders=("easy stretch",),
    ),
    "long_warmup": SyntheticRun(minutes=45, warmup_min=14, confounders=("long warm-up",)),
    "stop_and_go": SyntheticRun(
        minutes=45,
        stops=tuple((m, 40.0) for m in (9, 15, 21.5, 28, 33, 39)),
        confounders=("stops",),
    ),
    "walk_run": SyntheticRun(
        minutes=45, walks=tuple((m, m + 1) for m in range(12, 44, 6)), confounders=("walk breaks",)
    ),
    "intervals_warmup": SyntheticRun(
        minutes=55,
        stretches=_WARM_INTERVALS,
        speed_known=True,
        confounders=("warm-up", "intervals"),
    ),
    # a runner whose cadence follows speed less than the prior 0.25 says
    "negative_split": SyntheticRun(
        minutes=50,
        progression=((0, 1.0), (50, 1.3)),
        cadence_speed_exp=0.15,
        speed_known=True,
        confounders=("negative split",),
    ),
    "progressive": SyntheticRun(
        minutes=60,
        progression=((0, 1.0), (25, 1.0), (60, 1.35)),
        cadence_speed_exp=0.17,
        speed_known=True,
        confounders=("progressive pace",),
    ),
    "forefoot": SyntheticRun(minutes=40, strike_deg=-5.0, gct_ms=225, cadence_spm=178),
    "fatigue": SyntheticRun(minutes=55, effects=(_FATIGUE,)),
    "fatigue_speed": SyntheticRun(minutes=55, effects=(_FATIGUE,), speed_known=True),
    "fatigue_hilly": SyntheticRun(minutes=60, stretches=_HILLS, effects=(_FATIGUE,)),
    # fatigue late in a long run: nothing may be dated before it
    "late_fatigue": SyntheticRun(
        minutes=120,
        effects=(
            Effect(
                onset_min=80.0, ramp_min=15.0, gct_pct=9.0, cadence_pct=-1.5, variability_pct=40.0
            ),
        ),
    ),
    # fatigue that the runner hides by slowing down: only speed-corrected contact time shows it
    "fatigue_slowing": SyntheticRun(
        minutes=70,
        effects=(Effect(onset_min=40.0, ramp_min=10.0, gct_pct=8.0),),
        progression=((0, 1.0), (SLOWDOWN_MIN, 1.0), (SLOWDOWN_MIN + 2, 1 - SLOWDOWN_PCT / 100)),
        speed_known=True,
    ),
    "fatigue_one_pod": SyntheticRun(minutes=55, effects=(_FATIGUE,), feet=("right",)),
    "right_leg_weakening": SyntheticRun(
        minutes=50, effects=(Effect(onset_min=22.0, ramp_min=8.0, gct_pct=7.0, foot="right"),)
    ),
    "heel_drift": SyntheticRun(
        minutes=55, strike_deg=4.0, effects=(Effect(onset_min=28.0, ramp_min=8.0, strike_deg=6.0),)
    ),
    "cadence_drop": SyntheticRun(
        minutes=50, effects=(Effect(onset_min=24.0, ramp_min=6.0, cadence_pct=-4.0),)
    ),
    "ragged": SyntheticRun(
        minutes=50, effects=(Effect(onset_min=26.0, ramp_min=6.0, variability_pct=120.0),)
    ),
    "harder_landings": SyntheticRun(
        minutes=50, effects=(Effect(onset_min=22.0, ramp_min=6.0, impact_pct=25.0),)
    ),
}


def scenario(name: str, seed: int = 0, **changes: object) -> SyntheticRun:
    if name not in SCENARIOS:
        raise KeyError(f"unknown synthetic run {name!r}; choose from {', '.join(SCENARIOS)}")
    return replace(SCENARIOS[name], seed=seed, **changes)  # type: ignore[arg-type]


def store_run(
    store: Store,
    run: SyntheticRun,
    *,
    started_at: float,
    name: str = "synthetic run",
    pods: dict[str, str] | None = None,
) -> int:
    """Generate `run` and store it as a live recording (host times on a common clock)."""
    strides = generate(run)
    run_id = store.start_run(name, "synthetic", started_at)
    for session, (foot, foot_strides) in enumerate(strides.items(), 1):
        address = (pods or {}).get(foot, f"AA:00:00:00:00:0{session}")
        rec = store.add_recording(run_id, address, f"pod-{foot}", foot, run_id, "synthetic")
        # A stride reaches the host when it ends; host time dates the pods on one axis.
        store.add_strides(
            rec,
            [
                replace(s, host_time=started_at + (s.ic_ms + s.stride_ms) / 1000)
                for s in foot_strides
            ],
        )
    store.finish_run(run_id, started_at + run.minutes * 60)
    return run_id
