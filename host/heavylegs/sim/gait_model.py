"""A running and walking foot, from which a shoe-mounted IMU's signals follow.

Two stages. `plan_run` lays out every foot contact of a run: the step sequence
of both feet together (so left and right stay in anti-phase), with speed,
cadence, contact time and strike angle following the course (pace changes,
hills, walking breaks, stops, turns), fatigue drift, left/right asymmetry and
stride-to-stride variability. It is cheap and is the ground truth.

`simulate_run` turns the plan into each pod's signals. The foot is a rigid body
with the heel and the ball of the foot as pivots. Its orientation is three
angles built from smooth pulses of angular rate (closed form, so rates and
angular accelerations are exact): pitch relative to the ground (the slap from
the strike angle to foot-flat, heel rise and push-off, swing, and a small
toe-down return before contact), roll (pronation in stance, re-supination at
push-off) and yaw (toe-out, a small rotation in swing, turns). On hills the
ground itself is pitched. In stance the sensor's acceleration is that of a point
on a body rotating about a pivot (fixed, then rolling over the toes at
push-off); in swing its path is a quintic that joins the stance motions with
continuous position, velocity and acceleration (vertically two, through a
late-swing high point). At initial contact the contact point's remaining
velocity is removed over a few milliseconds (the impact transient; sharper and
larger for a rearfoot strike) and the shoe and pod ring briefly. Gravity and
all of it are rotated into the pod's mounting, then the sensor adds gain
error, bias and noise; quantisation and clipping are left to the chip emulator.

Where toe-off sits: the foot leaves the ground a little after the push-off
minimum of pitch angular velocity (`to_lag_ms`, 7 ms running, 5 ms walking by
default). docs/simulation.md gives the evidence and what it means for detectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from heavylegs.sim.trace import STANDARD_GRAVITY, Trace, TraceHeader, TruthStride

REARFOOT_ABOVE_DEG = 7.4
FOREFOOT_BELOW_DEG = -0.8
FEET = ("left", "right")
DEG = math.pi / 180.0

# Foot geometry in the foot frame (x forward from the heel contact point, y left, z up), m.
BALL_ON_FOOT = np.array([0.18, 0.0, 0.0])


def strike_class(angle_deg: float) -> str:
    if angle_deg > REARFOOT_ABOVE_DEG:
        return "rearfoot"
    if angle_deg < FOREFOOT_BELOW_DEG:
        return "forefoot"
    return "midfoot"


# -- what the run is ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """From `start_s` until the next segment: gait, target speed and ground grade."""

    start_s: float
    speed_mps: float | None = None  # None: the run's speed (running) or walk_speed_mps
    gait: str = "run"  # "run" or "walk"
    grade_pct: float = 0.0  # uphill positive


@dataclass(frozen=True, slots=True)
class Stop:
    """Standing still (a traffic light): both feet land and stay, then set off again."""

    at_s: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class Turn:
    """A change of heading spread over `duration_s`, carried by the swings."""

    at_s: float
    angle_deg: float  # left turn positive
    duration_s: float = 3.0


@dataclass(frozen=True, slots=True)
class Fatigue:
    """Drift from `onset_s`, growing linearly to its full size at onset + ramp, then held.

    Sizes are at full drift. Cadence is a property of the step sequence, so it
    drifts only when both feet are fatigued; a one-sided fatigue changes that
    foot's contact time, strike and variability and lengthens its steps instead.
    """

    onset_s: float
    ramp_s: float = 1200.0
    gct_pct: float = 8.0
    strike_deg: float = 4.0  # towards the heel
    cadence_pct: float = -3.0
    variability_x: float = 1.8
    step_pct: float = 0.0  # one-sided: the fatigued foot's step (its IC to the other's) longer
    feet: tuple[str, ...] = FEET

    def level(self, t_s: float) -> float:
        if t_s <= self.onset_s:
            return 0.0
        return min(1.0, (t_s - self.onset_s) / max(self.ramp_s, 1e-9))


@dataclass(frozen=True, slots=True)
class RunParams:
    """The runner and the course; defaults are a steady easy recreational run.

    cadence_spm, gct_s and strike_deg are the runner's values at speed_mps on
    the flat; other speeds and grades scale them (see `_running_at`).
    """

    duration_s: float = 180.0
    speed_mps: float = 3.0
    cadence_spm: float = 170.0
    gct_s: float = 0.26
    strike_deg: float = 12.0
    variability: float = 0.012  # SD of step time, as a fraction
    gct_variability: float = 0.015  # SD of contact time, as a fraction
    strike_sd_deg: float = 1.0
    stand_s: float = 3.0  # standing still before the first step and after the last
    push_off_deg: float = -55.0  # deepest plantar flexion after toe-off (relative to flat)
    pronation_deg: float = 8.0  # eversion from contact to mid-stance
    toe_out_deg: float = 6.0
    to_lag_ms: float = 7.0  # toe-off after the push-off pitch-rate minimum (running)
    walk_to_lag_ms: float = 5.0  # the same, walking (measured on gaitmap's recording)
    walk_speed_mps: float = 1.4
    walk_cadence_spm: float = 112.0
    walk_duty: float = 0.63  # contact time / stride time when walking
    walk_strike_deg: float = 22.0
    walk_push_off_deg: float = -64.0
    lead_foot: str = "left"
    segments: tuple[Segment, ...] = ()
    stops: tuple[Stop, ...] = ()
    turns: tuple[Turn, ...] = ()
    fatigue: tuple[Fatigue, ...] = ()
    # Left/right asymmetry: the right foot's value minus the left's (each side half of it).
    gct_asym_pct: float = 0.0
    strike_asym_deg: float = 0.0
    step_asym_pct: float = 0.0
    treadmill: bool = False


@dataclass(frozen=True, slots=True)
class PodParams:
    """One pod: where it sits on the shoe, its clock, and its sensor's imperfections.

    The defaults are an ideal clock and the sensor axes on the foot axes, with
    noise and bias of the order of the LSM6DSOX datasheet's typical figures.
    """

    mounting: tuple[tuple[float, ...], ...] | None = None  # sensor_from_foot; None: identity
    position_m: tuple[float, float, float] = (0.10, 0.0, 0.06)  # on the foot: the laces
    clock_ppm: float = 0.0
    start_offset_s: float = 0.0
    rate_hz: float = 416.0
    part: str = "LSM6DSOX"
    acc_fs_g: int = 16
    gyr_fs_dps: int = 2000
    acc_noise_g: float = 0.0013  # RMS at 416 Hz (about 90 ug/sqrt(Hz))
    gyr_noise_dps: float = 0.055  # RMS at 416 Hz (about 3.8 mdps/sqrt(Hz))
    acc_bias_g: float = 0.015  # SD of the per-axis zero-g offset
    gyr_bias_dps: float = 0.8  # SD of the per-axis zero-rate level
    gain_sd: float = 0.004  # SD of gain and cross-axis error

    def mounting_matrix(self) -> np.ndarray:
        return np.eye(3) if self.mounting is None else np.asarray(self.mounting, dtype=float)


# -- the plan: every contact of both feet ---------------------------------------------


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
        return [_truth_of(c, foot) for c in self.contacts[foot] if _is_stride(c)]


def _is_stride(c: Contact) -> bool:
    return c.ic is not None and c.to is not None and not c.stand


def _truth_of(c: Contact, foot: str, **extra) -> TruthStride:
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
                cadence, gct, strike, push = _running_at(p, speed, grade)
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


# -- closed-form angle trajectories -----------------------------------------------------


class _Pulses:
    """Non-overlapping pulses of angular rate: half-cosine rise, plateau, half-cosine fall.

    Rate, its integral (the angle) and its derivative (angular acceleration) are
    all continuous and evaluated in closed form at any times.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[float, float, float, float, float]] = []

    def add(self, start: float, rise: float, plateau: float, fall: float, area: float) -> None:
        if rise <= 0 or fall <= 0 or plateau < 0:
            raise ValueError("pulse phases must be positive")
        self._rows.append((start, rise, plateau, fall, area))

    def partial(self, rise: float, plateau: float, fall: float, area: float, u: float) -> float:
        """Angle reached u seconds into a pulse."""
        peak = area / (rise / 2 + plateau + fall / 2)
        if u <= 0:
            return 0.0
        if u < rise:
            return peak / 2 * (u - rise / math.pi * math.sin(math.pi * u / rise))
        if u < rise + plateau:
            return peak * (rise / 2 + u - rise)
        v = u - rise - plateau
        if v < fall:
            return peak * (
                rise / 2 + plateau + (v + fall / math.pi * math.sin(math.pi * v / fall)) / 2
            )
        return area

    def evaluate(self, t: np.ndarray):
        """(angle, rate, acceleration) at times t; plain zeros for a layer with no pulses."""
        if not self._rows:
            return 0.0, 0.0, 0.0
        n = len(t)
        angle = np.zeros(n)
        rate = np.zeros(n)
        accel = np.zeros(n)
        rows = np.array(sorted(self._rows))
        start, rise, plateau, fall, area = rows.T
        end = start + rise + plateau + fall
        if np.any(start[1:] < end[:-1] - 1e-9):
            k = int(np.argmax(start[1:] < end[:-1] - 1e-9))
            raise ValueError(
                f"motion phases overlap at {start[k + 1]:.3f} s: stride too short for its contact"
            )
        before = np.concatenate(([0.0], np.cumsum(area)))
        j = np.searchsorted(start, t, side="right") - 1
        started = j >= 0
        jj = np.where(started, j, 0)
        angle[:] = np.where(started, before[jj + 1], 0.0)
        u = t - start[jj]
        active = np.nonzero(started & (u < end[jj] - start[jj]))[0]
        if not len(active):
            return angle, rate, accel
        k = jj[active]
        u = u[active]
        w1, wp, w2 = rise[k], plateau[k], fall[k]
        peak = area[k] / (w1 / 2 + wp + w2 / 2)
        # Time spent in each phase so far: no branches, every phase in one expression.
        u1 = np.minimum(u, w1)
        u2 = np.clip(u - w1, 0.0, wp)
        u3 = np.clip(u - w1 - wp, 0.0, w2)
        x1 = np.pi * u1 / w1
        x3 = np.pi * u3 / w2
        s1, c1, s3, c3 = np.sin(x1), np.cos(x1), np.sin(x3), np.cos(x3)
        ang = peak * ((u1 - w1 / np.pi * s1) / 2 + u2 + (u3 + w2 / np.pi * s3) / 2)
        r = peak * ((1 - c1) / 2 + (c3 - 1) / 2)
        acc = peak * np.pi / 2 * (s1 / w1 - s3 / w2)
        base = before[k]
        angle[active] = base + ang
        rate[active] = r
        accel[active] = acc
        return angle, rate, accel


