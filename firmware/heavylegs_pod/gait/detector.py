"""Streaming gait engine: foot contacts and per-stride metrics, in integers.

Runs once per sample on the pod (and, for host reprocessing, under CPython).
Inputs are raw sensor counts in whatever orientation the pod was clipped on;
MountingCalibration finds the foot frame (x forward, y left, z up) from standing
and the first strides. Until it has, samples wait in a replay buffer, so the
first strides of a session are measured too, not lost.

In the foot frame, pitch rate (toe rising positive) is -gyro_y. Per stride:
  IC   the impact at initial contact: the first sample-to-sample jump of the
       acceleration above JERK_G once the swing has turned the toe up by
       SWING_DEG. The contact lies between that sample and the one before; the
       midpoint is taken. A walking stride (contact of half the stride or more)
       is timed instead where the toe began to turn down past 50 dps, from 30 ms
       before that jolt to 0.1 s after it, to sub-sample time: the heel strike
       starts that turn at once, and it stays sharp where a soft heel or a
       100 Hz source blurs the jolt (tests/test_real_data.py: IC SD on real
       walking).
  TO   the push-off minimum of pitch rate after foot-flat, to sub-sample time by
       a parabola through the three samples around it, declared once the toe has
       turned up by SWING_DEG after it (a heel slap's rebound turns less).
  strike angle  the pitch rotation from IC to foot-flat: the foot's pitch at
       contact relative to the flat foot (positive = toe up, heel first).
  pronation  the range of roll (about the forward axis) through stance.
  stride length  the foot's forward travel from one foot-flat to the next:
       acceleration rotated by the integrated pitch and integrated twice, with
       the velocity left over at the second foot-flat (which must be zero)
       removed as a linear drift.

Times are (sample index, 1/64 sample) pairs and every intermediate stays below
2**30, which a 32-bit MicroPython keeps as a small int: feed() never allocates.
The per-sample work is the viper kernel in _kernels.py; this class keeps what
happens a few times per stride: contacts, toe-offs, the output queue.
"""

from array import array

import micropython
from micropython import const

from heavylegs_pod.gait._kernels import (
    ARMED,
    EV_FLAT_RESTED,
    EV_IMPACT,
    EV_NO_NEXT_CONTACT,
    EV_SLIPPED,
    EV_TOE_OFF,
    EV_TURNED_DOWN,
    K_SIZE,
    P_CLIP,
    P_DTHETA_HI,
    P_DTHETA_LO,
    P_FLAT_NEEDED,
    P_FLAT_THR,
    P_G_FLAT_MIN,
    P_IMPACT_WINDOW,
    P_JERK_THR,
    P_MAX_CONTACT,
    P_MAX_SLAP,
    P_MAX_SWING,
    P_PUSH_THR,
    P_REST_HI,
    P_REST_LO,
    P_SLAP_MIN,
    P_SLAP_QUIET,
    P_SOFT_WAIT,
    P_STILL_GYRO,
    P_SWING_ANGLE,
    P_SWING_THR,
    S_C,
    S_CLIPPED,
    S_DOWN_N,
    S_DOWN_Y0,
    S_DOWN_Y1,
    S_FLAT_COUNT,
    S_IC_N,
    S_IMPACT_MAX,
    S_INTEGRATING,
    S_MIN_GP,
    S_MIN_N,
    S_PENDING,
    S_PREV_GP,
    S_ROLL,
    S_ROLL_AT_FLAT,
    S_ROLL_MAX,
    S_ROLL_MIN,
    S_S,
    S_SINCE,
    S_SLAP_DONE,
    S_SLAP_HIGH,
    S_SLAP_LOW,
    S_SLAP_MOVED,
    S_SOFT_N,
    S_STATE,
    S_STRIKE_SUM,
    S_T,
    S_V,
    S_X,
    S_Y_AFTER,
    S_Y_BEFORE,
    SEEK_SWING,
    SLAP,
    dtheta_parts,
    step,
)
from heavylegs_pod.gait.calibration import MountingCalibration, isqrt

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

