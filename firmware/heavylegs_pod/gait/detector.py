"""Streaming gait engine: foot contacts and per-stride metrics, in integers.

Runs once per sample on the pod (and, for host reprocessing, under CPython).
Inputs are raw sensor counts in whatever orientation the pod was clipped on;
MountingCalibration finds the foot frame (x forward, y left, z up) from standing
and the first strides. Until it has, samples wait in a replay buffer, so the
first strides of a session are measured too, not lost.

In the foot frame, pitch rate (toe rising positive) is -gyro_y. Per stride:
  IC   the impact at initial contact: the first sample-to-sample jump of the
       acceleration above JERK_G after the swing. The contact lies between that
       sample and the one before; the midpoint is taken.
  TO   the push-off minimum of pitch rate after foot-flat, to sub-sample time by
       a parabola through the three samples around it.
  strike angle  the pitch rotation from IC to foot-flat: the foot's pitch at
       contact relative to the flat foot (positive = toe up, heel first).
  pronation  the range of roll (about the forward axis) through stance.
  stride length  the foot's forward travel from one foot-flat to the next:
       acceleration rotated by the integrated pitch and integrated twice, with
       the velocity left over at the second foot-flat (which must be zero)
       removed as a linear drift.

Times are (sample index, 1/64 sample) pairs and every intermediate stays below
2**30, which a 32-bit MicroPython keeps as a small int: feed() never allocates.
"""

from array import array

import micropython
from micropython import const

from heavylegs_pod.gait.calibration import MountingCalibration

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
F_STRIDE_LEN_CM = const(10)  # 0 when unknown
F_SPEED_MMS = const(11)  # mm/s, 0 when unknown
F_PRONATION_01DEG = const(12)
F_FLIGHT_01MS = const(13)  # stride/2 - contact: one pod's estimate; 0 when walking
F_SWING_01MS = const(14)  # next IC - TO
F_DUTY_PERMILLE = const(15)  # contact / stride
N_FIELDS = const(16)

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
_Q = const(13)
_ONE = const(8192)
_QUEUE = const(8)
_SLIP_FLATS = const(6)


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