@dataclass(slots=True)
class _Angles:
    """Foot orientation: yaw psi, pitch beta about +y (toe down positive), roll phi about +x."""

    psi: np.ndarray
    beta: np.ndarray
    phi: np.ndarray
    dpsi: np.ndarray
    dbeta: np.ndarray
    dphi: np.ndarray
    ddpsi: np.ndarray
    ddbeta: np.ndarray
    ddphi: np.ndarray
    pitch_rel: np.ndarray  # toe-up pitch relative to the ground (chooses the pivot)

    def body_rates(self) -> tuple[np.ndarray, np.ndarray]:
        """Angular velocity and acceleration in the foot frame for R = Rz(psi) Ry(beta) Rx(phi)."""
        sb, cb = np.sin(self.beta), np.cos(self.beta)
        sf, cf = np.sin(self.phi), np.cos(self.phi)
        dp, db, df = self.dpsi, self.dbeta, self.dphi
        ddp, ddb, ddf = self.ddpsi, self.ddbeta, self.ddphi
        w = np.empty((len(sb), 3))
        w[:, 0] = df - dp * sb
        w[:, 1] = db * cf + dp * cb * sf
        w[:, 2] = -db * sf + dp * cb * cf
        dw = np.empty_like(w)
        dw[:, 0] = ddf - ddp * sb - dp * db * cb
        dw[:, 1] = ddb * cf - db * df * sf + ddp * cb * sf - dp * db * sb * sf + dp * df * cb * cf
        dw[:, 2] = -ddb * sf - db * df * cf + ddp * cb * cf - dp * db * sb * cf - dp * df * cb * sf
        return w, dw

    def up_in_foot(self) -> np.ndarray:
        """The world's up direction in foot coordinates (the third row of R)."""
        sb, cb = np.sin(self.beta), np.cos(self.beta)
        return np.stack([-sb, cb * np.sin(self.phi), cb * np.cos(self.phi)], axis=-1)

    def to_world(self, v: np.ndarray) -> np.ndarray:
        return _rotate(v, self.psi, self.beta, self.phi, inverse=False)

    def to_foot(self, v: np.ndarray) -> np.ndarray:
        return _rotate(v, self.psi, self.beta, self.phi, inverse=True)


