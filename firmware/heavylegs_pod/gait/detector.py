"""Streaming foot-contact detector and per-stride metrics, in integers.

Runs once per sample on the pod (and, for host reprocessing, under CPython).
Inputs are raw sensor counts already in the foot frame (x forward, y left, z up);
pitch rate, positive when the toe rises, is then -gyro_y.

Per stride:
  IC  the impact at initial contact: the first sample-to-sample jump of the
      acceleration (L1 norm) above JERK_G after the swing peak. The contact lies
      between that sample and the one before; we take the midpoint.
  TO  the push-off minimum of pitch rate after foot-flat, refined to sub-sample
      time by a parabola through the three samples around it.
  strike angle  the pitch rotation from IC to foot-flat (integrated pitch rate):
      the foot's pitch at contact relative to the flat foot.

Times are (sample index, 1/64 sample) pairs so every integer stays below 2**30,
which a 32-bit MicroPython keeps as a small int: feed() never allocates.
"""

from array import array

from micropython import const

# Output fields of `stride`
F_SEQ = const(0)
F_IC_N = const(1)  # sample index of initial contact
F_IC_FRAC = const(2)  # 1/64 sample
F_GCT_01MS = const(3)
F_STRIDE_01MS = const(4)  # 0 when no next contact followed (stop)
F_CADENCE_CENTI = const(5)  # 0.01 steps/min, 0 when unknown
F_STRIKE_01DEG = const(6)
F_IMPACT_HALF_G = const(7)
F_CLIPPED = const(8)
F_RUNNING = const(9)
N_FIELDS = const(10)

# Foot-strike classes (Mo et al. 2021 cut-offs), numbered as in wire.STRIKE_*
STRIKE_REARFOOT = const(1)
STRIKE_MIDFOOT = const(2)
STRIKE_FOREFOOT = const(3)
_REARFOOT_ABOVE_01DEG = const(74)
_FOREFOOT_BELOW_01DEG = const(-8)

_SEEK_SWING = const(0)
_ARMED = const(1)
_SLAP = const(2)
_FLAT = const(3)
_PUSH = const(4)

_FRAC = const(64)


def strike_class(strike_01deg):
    if strike_01deg > _REARFOOT_ABOVE_01DEG:
        return STRIKE_REARFOOT
    if strike_01deg < _FOREFOOT_BELOW_01DEG:
        return STRIKE_FOREFOOT
    return STRIKE_MIDFOOT


