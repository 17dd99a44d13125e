"""Mounting calibration: where the foot frame lies in the pod's sensor axes.

The pod may be clipped on in any orientation. Three facts fix the foot frame
(x forward, y left, z up):

- up: the accelerometer during still moments (standing, or the foot-flat of
  every stance) reads gravity, which points up the foot's z axis;
- the medio-lateral axis: feet rotate mostly about it, so it is the principal
  axis of the gyroscope's motion (projected off the vertical);
- its sign: after every still foot-flat the first large rotation is the heel
  rising, toe going down, which is a negative pitch rate (rotation about +y).

A runner's stance may never pass the stillness test (fast running: the gyro
never drops below 50 dps, the accelerometer stays 0.2 g or more off 1 g). Then
the least-rotating window of each stride, whatever its level, stands in for the
still foot-flat once several strides agree on it (quiet.py). The solver keeps
trying for as long as it takes (motion statistics are halved, not frozen, when
their sums grow large), so a pod that starts mid-run still finds its frame.

Per-sample work is integer-only (accumulators stay below 2**30); the few float
operations happen once, when the frame is solved.
"""

from array import array

import micropython
from micropython import const

from heavylegs_pod.gait.quiet import NEEDED, QuietStance

Q = const(13)  # rotation rows are unit vectors scaled by 2**13
_ONE = const(8192)
_MOTION_SHIFT = const(6)  # gyro counts >> 6 before squaring keeps sums < 2**30


def _unit(v):
    n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) ** 0.5
    if n == 0:
        raise ValueError("zero vector")
    return [v[0] / n, v[1] / n, v[2] / n]


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def isqrt(value):
    """Integer square root: no float on the engine's integer path."""
    if value <= 0:
        return 0
    x = value
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + value // x) >> 1
    return x


def _shrink(v, n, limit):
    """Shift v[0:n] right (in place) until every |v[i]| < limit."""
    big = 0
    for i in range(n):
        a = v[i] if v[i] >= 0 else -v[i]
        if a > big:
            big = a
    while big >= limit:
        big >>= 1
        for i in range(n):
            v[i] >>= 1


def _unit_q(v):
    """v (3 ints) scaled in place to a Q13 unit vector; False if it is zero."""
    _shrink(v, 3, 1 << 14)
    n = isqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if n == 0:
        return False
    for i in range(3):
        v[i] = v[i] * _ONE // n
    return True


def solve_rows_q(gravity, covariance, push_cue, rows, up, vec, nxt):
    """solve_frame in integers, into `rows` (Q13), without allocating: for
    re-solving while the engine runs. up, vec and nxt are int arrays of 3 to work
    in; the three inputs are consumed (shifted down in place). Every product stays
    below 2**28. Returns False, rows untouched, if the frame is degenerate."""
    m = covariance
    for i in range(3):
        up[i] = gravity[i]
    if not _unit_q(up):
        return False
    _shrink(m, 6, 1 << 13)
    # covariance (xx, yy, zz, xy, xz, yz); power iteration from its strongest column
    k = 0
    if m[1] > m[k]:
        k = 1
    if m[2] > m[k]:
        k = 2
    if k == 0:
        vec[0] = m[0]
        vec[1] = m[3]
        vec[2] = m[4]
    elif k == 1:
        vec[0] = m[3]
        vec[1] = m[1]
        vec[2] = m[5]
    else:
        vec[0] = m[4]
        vec[1] = m[5]
        vec[2] = m[2]
    if not _unit_q(vec):
        return False
    for _ in range(40):
        nxt[0] = m[0] * vec[0] + m[3] * vec[1] + m[4] * vec[2]
        nxt[1] = m[3] * vec[0] + m[1] * vec[1] + m[5] * vec[2]
        nxt[2] = m[4] * vec[0] + m[5] * vec[1] + m[2] * vec[2]
        if not _unit_q(nxt):
            return False
        for i in range(3):
            vec[i] = nxt[i]
    along = (vec[0] * up[0] + vec[1] * up[1] + vec[2] * up[2]) >> Q
    for i in range(3):
        vec[i] -= (along * up[i]) >> Q
    if not _unit_q(vec):
        return False
    left = vec
    # heel rise is a rotation about +y (left): toe down
    _shrink(push_cue, 3, 1 << 14)
    if push_cue[0] * left[0] + push_cue[1] * left[1] + push_cue[2] * left[2] < 0:
        for i in range(3):
            left[i] = -left[i]
    fwd = nxt
    fwd[0] = (left[1] * up[2] - left[2] * up[1]) >> Q
    fwd[1] = (left[2] * up[0] - left[0] * up[2]) >> Q
    fwd[2] = (left[0] * up[1] - left[1] * up[0]) >> Q
    if not _unit_q(fwd):
        return False
    left[0] = (up[1] * fwd[2] - up[2] * fwd[1]) >> Q
    left[1] = (up[2] * fwd[0] - up[0] * fwd[2]) >> Q
    left[2] = (up[0] * fwd[1] - up[1] * fwd[0]) >> Q
    for i in range(3):
        rows[i] = fwd[i]
        rows[3 + i] = left[i]
        rows[6 + i] = up[i]
    return True