def _rotate(v, psi, beta, phi, *, inverse):
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    cp, sp = np.cos(psi), np.sin(psi)
    cb, sb = np.cos(beta), np.sin(beta)
    cf, sf = np.cos(phi), np.sin(phi)
    if not inverse:  # Rz Ry Rx v
        y, z = cf * y - sf * z, sf * y + cf * z
        x, z = cb * x + sb * z, -sb * x + cb * z
        x, y = cp * x - sp * y, sp * x + cp * y
    else:  # Rx^T Ry^T Rz^T v
        x, y = cp * x + sp * y, -sp * x + cp * y
        x, z = cb * x - sb * z, sb * x + cb * z
        y, z = cf * y + sf * z, -sf * y + cf * z
    return np.stack([x, y, z], axis=-1)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack(
        [
            a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
            a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
            a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
        ],
        axis=-1,
    )


# Phase timing of one contact, as fractions of its contact time or in seconds.
@dataclass(frozen=True, slots=True)
class _Style:
    slap_rise_s: float
    slap_fall: float  # x contact time
    push_rise: float  # heel-off to the pitch-rate minimum, x contact time
    push_fall_s: float  # pitch-rate minimum to the end of plantar flexion
    swing_shape: tuple[float, float, float]  # rise, plateau, fall of the swing pitch pulse
    return_deg: float  # late-swing toe-down rotation that runs into contact (0: none)
    return_s: float
    return_before_ic: float  # fraction of the return pulse before contact
    late_rise_m: float  # the foot rises again late in swing before dropping to the ground
    roll_m: float  # how far the pivot rolls forward and up over the toes before toe-off
    roll_span: float  # the roll's share of the heel rise (it ends at toe-off)
    brake: float  # forward deceleration still acting at contact, m/s²
    v_down: float  # contact point's velocity at contact, m/s (down, forward)
    v_fwd: float