class GaitEngine:
    def __init__(
        self,
        odr_hz,
        acc_lsb_per_g,
        gyro_mdps_per_lsb,
        foot="auto",
        swing_dps=150,
        jerk_g=0.6,
        flat_dps=50,
        push_dps=100,
        max_contact_ms=1500,
        max_swing_ms=1500,
        replay_s=3,
        to_lag_us=8500,
    ):
        if foot not in ("left", "right", "auto"):
            raise ValueError("foot must be left, right or auto, not %r" % (foot,))
        self.odr_hz = odr_hz
        self.acc_lsb_per_g = acc_lsb_per_g
        self.gyro_mdps_per_lsb = gyro_mdps_per_lsb
        self.foot = foot
        lsb_per_dps = 1000 / gyro_mdps_per_lsb
        self._swing_thr = int(swing_dps * lsb_per_dps)
        self._flat_thr = int(flat_dps * lsb_per_dps)
        self._push_thr = int(push_dps * lsb_per_dps)
        self._jerk_thr = int(jerk_g * acc_lsb_per_g)
        self._flat_needed = max(2, odr_hz // 50)  # 20 ms of quiet pitch
        g8 = acc_lsb_per_g >> 3
        self._rest_lo = (g8 * 3 // 4) ** 2
        self._rest_hi = (g8 * 5 // 4) ** 2
        self._slap_min = odr_hz * 8 // 1000
        self._slap_quiet = odr_hz * 40 // 1000
        self._impact_window = odr_hz * 40 // 1000
        self._max_contact = odr_hz * max_contact_ms // 1000
        self._max_swing = odr_hz * max_swing_ms // 1000
        self._max_slap = odr_hz * 400 // 1000
        self._min_stride = odr_hz * 35 // 100  # 0.35 s: faster is not a stride
        self._clip = 32767 - 8
        # The toe leaves the ground a few ms after the push-off pitch-rate minimum
        # (the foot still pivots on the toe; the peak is also asymmetric, which biases
        # the parabola early). 8.5 ms is the lag on the simulator's toe-off model, which
        # is anchored on 5 ms measured against mocap walking and 6-14 ms published for
        # running; docs/algorithms.md and bench/accuracy.py give the real-data check.
        self._to_lag = to_lag_us * odr_hz * _FRAC // 1000000
        # Pitch increment per sample in Q13 radians: counts * mdps * pi / (180000 * odr).
        # As a multiply and a shift, so the per-sample path stays in integers.
        self._dtheta_shift = 20
        self._dtheta_mul = int(
            gyro_mdps_per_lsb * 3.14159265 / (180000 * odr_hz) * _ONE * (1 << 20) + 0.5
        )
        # stride length: x sum (counts * samples^2 / 16) -> cm
        self._x_per_cm = int(acc_lsb_per_g * odr_hz * odr_hz / (980.665 * 16) + 0.5)
        self._g_flat_min = acc_lsb_per_g * 94 // 100  # a still foot reads at least cos(20 deg) g
        self._still_gyro = 30000 // gyro_mdps_per_lsb
        self.cal = MountingCalibration(acc_lsb_per_g, gyro_mdps_per_lsb, odr_hz)
        self._rows = self.cal.rows
        self.stride = array("i", [0] * N_FIELDS)
        self._queue = array("i", [0] * (N_FIELDS * _QUEUE))
        self._replay = array("h", [0] * (6 * odr_hz * replay_s))
        self._replay_cap = odr_hz * replay_s
        self.total_distance_cm = 0
        self.recalibrations = 0
        self.foot_votes = 0  # > 0 left (eversion is +roll), < 0 right
        self.dropped_before_calibration = 0
        self.reset()

    def reset(self):
        self._state = _SEEK_SWING
        self._since = 0
        self._pax = self._pay = self._paz = 0
        self._prev_gp = 0
        self._seq = 0
        self._q_head = 0
        self._q_len = 0
        self._replay_start = 0  # sample index of the oldest buffered sample
        self._replay_len = 0
        self._replay_pos = 0  # ring position of the oldest
        self._swing_peak = 0
        # the contact being measured
        self._ic_n = self._ic_f = 0
        self._strike_sum = 0
        self._slap_done = 0
        self._slap_moved = 0
        self._flat_count = 0
        self._impact_max = 0
        self._clipped = 0
        self._min_gp = 0
        self._min_n = 0
        self._y_before = 0
        self._y_after = 0
        self._roll = 0
        self._roll_min = 0
        self._roll_max = 0
        self._roll_at_flat = 0
        self._still_run = 0
        self._tilted_flats = 0
        # foot-flat to foot-flat integration (ZUPT)
        self._integrating = 0
        self._c = _ONE
        self._s = 0
        self._v = 0
        self._x = 0
        self._t = 0
        # the finished contact waiting for its stride time (next IC) and length (next flat)
        self._pending = 0
        self._p_next_ic = 0  # 1/64-sample ticks of the next IC, 0 = not yet
        self._p_ic_n = self._p_ic_f = 0
        self._p_gct = 0
        self._p_strike = 0
        self._p_impact = 0
        self._p_clipped = 0
        self._p_pronation = 0
        self._p_len_cm = 0

    # -- public ---------------------------------------------------------------------
    # native code: about 3x bytecode for this integer state machine (bench/firmware_speed.py)
    @micropython.native
    def feed(self, n, gx, gy, gz, ax, ay, az):
        """One sample (raw counts). Returns 1 when `stride` holds a new stride."""
        if self.cal.ready:
            self._step(n, gx, gy, gz, ax, ay, az)
        else:
            self._buffer(n, gx, gy, gz, ax, ay, az)
            if self.cal.observe(gx, gy, gz, ax, ay, az):
                self._replay_buffer()
        if self._q_len:
            return self._pop()
        return 0

    @property
    def right_foot(self):
        """True/False when configured or inferred, None while unknown."""
        if self.foot != "auto":
            return self.foot == "right"
        if self.foot_votes >= 3:
            return False
        if self.foot_votes <= -3:
            return True
        return None

    # -- calibration and replay -------------------------------------------------------
    def _buffer(self, n, gx, gy, gz, ax, ay, az):
        buf = self._replay
        if self._replay_len == self._replay_cap:
            # full: the oldest second of samples is given up (its strides are lost)
            self._replay_pos = (self._replay_pos + 1) % self._replay_cap
            self._replay_len -= 1
            self._replay_start += 1
            self.dropped_before_calibration += 1
        if self._replay_len == 0:
            self._replay_start = n
        i = 6 * ((self._replay_pos + self._replay_len) % self._replay_cap)
        buf[i] = gx
        buf[i + 1] = gy
        buf[i + 2] = gz
        buf[i + 3] = ax
        buf[i + 4] = ay
        buf[i + 5] = az
        self._replay_len += 1

    def _replay_buffer(self):
        buf = self._replay
        cap = self._replay_cap
        pos = self._replay_pos
        start = self._replay_start
        for k in range(self._replay_len):
            i = 6 * ((pos + k) % cap)
            self._step(
                start + k, buf[i], buf[i + 1], buf[i + 2], buf[i + 3], buf[i + 4], buf[i + 5]
            )
        self._replay_len = 0
        self._replay_pos = 0

    def _recalibrate(self):
        """The pod moved on the shoe: find the frame again, replaying what follows."""
        self.recalibrations += 1
        self.cal.reset()
        self._state = _SEEK_SWING
        self._pending = 0
        self._integrating = 0
        self._tilted_flats = 0
        self._replay_len = 0
        self._replay_pos = 0

    # -- output queue --------------------------------------------------------------
    def _pop(self):
        q = self._queue
        base = self._q_head * N_FIELDS
        out = self.stride
        for i in range(N_FIELDS):
            out[i] = q[base + i]
        self._q_head = (self._q_head + 1) % _QUEUE
        self._q_len -= 1
        return 1

    # -- per sample, in the foot frame ----------------------------------------------
    @micropython.native
    def _step(self, n, gx, gy, gz, ax, ay, az):
        r = self._rows
        gp = -(gx * r[3] + gy * r[4] + gz * r[5]) >> _Q
        roll = (gx * r[0] + gy * r[1] + gz * r[2]) >> _Q
        afx = (ax * r[0] + ay * r[1] + az * r[2]) >> _Q
        afz = (ax * r[6] + ay * r[7] + az * r[8]) >> _Q
        self._watch_tilt(gx, gy, gz, ax, ay, az, afz)
        jerk = abs(ax - self._pax) + abs(ay - self._pay) + abs(az - self._paz)
        self._pax = ax
        self._pay = ay
        self._paz = az
        prev_gp = self._prev_gp
        self._prev_gp = gp

        if self._integrating:
            d = gp * self._dtheta_mul >> self._dtheta_shift
            dd = d * d >> _Q
            c = self._c
            s = self._s
            # second-order rotation step keeps |(c, s)| near one through a swing
            self._c = c - (s * d >> _Q) - (c * dd >> 14)
            self._s = s + (c * d >> _Q) - (s * dd >> 14)
            self._v += (self._c * afx - self._s * afz) >> _Q
            self._x += self._v >> 4
            self._t += 1

        state = self._state
        if state == _SEEK_SWING:
            if gp > self._swing_thr:
                self._state = _ARMED
                self._since = n
                self._swing_peak = gp
            elif self._pending and n - self._since > self._max_swing:
                self._finish_pending(0)
        elif state == _ARMED:
            if gp > self._swing_peak:
                self._swing_peak = gp
            if jerk > self._jerk_thr and gp < self._swing_peak // 2:
                self._initial_contact(n, gp)
            elif n - self._since > self._max_swing:
                self._state = _SEEK_SWING
                self._since = n
                self._integrating = 0
                if self._pending:
                    self._finish_pending(0)
        else:
            # in contact: impact first, then slap to flat, then push-off
            since_ic = n - self._ic_n
            sx = ax >> 3
            sy = ay >> 3
            sz = az >> 3
            a2 = sx * sx + sy * sy + sz * sz
            # at rest on the ground: no pitch rotation and the accelerometer reads ~1 g
            resting = -self._flat_thr < gp < self._flat_thr and self._rest_lo < a2 < self._rest_hi
            if since_ic <= self._impact_window:
                if a2 > self._impact_max:
                    self._impact_max = a2
                if (
                    ax >= self._clip
                    or ax <= -self._clip
                    or ay >= self._clip
                    or ay <= -self._clip
                    or az >= self._clip
                    or az <= -self._clip
                ):
                    self._clipped = 1
            self._roll += roll
            if self._roll < self._roll_min:
                self._roll_min = self._roll
            elif self._roll > self._roll_max:
                self._roll_max = self._roll
            if since_ic > self._max_contact:
                # standing still: no toe-off, so no stride from this contact
                self._state = _SEEK_SWING
                self._since = n
                self._integrating = 0
                if self._pending:
                    self._finish_pending(0)
            elif state == _SLAP:
                quiet = -self._flat_thr < gp < self._flat_thr
                if not self._slap_done:
                    self._strike_sum += gp
                    if not quiet:
                        self._slap_moved = 1
                    elif since_ic >= self._slap_min and (
                        self._slap_moved or since_ic > self._slap_quiet
                    ):
                        # the slap (or a midfoot landing's lack of one) is over
                        self._slap_done = 1
                if resting:
                    self._flat_count += 1
                    if self._flat_count >= self._flat_needed and since_ic >= self._slap_min:
                        self._foot_flat(1)
                else:
                    self._flat_count = 0
                    if self._slap_done and gp < -self._push_thr:
                        # a short or noisy stance with no quiet foot-flat: straight to push-off
                        self._foot_flat(0)
                        self._start_push(n, gp, prev_gp)
                    elif since_ic > self._max_slap:
                        self._foot_flat(0)
            elif state == _FLAT:
                if gp < -self._push_thr:
                    self._start_push(n, gp, prev_gp)
                elif resting:
                    # still on the ground: integration starts afresh from rest
                    self._c = _ONE
                    self._s = 0
                    self._v = 0
                    self._x = 0
                    self._t = 0
            else:  # _PUSH: the last negative excursion before the swing is the push-off
                if gp < self._min_gp:
                    self._min_gp = gp
                    self._min_n = n
                    self._y_before = prev_gp
                elif n == self._min_n + 1:
                    self._y_after = gp
                if gp > self._swing_thr:
                    # the swing has begun, so that minimum was toe-off
                    self._toe_off()
                elif resting:
                    self._flat_count += 1
                    # the swing can pause near zero pitch rate at ~1 g for a few tens of
                    # ms after toe-off: only a longer rest means this was not a push-off
                    if self._flat_count >= 3 * self._flat_needed:
                        # at rest again: that was the end of the slap, not a push-off
                        self._state = _FLAT
                else:
                    self._flat_count = 0

    @micropython.native
    def _watch_tilt(self, gx, gy, gz, ax, ay, az, afz):
        """Every still moment must read gravity along the foot's z axis; if several in a
        row do not, the pod has moved on the shoe (this works even when the wrong frame
        stops the detector from finding foot-flats)."""
        if abs(gx) + abs(gy) + abs(gz) < self._still_gyro:
            sx = ax >> 3
            sy = ay >> 3
            sz = az >> 3
            a2 = sx * sx + sy * sy + sz * sz
            if self._rest_lo < a2 < self._rest_hi:
                self._still_run += 1
                if self._still_run == self._flat_needed:
                    if afz < self._g_flat_min:
                        self._tilted_flats += 1
                        if self._tilted_flats >= _SLIP_FLATS:
                            self._recalibrate()
                    else:
                        self._tilted_flats = 0
                return
        self._still_run = 0

    def _initial_contact(self, n, gp):
        ic_n = n - 1
        ic_f = _FRAC // 2
        if self._pending:
            ticks = ic_n * _FRAC + ic_f
            if ticks - (self._p_ic_n * _FRAC + self._p_ic_f) < self._min_stride * _FRAC:
                return  # too soon after the last contact to be a stride: a tap or a stumble
            self._p_next_ic = ticks
        self._ic_n = ic_n
        self._ic_f = ic_f
        self._strike_sum = gp
        self._slap_done = 0
        self._slap_moved = 0
        self._flat_count = 0
        self._impact_max = 0
        self._clipped = 0
        self._roll = 0
        self._roll_min = 0
        self._roll_max = 0
        self._state = _SLAP
        self._since = n

    def _start_push(self, n, gp, prev_gp):
        self._state = _PUSH
        self._flat_count = 0
        self._min_gp = gp
        self._min_n = n
        self._y_before = prev_gp
        self._y_after = gp

    def _foot_flat(self, rested):
        """End of the landing. `rested`: the foot was really still (zero velocity),
        so the foot-flat to foot-flat integration may be closed and restarted here."""
        self._state = _FLAT
        self._roll_at_flat = self._roll
        if not rested:
            # no zero-velocity moment: no stride length across this stance
            self._integrating = 0
            if self._pending and self._p_next_ic:
                self._finish_pending(self._p_next_ic)
            return
        if self._integrating and self._pending and self._p_next_ic:
            # drift: velocity must be zero now; remove it as a linear ramp
            x = self._x - ((self._v * self._t) >> 5)
            self._p_len_cm = (x + self._x_per_cm // 2) // self._x_per_cm if x > 0 else 0
        self._integrating = 1
        self._c = _ONE
        self._s = 0
        self._v = 0
        self._x = 0
        self._t = 0
        if self._pending and self._p_next_ic:
            self._finish_pending(self._p_next_ic)

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
        to_ticks = self._min_n * _FRAC + frac + self._to_lag
        if self._pending:
            self._finish_pending(self._p_next_ic)
        self._pending = 1
        self._p_next_ic = 0
        self._p_ic_n = self._ic_n
        self._p_ic_f = self._ic_f
        self._p_gct = to_ticks - (self._ic_n * _FRAC + self._ic_f)
        # strike: pitch at IC relative to flat = minus the rotation from IC to flat
        self._p_strike = -self._strike_sum
        self._p_impact = self._impact_max
        self._p_clipped = self._clipped
        self._p_pronation = self._roll_max - self._roll_min
        self._p_len_cm = 0
        roll_flat = self._roll_at_flat
        if roll_flat > 0 and self.foot_votes < 100:
            self.foot_votes += 1
        elif roll_flat < 0 and self.foot_votes > -100:
            self.foot_votes -= 1
        self._state = _SEEK_SWING
        self._since = self._min_n

    def _finish_pending(self, next_ic_ticks):
        """Queue the pending contact as a stride; next_ic_ticks 0 = no next contact."""
        odr = self.odr_hz
        gct = self._p_gct
        stride_ticks = 0
        if next_ic_ticks:
            stride_ticks = next_ic_ticks - (self._p_ic_n * _FRAC + self._p_ic_f)
        self._pending = 0
        self._p_next_ic = 0
        if self._q_len == _QUEUE:
            return  # nobody is reading: the newest is dropped, never a half-written one
        q = self._queue
        base = ((self._q_head + self._q_len) % _QUEUE) * N_FIELDS
        self._q_len += 1
        q[base + F_SEQ] = self._seq
        q[base + F_IC_N] = self._p_ic_n
        q[base + F_IC_FRAC] = self._p_ic_f
        # 1/64 sample -> 0.1 ms is 10000 / (64 * odr) = 625 / (4 * odr)
        q[base + F_GCT_01MS] = gct * 625 // (4 * odr)
        stride_01ms = stride_ticks * 625 // (4 * odr)
        q[base + F_STRIDE_01MS] = stride_01ms
        # steps/min = 120 / stride_s; in 0.01 steps/min over 1/64-sample ticks
        q[base + F_CADENCE_CENTI] = (
            (768000 * odr + stride_ticks // 2) // stride_ticks if stride_ticks else 0
        )
        q[base + F_STRIKE_01DEG] = self._p_strike * self.gyro_mdps_per_lsb // (100 * odr)
        # impact: |a| over the window in 0.5 g; a2 was taken on counts / 8
        q[base + F_IMPACT_HALF_G] = _isqrt(self._p_impact) * 16 // self.acc_lsb_per_g
        q[base + F_CLIPPED] = self._p_clipped
        running = 1 if stride_ticks and 2 * gct < stride_ticks else 0
        q[base + F_RUNNING] = running
        length = self._p_len_cm if stride_ticks else 0
        q[base + F_STRIDE_LEN_CM] = length
        # mm/s = cm * 10 / (0.1 ms / 10000)
        q[base + F_SPEED_MMS] = length * 100000 // stride_01ms if stride_01ms and length else 0
        self.total_distance_cm += length
        q[base + F_PRONATION_01DEG] = self._p_pronation * self.gyro_mdps_per_lsb // (100 * odr)
        gct_01ms = q[base + F_GCT_01MS]
        q[base + F_FLIGHT_01MS] = stride_01ms // 2 - gct_01ms if running else 0
        q[base + F_SWING_01MS] = stride_01ms - gct_01ms if stride_ticks else 0
        q[base + F_DUTY_PERMILLE] = gct_01ms * 1000 // stride_01ms if stride_01ms else 0
        self._seq += 1


# The name the app and services have used since the walking skeleton.
StrideDetector = GaitEngine
