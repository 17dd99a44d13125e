"""Foot orientation as closed-form pulses of angular rate: pitch, roll and yaw."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from heavylegs.sim.gait.params import DEG, RunParams
from heavylegs.sim.gait.stride_plan import Contact


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

    def evaluate(
        self, t: np.ndarray
    ) -> tuple[np.ndarray | float, np.ndarray | float, np.ndarray | float]:
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
            late = int(np.argmax(start[1:] < end[:-1] - 1e-9)) + 1
            raise ValueError(
                f"motion phases overlap at {start[late]:.3f} s: stride too short for its contact"
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
class Angles:
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


def _rotate(
    v: np.ndarray, psi: np.ndarray, beta: np.ndarray, phi: np.ndarray, *, inverse: bool
) -> np.ndarray:
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


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
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
class ContactStyle:
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


def contact_style(c: Contact) -> ContactStyle:
    v = c.speed
    if c.gait == "walk":
        # gaitmap's recording: the swing rotation tails off slowly into heel strike and
        # the toe-up rate is near zero at contact, so there is no toe-down return.
        return ContactStyle(
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
    return ContactStyle(
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


# Share of a heading change made by pivoting on the stance foot; the rest is in swing.
_STANCE_TURN = 0.3


class FootAngles:
    """The pulse layers of one foot's orientation, and their evaluation at any times."""

    def __init__(self, contacts: list[Contact], foot: str, p: RunParams) -> None:
        self.side = 1.0 if foot == "left" else -1.0  # eversion and toe-out mirror
        self.toe = self.side * p.toe_out_deg * DEG
        self.heading0 = contacts[0].heading
        self.slopes = [math.atan(c.grade / 100.0) for c in contacts]
        self.pitch_a, self.pitch_b = _Pulses(), _Pulses()
        self.roll, self.yaw, self.heading, self.slope = _Pulses(), _Pulses(), _Pulses(), _Pulses()
        self.flat_s: list[float | None] = []
        styles = [contact_style(c) for c in contacts]
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

    def at(self, times: np.ndarray) -> Angles:
        pa, dpa, ddpa = self.pitch_a.evaluate(times)
        pb, dpb, ddpb = self.pitch_b.evaluate(times)
        ro, dro, ddro = self.roll.evaluate(times)
        yw, dyw, ddyw = self.yaw.evaluate(times)
        hd, dhd, ddhd = self.heading.evaluate(times)
        sl, dsl, ddsl = self.slope.evaluate(times)
        side = self.side
        zero = np.zeros(len(times))  # every field an array, even when its layers are empty
        return Angles(
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


def _return_before_ic(s: ContactStyle) -> float:
    """Pitch change of the late-swing return pulse up to contact."""
    if not s.return_deg:
        return 0.0
    return _Pulses().partial(
        s.return_s / 2, 0.0, s.return_s / 2, s.return_deg * DEG, s.return_s * s.return_before_ic
    )


def subset_angles(a: Angles, idx: np.ndarray) -> Angles:
    return Angles(*(getattr(a, name)[idx] for name in Angles.__slots__))