def _style(c: Contact) -> _Style:
    v = c.speed
    if c.gait == "walk":
        # gaitmap's recording: the swing rotation tails off slowly into heel strike and
        # the toe-up rate is near zero at contact, so there is no toe-down return.
        return _Style(
            slap_rise_s=0.005,
            slap_fall=0.22,
            push_rise=0.36,
            push_fall_s=0.025,
            swing_shape=(0.15, 0.35, 0.50),
            return_deg=0.0,
            return_s=0.01,
            return_before_ic=1.0,
            late_rise_m=0.0,
            roll_m=0.06,
            roll_span=0.5,
            brake=10.0,
            v_down=0.45,
            v_fwd=0.5 * v,
        )
    forefoot = c.strike < 0.0
    deg = c.strike / DEG
    return _Style(
        slap_rise_s=0.008,
        slap_fall=0.20 if forefoot else 0.16,
        push_rise=0.43,
        push_fall_s=0.06 * math.sqrt(3.0 / max(v, 1.5)),
        # pyshoe's runners: the swing rate builds up and peaks late, then drops.
        swing_shape=(0.55, 0.05, 0.40),
        return_deg=-4.0 if forefoot else -6.0,
        return_s=0.07,
        return_before_ic=0.65,
        late_rise_m=0.045,
        roll_m=0.03,
        roll_span=1.0,
        brake=12.0,
        # A steeper heel strike lands further ahead of the body (overstriding): the heel
        # comes down faster and is still moving forward.
        v_down=(0.30 + 0.15 * v) if forefoot else (0.35 + 0.22 * v + 0.03 * max(0.0, deg - 10.0)),
        v_fwd=(0.05 * v) if forefoot else (0.12 + 0.01 * max(0.0, deg - 10.0)) * v,
    )


def _impact_tau(c: Contact) -> float:
    """Time constant of the contact point's deceleration: sharper for a heel strike."""
    if c.gait == "walk":
        return 0.0015
    # 3.5 ms for a forefoot landing, 1.4 ms at the rearfoot cut-off, 1.0 ms for a
    # heel strike of 20 degrees or more.
    return float(
        np.interp(
            c.strike / DEG, [FOREFOOT_BELOW_DEG, REARFOOT_ABOVE_DEG, 20.0], [0.0035, 0.0014, 0.0010]
        )
    )


@dataclass(slots=True)
class _FootMotion:
    f_foot: np.ndarray  # specific force, foot frame, m/s²
    w_foot: np.ndarray  # angular velocity, foot frame, rad/s
    flat_s: list[float | None]
    impact_g: list[float | None]


# Share of a heading change made by pivoting on the stance foot; the rest is in swing.
_STANCE_TURN = 0.3


class _FootAngles:
    """The pulse layers of one foot's orientation, and their evaluation at any times."""

    def __init__(self, contacts: list[Contact], foot: str, p: RunParams) -> None:
        self.side = 1.0 if foot == "left" else -1.0  # eversion and toe-out mirror
        self.toe = self.side * p.toe_out_deg * DEG
        self.heading0 = contacts[0].heading
        self.slopes = [math.atan(c.grade / 100.0) for c in contacts]
        self.pitch_a, self.pitch_b = _Pulses(), _Pulses()
        self.roll, self.yaw, self.heading, self.slope = _Pulses(), _Pulses(), _Pulses(), _Pulses()
        self.flat_s: list[float | None] = []
        styles = [_style(c) for c in contacts]
        self.styles = styles
        # Heading while each contact's foot is down, and where the foot ends up pointing.
        self.stance_heading = [c.heading for c in contacts]
        e_ic, e_to = -4.0 * DEG, -8.0 * DEG  # inverted at contact, more so at toe-off
        roll_now = 0.0
        for i, (c, s) in enumerate(zip(contacts, styles, strict=True)):
            slap_end = None
            if c.ic is not None:
                rb = s.return_s * s.return_before_ic
                if s.return_deg:
                    self.pitch_b.add(
                        c.ic - rb, s.return_s / 2, 0.0, s.return_s / 2, s.return_deg * DEG
                    )
                after_ic = s.return_deg * DEG - _return_before_ic(s)
                fall = s.slap_fall * c.gct
                # The slap takes the foot from the strike angle to flat on the ground.
                self.pitch_a.add(c.ic, s.slap_rise_s, 0.0, fall, -c.strike - after_ic)
                slap_end = c.ic + s.slap_rise_s + fall
                if s.return_deg:
                    slap_end = max(slap_end, c.ic - rb + s.return_s)
                pron = p.pronation_deg * (1.0 if c.gait == "run" else 0.75) * DEG
                self.roll.add(c.ic, 0.12 * c.gct, 0.0, 0.23 * c.gct, pron)
                roll_now = e_ic + pron
                if c.stand:
                    self.roll.add(c.ic + 0.4 * c.gct, 0.2, 0.0, 0.3, -roll_now)
                    roll_now = 0.0
            if c.to is None:
                self.flat_s.append(None)
                continue
            t_min = c.to - c.lag  # the push-off minimum of pitch rate; the toe leaves after it
            rise = s.push_rise * c.gct
            heel_off = t_min - rise
            self.flat_s.append(None if slap_end is None else heel_off - slap_end)
            self.pitch_a.add(heel_off, rise, 0.0, s.push_fall_s, c.push_min)
            push_end = t_min + s.push_fall_s
            roll_up = 0.7 * rise
            self.roll.add(heel_off, roll_up, 0.0, c.to + 0.03 - heel_off - roll_up, e_to - roll_now)
            roll_now = e_to
            if i + 1 >= len(contacts):
                continue
            n, sn = contacts[i + 1], styles[i + 1]
            assert n.ic is not None
            swing_end = n.ic - sn.return_s * sn.return_before_ic
            width = swing_end - push_end
            target = n.strike - _return_before_ic(sn)
            r, pl, f = (width * x for x in s.swing_shape)
            self.pitch_a.add(push_end, r, pl, f, target - c.push_min)
            swing_start = c.to + 0.03
            half = (n.ic - 0.01 - swing_start) / 2
            self.roll.add(swing_start, half, 0.0, half, e_ic - roll_now)
            roll_now = e_ic
            # The foot turns in a little early in swing and back out before landing.
            self.yaw.add(c.to, 0.3 * width, 0.0, 0.3 * width, -4.0 * DEG)
            self.yaw.add(c.to + 0.6 * width + 0.02, 0.2 * width, 0.0, 0.2 * width, 4.0 * DEG)
            air = 0.5 * (n.ic - c.to - 0.04)
            turn = n.heading - c.heading
            if turn:
                # Most of a turn is made in the air; the rest by pivoting on the landing foot.
                self.heading.add(c.to + 0.02, air, 0.0, air, (1 - _STANCE_TURN) * turn)
                self.stance_heading[i + 1] = c.heading + (1 - _STANCE_TURN) * turn
                if n.to is not None and not n.stand:
                    pivot = 0.3 * n.gct
                    self.heading.add(n.ic + 0.15 * n.gct, pivot, 0.0, pivot, _STANCE_TURN * turn)
                else:
                    self.heading.add(n.ic + 0.3, 0.3, 0.0, 0.3, _STANCE_TURN * turn)
            if self.slopes[i + 1] != self.slopes[i]:
                self.slope.add(c.to + 0.02, air, 0.0, air, self.slopes[i + 1] - self.slopes[i])

    def at(self, times: np.ndarray) -> _Angles:
        pa, dpa, ddpa = self.pitch_a.evaluate(times)
        pb, dpb, ddpb = self.pitch_b.evaluate(times)
        ro, dro, ddro = self.roll.evaluate(times)
        yw, dyw, ddyw = self.yaw.evaluate(times)
        hd, dhd, ddhd = self.heading.evaluate(times)
        sl, dsl, ddsl = self.slope.evaluate(times)
        side = self.side
        zero = np.zeros(len(times))  # every field an array, even when its layers are empty
        return _Angles(
            psi=self.heading0 + hd + self.toe + side * yw + zero,
            beta=-(pa + pb + self.slopes[0] + sl) + zero,
            phi=side * ro + zero,
            dpsi=dhd + side * dyw + zero,
            dbeta=-(dpa + dpb + dsl) + zero,
            dphi=side * dro + zero,
            ddpsi=ddhd + side * ddyw + zero,
            ddbeta=-(ddpa + ddpb + ddsl) + zero,
            ddphi=side * ddro + zero,
            pitch_rel=pa + pb + zero,
        )