_FRAC = const(64)
_ONE = const(8192)
_QUEUE = const(8)
# Sums over a contact (roll, strike angle) add up to this many pitch or roll rates
# of at most 2**16 counts each; the kernel keeps them in a machine word.
_MAX_CONTACT_SAMPLES = const(8000)


def strike_class(strike_01deg):
    if strike_01deg > _REARFOOT_ABOVE_01DEG:
        return STRIKE_REARFOOT
    if strike_01deg < _FOREFOOT_BELOW_01DEG:
        return STRIKE_FOREFOOT
    return STRIKE_MIDFOOT


def ic_ms(n, frac, odr_hz):
    """Sample index + 1/64 sample -> ms, without intermediates above 2**30."""
    return (n // odr_hz) * 1000 + ((n % odr_hz) * 1000 + frac * 1000 // _FRAC) // odr_hz


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
        push_dps=50,
        swing_deg=15,
        max_contact_ms=1500,
        max_swing_ms=1500,
        replay_s=3,
        to_lag_us=8500,
    ):
        if foot not in ("left", "right", "auto"):
            raise ValueError("foot must be left, right or auto, not %r" % (foot,))
        if odr_hz * max_contact_ms // 1000 > _MAX_CONTACT_SAMPLES:
            raise ValueError("a contact of %r ms is too long to measure" % (max_contact_ms,))
        self.odr_hz = odr_hz
        self.acc_lsb_per_g = acc_lsb_per_g
        self.gyro_mdps_per_lsb = gyro_mdps_per_lsb
        self.foot = foot
        lsb_per_dps = 1000 / gyro_mdps_per_lsb
        # everything the per-sample kernel reads: parameters first, then its state
        k = array("i", [0] * K_SIZE)
        self._k = k
        k[P_SWING_THR] = int(swing_dps * lsb_per_dps)
        k[P_FLAT_THR] = int(flat_dps * lsb_per_dps)
        k[P_PUSH_THR] = int(push_dps * lsb_per_dps)
        k[P_JERK_THR] = int(jerk_g * acc_lsb_per_g)
        # degrees turned = sum of pitch-rate counts / (odr * counts per dps)
        k[P_SWING_ANGLE] = int(swing_deg * odr_hz * lsb_per_dps)
        k[P_SOFT_WAIT] = odr_hz * 30 // 1000
        k[P_FLAT_NEEDED] = max(2, odr_hz // 50)  # 20 ms of quiet pitch
        g8 = acc_lsb_per_g >> 3
        k[P_REST_LO] = (g8 * 3 // 4) ** 2
        k[P_REST_HI] = (g8 * 5 // 4) ** 2
        k[P_SLAP_MIN] = odr_hz * 8 // 1000
        k[P_SLAP_QUIET] = odr_hz * 40 // 1000
        k[P_IMPACT_WINDOW] = odr_hz * 40 // 1000
        k[P_MAX_CONTACT] = odr_hz * max_contact_ms // 1000
        k[P_MAX_SWING] = odr_hz * max_swing_ms // 1000
        k[P_MAX_SLAP] = odr_hz * 400 // 1000
        self._min_stride = odr_hz * 35 // 100  # 0.35 s: faster is not a stride
        # A walking heel strike starts the toe turning down (the slap) at once. A turn
        # up to 30 ms before the jolt, or 0.1 s after it, is the same landing: a jolt
        # lags the contact by 10-25 ms on real mocap walking, more from a 100 Hz
        # source. A turn 30-100 ms before the jolt is the swing's own (some walkers'
        # toe turns down before the heel lands): the jolt alone times that landing.
        self._turn_before = odr_hz * 30 // 1000
        self._turn_spread = odr_hz // 10
        k[P_CLIP] = 32767 - 8
        # The toe leaves the ground a few ms after the push-off pitch-rate minimum
        # (the foot still pivots on the toe; the peak is also asymmetric, which biases
        # the parabola early). 8.5 ms is the lag on the simulator's toe-off model, which
        # is anchored on 5 ms measured against mocap walking and 6-14 ms published for
        # running; docs/algorithms.md and bench/accuracy.py give the real-data check.
        self._to_lag = to_lag_us * odr_hz * _FRAC // 1000000
        # Pitch increment per sample in Q13 radians: counts * mdps * pi / (180000 * odr).
        # As a multiply and a shift (by 20), so the per-sample path stays in integers.
        k[P_DTHETA_HI], k[P_DTHETA_LO] = dtheta_parts(
            int(gyro_mdps_per_lsb * 3.14159265 / (180000 * odr_hz) * _ONE * (1 << 20) + 0.5)
        )
        # stride length: x sum (counts * samples^2 / 16) -> cm
        self._x_per_cm = int(acc_lsb_per_g * odr_hz * odr_hz / (980.665 * 16) + 0.5)
        # a still foot reads at least cos(20 deg) g
        k[P_G_FLAT_MIN] = acc_lsb_per_g * 94 // 100
        k[P_STILL_GYRO] = 30000 // gyro_mdps_per_lsb
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
        k = self._k
        for i in range(S_STATE, K_SIZE):
            k[i] = 0
        k[S_STATE] = SEEK_SWING
        k[S_C] = _ONE
        self._seq = 0
        self._q_head = 0
        self._q_len = 0
        self._replay_start = 0  # sample index of the oldest buffered sample
        self._replay_len = 0
        self._replay_pos = 0  # ring position of the oldest
        # this contact's initial contact in 1/64 sample: at the jolt, and where the toe
        # turned down (the jolt's time if it did not, near it)
        self._ic_jolt = self._ic_turn = 0
        self._walking = False  # the last stride had a contact of half the stride or more
        # the finished contact waiting for its stride time (next IC) and length (next flat)
        self._p_next_ic = 0  # 1/64-sample ticks of the next IC's jolt, 0 = not yet
        self._p_next_turn = 0
        self._p_ic_jolt = self._p_ic_turn = 0
        self._p_to = 0
        self._p_strike = 0
        self._p_impact = 0
        self._p_clipped = 0
        self._p_pronation = 0
        self._p_len_cm = 0

    # -- public ---------------------------------------------------------------------
    # native code around the viper kernel; bench/firmware_speed.py measures the pair
    @micropython.native
    def feed(self, n, gx, gy, gz, ax, ay, az):
        """One sample (raw counts). Returns 1 when `stride` holds a new stride."""
        cal = self.cal
        if cal.ready:
            event = step(self._k, self._rows, n, gx, gy, gz, ax, ay, az)
            if event:
                self._on_event(event, n)
            if cal.refining:
                # the first seconds only: the frame is solved again with more strides
                cal.observe(gx, gy, gz, ax, ay, az)
        else:
            self._buffer(n, gx, gy, gz, ax, ay, az)
            if cal.observe(gx, gy, gz, ax, ay, az):
                self._replay_buffer()
        if self._q_len:
            return self._pop()
        return 0

    @property
    def right_foot(self):
        """True/False when configured, None otherwise.

        The engine does not guess the side. Its one cue, the sign of the roll from
        initial contact to foot-flat (eversion), matched the true side on only 70% of
        117 real recordings (bench/accuracy.py's real datasets): it depends on the
        runner's foot mechanics as much as on the side, and was as consistent on the
        wrong recordings as on the right ones. `foot_votes` keeps the tally for study.
        """
        if self.foot != "auto":
            return self.foot == "right"
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
        k = self._k
        rows = self._rows
        for j in range(self._replay_len):
            i = 6 * ((pos + j) % cap)
            n = start + j
            event = step(
                k, rows, n, buf[i], buf[i + 1], buf[i + 2], buf[i + 3], buf[i + 4], buf[i + 5]
            )
            if event:
                self._on_event(event, n)
        self._replay_len = 0
        self._replay_pos = 0

    def _slipped(self):
        """The pod moved on the shoe (the kernel has reset the detector's state): find
        the frame again, replaying what follows."""
        self.recalibrations += 1
        self.cal.reset()
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

    # -- a few times per stride ---------------------------------------------------
    def _on_event(self, event, n):
        k = self._k
        if event == EV_IMPACT:
            self._initial_contact(n, k[S_PREV_GP])
        elif event == EV_TOE_OFF:
            self._toe_off()
        elif event == EV_NO_NEXT_CONTACT:
            self._finish_pending(0)
        elif event == EV_SLIPPED:
            self._slipped()
        elif event == EV_TURNED_DOWN:
            self._turned_down()
        else:
            if k[S_DOWN_N] == n and k[S_STATE] != SLAP:
                self._turned_down()  # this sample's foot-flat event hid EV_TURNED_DOWN
            self._foot_flat(event == EV_FLAT_RESTED)

    def _down_ticks(self):
        """Where the pitch rate crossed minus the flat threshold (S_DOWN_*), in ticks."""
        k = self._k
        y0 = k[S_DOWN_Y0]
        y1 = k[S_DOWN_Y1]
        frac = _FRAC
        if y0 > y1:
            frac = (y0 + k[P_FLAT_THR]) * _FRAC // (y0 - y1)
        return (k[S_DOWN_N] - 1) * _FRAC + frac

    def _initial_contact(self, n, gp):
        """The impact's jolt (or a soft landing's slap). The moment the toe began to
        turn down, if within `_turn_before` before (or, EV_TURNED_DOWN, `_turn_spread`
        after), is kept beside it: a walking stride is timed there (_finish_pending)."""
        k = self._k
        ic_n = n - 1
        ic_f = _FRAC // 2
        soft_n = k[S_SOFT_N]
        if soft_n:
            # a landing too soft to jolt: it began where the slap did
            ic_n = soft_n
            ic_f = 0
            k[S_SOFT_N] = 0
        ticks = ic_n * _FRAC + ic_f
        turn = ticks
        if k[S_DOWN_N]:
            if n - k[S_DOWN_N] <= self._turn_before:
                turn = self._down_ticks()
            elif n - k[S_DOWN_N] > self._turn_spread:
                k[S_DOWN_N] = 0  # long before: the next turn may be this landing's slap
        if k[S_PENDING]:
            if ticks - self._p_ic_jolt < self._min_stride * _FRAC:
                return  # too soon after the last contact to be a stride: a tap or a stumble
            self._p_next_ic = ticks
            self._p_next_turn = turn
        k[S_IC_N] = ic_n
        self._ic_jolt = ticks
        self._ic_turn = turn
        k[S_STRIKE_SUM] = gp
        k[S_SLAP_DONE] = 0
        k[S_SLAP_MOVED] = 0
        k[S_SLAP_LOW] = 0
        k[S_SLAP_HIGH] = 0
        k[S_FLAT_COUNT] = 0
        k[S_IMPACT_MAX] = 0
        k[S_CLIPPED] = 0
        k[S_ROLL] = 0
        k[S_ROLL_MIN] = 0
        k[S_ROLL_MAX] = 0
        k[S_STATE] = SLAP
        k[S_SINCE] = n

    def _turned_down(self):
        k = self._k
        if k[S_DOWN_N] - k[S_IC_N] > self._turn_spread:
            return
        ticks = self._down_ticks()
        if k[S_PENDING] and self._p_next_ic:
            self._p_next_turn = ticks
        self._ic_turn = ticks

    def _foot_flat(self, rested):
        """End of the landing (the kernel has moved on to FLAT, or PUSH). `rested`: the
        foot was really still (zero velocity), so the foot-flat to foot-flat
        integration may be closed and restarted here."""
        k = self._k
        next_ic = self._p_next_ic if k[S_PENDING] else 0
        if rested:
            if k[S_INTEGRATING] and next_ic:
                # drift: velocity must be zero now; remove it as a linear ramp
                x = k[S_X] - ((k[S_V] * k[S_T]) >> 5)
                self._p_len_cm = (x + self._x_per_cm // 2) // self._x_per_cm if x > 0 else 0
            k[S_INTEGRATING] = 1
            k[S_C] = _ONE
            k[S_S] = 0
            k[S_V] = 0
            k[S_X] = 0
            k[S_T] = 0
        # without a zero-velocity moment there is no stride length across this stance
        if next_ic:
            self._finish_pending(next_ic)

    def _toe_off(self):
        k = self._k
        y0 = k[S_Y_BEFORE]
        y1 = k[S_MIN_GP]
        y2 = k[S_Y_AFTER]
        curvature = y0 - 2 * y1 + y2
        frac = 0
        if curvature > 0:
            # vertex of the parabola through (-1, y0), (0, y1), (1, y2), in 1/64 sample
            frac = (y0 - y2) * (_FRAC // 2) // curvature
            if frac > _FRAC // 2:
                frac = _FRAC // 2
            elif frac < -(_FRAC // 2):
                frac = -(_FRAC // 2)
        min_n = k[S_MIN_N]
        if k[S_PENDING]:
            self._finish_pending(self._p_next_ic)
        k[S_PENDING] = 1
        self._p_next_ic = 0
        self._p_ic_jolt = self._ic_jolt
        self._p_ic_turn = self._ic_turn
        self._p_to = min_n * _FRAC + frac + self._to_lag
        # strike: pitch at IC relative to flat = minus the rotation from IC to flat
        self._p_strike = -k[S_STRIKE_SUM]
        self._p_impact = k[S_IMPACT_MAX]
        self._p_clipped = k[S_CLIPPED]
        self._p_pronation = k[S_ROLL_MAX] - k[S_ROLL_MIN]
        self._p_len_cm = 0
        roll_flat = k[S_ROLL_AT_FLAT]
        if roll_flat > 0 and self.foot_votes < 100:
            self.foot_votes += 1
        elif roll_flat < 0 and self.foot_votes > -100:
            self.foot_votes -= 1
        # the swing is already under way (the kernel saw it turn the toe up): it
        # keeps its peak and the angle turned so far
        k[S_STATE] = ARMED
        k[S_SINCE] = min_n
        k[S_SOFT_N] = 0
        k[S_DOWN_N] = 0

    def _finish_pending(self, next_ic_ticks):
        """Queue the pending contact as a stride; next_ic_ticks 0 = no next contact."""
        odr = self.odr_hz
        ic = self._p_ic_jolt
        gct = self._p_to - ic
        stride_ticks = 0
        if next_ic_ticks:
            stride_ticks = next_ic_ticks - ic
            self._walking = 2 * gct >= stride_ticks
        if self._walking:
            # Walking (a contact of half the stride or more): the heel's jolt is soft,
            # and a 100 Hz source or a gentle heel blurs it by tens of ms; the toe
            # starting to turn down is sharp. Running lands hard, and the toe of a
            # forefoot or midfoot runner is already turning down before it lands.
            ic = self._p_ic_turn
            gct = self._p_to - ic
            if next_ic_ticks:
                stride_ticks = self._p_next_turn - ic
        self._k[S_PENDING] = 0
        self._p_next_ic = 0
        if self._q_len == _QUEUE:
            return  # nobody is reading: the newest is dropped, never a half-written one
        q = self._queue
        base = ((self._q_head + self._q_len) % _QUEUE) * N_FIELDS
        self._q_len += 1
        q[base + F_SEQ] = self._seq
        q[base + F_IC_N] = ic // _FRAC
        q[base + F_IC_FRAC] = ic % _FRAC
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
        q[base + F_IMPACT_HALF_G] = isqrt(self._p_impact) * 16 // self.acc_lsb_per_g
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
