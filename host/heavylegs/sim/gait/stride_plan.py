"""The stride plan: every foot contact of both feet of a run, in step; the ground truth."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from heavylegs.sim.gait.params import DEG, FEET, RunParams, Segment, strike_class
from heavylegs.trace import TruthStride


@dataclass(slots=True)
class Contact:
    """One foot contact (stance) and the swing that follows it, in true time."""

    foot: str
    ic: float | None  # None: the foot was already standing (start of the run)
    to: float | None  # None: the foot stays down (end of the run)
    gait: str
    speed: float
    cadence: float
    grade: float  # percent
    strike: float  # rad, pitch at IC relative to the ground, toe up positive
    push_min: float  # rad, deepest plantar flexion after TO
    lag: float  # s, TO after the pitch-rate minimum
    gct: float  # s, the contact time the runner's state calls for (sets phase widths)
    fatigue: float
    heading: float  # rad
    stand: bool = False  # a stop happens during this contact
    stride_len: float = 0.0  # heel to the next contact's heel, m
    next_ic: float | None = None


@dataclass(slots=True)
class Plan:
    params: RunParams
    contacts: dict[str, list[Contact]] = field(default_factory=dict)
    stands: list[tuple[float, float]] = field(default_factory=list)  # both feet still

    def truth(self, foot: str) -> list[TruthStride]:
        """Strides of one foot (flat_s and impact_g need the signals: see simulate_run)."""
        return [truth_of(c, foot) for c in self.contacts[foot] if is_stride(c)]


def is_stride(c: Contact) -> bool:
    return c.ic is not None and c.to is not None and not c.stand


def truth_of(c: Contact, foot: str, **extra: Any) -> TruthStride:
    assert c.ic is not None and c.to is not None
    angle = c.strike / DEG
    return TruthStride(
        foot=foot,
        ic_s=c.ic,
        to_s=c.to,
        next_ic_s=c.next_ic,
        strike_deg=angle,
        strike_class=strike_class(angle),
        stride_len_m=c.stride_len,
        speed_mps=c.speed,
        running=c.gait == "run",
        gait=c.gait,
        cadence_spm=c.cadence,
        grade_pct=c.grade,
        push_min_s=c.to - c.lag,
        fatigue=c.fatigue,
        **extra,
    )


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


class _Course:
    """The course and the runner's state at any instant, before stride-to-stride noise."""

    def __init__(self, p: RunParams) -> None:
        self.p = p
        segs = sorted(p.segments, key=lambda s: s.start_s) or [Segment(0.0)]
        if segs[0].start_s > 0:
            segs.insert(0, Segment(0.0))
        for s in segs:
            if s.gait not in ("run", "walk"):
                raise ValueError(f"segment gait must be 'run' or 'walk', not {s.gait!r}")
        self.segs = segs
        if p.treadmill and (p.turns or any(s.grade_pct for s in segs)):
            raise ValueError("a treadmill run has no turns or hills here")

    def _speed_of(self, s: Segment) -> float:
        if s.speed_mps is not None:
            return s.speed_mps
        return self.p.speed_mps if s.gait == "run" else self.p.walk_speed_mps

    def at(self, t: float) -> tuple[str, float, float]:
        """(gait, speed, grade) at t; speed changes at about 0.4 m/s² within a gait."""
        i = max(k for k, s in enumerate(self.segs) if s.start_s <= t or k == 0)
        seg = self.segs[i]
        speed = self._speed_of(seg)
        if i > 0 and self.segs[i - 1].gait == seg.gait:
            before = self._speed_of(self.segs[i - 1])
            ramp = abs(speed - before) / 0.4
            if ramp > 0 and t - seg.start_s < ramp:
                speed = before + (speed - before) * (t - seg.start_s) / ramp
        return seg.gait, speed, seg.grade_pct

    def heading(self, t: float) -> float:
        return sum(
            tr.angle_deg * DEG * _smoothstep((t - tr.at_s) / max(tr.duration_s, 1e-9))
            for tr in self.p.turns
        )

    def pivoting(self, t: float) -> bool:
        """Within a turn made by pivot steps."""
        return any(tr.pivot and 0.0 <= t - tr.at_s <= tr.duration_s for tr in self.p.turns)

    def turn_rate(self, t: float) -> float:
        """|heading rate|, rad/s."""
        rate = 0.0
        for tr in self.p.turns:
            x = (t - tr.at_s) / max(tr.duration_s, 1e-9)
            if 0.0 < x < 1.0:
                rate += tr.angle_deg * DEG * 6 * x * (1 - x) / tr.duration_s
        return abs(rate)