def _return_before_ic(s: _Style) -> float:
    """Pitch change of the late-swing return pulse up to contact."""
    if not s.return_deg:
        return 0.0
    return _Pulses().partial(
        s.return_s / 2, 0.0, s.return_s / 2, s.return_deg * DEG, s.return_s * s.return_before_ic
    )


def _foot_motion(
    contacts: list[Contact], foot: str, t: np.ndarray, period: float, p: RunParams, pod: PodParams
) -> _FootMotion:
    """Signals of one foot at true times t (ascending); `period` is the sample period."""
    layers = _FootAngles(contacts, foot, p)
    ang = layers.at(t)
    w, dw = ang.body_rates()
    sensor = np.asarray(pod.position_m, dtype=float)

    # Which contact each sample belongs to, and whether it is in that contact's stance.
    ic_eff = np.array([-np.inf if c.ic is None else c.ic for c in contacts])
    to_eff = np.array([np.inf if c.to is None else c.to for c in contacts])
    ci = np.maximum(np.searchsorted(ic_eff, t, side="right") - 1, 0)
    stance = t <= to_eff[ci]
    acc_foot = np.zeros((len(t), 3))

    # Stance: a point on a body turning about a fixed pivot (heel when toe-up, else ball).
    st = np.nonzero(stance)[0]
    lever = np.where((ang.pitch_rel[st] >= 0)[:, None], sensor, sensor - BALL_ON_FOOT)
    acc_foot[st] = _cross(dw[st], lever) + _cross(w[st], _cross(w[st], lever))
    _add_toe_roll(acc_foot, t, st, ci[st], ang, layers, contacts)

    swings = [i for i, c in enumerate(contacts) if c.to is not None and i + 1 < len(contacts)]
    if swings:
        _add_swings(acc_foot, t, stance, ang, layers, contacts, swings, sensor)
        landing = [contacts[i + 1] for i in swings]
        ic_t = np.array([c.ic for c in landing])
        v_c = np.array(
            [_contact_velocity(layers.stance_heading[i + 1], layers.styles[i + 1]) for i in swings]
        )
        _add_impacts(acc_foot, w, t, period, ic_t, v_c, landing, ang, layers.side)

    f_foot = acc_foot + STANDARD_GRAVITY * ang.up_in_foot()
    # True impact: the peak |specific force| over 40 ms from contact, before any range limit.
    impact: list[float | None] = [None] * len(contacts)
    landed = [i for i, c in enumerate(contacts) if c.ic is not None]
    if landed:
        window = max(2, int(round(0.040 / period)))
        j0 = np.searchsorted(t, [contacts[i].ic for i in landed])
        idx = np.minimum(j0[:, None] + np.arange(window)[None, :], len(t) - 1)
        peaks = np.linalg.norm(f_foot[idx], axis=-1).max(axis=1) / STANDARD_GRAVITY
        for i, j, peak in zip(landed, j0, peaks, strict=True):
            if j < len(t):
                impact[i] = float(peak)
    return _FootMotion(f_foot=f_foot, w_foot=w, flat_s=layers.flat_s, impact_g=impact)


