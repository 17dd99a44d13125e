"""The gait engine's per-sample work as a viper kernel, with its pure-Python twin.

GaitEngine keeps everything the per-sample path reads or writes in one int32
array (`k`, laid out below), so the kernel works on raw machine words through a
pointer instead of looking up instance attributes, which cost a hash-table probe
each in MicroPython and were most of the per-sample time. The kernel does the
rotation into the foot frame, the slip watch, the foot-flat to foot-flat
integration and every state change that needs nothing but this sample; whatever
needs the pending stride or the output queue it leaves to the engine, by
returning an event (EV_*), a few times per stride.

The pod hands the kernel a whole FIFO burst (`burst`): one call steps every sample
in it and comes back early only at an event, so a burst costs one call plus one per
event instead of a Python call, and the boxing of seven arguments, per sample.
`step` (one sample) is a burst of one, so the per-sample body exists once in viper.
`burst` and `step` are the viper kernel under MicroPython and the twins (burst_py,
step_py) under CPython; the twins run the same arithmetic on Python ints, and
tests/firmware/mp_test_kernels.py holds the two to identical results. That holds
only while no value leaves the 32-bit machine word (viper ints are 32-bit on the
MCU, 64-bit on the unix port), so every product is bounded:
- samples are int16, and rows are unit vectors in Q13 (|row| <= 8192 + 1; the
  engine checks this before using a frame), so |gp|, |roll|, |afx|, |afz| <= 2**16;
- the pitch increment is taken in two halves, exactly (see _DTHETA_SPLIT), and
  the integration stops, losing that one stride's length, before c or s leave
  1.5 (Q13), v 2**24 or x 2**29: real strides stay far inside (c and s near 1,
  v below 2**21, x below 2**24);
- sums over a contact (roll, strike) are bounded by the contact window, which
  the engine limits when it is built; the swing angle (S_SWING_SUM) stops
  growing at its threshold, or at the swing timeout; the yaw turned in a
  push-off (S_YAW_SUM) grows only within the contact window, so with the swing
  angle it stays below 2**31;
- the sample index n must stay below 2**31 (60 days of sensor clock at 416 Hz):
  a 32-bit MCU refuses a larger first index at the call (OverflowError), where the
  native engine before went on in big ints, allocating every sample past 2**30.
"""

import sys

import micropython
from micropython import const

if sys.implementation.name != "micropython":
    # burst_viper takes its arrays as typed pointers, as mpy-cross keeps a viper
    # function's first two locals in registers and `p` is read all through a step;
    # CPython evaluates the annotations at the def
    ptr16 = ptr32 = object

# parameters, set once by GaitEngine.__init__
P_SWING_THR = const(0)
P_FLAT_THR = const(1)
P_PUSH_THR = const(2)
P_JERK_THR = const(3)
P_FLAT_NEEDED = const(4)
P_REST_LO = const(5)
P_REST_HI = const(6)
P_SLAP_MIN = const(7)
P_SLAP_QUIET = const(8)
P_IMPACT_WINDOW = const(9)
P_MAX_CONTACT = const(10)
P_MAX_SWING = const(11)
P_MAX_SLAP = const(12)
P_CLIP = const(13)
P_DTHETA_HI = const(14)
P_DTHETA_LO = const(15)
P_G_FLAT_MIN = const(16)
P_STILL_GYRO = const(17)
P_SWING_ANGLE = const(18)  # a swing turns the toe up this far before it can land
P_SOFT_WAIT = const(19)  # samples of slap without a jolt before a landing is taken as soft
# state
S_STATE = const(20)
S_SINCE = const(21)
S_PAX = const(22)
S_PAY = const(23)
S_PAZ = const(24)
S_PREV_GP = const(25)  # after a step: this sample's pitch rate
S_SWING_PEAK = const(26)
S_IC_N = const(27)
S_STRIKE_SUM = const(28)
S_SLAP_DONE = const(29)
S_SLAP_MOVED = const(30)
S_FLAT_COUNT = const(31)
S_IMPACT_MAX = const(32)
S_CLIPPED = const(33)
S_MIN_GP = const(34)
S_MIN_N = const(35)
S_Y_BEFORE = const(36)
S_Y_AFTER = const(37)
S_ROLL = const(38)
S_ROLL_MIN = const(39)
S_ROLL_MAX = const(40)
S_ROLL_AT_FLAT = const(41)
S_STILL_RUN = const(42)
S_TILTED_FLATS = const(43)
S_INTEGRATING = const(44)
S_C = const(45)
S_S = const(46)
S_V = const(47)
S_X = const(48)
S_T = const(49)
S_PENDING = const(50)
S_SWING_SUM = const(51)  # pitch turned since the swing began (rate counts x samples)
S_SOFT_N = const(52)  # where the slap of a landing too soft to jolt began, 0 = none
S_SLAP_LOW = const(53)  # the slap's lowest pitch rate so far (0 until it turns toe-down)
S_SLAP_HIGH = const(54)  # the highest pitch rate since that low
S_PJX = const(55)  # in a swing: the last sample's jerk (acceleration change), x
S_PJY = const(56)
S_PJZ = const(57)
# In a swing: the first sample, since its peak, whose pitch rate turned toe-down past
# the flat threshold (0 = none yet), with the pitch rates either side of the crossing.
# The heel's contact starts the toe turning down: this times the landing.
S_DOWN_N = const(58)
S_DOWN_Y0 = const(59)
S_DOWN_Y1 = const(60)
S_DOWN_SUM = const(61)  # S_SWING_SUM at S_DOWN_N
# In PUSH, past the push-off: the yaw turned on smooth samples (rate counts x samples).
S_YAW_SUM = const(62)
K_SIZE = const(63)