def _bouts(p: RunParams) -> list[tuple[float, float]]:
    """Intervals of moving, between the initial stand, stops and the final stand."""
    edges = [(p.stand_s, p.duration_s - p.stand_s)]
    for stop in sorted(p.stops, key=lambda s: s.at_s):
        out = []
        for a, b in edges:
            if stop.at_s >= b or stop.at_s + stop.duration_s <= a:
                out.append((a, b))
                continue
            out.append((a, stop.at_s))
            out.append((stop.at_s + stop.duration_s, b))
        edges = out
    # A bout needs room for a few strides to be a bout at all.
    return [(a, b) for a, b in edges if b - a >= 4.0]


# A pivot step (Turn.pivot): half speed, a flat landing and a shallow push-off, so
# the swing lifts the toe by about 8 deg where a running swing lifts it by 60-80.
_PIVOT_SPEED = 0.5
_PIVOT_STRIKE_DEG = 1.0
_PIVOT_PUSH_DEG = -10.0


def _running_at(p: RunParams, speed: float, grade: float) -> tuple[float, float, float, float]:
    """(cadence spm, contact s, strike rad, push-off rad) of the runner at a speed and grade.

    Cadence rises with speed as about v^0.2 and contact time falls as v^-0.6
    (typical of recreational runners from 2.5 to 5.5 m/s); the strike flattens
    slightly with speed. Uphill: shorter steps, longer contact, flatter strike;
    downhill the reverse.
    """
    r = max(speed, 0.5) / p.speed_mps
    cadence = p.cadence_spm * r**0.2 * (1 + 0.004 * grade)
    gct = p.gct_s * r**-0.6 * (1 + 0.012 * grade)
    strike = p.strike_deg - 1.5 * (speed - p.speed_mps) - 0.6 * grade
    push = max(-80.0, p.push_off_deg * r**0.3)
    return cadence, gct, strike * DEG, push * DEG


def _walking_at(p: RunParams, speed: float, grade: float) -> tuple[float, float, float, float]:
    r = max(speed, 0.3) / p.walk_speed_mps
    cadence = p.walk_cadence_spm * r**0.45 * (1 + 0.003 * grade)
    stride = 120.0 / cadence
    duty = p.walk_duty - 0.04 * (speed - p.walk_speed_mps)
    strike = p.walk_strike_deg + 3.0 * (speed - p.walk_speed_mps) - 0.5 * grade
    return cadence, duty * stride, strike * DEG, p.walk_push_off_deg * DEG


