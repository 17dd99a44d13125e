"""Stride rows: the fields the engine gives per stride, and the queue they wait in.

GaitEngine keeps a finished contact pending until the next initial contact gives
its stride time (and the next foot-flat its length); finish_pending turns it into a
row of N_FIELDS integers and queues it for the app, which takes one at a time from
`stride`. Nothing here allocates: the queue and the row are preallocated arrays.
"""

from array import array

from micropython import const

from heavylegs_pod.gait._kernels import (
    S_CLIPPED,
    S_IMPACT_MAX,
    S_PENDING,
    S_ROLL_MAX,
    S_ROLL_MIN,
    S_STRIKE_SUM,
)
from heavylegs_pod.gait.calibration import isqrt

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
_QUEUE = const(8)


def strike_class(strike_01deg):
    if strike_01deg > _REARFOOT_ABOVE_01DEG:
        return STRIKE_REARFOOT
    if strike_01deg < _FOREFOOT_BELOW_01DEG:
        return STRIKE_FOREFOOT
    return STRIKE_MIDFOOT


def ic_ms(n, frac, odr_hz):
    """Sample index + 1/64 sample -> ms, without intermediates above 2**30."""
    return (n // odr_hz) * 1000 + ((n % odr_hz) * 1000 + frac * 1000 // _FRAC) // odr_hz


# GaitEngine takes these as its methods (self is the engine: it sets odr_hz,
# acc_lsb_per_g, gyro_mdps_per_lsb, _k and the pending contact's _p_* fields).


def init_queue(self):
    self.stride = array("i", [0] * N_FIELDS)
    self._queue = array("i", [0] * (N_FIELDS * _QUEUE))
    self.total_distance_cm = 0


def clear_queue(self):
    self._seq = 0
    self._q_head = 0
    self._q_len = 0
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


def pop_stride(self):
    q = self._queue
    base = self._q_head * N_FIELDS
    out = self.stride
    for i in range(N_FIELDS):
        out[i] = q[base + i]
    self._q_head = (self._q_head + 1) % _QUEUE
    self._q_len -= 1
    return 1


def hold_contact(self, to_ticks):
    """A contact has ended at toe-off (to_ticks): the one before is queued as a
    stride, and this one waits, measured, for its stride time and length."""
    k = self._k
    if k[S_PENDING]:
        self._finish_pending(self._p_next_ic)
    k[S_PENDING] = 1
    self._p_next_ic = 0
    self._p_ic_jolt = self._ic_jolt
    self._p_ic_turn = self._ic_turn
    self._p_to = to_ticks
    # strike: pitch at IC relative to flat = minus the rotation from IC to flat
    self._p_strike = -k[S_STRIKE_SUM]
    self._p_impact = k[S_IMPACT_MAX]
    self._p_clipped = k[S_CLIPPED]
    self._p_pronation = k[S_ROLL_MAX] - k[S_ROLL_MIN]
    self._p_len_cm = 0


def finish_pending(self, next_ic_ticks):
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
