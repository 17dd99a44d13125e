"""What GaitEngine does a few times per stride: initial contacts, foot-flats, toe-offs.

The viper kernel (_kernels.py) runs per sample and hands back an event; these
functions act on it. They are GaitEngine's methods (attached in its class body, as
strides.py's are), kept here so the engine module holds the sample path and this
one the timing of a contact: the jolt or slap at initial contact, where the toe
turned down (a walking stride is timed there), the drift removed at a rested
foot-flat, and toe-off to sub-sample time. Nothing here allocates.
"""

from micropython import const

from heavylegs_pod.gait._kernels import (
    ARMED,
    P_FLAT_THR,
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
    SLAP,
)

_FRAC = const(64)
_ONE = const(8192)


def down_ticks(self):
    """Where the pitch rate crossed minus the flat threshold (S_DOWN_*), in ticks."""
    k = self._k
    y0 = k[S_DOWN_Y0]
    y1 = k[S_DOWN_Y1]
    frac = _FRAC
    if y0 > y1:
        frac = (y0 + k[P_FLAT_THR]) * _FRAC // (y0 - y1)
    return (k[S_DOWN_N] - 1) * _FRAC + frac


def initial_contact(self, n, gp):
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
    if soft_n and soft_n == k[S_DOWN_N] and gp > -k[P_FLAT_THR]:
        # a landing seen only at the foot-flat after it (the pitch rate is quiet now;
        # a slap's soft landing is taken while it turns down past the swing
        # threshold, and can begin on the very sample the toe turned down): it
        # began where the toe turned down
        ticks = down_ticks(self)
    turn = ticks
    if k[S_DOWN_N]:
        if n - k[S_DOWN_N] <= self._turn_before:
            turn = down_ticks(self)
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


def turned_down(self):
    k = self._k
    if k[S_DOWN_N] - k[S_IC_N] > self._turn_spread:
        return
    ticks = down_ticks(self)
    if k[S_PENDING] and self._p_next_ic:
        self._p_next_turn = ticks
    self._ic_turn = ticks


def foot_flat(self, rested):
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


def toe_off(self):
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
    self._hold_contact(min_n * _FRAC + frac + self._to_lag)
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