SEEK_SWING = const(0)
ARMED = const(1)
SLAP = const(2)
FLAT = const(3)
PUSH = const(4)

# What the engine must do after a step (at most one per sample).
EV_NONE = const(0)
EV_SLIPPED = const(1)  # the pod moved on the shoe: state is reset, calibrate again
EV_IMPACT = const(2)  # a contact, if not too soon after the last one (S_PREV_GP = gp)
EV_FLAT_RESTED = const(3)  # foot-flat at rest: close the integration, restart it here
EV_FLAT_MOVING = const(4)  # foot-flat without rest (state may already be PUSH)
EV_TOE_OFF = const(5)  # the push-off minimum in S_MIN_* was toe-off
EV_NO_NEXT_CONTACT = const(6)  # the pending contact ends without a next one
EV_TURNED_DOWN = const(7)  # after the impact, the toe turned down (S_DOWN_*): time the landing

ONE = const(8192)  # Q13
_Q = const(13)
_SLIP_FLATS = const(6)
# The pitch increment gp * mul >> 20 is taken as (gp * hi + (gp * lo >> 10)) >> 10
# with mul = hi << 10 | lo: the same integer, without a product beyond 2**27.
_DTHETA_SPLIT = const(10)
_DTHETA_LO_MASK = const(1023)
# Beyond these the integration has run away (a wrong frame, or no foot-flat for
# many seconds): it stops, rather than overflow a machine word.
_CS_LIMIT = const(12288)  # 1.5 in Q13
_V_LIMIT = const(16777216)  # 2**24
_X_LIMIT = const(536870912)  # 2**29
_D_LIMIT = const(2048)  # 0.25 rad per sample
# a burst's result: where it stopped, shifted past the event code
AT_SHIFT = const(3)
EVENT_MASK = const(7)


def dtheta_parts(mul):
    """(hi, lo) of a pitch-increment multiplier, as P_DTHETA_HI / P_DTHETA_LO."""
    return mul >> _DTHETA_SPLIT, mul & _DTHETA_LO_MASK