# The pivot rolls from the ball over the toes, forward and 20 degrees up, in the last
# part of push-off: s(x) = roll x³ for x from 0 (part way up the heel rise) to 1 (toe-off).
_ROLL_UP = 20.0 * DEG


def _toe_roll(c: Contact, s: _Style, heading: float, slope: float):
    """(start time, duration, world direction x distance) of one contact's toe roll."""
    assert c.to is not None
    start = c.to - c.lag - s.roll_span * s.push_rise * c.gct
    direction = _direction(np.array(heading), np.array(slope + _ROLL_UP))
    return start, c.to - start, s.roll_m * direction


def _add_toe_roll(acc_foot, t, st, ci, ang, layers, contacts) -> None:
    rows = []
    for i, c in enumerate(contacts):
        if c.to is not None:
            start, span, vec = _toe_roll(
                c, layers.styles[i], layers.stance_heading[i] + layers.toe, layers.slopes[i]
            )
            rows.append((i, start, span, vec))
    if not rows:
        return
    start = np.full(len(contacts), np.inf)
    span = np.ones(len(contacts))
    vec = np.zeros((len(contacts), 3))
    for i, a, d, v in rows:
        start[i], span[i], vec[i] = a, d, v
    k = ci
    x = (t[st] - start[k]) / span[k]
    rolling = (x > 0) & (x <= 1)
    idx = st[rolling]
    k = k[rolling]
    a_w = vec[k] * (6 * x[rolling] / span[k] ** 2)[:, None]
    acc_foot[idx] += _subset(ang, idx).to_foot(a_w)


def _contact_velocity(heading: float, s: _Style) -> np.ndarray:
    """World velocity of the heel (or ball) the instant it touches down."""
    return np.array([s.v_fwd * math.cos(heading), s.v_fwd * math.sin(heading), -s.v_down])


def _add_swings(acc_foot, t, stance, ang, layers, contacts, swings, sensor) -> None:
    """Swing: quintics between the stance states at TO and at the next IC.

    Horizontally one quintic. Vertically two joined at a late-swing high point:
    the real foot passes low under the body in mid-swing (a pendulum's bottom,
    accelerating upwards) and rises a little before it drops to the ground.
    """
    to_t = np.array([contacts[i].to for i in swings])
    ic_t = np.array([contacts[i + 1].ic for i in swings])
    at_to, at_ic = layers.at(to_t), layers.at(ic_t)
    p0, v0, a0 = _pivot_state(at_to, sensor)
    p1, v1, a1 = _pivot_state(at_ic, sensor)
    # Displacement of the sensor: heel to heel is the stride, the ball pivot sits ahead of
    # the heel along the stance foot, and the sensor hangs off its pivot.
    disp = p1 - p0
    now = [contacts[i] for i in swings]
    h0 = np.array([layers.stance_heading[i] for i in swings])
    h1 = np.array([layers.stance_heading[i + 1] for i in swings])
    g0 = np.array([layers.slopes[i] for i in swings])
    g1 = np.array([layers.slopes[i + 1] for i in swings])
    stride = np.array([c.stride_len for c in now])
    disp += stride[:, None] * _direction(0.5 * (h0 + h1), 0.5 * (g0 + g1))
    ball = BALL_ON_FOOT[0]
    disp += np.where((at_ic.pitch_rel < 0)[:, None], ball * _direction(h1 + layers.toe, g1), 0.0)
    disp -= np.where((at_to.pitch_rel < 0)[:, None], ball * _direction(h0 + layers.toe, g0), 0.0)
    v1 += np.array(
        [_contact_velocity(layers.stance_heading[i + 1], layers.styles[i + 1]) for i in swings]
    )
    # Until touchdown the foot is free: it is still falling and the swing leg is still
    # braking it. Contact forces (the pivot's and the impact's) start at IC, so the
    # acceleration jumps there instead of ramping towards its stance value beforehand.
    brake = np.array([layers.styles[i + 1].brake for i in swings])
    a1 = -brake[:, None] * _direction(h1, np.zeros(len(swings)))
    T = ic_t - to_t
    # The toe roll leaves the foot at toe-off already moving forward and up.
    for k, i in enumerate(swings):
        _, span, vec = _toe_roll(
            contacts[i], layers.styles[i], layers.stance_heading[i] + layers.toe, layers.slopes[i]
        )
        disp[k] -= vec
        v0[k] += 3 * vec / span
        a0[k] += 6 * vec / span**2
    c2, c3, c4, c5 = _quintic(disp, v0, a0, v1, a1, T)
    # The vertical via point: `rise` above the landing height, at rest vertically, falling
    # with the acceleration that reaches the landing speed over that height.
    rise = np.maximum([layers.styles[i + 1].late_rise_m for i in swings], 1e-3)
    vz1 = np.minimum(v1[:, 2], -0.05)
    a_mid = -np.clip(vz1**2 / (2 * rise), 0.5 * STANDARD_GRAVITY, 3.0 * STANDARD_GRAVITY)
    drop = np.clip(2 * rise / -vz1, 0.04, 0.4 * T)
    t_mid = T - drop
    zero = np.zeros(len(swings))
    up1 = _quintic(
        (disp[:, 2] + rise)[:, None], v0[:, 2:], a0[:, 2:], zero[:, None], a_mid[:, None], t_mid
    )
    up2 = _quintic((-rise)[:, None], zero[:, None], a_mid[:, None], v1[:, 2:], a_mid[:, None], drop)

    sw = np.nonzero(~stance)[0]
    k_of = np.clip(np.searchsorted(to_t, t[sw], side="right") - 1, 0, len(swings) - 1)
    u = (t[sw] - to_t[k_of])[:, None]
    a_w = 2 * c2[k_of] + 6 * c3[k_of] * u + 12 * c4[k_of] * u**2 + 20 * c5[k_of] * u**3
    late = u[:, 0] >= t_mid[k_of]
    uz = np.where(late, u[:, 0] - t_mid[k_of], u[:, 0])[:, None]
    z1 = (
        2 * up1[0][k_of]
        + 6 * up1[1][k_of] * uz
        + 12 * up1[2][k_of] * uz**2
        + 20 * up1[3][k_of] * uz**3
    )
    z2 = (
        2 * up2[0][k_of]
        + 6 * up2[1][k_of] * uz
        + 12 * up2[2][k_of] * uz**2
        + 20 * up2[3][k_of] * uz**3
    )
    # Walking has no late-swing rise: its vertical path is the one quintic.
    has_rise = np.array([layers.styles[i + 1].late_rise_m > 0 for i in swings])[k_of]
    a_w[:, 2] = np.where(has_rise, np.where(late, z2[:, 0], z1[:, 0]), a_w[:, 2])
    acc_foot[sw] = _subset(ang, sw).to_foot(a_w)


