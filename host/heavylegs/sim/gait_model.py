"""A sagittal-plane running foot, from which a shoe-mounted IMU's signals follow.

The foot is a rigid body with its heel and ball as pivots. Its pitch (toe up
positive) moves through a sequence of smooth pulses of pitch rate per stride:
the slap from the strike angle to foot-flat, the push-off around toe-off, the
swing, and the small return before the next contact. Position follows from the
pivots during stance and from a quintic through swing that joins the stance
motions with continuous position, velocity and acceleration. At initial contact
the foot's remaining velocity is removed by an impulse, which is the impact
transient an accelerometer sees (sharper for a heel strike).

Everything is computed analytically at the sample times, so the ground truth
events are exact rather than estimated from the signals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heavylegs.sim.trace import STANDARD_GRAVITY, Trace, TraceHeader, TruthStride

REARFOOT_ABOVE_DEG = 7.4
FOREFOOT_BELOW_DEG = -0.8

# Foot geometry in the foot frame (x forward from the heel, z up), metres.
SENSOR_ON_FOOT = np.array([0.10, 0.06])
BALL_ON_FOOT = np.array([0.18, 0.0])


def strike_class(angle_deg: float) -> str:
    if angle_deg > REARFOOT_ABOVE_DEG:
        return "rearfoot"
    if angle_deg < FOREFOOT_BELOW_DEG:
        return "forefoot"
    return "midfoot"


@dataclass(frozen=True, slots=True)
class RunParams:
    """What one foot does; defaults are an easy recreational run."""

    duration_s: float = 180.0
    speed_mps: float = 3.0
    cadence_spm: float = 170.0
    gct_s: float = 0.26
    strike_deg: float = 12.0
    variability: float = 0.01  # stride-to-stride SD as a fraction
    stand_s: float = 3.0  # quiet standing before the first step and after the last
    push_off_deg: float = -50.0  # deepest plantar flexion after toe-off
    swing_overshoot_deg: float = 15.0
    acc_noise_g: float = 0.002
    gyr_noise_dps: float = 0.08
    acc_bias_g: float = 0.01
    gyr_bias_dps: float = 0.5
    rate_hz: float = 416.0


class _PulseTrain:
    """Non-overlapping raised-cosine pulses of pitch rate, evaluated in closed form."""

    def __init__(self, theta0: float) -> None:
        self.theta0 = theta0
        self.starts: list[float] = []
        self.widths: list[float] = []
        self.areas: list[float] = []

    def add(self, start: float, width: float, area: float) -> None:
        if self.starts and start < self.starts[-1] + self.widths[-1] - 1e-12:
            raise ValueError("pitch pulses overlap: stride too short for its contact time")
        self.starts.append(start)
        self.widths.append(width)
        self.areas.append(area)

    def evaluate(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        starts = np.asarray(self.starts)
        widths = np.asarray(self.widths)
        areas = np.asarray(self.areas)
        before = self.theta0 + np.concatenate(([0.0], np.cumsum(areas)))
        j = np.searchsorted(starts, t, side="right") - 1
        theta = np.where(j < 0, self.theta0, 0.0)
        omega = np.zeros_like(t)
        alpha = np.zeros_like(t)
        active = j >= 0
        jj = j[active]
        u = t[active] - starts[jj]
        w = widths[jj]
        a = areas[jj]
        inside = u < w
        phase = 2 * np.pi * np.minimum(u, w) / w
        partial = np.where(inside, a / w * (np.minimum(u, w) - w / (2 * np.pi) * np.sin(phase)), a)
        theta[active] = before[jj] + partial
        omega[active] = np.where(inside, a / w * (1 - np.cos(phase)), 0.0)
        alpha[active] = np.where(inside, a / w * (2 * np.pi / w) * np.sin(phase), 0.0)
        return theta, omega, alpha


def _rot(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.cos(theta), np.sin(theta)


def _pivot_motion(theta, omega, alpha, pivot_world, offset):
    """Sensor position/velocity/acceleration while the foot rotates about a fixed pivot."""
    c, s = _rot(theta)
    ox, oz = offset
    rx = c * ox - s * oz
    rz = s * ox + c * oz
    # d/dθ of R·r is (-rz, rx); d²/dθ² is -(rx, rz)
    pos = np.stack([pivot_world[0] + rx, pivot_world[1] + rz], axis=-1)
    vel = np.stack([-omega * rz, omega * rx], axis=-1)
    acc = np.stack([-alpha * rz - omega**2 * rx, alpha * rx - omega**2 * rz], axis=-1)
    return pos, vel, acc


def _quintic(p0, v0, a0, p1, v1, a1, duration):
    """Coefficients (6, 2) of the quintic joining two (pos, vel, acc) states."""
    T = duration
    m = np.array(
        [
            [T**3, T**4, T**5],
            [3 * T**2, 4 * T**3, 5 * T**4],
            [6 * T, 12 * T**2, 20 * T**3],
        ]
    )
    rhs = np.stack(
        [p1 - (p0 + v0 * T + a0 * T**2 / 2), v1 - (v0 + a0 * T), a1 - a0],
        axis=0,
    )
    high = np.linalg.solve(m, rhs)
    return np.vstack([p0, v0, a0 / 2, high])


def _eval_quintic(coef, u):
    powers = np.stack([u**k for k in range(6)], axis=-1)
    d1 = np.stack([k * u ** max(k - 1, 0) if k else np.zeros_like(u) for k in range(6)], axis=-1)
    d2 = np.stack(
        [k * (k - 1) * u ** max(k - 2, 0) if k > 1 else np.zeros_like(u) for k in range(6)],
        axis=-1,
    )
    return powers @ coef, d1 @ coef, d2 @ coef


def simulate_foot(
    params: RunParams,
    foot: str,
    *,
    seed: int = 0,
    first_ic_delay_s: float = 0.0,
    mounting: np.ndarray | None = None,
    scenario: str = "",
) -> Trace:
    """One pod's trace for one foot. `mounting` maps foot-frame vectors to sensor axes."""
    rng = np.random.default_rng(seed)
    rate = params.rate_hz
    n = int(round(params.duration_s * rate))
    t = np.arange(n) / rate
    stride_nominal = 120.0 / params.cadence_spm
    strike = np.radians(params.strike_deg)
    push_min = np.radians(params.push_off_deg)
    overshoot = np.radians(params.swing_overshoot_deg)

    # Contact timeline: the first push-off leaves from standing, the last contact stays.
    first_to = params.stand_s + first_ic_delay_s
    end_by = params.duration_s - params.stand_s
    contacts: list[dict] = []
    ic = first_to + stride_nominal - params.gct_s
    while True:
        jitter = 1 + params.variability * rng.standard_normal()
        stride = stride_nominal * jitter
        gct = params.gct_s * (1 + params.variability * rng.standard_normal())
        angle = strike + np.radians(1.0) * rng.standard_normal()
        if ic + stride > end_by:
            contacts.append(dict(ic=ic, to=None, strike=angle, gct=gct, stride=None))
            break
        contacts.append(dict(ic=ic, to=ic + gct, strike=angle, gct=gct, stride=stride))
        ic += stride

    pitch = _PulseTrain(theta0=0.0)
    first_push = 0.8 * params.gct_s
    pitch.add(first_to - first_push / 2, first_push, push_min)
    previous_to = first_to
    previous_push = first_push
    for c in contacts:
        swing_start = previous_to + previous_push / 2
        ret_w = 0.08 * stride_nominal / 0.7
        swing_w = c["ic"] - ret_w - swing_start
        pitch.add(swing_start, swing_w, c["strike"] + overshoot - push_min)
        pitch.add(c["ic"] - ret_w, ret_w, -overshoot)
        slap_w = 0.25 * c["gct"]
        pitch.add(c["ic"], slap_w, -c["strike"])
        if c["to"] is None:
            break
        push_w = 0.8 * c["gct"]
        pitch.add(c["to"] - push_w / 2, push_w, push_min)
        previous_to, previous_push = c["to"], push_w

    theta, omega, alpha = pitch.evaluate(t)

    # Stance pivots: heel contact point of each stance, one stride length apart.
    heel_x0 = 0.0
    heels = [heel_x0]
    for c in contacts:
        heels.append(heels[-1] + (c["stride"] or stride_nominal) * params.speed_mps)
    # heels[0] is the standing position before the first push-off, heels[k+1] is contact k.

    pos = np.zeros((n, 2))
    acc = np.zeros((n, 2))

    def stance_fill(mask: np.ndarray, heel_x: float) -> None:
        if not mask.any():
            return
        th, om, al = theta[mask], omega[mask], alpha[mask]
        heel_p, _, heel_a = _pivot_motion(th, om, al, (heel_x, 0.0), SENSOR_ON_FOOT)
        ball = np.array([heel_x + BALL_ON_FOOT[0], 0.0])
        ball_p, _, ball_a = _pivot_motion(th, om, al, ball, SENSOR_ON_FOOT - BALL_ON_FOOT)
        on_ball = (th < 0)[:, None]
        pos[mask] = np.where(on_ball, ball_p, heel_p)
        acc[mask] = np.where(on_ball, ball_a, heel_a)

    def state_at(time: float, heel_x: float):
        th, om, al = pitch.evaluate(np.array([time]))
        if th[0] < 0:
            ball = np.array([heel_x + BALL_ON_FOOT[0], 0.0])
            p, v, a = _pivot_motion(th, om, al, ball, SENSOR_ON_FOOT - BALL_ON_FOOT)
        else:
            p, v, a = _pivot_motion(th, om, al, (heel_x, 0.0), SENSOR_ON_FOOT)
        return p[0], v[0], a[0]

    # Standing before the first push-off.
    stance_fill(t <= first_to, heels[0])
    impact_v = []
    to_time, to_heel = first_to, heels[0]
    truth: list[TruthStride] = []
    for k, c in enumerate(contacts):
        heel = heels[k + 1]
        p0, v0, a0 = state_at(to_time, to_heel)
        p1, _, _ = state_at(c["ic"], heel)
        # Pre-impact velocity: the heel (or ball) comes down and slightly forward.
        v_pre = np.array([0.3, -0.9 if c["strike"] > 0 else -0.6])
        a1 = np.zeros(2)
        coef = _quintic(p0, v0, a0, p1, v_pre, a1, c["ic"] - to_time)
        swing = (t > to_time) & (t < c["ic"])
        sp, _, sa = _eval_quintic(coef, t[swing] - to_time)
        pos[swing], acc[swing] = sp, sa
        stance_end = c["to"] if c["to"] is not None else np.inf
        stance_fill((t >= c["ic"]) & (t <= stance_end), heel)
        impact_v.append((c["ic"], v_pre, c["strike"]))
        if c["to"] is not None:
            angle_deg = float(np.degrees(c["strike"]))
            next_ic = contacts[k + 1]["ic"] if k + 1 < len(contacts) else None
            truth.append(
                TruthStride(
                    foot=foot,
                    ic_s=float(c["ic"]),
                    to_s=float(c["to"]),
                    next_ic_s=None if next_ic is None else float(next_ic),
                    strike_deg=angle_deg,
                    strike_class=strike_class(angle_deg),
                    stride_len_m=float(heels[k + 2] - heel) if k + 2 < len(heels) else 0.0,
                    speed_mps=params.speed_mps,
                    running=c["gct"] < 0.5 * (c["stride"] or stride_nominal),
                )
            )
            to_time, to_heel = c["to"], heel

    # Impact: an impulse that removes the pre-impact velocity, shaped t/τ² e^(-t/τ).
    for ic_time, v_pre, angle in impact_v:
        tau = 0.003 if angle > np.radians(REARFOOT_ABOVE_DEG) else 0.008
        window = (t >= ic_time) & (t < ic_time + 12 * tau)
        u = t[window] - ic_time
        kernel = u / tau**2 * np.exp(-u / tau)
        acc[window] += -v_pre[None, :] * kernel[:, None]

    # Specific force in the foot frame (x forward, y left, z up), then the sensor frame.
    c, s = _rot(theta)
    fx_w = acc[:, 0]
    fz_w = acc[:, 1] + STANDARD_GRAVITY
    f_foot = np.zeros((n, 3))
    f_foot[:, 0] = c * fx_w + s * fz_w
    f_foot[:, 2] = -s * fx_w + c * fz_w
    w_foot = np.zeros((n, 3))
    w_foot[:, 1] = -np.degrees(omega)  # toe-up pitch is a rotation about -y (y points left)
    m = np.eye(3) if mounting is None else np.asarray(mounting)
    acc_g = f_foot @ m.T / STANDARD_GRAVITY
    gyr_dps = w_foot @ m.T
    acc_g += params.acc_bias_g * rng.uniform(-1, 1, 3) + params.acc_noise_g * rng.standard_normal(
        (n, 3)
    )
    gyr_dps += params.gyr_bias_dps * rng.uniform(-1, 1, 3)
    gyr_dps += params.gyr_noise_dps * rng.standard_normal((n, 3))

    header = TraceHeader(
        rate_hz=rate, n_samples=n, pod=foot, foot=foot, scenario=scenario, seed=seed
    )
    return Trace(header=header, acc_g=acc_g, gyr_dps=gyr_dps, truth=truth)


def simulate_run(params: RunParams, *, seed: int = 0, scenario: str = "") -> dict[str, Trace]:
    """Both feet: the right foot lands half a stride after the left."""
    half = 60.0 / params.cadence_spm
    return {
        "left": simulate_foot(params, "left", seed=seed * 2 + 1, scenario=scenario),
        "right": simulate_foot(
            params, "right", seed=seed * 2 + 2, first_ic_delay_s=half, scenario=scenario
        ),
    }