def step_py(k, rows, n, gx, gy, gz, ax, ay, az):
    """One sample in the foot frame; returns an EV_* code. The twin of step_viper."""
    r0 = rows[0]
    r1 = rows[1]
    r2 = rows[2]
    r3 = rows[3]
    r4 = rows[4]
    r5 = rows[5]
    r6 = rows[6]
    r7 = rows[7]
    r8 = rows[8]
    gp = -(gx * r3 + gy * r4 + gz * r5) >> _Q
    roll = (gx * r0 + gy * r1 + gz * r2) >> _Q
    afx = (ax * r0 + ay * r1 + az * r2) >> _Q
    afz = (ax * r6 + ay * r7 + az * r8) >> _Q
    sx = ax >> 3
    sy = ay >> 3
    sz = az >> 3
    a2 = sx * sx + sy * sy + sz * sz
    rest_lo = k[P_REST_LO]
    rest_hi = k[P_REST_HI]
    event = EV_NONE

    # Every still moment must read gravity along the foot's z axis; if several in a
    # row do not, the pod has moved on the shoe (this works even when the wrong frame
    # stops the detector from finding foot-flats).
    agx = gx if gx >= 0 else -gx
    agy = gy if gy >= 0 else -gy
    agz = gz if gz >= 0 else -gz
    if agx + agy + agz < k[P_STILL_GYRO] and rest_lo < a2 and a2 < rest_hi:
        still_run = k[S_STILL_RUN] + 1
        k[S_STILL_RUN] = still_run
        if still_run == k[P_FLAT_NEEDED]:
            if afz < k[P_G_FLAT_MIN]:
                tilted = k[S_TILTED_FLATS] + 1
                k[S_TILTED_FLATS] = tilted
                if tilted >= _SLIP_FLATS:
                    k[S_STATE] = SEEK_SWING
                    k[S_PENDING] = 0
                    k[S_INTEGRATING] = 0
                    k[S_TILTED_FLATS] = 0
                    event = EV_SLIPPED
            else:
                k[S_TILTED_FLATS] = 0
    else:
        k[S_STILL_RUN] = 0

    jerk_x = ax - k[S_PAX]
    jerk_y = ay - k[S_PAY]
    jerk_z = az - k[S_PAZ]
    jerk = (
        (jerk_x if jerk_x >= 0 else -jerk_x)
        + (jerk_y if jerk_y >= 0 else -jerk_y)
        + (jerk_z if jerk_z >= 0 else -jerk_z)
    )
    k[S_PAX] = ax
    k[S_PAY] = ay
    k[S_PAZ] = az
    prev_gp = k[S_PREV_GP]
    k[S_PREV_GP] = gp

    if k[S_INTEGRATING]:
        d = (gp * k[P_DTHETA_HI] + (gp * k[P_DTHETA_LO] >> _DTHETA_SPLIT)) >> _DTHETA_SPLIT
        c = k[S_C]
        s = k[S_S]
        v = k[S_V]
        x = k[S_X]
        if (
            -_D_LIMIT <= d <= _D_LIMIT
            and -_CS_LIMIT <= c <= _CS_LIMIT
            and -_CS_LIMIT <= s <= _CS_LIMIT
            and -_V_LIMIT <= v <= _V_LIMIT
            and -_X_LIMIT <= x <= _X_LIMIT
        ):
            dd = d * d >> _Q
            # second-order rotation step keeps |(c, s)| near one through a swing
            c2 = c - (s * d >> _Q) - (c * dd >> 14)
            s2 = s + (c * d >> _Q) - (s * dd >> 14)
            v += (c2 * afx - s2 * afz) >> _Q
            k[S_C] = c2
            k[S_S] = s2
            k[S_V] = v
            k[S_X] = x + (v >> 4)
            k[S_T] += 1
        else:
            k[S_INTEGRATING] = 0

    state = k[S_STATE]
    if state == SEEK_SWING:
        # A first step from standing (or a step of a turn) can swing slower than the
        # swing threshold: a sustained toe-up rotation of half a swing's angle arms
        # too. The leak (a quarter of the flat threshold) keeps gyro bias and
        # standing sway from ever adding up.
        lifted = k[S_SWING_SUM] + gp - (k[P_FLAT_THR] >> 2)
        if lifted < 0:
            lifted = 0
        k[S_SWING_SUM] = lifted
        if gp > k[P_SWING_THR] or lifted > k[P_SWING_ANGLE] >> 1:
            k[S_STATE] = ARMED
            k[S_SINCE] = n
            k[S_SWING_PEAK] = gp
            k[S_SOFT_N] = 0
            k[S_DOWN_N] = 0
            k[S_YAW_SUM] = 0
        elif k[S_PENDING] and n - k[S_SINCE] > k[P_MAX_SWING]:
            event = EV_NO_NEXT_CONTACT
    elif state == ARMED:
        peak = k[S_SWING_PEAK]
        if gp > peak:
            peak = gp
            k[S_SWING_PEAK] = gp
            k[S_DOWN_N] = 0
        elif (
            gp <= -k[P_FLAT_THR]
            and prev_gp > -k[P_FLAT_THR]
            and (k[S_DOWN_N] == 0 or k[S_SWING_SUM] > k[S_DOWN_SUM])
        ):
            # the first turn down since the peak, unless the toe has risen back
            # above where it turned (a shuffle, a turn's pivot): that one was no
            # heel strike's slap, which runs down into foot-flat
            k[S_DOWN_N] = n
            k[S_DOWN_Y0] = prev_gp
            k[S_DOWN_Y1] = gp
            k[S_DOWN_SUM] = k[S_SWING_SUM]
        turned = k[S_SWING_SUM] + gp
        if turned < 0:
            # the foot has turned back down by all it had swung up: a landing too
            # soft to see went by, and a stance. Search afresh from here (the
            # timeout counts from now), so the next swing and landing are caught.
            turned = 0
            k[S_SINCE] = n
            k[S_SWING_PEAK] = 0
            k[S_YAW_SUM] = 0
        k[S_SWING_SUM] = turned
        # a pivot step's swing (PUSH saw the foot yaw by a swing's angle) can land.
        # After a yaw toe-off S_SWING_SUM starts from the yaw sum too (so that the
        # toe turning down before the landing does not take turned below 0), so the
        # yaw counts twice here: swung is only compared with the swing's angle, which
        # the yaw alone passes, so the double count changes no outcome.
        swung = turned
        if k[S_YAW_SUM] > k[P_SWING_ANGLE]:
            swung += k[S_YAW_SUM]
        # Only a swing that has turned the toe up by a real swing's angle can land:
        # the snap of the toe leaving the ground (a 5 g jolt as the pitch rate
        # rebounds past the swing threshold) is not a landing.
        pjx = k[S_PJX]
        pjy = k[S_PJY]
        pjz = k[S_PJZ]
        k[S_PJX] = jerk_x
        k[S_PJY] = jerk_y
        k[S_PJZ] = jerk_z
        jerk_thr = k[P_JERK_THR]
        # A sprinter's foot slowing from 20 g late in the swing changes by 0.6 g a
        # sample too, but smoothly: while the foot is still swinging that hard (above
        # ~4.2 g, 32 x (0.75 g)^2) and its change is near the threshold already, only
        # a jolt on top of it (the change itself changing by half the threshold) lands.
        swing_jerk = (
            (pjx if pjx >= 0 else -pjx) + (pjy if pjy >= 0 else -pjy) + (pjz if pjz >= 0 else -pjz)
        )
        jolted = swing_jerk < (jerk_thr * 3) >> 2 or a2 < rest_lo << 3
        if not jolted:
            jolt_x = jerk_x - pjx
            jolt_y = jerk_y - pjy
            jolt_z = jerk_z - pjz
            jolt = (
                (jolt_x if jolt_x >= 0 else -jolt_x)
                + (jolt_y if jolt_y >= 0 else -jolt_y)
                + (jolt_z if jolt_z >= 0 else -jolt_z)
            )
            jolted = jolt > jerk_thr >> 1
        if jerk > jerk_thr and jolted and gp < peak >> 1 and swung > k[P_SWING_ANGLE]:
            k[S_SOFT_N] = 0
            event = EV_IMPACT
        elif n - k[S_SINCE] > k[P_MAX_SWING]:
            k[S_STATE] = SEEK_SWING
            k[S_SINCE] = n
            k[S_INTEGRATING] = 0
            k[S_SWING_SUM] = 0
            if k[S_PENDING]:
                event = EV_NO_NEXT_CONTACT
        elif gp < -k[P_SWING_THR] and swung > k[P_SWING_ANGLE] and peak > k[P_FLAT_THR]:
            # After a swing the toe only turns down this fast once the heel is on
            # the ground (the slap). A heel strike too soft to jolt past the
            # threshold (slow walking, a 100 Hz source resampled) is taken as the
            # landing once the slap has lasted P_SOFT_WAIT without one, timed at
            # the slap's start; a real jolt comes within a few ms of it.
            soft_n = k[S_SOFT_N]
            if soft_n == 0:
                k[S_SOFT_N] = n
            elif n - soft_n >= k[P_SOFT_WAIT]:
                event = EV_IMPACT
        else:
            k[S_SOFT_N] = 0
            flat_thr = k[P_FLAT_THR]
            if -flat_thr < gp and gp < flat_thr and rest_lo < a2 and a2 < rest_hi:
                rested = k[S_FLAT_COUNT] + 1
                if rested >= 3 * k[P_FLAT_NEEDED]:
                    # A swing never rests this long: the foot is on the ground, and
                    # its landing went by unseen (a gap in the record, or too soft).
                    # If this swing turned the toe up by a swing's angle and then
                    # down into this rest (the slap: the toe ends lower than where
                    # it turned down), that was a landing: the contact is taken,
                    # begun where the toe turned down, so the stance and the next
                    # stride stay in phase. Otherwise the contact before ends
                    # without a stride time, and until a new swing rises, the
                    # push-off to come is not a landing's slap.
                    if (
                        k[S_DOWN_N]
                        and turned < k[S_DOWN_SUM]
                        and turned > k[P_SWING_ANGLE]
                        and peak > k[P_SWING_THR]
                    ):
                        k[S_SOFT_N] = k[S_DOWN_N]
                        event = EV_IMPACT
                    elif k[S_PENDING]:
                        event = EV_NO_NEXT_CONTACT
                    k[S_SWING_PEAK] = 0
                    k[S_YAW_SUM] = 0
                    rested = 0
                k[S_FLAT_COUNT] = rested
            else:
                k[S_FLAT_COUNT] = 0
    else:
        # in contact: impact first, then slap to flat, then push-off
        since_ic = n - k[S_IC_N]
        flat_thr = k[P_FLAT_THR]
        quiet = -flat_thr < gp and gp < flat_thr
        # at rest on the ground: no pitch rotation and the accelerometer reads ~1 g
        resting = quiet and rest_lo < a2 and a2 < rest_hi
        if since_ic <= k[P_IMPACT_WINDOW]:
            if a2 > k[S_IMPACT_MAX]:
                k[S_IMPACT_MAX] = a2
            clip = k[P_CLIP]
            if ax >= clip or ax <= -clip or ay >= clip or ay <= -clip or az >= clip or az <= -clip:
                k[S_CLIPPED] = 1
        total_roll = k[S_ROLL] + roll
        k[S_ROLL] = total_roll
        if total_roll < k[S_ROLL_MIN]:
            k[S_ROLL_MIN] = total_roll
        elif total_roll > k[S_ROLL_MAX]:
            k[S_ROLL_MAX] = total_roll
        if since_ic > k[P_MAX_CONTACT]:
            # standing still: no toe-off, so no stride from this contact
            k[S_STATE] = SEEK_SWING
            k[S_SINCE] = n
            k[S_INTEGRATING] = 0
            k[S_SWING_SUM] = 0
            if k[S_PENDING]:
                event = EV_NO_NEXT_CONTACT
        elif state == SLAP:
            if k[S_DOWN_N] == 0 and gp <= -flat_thr and prev_gp > -flat_thr:
                # the impact came before the toe turned down: the engine may time the
                # landing here instead (a foot-flat event this sample says it too)
                k[S_DOWN_N] = n
                k[S_DOWN_Y0] = prev_gp
                k[S_DOWN_Y1] = gp
                event = EV_TURNED_DOWN
            if not k[S_SLAP_DONE]:
                k[S_STRIKE_SUM] += gp
                if not quiet:
                    k[S_SLAP_MOVED] = 1
                    # A fast runner's stance may never go quiet: the slap runs
                    # straight into the roll over the forefoot. The slap is over once
                    # the pitch rate, still toe-down, has come back up from its low by
                    # twice the flat threshold and turned down again by one: the
                    # nearest this foot comes to flat.
                    low = k[S_SLAP_LOW]
                    high = k[S_SLAP_HIGH]
                    if gp < low:
                        k[S_SLAP_LOW] = gp
                        k[S_SLAP_HIGH] = gp
                    elif gp > high:
                        k[S_SLAP_HIGH] = gp
                    elif (
                        high < 0
                        and high - low > 2 * flat_thr
                        and gp < high - flat_thr
                        and since_ic >= k[P_SLAP_MIN]
                    ):
                        k[S_SLAP_DONE] = 1
                elif since_ic >= k[P_SLAP_MIN] and (k[S_SLAP_MOVED] or since_ic > k[P_SLAP_QUIET]):
                    # the slap (or a midfoot landing's lack of one) is over
                    k[S_SLAP_DONE] = 1
            if resting:
                flat_count = k[S_FLAT_COUNT] + 1
                k[S_FLAT_COUNT] = flat_count
                if flat_count >= k[P_FLAT_NEEDED] and since_ic >= k[P_SLAP_MIN]:
                    k[S_STATE] = FLAT
                    k[S_ROLL_AT_FLAT] = total_roll
                    event = EV_FLAT_RESTED
            else:
                k[S_FLAT_COUNT] = 0
                if k[S_SLAP_DONE] and gp < -k[P_PUSH_THR]:
                    # a short or noisy stance with no quiet foot-flat: straight to push-off
                    k[S_ROLL_AT_FLAT] = total_roll
                    k[S_INTEGRATING] = 0
                    k[S_STATE] = PUSH
                    k[S_FLAT_COUNT] = 0
                    k[S_SWING_PEAK] = 0
                    k[S_SWING_SUM] = 0
                    k[S_YAW_SUM] = 0
                    k[S_MIN_GP] = gp
                    k[S_MIN_N] = n
                    k[S_Y_BEFORE] = prev_gp
                    k[S_Y_AFTER] = gp
                    event = EV_FLAT_MOVING
                elif since_ic > k[P_MAX_SLAP]:
                    k[S_STATE] = FLAT
                    k[S_ROLL_AT_FLAT] = total_roll
                    k[S_INTEGRATING] = 0
                    event = EV_FLAT_MOVING
        elif state == FLAT:
            if gp < -k[P_PUSH_THR]:
                k[S_STATE] = PUSH
                k[S_FLAT_COUNT] = 0
                k[S_SWING_PEAK] = 0
                k[S_SWING_SUM] = 0
                k[S_YAW_SUM] = 0
                k[S_MIN_GP] = gp
                k[S_MIN_N] = n
                k[S_Y_BEFORE] = prev_gp
                k[S_Y_AFTER] = gp
            elif resting:
                # still on the ground: integration starts afresh from rest
                k[S_C] = ONE
                k[S_S] = 0
                k[S_V] = 0
                k[S_X] = 0
                k[S_T] = 0
        else:  # PUSH: the last negative excursion before the swing is the push-off
            if k[S_YAW_SUM] > k[P_SWING_ANGLE]:
                # the foot has yawed by a swing's angle: a pivot step's swing is under
                # way, and a toe-down turn now is its return before landing. The yaw
                # can pass that angle on the minimum's own sample: the toe-off
                # parabola still needs the sample after it.
                if n == k[S_MIN_N] + 1:
                    k[S_Y_AFTER] = gp
            elif gp < -k[P_PUSH_THR] and k[S_SWING_PEAK] > k[P_SWING_THR]:
                # down again after a rise that never became a swing (a heel slap's
                # rebound): the push-off is this new excursion, not the slap
                k[S_SWING_PEAK] = 0
                k[S_SWING_SUM] = 0
                k[S_YAW_SUM] = 0
                k[S_MIN_GP] = gp
                k[S_MIN_N] = n
                k[S_Y_BEFORE] = prev_gp
            elif gp < k[S_MIN_GP]:
                k[S_MIN_GP] = gp
                k[S_MIN_N] = n
                k[S_Y_BEFORE] = prev_gp
            elif n == k[S_MIN_N] + 1:
                k[S_Y_AFTER] = gp
            if gp > 0:
                if gp > k[S_SWING_PEAK]:
                    k[S_SWING_PEAK] = gp
                turned = k[S_SWING_SUM] + gp
                k[S_SWING_SUM] = turned
            else:
                turned = 0
                k[S_SWING_SUM] = 0
            # A pivot step of a tight turn swings the foot about its vertical axis
            # (250 dps) and lifts the toe by only 8 deg: no toe-up turn marks its
            # swing, but a landing's jolt after a swing's angle of yaw does. Yaw, not
            # roll (the foot rolls through every push-off), and only on smooth
            # samples: a foot on the ground yaws little, and an impact's ringing
            # jolts the accelerometer every sample while it shakes every gyro axis.
            yaw = (gx * r6 + gy * r7 + gz * r8) >> _Q
            if yaw < 0:
                yaw = -yaw
            # flat on the ground: gravity along the foot's own z axis, nothing more
            flat = afz >= k[P_G_FLAT_MIN] and a2 < rest_hi
            yaw_sum = k[S_YAW_SUM]
            if gp > -k[P_PUSH_THR] and jerk < k[P_JERK_THR] and not flat:
                yaw_sum += yaw
                k[S_YAW_SUM] = yaw_sum
            if turned > k[P_SWING_ANGLE]:
                # the toe has turned up by a swing's angle without a pause: the swing
                # has begun, so that minimum was toe-off
                event = EV_TOE_OFF
            elif jerk > k[P_JERK_THR] and yaw_sum > k[P_SWING_ANGLE]:
                # that minimum was toe-off, and this jolt is the landing: the swing's
                # angle goes with it, so the landing is taken on the next sample
                k[S_SWING_SUM] = yaw_sum
                event = EV_TOE_OFF
            elif resting and (flat or yaw < k[P_FLAT_THR]):
                # (a pivot step's swing holds the pitch quiet at about 1 g: its yaw
                # says the foot is not at rest)
                flat_count = k[S_FLAT_COUNT] + 1
                k[S_FLAT_COUNT] = flat_count
                # the swing can pause near zero pitch rate at ~1 g for a few tens of
                # ms after toe-off: only a longer rest means this was not a push-off
                if flat_count >= 3 * k[P_FLAT_NEEDED]:
                    # at rest again: that was the end of the slap, not a push-off
                    k[S_STATE] = FLAT
            else:
                k[S_FLAT_COUNT] = 0
    return event