def plan_run(params: RunParams, *, seed: int = 0) -> Plan:
    """Every contact of both feet: the ground truth, without the signals."""
    p = params
    if p.lead_foot not in FEET:
        raise ValueError(f"lead_foot must be one of {FEET}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    course = _Course(p)
    plan = Plan(params=p, contacts={f: [] for f in FEET})
    sign = {"left": -0.5, "right": 0.5}  # asymmetry: right minus left
    lead = p.lead_foot
    bouts = _bouts(p)
    previous_end = 0.0
    for b_start, b_end in bouts:
        plan.stands.append((previous_end, b_start))
        foot = lead
        k = 0
        ar = 0.0  # step-time noise persists from step to step, as in real gait
        ic = 0.0
        bout: list[Contact] = []
        while True:
            t_eval = b_start if k == 0 else ic
            gait, speed, grade = course.at(t_eval)
            # Setting off and pulling up: the first and last seconds of a bout are slower.
            edge = min(t_eval - b_start, b_end - t_eval)
            speed *= 0.6 + 0.4 * _smoothstep(edge / 3.0)
            if gait == "run":
                pivot = course.pivoting(t_eval)
                if pivot:
                    speed *= _PIVOT_SPEED
                cadence, gct, strike, push = _running_at(p, speed, grade)
                if pivot:
                    strike, push = _PIVOT_STRIKE_DEG * DEG, _PIVOT_PUSH_DEG * DEG
                lag = p.to_lag_ms * 1e-3
            else:
                cadence, gct, strike, push = _walking_at(p, speed, grade)
                lag = p.walk_to_lag_ms * 1e-3
            # Sharp turns break the rhythm: step times scatter more while turning.
            variability = p.variability * (1.0 + course.turn_rate(t_eval) / (math.pi / 2))
            fat_level = 0.0
            step_scale = 1.0 + sign[foot] * p.step_asym_pct / 100.0
            gct *= 1.0 + sign[foot] * p.gct_asym_pct / 100.0
            strike += sign[foot] * p.strike_asym_deg * DEG
            for fat in p.fatigue:
                level = fat.level(t_eval)
                if not level or foot not in fat.feet:
                    continue
                fat_level = max(fat_level, level)
                gct *= 1.0 + level * fat.gct_pct / 100.0
                strike += level * fat.strike_deg * DEG
                variability *= 1.0 + level * (fat.variability_x - 1.0)
                if set(fat.feet) >= set(FEET):
                    cadence *= 1.0 + level * fat.cadence_pct / 100.0
                step_scale *= 1.0 + level * fat.step_pct / 100.0
            ar = 0.6 * ar + math.sqrt(1 - 0.36) * rng.standard_normal()
            step = 60.0 / cadence * step_scale * (1.0 + variability * ar)
            gct *= 1.0 + p.gct_variability * (variability / p.variability) * rng.standard_normal()
            strike += p.strike_sd_deg * DEG * rng.standard_normal()
            lag = max(0.0, lag + 0.002 * rng.standard_normal())
            if k == 0:
                ic = b_start - gct  # so that the lead foot leaves at the start of the bout
            c = Contact(
                foot=foot,
                ic=None if k < 2 else ic,  # the first contact of each foot is standing
                to=ic + gct,
                gait=gait,
                speed=speed,
                cadence=cadence,
                grade=grade,
                strike=strike,
                push_min=push,
                lag=lag,
                gct=gct,
                fatigue=fat_level,
                heading=course.heading(max(ic, b_start)),
            )
            bout.append(c)
            next_ic = ic + step
            if next_ic >= b_end and k >= 2:
                # Pull up: this foot stays down, the other lands beside it and stays too.
                c.to = None
                other = "right" if foot == "left" else "left"
                last = replace(c, foot=other, ic=next_ic, to=None)
                last.strike += sign[other] * 2 * p.strike_asym_deg * DEG
                bout.append(last)
                lead = foot  # the foot that stopped first sets off first
                previous_end = next_ic
                break
            ic = next_ic
            foot = "right" if foot == "left" else "left"
            k += 1
        for c in bout:
            feet_list = plan.contacts[c.foot]
            if feet_list and feet_list[-1].to is None and c.ic is None:
                # The stop: the contact that pulled up is the one that sets off again.
                stay = feet_list[-1]
                stay.to = c.to
                stay.stand = True
                stay.lag = c.lag
                stay.push_min = c.push_min
                continue
            feet_list.append(c)
    plan.stands.append((previous_end, p.duration_s))
    # A new gait starts with the next contact, but the stance before it was planned
    # for the old one: a walking stance before the first running contact left a
    # swing of 190 ms for 1.9 m of ground (24 g in late swing). The last stance of
    # the old gait ends early enough to leave the new gait its own swing.
    for contacts in plan.contacts.values():
        for a, b in zip(contacts, contacts[1:], strict=False):
            if a.ic is None or a.to is None or b.ic is None or a.gait == b.gait:
                continue
            new_swing = 120.0 / b.cadence - b.gct
            latest_to = max(b.ic - new_swing, a.ic + b.gct)
            if a.to > latest_to:
                a.to = latest_to
                a.gct = a.to - a.ic
    # Stride lengths and next contacts. A contact that starts or ends standing
    # covers ground from where a moving contact of its length would have begun.
    for contacts in plan.contacts.values():
        for a, b in zip(contacts, contacts[1:], strict=False):
            a.next_ic = b.ic
            if a.to is not None and b.ic is not None:
                began = a.ic if a.ic is not None and not a.stand else a.to - a.gct
                a.stride_len = 0.5 * (a.speed + b.speed) * (b.ic - began)
    for foot, contacts in plan.contacts.items():
        for a, b in zip(contacts, contacts[1:], strict=False):
            if a.to is not None and b.ic is not None and b.ic - a.to < 0.12:
                raise ValueError(
                    f"{foot} swing at {a.to:.2f} s is {1000 * (b.ic - a.to):.0f} ms: "
                    "contact time too long for the cadence"
                )
    return plan