def solve_frame(gravity, covariance, push_cue):
    """Rows (x, y, z) of the sensor-to-foot rotation as floats, or None if degenerate.

    gravity: summed accelerometer vector over still samples (any scale).
    covariance: (xx, yy, zz, xy, xz, yz) sums of gyro products during motion.
    push_cue: summed gyro vector at the onset of motion after still moments.
    """
    try:
        up = _unit(gravity)
    except ValueError:
        return None
    xx, yy, zz, xy, xz, yz = covariance
    m = ((xx, xy, xz), (xy, yy, yz), (xz, yz, zz))
    # power iteration, started from the column of the strongest axis (never orthogonal
    # to the principal axis unless the matrix is zero)
    k = 0
    if m[1][1] > m[k][k]:
        k = 1
    if m[2][2] > m[k][k]:
        k = 2
    v = [float(m[0][k]), float(m[1][k]), float(m[2][k])]
    for _ in range(40):
        w = [_dot(m[0], v), _dot(m[1], v), _dot(m[2], v)]
        try:
            v = _unit(w)
        except ValueError:
            return None
    along = _dot(v, up)
    lateral = [v[0] - along * up[0], v[1] - along * up[1], v[2] - along * up[2]]
    try:
        left = _unit(lateral)
    except ValueError:
        return None
    # heel rise is a rotation about +y (left): toe down
    if _dot(push_cue, left) < 0:
        left = [-left[0], -left[1], -left[2]]
    forward = _unit(_cross(left, up))
    left = _cross(up, forward)
    return forward, left, up