def burst_py(k, rows, samples, i, end, n0):
    """Steps samples i..end-1 (six int16 each: gx gy gz ax ay az; sample j has index
    n0 + j) until one returns an event. Returns (j << 3) | event, j the sample after
    the one that made the event (where to go on), or end << 3 with no event. The
    twin of burst_viper: one call per FIFO burst plus one per event, a few a stride."""
    while i < end:
        b = 6 * i
        event = step_py(
            k,
            rows,
            n0 + i,
            samples[b],
            samples[b + 1],
            samples[b + 2],
            samples[b + 3],
            samples[b + 4],
            samples[b + 5],
        )
        i += 1
        if event:
            return (i << AT_SHIFT) | event
    return end << AT_SHIFT


@micropython.viper
def burst_viper(p: ptr32, r: ptr32, q: ptr16, i: int, end: int, n0: int) -> int:
    """The viper twin of burst_py: same contract, step for step, on machine words.

    The body of the loop is step_py line for line. Loads of values that may be
    negative go through `(w ^ sign) - sign`: ptr32 loads zero-extend on a 64-bit
    port (the unix port of the tests) and are already signed on the 32-bit MCUs,
    where this costs two instructions; ptr16 loads zero-extend everywhere."""
    sign = 1
    sign <<= 31  # shifted at run time: a folded constant would not be a machine int
    r0 = (r[0] ^ sign) - sign
    r1 = (r[1] ^ sign) - sign
    r2 = (r[2] ^ sign) - sign
    r3 = (r[3] ^ sign) - sign
    r4 = (r[4] ^ sign) - sign
    r5 = (r[5] ^ sign) - sign
    r6 = (r[6] ^ sign) - sign
    r7 = (r[7] ^ sign) - sign
    r8 = (r[8] ^ sign) - sign
    q = ptr16(int(q) + 12 * i)  # steps a sample at a time: constant offsets below
    while i < end:
        gx = (q[0] ^ 32768) - 32768
        gy = (q[1] ^ 32768) - 32768
        gz = (q[2] ^ 32768) - 32768
        ax = (q[3] ^ 32768) - 32768
        ay = (q[4] ^ 32768) - 32768
        az = (q[5] ^ 32768) - 32768
        q = ptr16(int(q) + 12)
        n = n0 + i
        i += 1
        gp = -(gx * r3 + gy * r4 + gz * r5) >> _Q
        roll = (gx * r0 + gy * r1 + gz * r2) >> _Q
        afx = (ax * r0 + ay * r1 + az * r2) >> _Q
        afz = (ax * r6 + ay * r7 + az * r8) >> _Q
        sx = ax >> 3
        sy = ay >> 3
        sz = az >> 3
        a2 = sx * sx + sy * sy + sz * sz
        rest_lo = p[P_REST_LO]
        rest_hi = p[P_REST_HI]
        event = EV_NONE

        agx = gx
        if gx < 0:
            agx = -gx
        agy = gy
        if gy < 0:
            agy = -gy
        agz = gz
        if gz < 0:
            agz = -gz
        if agx + agy + agz < p[P_STILL_GYRO] and rest_lo < a2 and a2 < rest_hi:
            still_run = p[S_STILL_RUN] + 1
            p[S_STILL_RUN] = still_run
            if still_run == p[P_FLAT_NEEDED]:
                if afz < p[P_G_FLAT_MIN]:
                    tilted = p[S_TILTED_FLATS] + 1
                    p[S_TILTED_FLATS] = tilted
                    if tilted >= _SLIP_FLATS:
                        p[S_STATE] = SEEK_SWING
                        p[S_PENDING] = 0
                        p[S_INTEGRATING] = 0
                        p[S_TILTED_FLATS] = 0
                        event = EV_SLIPPED
                else:
                    p[S_TILTED_FLATS] = 0
        else:
            p[S_STILL_RUN] = 0

        jerk_x = ax - ((p[S_PAX] ^ sign) - sign)
        jerk_y = ay - ((p[S_PAY] ^ sign) - sign)
        jerk_z = az - ((p[S_PAZ] ^ sign) - sign)
        jerk = jerk_x
        if jerk_x < 0:
            jerk = -jerk_x
        if jerk_y < 0:
            jerk -= jerk_y
        else:
            jerk += jerk_y
        if jerk_z < 0:
            jerk -= jerk_z
        else:
            jerk += jerk_z
        p[S_PAX] = ax
        p[S_PAY] = ay
        p[S_PAZ] = az
        prev_gp = (p[S_PREV_GP] ^ sign) - sign
        p[S_PREV_GP] = gp

        if p[S_INTEGRATING]:
            d = (gp * p[P_DTHETA_HI] + (gp * p[P_DTHETA_LO] >> _DTHETA_SPLIT)) >> _DTHETA_SPLIT
            c = (p[S_C] ^ sign) - sign
            s = (p[S_S] ^ sign) - sign
            v = (p[S_V] ^ sign) - sign
            x = (p[S_X] ^ sign) - sign
            if (
                -_D_LIMIT <= d
                and d <= _D_LIMIT
                and -_CS_LIMIT <= c
                and c <= _CS_LIMIT
                and -_CS_LIMIT <= s
                and s <= _CS_LIMIT
                and -_V_LIMIT <= v
                and v <= _V_LIMIT
                and -_X_LIMIT <= x
                and x <= _X_LIMIT
            ):
                dd = d * d >> _Q
                c2 = c - (s * d >> _Q) - (c * dd >> 14)
                s2 = s + (c * d >> _Q) - (s * dd >> 14)
                v += (c2 * afx - s2 * afz) >> _Q
                p[S_C] = c2
                p[S_S] = s2
                p[S_V] = v
                p[S_X] = x + (v >> 4)
                p[S_T] = p[S_T] + 1
            else:
                p[S_INTEGRATING] = 0

        state = p[S_STATE]
        if state == SEEK_SWING:
            lifted = ((p[S_SWING_SUM] ^ sign) - sign) + gp - (p[P_FLAT_THR] >> 2)
            if lifted < 0:
                lifted = 0
            p[S_SWING_SUM] = lifted
            if gp > p[P_SWING_THR] or lifted > p[P_SWING_ANGLE] >> 1:
                p[S_STATE] = ARMED
                p[S_SINCE] = n
                p[S_SWING_PEAK] = gp
                p[S_SOFT_N] = 0
                p[S_DOWN_N] = 0
                p[S_YAW_SUM] = 0
            elif p[S_PENDING] and n - p[S_SINCE] > p[P_MAX_SWING]:
                event = EV_NO_NEXT_CONTACT
        elif state == ARMED:
            peak = (p[S_SWING_PEAK] ^ sign) - sign
            if gp > peak:
                peak = gp
                p[S_SWING_PEAK] = gp
                p[S_DOWN_N] = 0
            elif (
                gp <= -p[P_FLAT_THR]
                and prev_gp > -p[P_FLAT_THR]
                and (p[S_DOWN_N] == 0 or p[S_SWING_SUM] > p[S_DOWN_SUM])
            ):
                p[S_DOWN_N] = n
                p[S_DOWN_Y0] = prev_gp
                p[S_DOWN_Y1] = gp
                p[S_DOWN_SUM] = p[S_SWING_SUM]
            turned = ((p[S_SWING_SUM] ^ sign) - sign) + gp
            if turned < 0:
                turned = 0
                p[S_SINCE] = n
                p[S_SWING_PEAK] = 0
                p[S_YAW_SUM] = 0
            p[S_SWING_SUM] = turned
            swung = turned
            if p[S_YAW_SUM] > p[P_SWING_ANGLE]:
                swung += p[S_YAW_SUM]
            pjx = (p[S_PJX] ^ sign) - sign
            pjy = (p[S_PJY] ^ sign) - sign
            pjz = (p[S_PJZ] ^ sign) - sign
            p[S_PJX] = jerk_x
            p[S_PJY] = jerk_y
            p[S_PJZ] = jerk_z
            jerk_thr = p[P_JERK_THR]
            swing_jerk = pjx
            if pjx < 0:
                swing_jerk = -pjx
            if pjy < 0:
                swing_jerk -= pjy
            else:
                swing_jerk += pjy
            if pjz < 0:
                swing_jerk -= pjz
            else:
                swing_jerk += pjz
            jolted = 0
            if swing_jerk < (jerk_thr * 3) >> 2:
                jolted = 1
            elif a2 < rest_lo << 3:
                jolted = 1
            else:
                jolt = jerk_x - pjx
                if jolt < 0:
                    jolt = -jolt
                d_jolt = jerk_y - pjy
                if d_jolt < 0:
                    jolt -= d_jolt
                else:
                    jolt += d_jolt
                d_jolt = jerk_z - pjz
                if d_jolt < 0:
                    jolt -= d_jolt
                else:
                    jolt += d_jolt
                if jolt > jerk_thr >> 1:
                    jolted = 1
            if jerk > jerk_thr and jolted and gp < peak >> 1 and swung > p[P_SWING_ANGLE]:
                p[S_SOFT_N] = 0
                event = EV_IMPACT
            elif n - p[S_SINCE] > p[P_MAX_SWING]:
                p[S_STATE] = SEEK_SWING
                p[S_SINCE] = n
                p[S_INTEGRATING] = 0
                p[S_SWING_SUM] = 0
                if p[S_PENDING]:
                    event = EV_NO_NEXT_CONTACT
            elif gp < -p[P_SWING_THR] and swung > p[P_SWING_ANGLE] and peak > p[P_FLAT_THR]:
                soft_n = p[S_SOFT_N]
                if soft_n == 0:
                    p[S_SOFT_N] = n
                elif n - soft_n >= p[P_SOFT_WAIT]:
                    event = EV_IMPACT
            else:
                p[S_SOFT_N] = 0
                flat_thr = p[P_FLAT_THR]
                if -flat_thr < gp and gp < flat_thr and rest_lo < a2 and a2 < rest_hi:
                    rested = p[S_FLAT_COUNT] + 1
                    if rested >= 3 * p[P_FLAT_NEEDED]:
                        if (
                            p[S_DOWN_N]
                            and turned < p[S_DOWN_SUM]
                            and turned > p[P_SWING_ANGLE]
                            and peak > p[P_SWING_THR]
                        ):
                            p[S_SOFT_N] = p[S_DOWN_N]
                            event = EV_IMPACT
                        elif p[S_PENDING]:
                            event = EV_NO_NEXT_CONTACT
                        p[S_SWING_PEAK] = 0
                        p[S_YAW_SUM] = 0
                        rested = 0
                    p[S_FLAT_COUNT] = rested
                else:
                    p[S_FLAT_COUNT] = 0
        else:
            since_ic = n - p[S_IC_N]
            flat_thr = p[P_FLAT_THR]
            quiet = -flat_thr < gp and gp < flat_thr
            resting = quiet and rest_lo < a2 and a2 < rest_hi
            if since_ic <= p[P_IMPACT_WINDOW]:
                if a2 > p[S_IMPACT_MAX]:
                    p[S_IMPACT_MAX] = a2
                clip = p[P_CLIP]
                if (
                    ax >= clip
                    or ax <= -clip
                    or ay >= clip
                    or ay <= -clip
                    or az >= clip
                    or az <= -clip
                ):
                    p[S_CLIPPED] = 1
            total_roll = ((p[S_ROLL] ^ sign) - sign) + roll
            p[S_ROLL] = total_roll
            if total_roll < (p[S_ROLL_MIN] ^ sign) - sign:
                p[S_ROLL_MIN] = total_roll
            elif total_roll > (p[S_ROLL_MAX] ^ sign) - sign:
                p[S_ROLL_MAX] = total_roll
            if since_ic > p[P_MAX_CONTACT]:
                p[S_STATE] = SEEK_SWING
                p[S_SINCE] = n
                p[S_INTEGRATING] = 0
                p[S_SWING_SUM] = 0
                if p[S_PENDING]:
                    event = EV_NO_NEXT_CONTACT
            elif state == SLAP:
                if p[S_DOWN_N] == 0 and gp <= -flat_thr and prev_gp > -flat_thr:
                    p[S_DOWN_N] = n
                    p[S_DOWN_Y0] = prev_gp
                    p[S_DOWN_Y1] = gp
                    event = EV_TURNED_DOWN
                if not p[S_SLAP_DONE]:
                    p[S_STRIKE_SUM] = ((p[S_STRIKE_SUM] ^ sign) - sign) + gp
                    if not quiet:
                        p[S_SLAP_MOVED] = 1
                        low = (p[S_SLAP_LOW] ^ sign) - sign
                        high = (p[S_SLAP_HIGH] ^ sign) - sign
                        if gp < low:
                            p[S_SLAP_LOW] = gp
                            p[S_SLAP_HIGH] = gp
                        elif gp > high:
                            p[S_SLAP_HIGH] = gp
                        elif (
                            high < 0
                            and high - low > 2 * flat_thr
                            and gp < high - flat_thr
                            and since_ic >= p[P_SLAP_MIN]
                        ):
                            p[S_SLAP_DONE] = 1
                    elif since_ic >= p[P_SLAP_MIN] and (
                        p[S_SLAP_MOVED] or since_ic > p[P_SLAP_QUIET]
                    ):
                        p[S_SLAP_DONE] = 1
                if resting:
                    flat_count = p[S_FLAT_COUNT] + 1
                    p[S_FLAT_COUNT] = flat_count
                    if flat_count >= p[P_FLAT_NEEDED] and since_ic >= p[P_SLAP_MIN]:
                        p[S_STATE] = FLAT
                        p[S_ROLL_AT_FLAT] = total_roll
                        event = EV_FLAT_RESTED
                else:
                    p[S_FLAT_COUNT] = 0
                    if p[S_SLAP_DONE] and gp < -p[P_PUSH_THR]:
                        p[S_ROLL_AT_FLAT] = total_roll
                        p[S_INTEGRATING] = 0
                        p[S_STATE] = PUSH
                        p[S_FLAT_COUNT] = 0
                        p[S_SWING_PEAK] = 0
                        p[S_SWING_SUM] = 0
                        p[S_YAW_SUM] = 0
                        p[S_MIN_GP] = gp
                        p[S_MIN_N] = n
                        p[S_Y_BEFORE] = prev_gp
                        p[S_Y_AFTER] = gp
                        event = EV_FLAT_MOVING
                    elif since_ic > p[P_MAX_SLAP]:
                        p[S_STATE] = FLAT
                        p[S_ROLL_AT_FLAT] = total_roll
                        p[S_INTEGRATING] = 0
                        event = EV_FLAT_MOVING
            elif state == FLAT:
                if gp < -p[P_PUSH_THR]:
                    p[S_STATE] = PUSH
                    p[S_FLAT_COUNT] = 0
                    p[S_SWING_PEAK] = 0
                    p[S_SWING_SUM] = 0
                    p[S_YAW_SUM] = 0
                    p[S_MIN_GP] = gp
                    p[S_MIN_N] = n
                    p[S_Y_BEFORE] = prev_gp
                    p[S_Y_AFTER] = gp
                elif resting:
                    p[S_C] = ONE
                    p[S_S] = 0
                    p[S_V] = 0
                    p[S_X] = 0
                    p[S_T] = 0
            else:
                if p[S_YAW_SUM] > p[P_SWING_ANGLE]:
                    if n == p[S_MIN_N] + 1:
                        p[S_Y_AFTER] = gp
                elif gp < -p[P_PUSH_THR] and p[S_SWING_PEAK] > p[P_SWING_THR]:
                    p[S_SWING_PEAK] = 0
                    p[S_SWING_SUM] = 0
                    p[S_YAW_SUM] = 0
                    p[S_MIN_GP] = gp
                    p[S_MIN_N] = n
                    p[S_Y_BEFORE] = prev_gp
                elif gp < (p[S_MIN_GP] ^ sign) - sign:
                    p[S_MIN_GP] = gp
                    p[S_MIN_N] = n
                    p[S_Y_BEFORE] = prev_gp
                elif n == p[S_MIN_N] + 1:
                    p[S_Y_AFTER] = gp
                turned = 0
                if gp > 0:
                    if gp > p[S_SWING_PEAK]:
                        p[S_SWING_PEAK] = gp
                    turned = p[S_SWING_SUM] + gp
                p[S_SWING_SUM] = turned
                yaw = (gx * r6 + gy * r7 + gz * r8) >> _Q
                if yaw < 0:
                    yaw = -yaw
                flat = 0
                if afz >= p[P_G_FLAT_MIN] and a2 < rest_hi:
                    flat = 1
                yaw_sum = p[S_YAW_SUM]
                if gp > -p[P_PUSH_THR] and jerk < p[P_JERK_THR] and flat == 0:
                    yaw_sum += yaw
                    p[S_YAW_SUM] = yaw_sum
                if turned > p[P_SWING_ANGLE]:
                    event = EV_TOE_OFF
                elif jerk > p[P_JERK_THR] and yaw_sum > p[P_SWING_ANGLE]:
                    p[S_SWING_SUM] = yaw_sum
                    event = EV_TOE_OFF
                elif resting and (flat or yaw < p[P_FLAT_THR]):
                    flat_count = p[S_FLAT_COUNT] + 1
                    p[S_FLAT_COUNT] = flat_count
                    if flat_count >= 3 * p[P_FLAT_NEEDED]:
                        p[S_STATE] = FLAT
                else:
                    p[S_FLAT_COUNT] = 0
        if event:
            return (i << AT_SHIFT) | event
    return end << AT_SHIFT


if sys.implementation.name == "micropython":
    from array import array

    _ONE_SAMPLE = array("h", bytes(12))

    @micropython.viper
    def step_viper(k, rows, n, gx: int, gy: int, gz: int, ax: int, ay: int, az: int) -> int:
        """step_py's contract through burst_viper: a burst of one sample. `n` stays
        an object: a machine int would be boxed again for the call, allocating past
        2**30 on a 32-bit MCU."""
        one = ptr16(_ONE_SAMPLE)
        one[0] = gx
        one[1] = gy
        one[2] = gz
        one[3] = ax
        one[4] = ay
        one[5] = az
        return int(burst_viper(k, rows, _ONE_SAMPLE, 0, 1, n)) & EVENT_MASK

    step = step_viper
    burst = burst_viper
else:
    step = step_py
    burst = burst_py