def _direction(heading: np.ndarray, grade: np.ndarray) -> np.ndarray:
    return np.stack(
        [np.cos(heading) * np.cos(grade), np.sin(heading) * np.cos(grade), np.sin(grade)],
        axis=-1,
    )


def _subset(a: _Angles, idx: np.ndarray) -> _Angles:
    return _Angles(*(getattr(a, name)[idx] for name in _Angles.__slots__))


def _pivot_state(a: _Angles, sensor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World position of the sensor relative to its pivot, its velocity and acceleration."""
    w, dw = a.body_rates()
    lever = np.where((a.pitch_rel < 0)[:, None], sensor - BALL_ON_FOOT, sensor)
    p = a.to_world(lever)
    v = a.to_world(_cross(w, lever))
    acc = a.to_world(_cross(dw, lever) + _cross(w, _cross(w, lever)))
    return p, v, acc


def _quintic(d, v0, a0, v1, a1, T):
    """Coefficients c2..c5 of the quintic from (0, v0, a0) to (d, v1, a1) in time T."""
    T = T[:, None]
    c2 = a0 / 2
    c3 = (20 * d - (8 * v1 + 12 * v0) * T - (3 * a0 - a1) * T**2) / (2 * T**3)
    c4 = (-30 * d + (14 * v1 + 16 * v0) * T + (3 * a0 - 2 * a1) * T**2) / (2 * T**4)
    c5 = (12 * d - 6 * (v1 + v0) * T - (a0 - a1) * T**2) / (2 * T**5)
    return c2, c3, c4, c5


def _add_impacts(acc_foot, w, t, period, ic_t, v_c, landing, ang, side):
    span = int(math.ceil(0.045 / period)) + 1
    first = np.searchsorted(t, ic_t)
    idx = first[:, None] + np.arange(span)[None, :]
    ok = idx < len(t)
    idx = np.minimum(idx, len(t) - 1)
    u1 = t[idx] - ic_t[:, None]  # end of each sample's averaging window, after contact
    u0 = u1 - period
    tau = np.array([_impact_tau(c) for c in landing])[:, None]
    speed = np.linalg.norm(v_c, axis=1)[:, None]

    def removed(u):  # fraction of v_c removed by time u
        u = np.maximum(u, 0.0)
        return 1 - (1 + u / tau) * np.exp(-u / tau)

    frac = (removed(u1) - removed(u0)) / period
    a_w = -v_c[:, None, :] * frac[..., None]
    # Ringing of shoe and pod: a damped velocity wobble, so it adds no net velocity.
    f_ring, tau_ring = 75.0, 0.006

    def wobble(u):
        u = np.maximum(u, 0.0)
        return np.exp(-u / tau_ring) * np.sin(2 * np.pi * f_ring * u)

    ring = (wobble(u1) - wobble(u0)) / period
    a_w[..., 2] += 0.12 * speed * ring
    a_w[~ok] = 0.0
    flat_idx = idx[ok]
    np.add.at(acc_foot, flat_idx, _subset(ang, flat_idx).to_foot(a_w[ok]))
    # The pod rocks on its strap in pitch (and a little in roll): 2.4 rad/s per m/s of impact.
    g_ring = 2.4 * speed * ring / (2 * np.pi * f_ring)
    g_ring[~ok] = 0.0
    np.add.at(w[:, 1], flat_idx, g_ring[ok])
    np.add.at(w[:, 0], flat_idx, 0.3 * side * g_ring[ok])


# -- pods -----------------------------------------------------------------------------


def _sample_times(pod: PodParams, duration_s: float) -> np.ndarray:
    true_rate = pod.rate_hz * (1.0 + pod.clock_ppm * 1e-6)
    n = int(math.floor((duration_s - pod.start_offset_s) * true_rate))
    if n <= 0:
        raise ValueError("the pod starts after the run ends")
    return pod.start_offset_s + np.arange(n) / true_rate


def simulate_foot(
    plan: Plan,
    foot: str,
    pod: PodParams,
    *,
    seed: int = 0,
    scenario: str = "",
    meta: dict | None = None,
) -> Trace:
    """One pod's trace for one foot of a planned run."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2, FEET.index(foot)]))
    contacts = plan.contacts[foot]
    if not contacts:
        raise ValueError(
            f"no {foot} foot contact in {plan.params.duration_s:.0f} s: the runner is still "
            f"standing (stand_s={plan.params.stand_s:.0f}); simulate a longer run"
        )
    t = _sample_times(pod, plan.params.duration_s)
    motion = _foot_motion(contacts, foot, t, 1.0 / pod.rate_hz, plan.params, pod)
    m = pod.mounting_matrix()
    gain = np.eye(3) + pod.gain_sd * rng.standard_normal((3, 3))
    n = len(t)
    acc_g = (motion.f_foot / STANDARD_GRAVITY) @ m.T @ gain.T
    gyr_dps = np.degrees(motion.w_foot) @ m.T @ gain.T
    acc_g += pod.acc_bias_g * rng.standard_normal(3)
    acc_g += pod.acc_noise_g * rng.standard_normal((n, 3))
    gyr_dps += pod.gyr_bias_dps * rng.standard_normal(3)
    gyr_dps += pod.gyr_noise_dps * rng.standard_normal((n, 3))
    first, last = t[0], t[-1]
    truth = [
        _truth_of(c, foot, flat_s=motion.flat_s[i], impact_g=motion.impact_g[i])
        for i, c in enumerate(contacts)
        if _is_stride(c) and c.ic >= first and c.to <= last  # type: ignore[operator]
    ]
    # Where this foot stands still: before setting off, at stops, after pulling up.
    duration = plan.params.duration_s
    stands = [
        [0.0 if c.ic is None else c.ic, duration if c.to is None else c.to]
        for c in contacts
        if c.ic is None or c.to is None or c.stand
    ]
    header = TraceHeader(
        rate_hz=pod.rate_hz,
        n_samples=n,
        pod=foot,
        foot=foot,
        part=pod.part,
        clock_ppm=pod.clock_ppm,
        start_offset_s=pod.start_offset_s,
        scenario=scenario,
        seed=seed,
        mounting=m.tolist(),
        acc_fs_g=pod.acc_fs_g,
        gyr_fs_dps=pod.gyr_fs_dps,
        treadmill=plan.params.treadmill,
        stands_s=stands,
        meta=dict(meta or {}),
    )
    return Trace(header=header, acc_g=acc_g, gyr_dps=gyr_dps, truth=truth)


def simulate_run(
    params: RunParams,
    *,
    seed: int = 0,
    scenario: str = "",
    pods: dict[str, PodParams] | None = None,
    meta: dict | None = None,
) -> dict[str, Trace]:
    """Both feet of one run; each pod has its own clock, mounting and sensor errors."""
    plan = plan_run(params, seed=seed)
    pods = pods or {}
    return {
        foot: simulate_foot(
            plan, foot, pods.get(foot, PodParams()), seed=seed, scenario=scenario, meta=meta
        )
        for foot in FEET
    }


# -- mountings ------------------------------------------------------------------------


def rotation(axis: str, angle_deg: float) -> np.ndarray:
    c, s = math.cos(angle_deg * DEG), math.sin(angle_deg * DEG)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    if axis == "z":
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    raise ValueError(f"axis must be x, y or z, not {axis!r}")


def lace_mounting(
    rng: np.random.Generator, *, upside_down: bool = False
) -> tuple[tuple[float, ...], ...]:
    """sensor_from_foot for a pod clipped on the laces, turned any way round.

    The instep slopes down towards the toes, so the pod's face is pitched
    forward by 12-28 degrees; the clip may point any direction in that plane and
    the pod may sit face down.
    """
    flip = rotation("x", 180.0) if upside_down else np.eye(3)
    foot_from_sensor = (
        rotation("y", rng.uniform(12.0, 28.0))
        @ rotation("x", rng.normal(0.0, 4.0))
        @ rotation("z", rng.uniform(0.0, 360.0))
        @ flip
    )
    return tuple(tuple(float(v) for v in row) for row in foot_from_sensor.T)