def ic_ms(n, frac, odr_hz):
    """Sample index + 1/64 sample -> ms, without intermediates above 2**30."""
    return (n // odr_hz) * 1000 + ((n % odr_hz) * 1000 + frac * 1000 // _FRAC) // odr_hz


def _isqrt(value):
    if value <= 0:
        return 0
    x = value
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + value // x) >> 1
    return x


class StrideDetector:
    def __init__(
        self,
        odr_hz,
        acc_lsb_per_g,
        gyro_mdps_per_lsb,
        swing_dps=150,
        jerk_g=1.5,
        flat_dps=50,
        push_dps=100,
        max_contact_ms=1500,
        max_swing_ms=1500,
    ):
        self.odr_hz = odr_hz
        self.acc_lsb_per_g = acc_lsb_per_g
        self.gyro_mdps_per_lsb = gyro_mdps_per_lsb
        lsb_per_dps = 1000 / gyro_mdps_per_lsb
        self._swing_thr = int(swing_dps * lsb_per_dps)
        self._flat_thr = int(flat_dps * lsb_per_dps)
        self._push_thr = int(push_dps * lsb_per_dps)
        self._jerk_thr = int(jerk_g * acc_lsb_per_g)
        self._flat_needed = max(2, odr_hz // 100)  # 10 ms of quiet pitch
        self._impact_window = odr_hz * 40 // 1000
        self._max_contact = odr_hz * max_contact_ms // 1000
        self._max_swing = odr_hz * max_swing_ms // 1000
        self.stride = array("i", [0] * N_FIELDS)
        self.reset()

    def reset(self):
        self._state = _SEEK_SWING
        self._since = 0  # sample index the current state began
        self._pax = self._pay = self._paz = 0
        self._prev_gp = 0
        self._seq = 0
        # the contact being measured
        self._ic_n = self._ic_f = 0
        self._strike_sum = 0
        self._flat_count = 0
        self._impact_max = 0
        self._clipped = 0
        self._min_gp = 0
        self._min_n = 0
        self._y_before = 0
        self._y_after = 0
        # the finished contact waiting for the next IC to know its stride time
        self._pending = 0
        self._p_ic_n = self._p_ic_f = 0
        self._p_gct = 0  # 1/64 samples
        self._p_strike = 0
        self._p_impact = 0
        self._p_clipped = 0

    def feed(self, n, gx, gy, gz, ax, ay, az):
        """One sample (counts, foot frame). Returns 1 when `stride` holds a new stride."""
        gp = -gy
        jerk = abs(ax - self._pax) + abs(ay - self._pay) + abs(az - self._paz)
        self._pax = ax
        self._pay = ay
        self._paz = az
        prev_gp = self._prev_gp
        self._prev_gp = gp
        state = self._state
        emitted = 0

        if state == _SEEK_SWING:
            if gp > self._swing_thr:
                self._state = _ARMED
                self._since = n
            elif self._pending and n - self._since > self._max_swing:
                emitted = self._emit(0, 0)
        elif state == _ARMED:
            if jerk > self._jerk_thr and gp < self._swing_thr:
                # contact between samples n-1 and n
                ic_n = n - 1
                ic_f = _FRAC // 2
                if self._pending:
                    emitted = self._emit(ic_n, ic_f)
                self._ic_n = ic_n
                self._ic_f = ic_f
                self._strike_sum = gp
                self._flat_count = 0
                self._impact_max = 0
                self._clipped = 0
                self._state = _SLAP
                self._since = n
            elif n - self._since > self._max_swing:
                self._state = _SEEK_SWING
                self._since = n
                if self._pending:
                    emitted = self._emit(0, 0)
        else:
            # in contact: impact first, then slap to flat, then push-off
            if n - self._ic_n <= self._impact_window:
                sx = ax >> 3
                sy = ay >> 3
                sz = az >> 3
                a2 = sx * sx + sy * sy + sz * sz
                if a2 > self._impact_max:
                    self._impact_max = a2
                if (
                    ax >= 32767
                    or ax <= -32768
                    or ay >= 32767
                    or ay <= -32768
                    or az >= 32767
                    or az <= -32768
                ):
                    self._clipped = 1
            if n - self._ic_n > self._max_contact:
                # standing still: no toe-off, no stride
                self._state = _SEEK_SWING
                self._since = n
            elif state == _SLAP:
                self._strike_sum += gp
                if -self._flat_thr < gp < self._flat_thr:
                    self._flat_count += 1
                    if self._flat_count >= self._flat_needed:
                        self._state = _FLAT
                else:
                    self._flat_count = 0
            elif state == _FLAT:
                if gp < -self._push_thr:
                    self._state = _PUSH
                    self._min_gp = gp
                    self._min_n = n
                    self._y_before = prev_gp
                    self._y_after = gp
            else:  # _PUSH
                if gp < self._min_gp:
                    self._min_gp = gp
                    self._min_n = n
                    self._y_before = prev_gp
                elif n == self._min_n + 1:
                    self._y_after = gp
                if gp > self._min_gp // 2:
                    self._toe_off()
        return emitted

    def _toe_off(self):
        y0 = self._y_before
        y1 = self._min_gp
        y2 = self._y_after
        curvature = y0 - 2 * y1 + y2
        frac = 0
        if curvature > 0:
            # vertex of the parabola through (-1, y0), (0, y1), (1, y2), in 1/64 sample
            frac = (y0 - y2) * (_FRAC // 2) // curvature
            if frac > _FRAC // 2:
                frac = _FRAC // 2
            elif frac < -(_FRAC // 2):
                frac = -(_FRAC // 2)
        to_ticks = self._min_n * _FRAC + frac
        self._pending = 1
        self._p_ic_n = self._ic_n
        self._p_ic_f = self._ic_f
        self._p_gct = to_ticks - (self._ic_n * _FRAC + self._ic_f)
        # strike: pitch at IC relative to flat = minus the rotation from IC to flat
        self._p_strike = -self._strike_sum
        self._p_impact = self._impact_max
        self._p_clipped = self._clipped
        self._state = _SEEK_SWING
        self._since = self._min_n

    def _emit(self, next_ic_n, next_ic_f):
        """Complete the pending contact; next_ic_n == 0 means no next contact."""
        out = self.stride
        odr = self.odr_hz
        gct = self._p_gct
        stride_ticks = 0
        if next_ic_n:
            stride_ticks = (next_ic_n - self._p_ic_n) * _FRAC + next_ic_f - self._p_ic_f
        out[F_SEQ] = self._seq
        out[F_IC_N] = self._p_ic_n
        out[F_IC_FRAC] = self._p_ic_f
        # 1/64 sample -> 0.1 ms is 10000 / (64 * odr) = 625 / (4 * odr)
        out[F_GCT_01MS] = gct * 625 // (4 * odr)
        out[F_STRIDE_01MS] = stride_ticks * 625 // (4 * odr)
        # steps/min = 120 / stride_s; in 0.01 steps/min over 1/64-sample ticks
        out[F_CADENCE_CENTI] = (
            (768000 * odr + stride_ticks // 2) // stride_ticks if stride_ticks else 0
        )
        out[F_STRIKE_01DEG] = self._p_strike * self.gyro_mdps_per_lsb // (100 * odr)
        # impact: |a| over the window in 0.5 g; a2 was taken on counts / 8
        out[F_IMPACT_HALF_G] = _isqrt(self._p_impact) * 16 // self.acc_lsb_per_g
        out[F_CLIPPED] = self._p_clipped
        out[F_RUNNING] = 1 if stride_ticks and 2 * gct < stride_ticks else 0
        self._seq += 1
        self._pending = 0
        return 1
