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
2**30, which a 32-bit MicroPython keeps as a small int: feed() and feed_burst()
never allocate. The per-sample work is the viper kernel in _kernels.py, a FIFO
burst per call; this class keeps what happens a few times per stride: contacts,
foot-flats, toe-offs, dispatched to contacts.py (the stride rows and their queue
are in strides.py, the samples waiting for calibration in replay.py).
"""

from array import array

import micropython
from micropython import const

from heavylegs_pod.gait._kernels import (
    AT_SHIFT,
    EV_FLAT_RESTED,
    EV_IMPACT,
    EV_NO_NEXT_CONTACT,
    EV_SLIPPED,
    EV_TOE_OFF,
    EV_TURNED_DOWN,
    EVENT_MASK,
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
    S_DOWN_N,
    S_PREV_GP,
    S_STATE,
    SEEK_SWING,
    burst,
    dtheta_parts,
    step,
)
from heavylegs_pod.gait.calibration import MountingCalibration
from heavylegs_pod.gait.contacts import foot_flat, initial_contact, toe_off, turned_down
from heavylegs_pod.gait.replay import buffer_sample, clear_replay, init_replay, replay_buffer
from heavylegs_pod.gait.strides import (
    clear_queue,
    finish_pending,
    hold_contact,
    init_queue,
    pop_stride,
)

# the stride fields and helpers, importable from here as before the split
# isort: off
from heavylegs_pod.gait.strides import F_CADENCE_CENTI, F_CLIPPED, F_DUTY_PERMILLE  # noqa: F401
from heavylegs_pod.gait.strides import F_FLIGHT_01MS, F_GCT_01MS, F_IC_FRAC, F_IC_N  # noqa: F401
from heavylegs_pod.gait.strides import F_IMPACT_HALF_G, F_PRONATION_01DEG, F_RUNNING  # noqa: F401
from heavylegs_pod.gait.strides import F_SEQ, F_SPEED_MMS, F_STRIDE_01MS  # noqa: F401
from heavylegs_pod.gait.strides import F_STRIDE_LEN_CM, F_STRIKE_01DEG, F_SWING_01MS  # noqa: F401
from heavylegs_pod.gait.strides import N_FIELDS, STRIKE_FOREFOOT, STRIKE_MIDFOOT  # noqa: F401
from heavylegs_pod.gait.strides import STRIKE_REARFOOT, ic_ms, strike_class  # noqa: F401
# isort: on

_FRAC = const(64)
_ONE = const(8192)
# Sums over a contact (roll, strike angle) add up to this many pitch or roll rates
# of at most 2**16 counts each; the kernel keeps them in a machine word.
_MAX_CONTACT_SAMPLES = const(8000)


class GaitEngine:
    # The stride queue, the replay ring and the contact events are modules of their
    # own, their functions methods of this one class: base classes would make every attribute store on
    # the engine search them too (a fifth more time per event on the unix port).
    _pop = pop_stride
    _hold_contact = hold_contact
    _finish_pending = finish_pending
    _buffer = buffer_sample
    _replay_buffer = replay_buffer
    _initial_contact = initial_contact
    _turned_down = turned_down
    _foot_flat = foot_flat
    _toe_off = toe_off

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
        init_queue(self)
        init_replay(self, odr_hz, replay_s)
        self.recalibrations = 0
        self.foot_votes = 0  # > 0 left (eversion is +roll), < 0 right
        self.reset()

    def reset(self):
        k = self._k
        for i in range(S_STATE, K_SIZE):
            k[i] = 0
        k[S_STATE] = SEEK_SWING
        k[S_C] = _ONE
        clear_queue(self)
        clear_replay(self)
        # this contact's initial contact in 1/64 sample: at the jolt, and where the toe
        # turned down (the jolt's time if it did not, near it)
        self._ic_jolt = self._ic_turn = 0
        self._walking = False  # the last stride had a contact of half the stride or more

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

    @micropython.native
    def feed_burst(self, s, count, first, on_stride):
        """`count` samples (raw counts, gx gy gz ax ay az each) from the start of `s`,
        the first with index `first`: the same strides as feed() one by one, each to
        on_stride(stride, now_n), now_n the index after the sample that ended it.
        Once the frame is solved the kernel takes the whole burst in one call, handing
        back only at events. Until then, sample by sample: through feed while the
        frame is sought; through the kernel and cal.observe while it is solved again
        (the first seconds), as a refined frame applies from the next sample on; and
        while a queued stride waits, as feed gives one per sample."""
        cal = self.cal
        k = self._k
        rows = self._rows
        i = 0
        while i < count:
            if not cal.ready:
                j = 6 * i
                i += 1
                # self.feed, not a local: taking the bound method would allocate
                if self.feed(first + i - 1, s[j], s[j + 1], s[j + 2], s[j + 3], s[j + 4], s[j + 5]):
                    on_stride(self.stride, first + i)
                continue
            refining = cal.refining
            stop = burst(k, rows, s, i, i + 1 if refining or self._q_len else count, first)
            i = stop >> AT_SHIFT
            if stop & EVENT_MASK:
                self._on_event(stop & EVENT_MASK, first + i - 1)
            if refining and cal.refining:
                j = 6 * i - 6
                cal.observe(s[j], s[j + 1], s[j + 2], s[j + 3], s[j + 4], s[j + 5])
            if self._q_len:
                self._pop()
                on_stride(self.stride, first + i)

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
    def _slipped(self):
        """The pod moved on the shoe (the kernel has reset the detector's state): find
        the frame again, replaying what follows."""
        self.recalibrations += 1
        self.cal.reset()
        clear_replay(self)

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
            # a foot-flat event (always out of SLAP) hides an EV_TURNED_DOWN of the same sample
            if k[S_DOWN_N] == n:
                self._turned_down()
            self._foot_flat(event == EV_FLAT_RESTED)