class MountingCalibration:
    def __init__(self, acc_lsb_per_g, gyro_mdps_per_lsb, odr_hz):
        self.odr_hz = odr_hz
        self._acc_shift = 0
        while (acc_lsb_per_g >> self._acc_shift) > 1024:
            self._acc_shift += 1
        g = acc_lsb_per_g >> self._acc_shift
        # "still": |a| within 0.2 g of 1 g and gyro L1 below 50 dps: loose enough for
        # the short foot-flat of a runner's stance, tight enough to exclude swing
        self._still_lo = (g * 80 // 100) ** 2
        self._still_hi = (g * 120 // 100) ** 2
        self._still_gyro = 50000 // gyro_mdps_per_lsb
        self._motion_gyro = 100000 // gyro_mdps_per_lsb
        self._still_needed = odr_hz * 30 // 1000  # a running foot-flat is long enough
        self._cue_len = odr_hz * 30 // 1000
        # 0.75 s of rotation: two walking swings or three running ones, enough for
        # the principal axis, and early enough for the replay buffer to hold the first steps
        self._min_motion = odr_hz * 3 // 4
        self._motion_cap = 4 * odr_hz  # sums halve here: they stay below 2**30
        # the stand-in for a still foot-flat when there is none (see the module note)
        self._quiet = QuietStance(g, gyro_mdps_per_lsb, odr_hz)
        self.rows = array("i", [_ONE, 0, 0, 0, _ONE, 0, 0, 0, _ONE])
        # A first frame comes early (0.75 s of rotation) so that the replay buffer
        # still holds the first strides; in a tight turn that little motion can put
        # the lateral axis 20-40 deg off. The engine keeps feeding samples until
        # this much rotation is in, then the frame is solved again, in integers
        # (nothing allocated while the engine runs), sign included.
        self._refine_motion = odr_hz * 8
        self._q = array("i", [0] * 3)
        self._vec = array("i", [0] * 3)
        self._nxt = array("i", [0] * 3)
        self._rows_new = array("i", [0] * 9)
        self.ready = False
        self.solved = 0  # how many times a frame was (re)solved
        self.reset()

    def reset(self):
        self.ready = False
        self.refining = False
        self._motion_total = 0
        self._gravity = [0, 0, 0]
        self._gravity_n = 0
        self._cov = [0, 0, 0, 0, 0, 0]
        self._motion_n = 0
        self._cue = [0, 0, 0]
        self._cues = 0
        self._still_run = 0
        self._cue_left = 0
        self._cue_armed = 0
        self._quiet.reset()

    @micropython.native
    def observe(self, gx, gy, gz, ax, ay, az):
        """Accumulate one raw sample; returns 1 when a new frame was just solved."""
        sh = self._acc_shift
        sx = ax >> sh
        sy = ay >> sh
        sz = az >> sh
        a2 = sx * sx + sy * sy + sz * sz
        gyro_l1 = abs(gx) + abs(gy) + abs(gz)
        self._quiet.observe(gx, gy, gz, sx, sy, sz, gyro_l1)
        if gyro_l1 < self._still_gyro and self._still_lo < a2 < self._still_hi:
            self._still_run += 1
            if self._still_run >= self._still_needed:
                self._cue_armed = 1
                # (a >> sh) summed over at most a few thousand samples stays small
                if self._gravity_n < 100000:
                    self._gravity[0] += sx
                    self._gravity[1] += sy
                    self._gravity[2] += sz
                    self._gravity_n += 1
            return 0
        self._still_run = 0
        if self._cue_armed and gyro_l1 > 2 * self._still_gyro:
            # the first clear rotation after a still moment: the heel rising
            self._cue_armed = 0
            self._cue_left = self._cue_len
        if self._cue_left:
            self._cue_left -= 1
            self._cue[0] += gx >> _MOTION_SHIFT
            self._cue[1] += gy >> _MOTION_SHIFT
            self._cue[2] += gz >> _MOTION_SHIFT
            if not self._cue_left:
                self._cues += 1
        if gyro_l1 > self._motion_gyro:
            x = gx >> _MOTION_SHIFT
            y = gy >> _MOTION_SHIFT
            z = gz >> _MOTION_SHIFT
            c = self._cov
            if self._motion_n >= self._motion_cap:
                # keep learning at half weight rather than stop (a pod that starts mid-run)
                for i in range(6):
                    c[i] //= 2
                self._motion_n //= 2
            c[0] += x * x
            c[1] += y * y
            c[2] += z * z
            c[3] += x * y
            c[4] += x * z
            c[5] += y * z
            self._motion_n += 1
            if self._motion_total < self._refine_motion:
                self._motion_total += 1
            if self.refining:
                if self._motion_total >= self._refine_motion:
                    return self._refine()
            elif self._motion_n >= self._min_motion:
                if self._gravity_n:
                    enough_cues = self._cues >= 2 or (
                        self._cues and self._motion_n >= 2 * self._min_motion
                    )
                    if enough_cues:
                        return self._solve(self._gravity, self._cue)
                elif self._quiet.count >= NEEDED and self._quiet.cues >= 2:
                    # never still: the quietest windows of strides that agree instead
                    return self._solve(self._quiet.gravity, self._quiet.cue)
        return 0

    def _solve(self, gravity, cue):
        frame = solve_frame(gravity, self._cov, cue)
        if frame is None:
            self.reset()
            return 0
        rows = self.rows
        i = 0
        for row in frame:
            for value in row:
                rows[i] = int(value * _ONE + (0.5 if value >= 0 else -0.5))
                i += 1
        self.ready = True
        self.refining = True
        self.solved += 1
        return 1

    def _refine(self):
        """The second solve, with every stride seen so far (see __init__)."""
        self.refining = False
        if self._gravity_n:
            gravity, cue, cues = self._gravity, self._cue, self._cues
        else:
            gravity, cue, cues = self._quiet.gravity, self._quiet.cue, self._quiet.cues
        if cues < 2:
            return 0
        q = self._q
        if not solve_rows_q(gravity, self._cov, cue, self._rows_new, q, self._vec, self._nxt):
            return 0
        rows = self.rows
        for i in range(9):
            rows[i] = self._rows_new[i]
        self.solved += 1
        return 1

    def set_rows(self, rows):
        """Use a known frame (e.g. from the previous session); rows are Q13 unit vectors."""
        for i in range(0, 9, 3):
            norm2 = rows[i] * rows[i] + rows[i + 1] * rows[i + 1] + rows[i + 2] * rows[i + 2]
            # the gait kernel's products stay in a machine word only for unit rows
            if not (_ONE * 7 // 8) ** 2 <= norm2 <= (_ONE * 9 // 8) ** 2:
                raise ValueError("frame row %d is not a unit vector in Q13" % (i // 3))
        for i in range(9):
            self.rows[i] = rows[i]
        self.ready = True
        self.refining = False
