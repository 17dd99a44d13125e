"""Foot kinematics: the sensor's acceleration in stance (about a pivot) and in swing."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from heavylegs.sim.gait.impacts import add_impacts
from heavylegs.sim.gait.orientation import Angles, ContactStyle, FootAngles, cross, subset_angles
from heavylegs.sim.gait.params import BALL_ON_FOOT, DEG, PodParams, RunParams
from heavylegs.sim.gait.stride_plan import Contact
from heavylegs.trace import STANDARD_GRAVITY


@dataclass(slots=True)
class FootMotion:
    f_foot: np.ndarray  # specific force, foot frame, m/s²
    w_foot: np.ndarray  # angular velocity, foot frame, rad/s
    flat_s: list[float | None]
    impact_g: list[float | None]


def foot_motion(
    contacts: list[Contact], foot: str, t: np.ndarray, period: float, p: RunParams, pod: PodParams
) -> FootMotion:
    """Signals of one foot at true times t (ascending); `period` is the sample period."""
    layers = FootAngles(contacts, foot, p)
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
    acc_foot[st] = cross(dw[st], lever) + cross(w[st], cross(w[st], lever))
    _add_toe_roll(acc_foot, t, st, ci[st], ang, layers, contacts)

    swings = [i for i, c in enumerate(contacts) if c.to is not None and i + 1 < len(contacts)]
    if swings:
        _add_swings(acc_foot, t, stance, ang, layers, contacts, swings, sensor)
        landing = [contacts[i + 1] for i in swings]
        ic_t = np.array([c.ic for c in landing], dtype=float)
        v_c = np.array(
            [_contact_velocity(layers.stance_heading[i + 1], layers.styles[i + 1]) for i in swings]
        )
        add_impacts(acc_foot, w, t, period, ic_t, v_c, landing, ang, layers.side)

    f_foot = acc_foot + STANDARD_GRAVITY * ang.up_in_foot()
    # True impact: the peak |specific force| over 40 ms from contact, before any range limit.
    impact: list[float | None] = [None] * len(contacts)
    landed = [i for i, c in enumerate(contacts) if c.ic is not None]
    if landed:
        window = max(2, int(round(0.040 / period)))
        j0 = np.searchsorted(t, np.array([contacts[i].ic for i in landed], dtype=float))
        idx = np.minimum(j0[:, None] + np.arange(window)[None, :], len(t) - 1)
        peaks = np.linalg.norm(f_foot[idx], axis=-1).max(axis=1) / STANDARD_GRAVITY
        for i, j, peak in zip(landed, j0, peaks, strict=True):
            if j < len(t):
                impact[i] = float(peak)
    return FootMotion(f_foot=f_foot, w_foot=w, flat_s=layers.flat_s, impact_g=impact)


# The pivot rolls from the ball over the toes, forward and 20 degrees up, in the last
# part of push-off: s(x) = roll x³ for x from 0 (part way up the heel rise) to 1 (toe-off).
_ROLL_UP = 20.0 * DEG


def _toe_roll(
    c: Contact, s: ContactStyle, heading: float, slope: float
) -> tuple[float, float, np.ndarray]:
    """(start time, duration, world direction x distance) of one contact's toe roll."""
    assert c.to is not None
    start = c.to - c.lag - s.roll_span * s.push_rise * c.gct
    direction = _direction(np.array(heading), np.array(slope + _ROLL_UP))
    return start, c.to - start, s.roll_m * direction


def _add_toe_roll(
    acc_foot: np.ndarray,
    t: np.ndarray,
    st: np.ndarray,
    ci: np.ndarray,
    ang: Angles,
    layers: FootAngles,
    contacts: list[Contact],
) -> None:
    rows = []
    for i, c in enumerate(contacts):
        if c.to is not None:
            rows.append(
                (
                    i,
                    *_toe_roll(
                        c,
                        layers.styles[i],
                        layers.stance_heading[i] + layers.toe,
                        layers.slopes[i],
                    ),
                )
            )
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
    acc_foot[idx] += subset_angles(ang, idx).to_foot(a_w)


def _contact_velocity(heading: float, s: ContactStyle) -> np.ndarray:
    """World velocity of the heel (or ball) the instant it touches down."""
    return np.array([s.v_fwd * math.cos(heading), s.v_fwd * math.sin(heading), -s.v_down])


def _add_swings(
    acc_foot: np.ndarray,
    t: np.ndarray,
    stance: np.ndarray,
    ang: Angles,
    layers: FootAngles,
    contacts: list[Contact],
    swings: list[int],
    sensor: np.ndarray,
) -> None:
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
    acc_foot[sw] = subset_angles(ang, sw).to_foot(a_w)


def _direction(heading: np.ndarray, grade: np.ndarray) -> np.ndarray:
    return np.stack(
        [np.cos(heading) * np.cos(grade), np.sin(heading) * np.cos(grade), np.sin(grade)],
        axis=-1,
    )


def _pivot_state(a: Angles, sensor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World position of the sensor relative to its pivot, its velocity and acceleration."""
    w, dw = a.body_rates()
    lever = np.where((a.pitch_rel < 0)[:, None], sensor - BALL_ON_FOOT, sensor)
    p = a.to_world(lever)
    v = a.to_world(cross(w, lever))
    acc = a.to_world(cross(dw, lever) + cross(w, cross(w, lever)))
    return p, v, acc


def _quintic(
    d: np.ndarray, v0: np.ndarray, a0: np.ndarray, v1: np.ndarray, a1: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients c2..c5 of the quintic from (0, v0, a0) to (d, v1, a1) in time T."""
    T = T[:, None]
    c2 = a0 / 2
    c3 = (20 * d - (8 * v1 + 12 * v0) * T - (3 * a0 - a1) * T**2) / (2 * T**3)
    c4 = (-30 * d + (14 * v1 + 16 * v0) * T + (3 * a0 - 2 * a1) * T**2) / (2 * T**4)
    c5 = (12 * d - 6 * (v1 + v0) * T - (a0 - a1) * T**2) / (2 * T**5)
    return c2, c3, c4, c5
