"""Gravity and the push-off sign from strides whose stance is never still.

The still test of MountingCalibration asks for 30 ms under 50 dps. A fast
runner's stance may never give that (real recordings: 50-56 dps at the least in
every stance), nor may a foot that rocks on a treadmill. Whatever its level, the
stance is still the least-rotating part of its stride, so no absolute threshold
is needed: in every second of samples (longer than a running stride, so it
holds a stance) the 80 ms window turning least is found, and its mean
acceleration taken as gravity. 80 ms spans nearly two cycles of a 23 Hz rocking,
which the mean cancels to a tenth.

That window is believed only when the evidence holds together:
- the second also holds a swing: a window turning three times as fast and at
  least 150 dps faster (a foot rocking while standing, or any motion without
  strides, gives no stance to find);
- the window reads about 1 g (0.6-1.4 g), as a foot on the ground does;
- `NEEDED` such windows in a row agree within 20 deg before any is used, and
  once they have, a window that disagrees is left out.
The first fast rotation after each window (200 dps above its own level) is the
heel rising, the push-off sign's cue, as after a still foot-flat.

Per sample: a few additions; per 20 ms block, a window update; per second, one
comparison. All in preallocated integer arrays, below 2**30 (the mean is shifted
before it is squared, so even a clipped 32 g reading stays there): nothing allocates.
"""

from array import array

import micropython
from micropython import const

NEEDED = const(3)  # agreeing strides before the frame is trusted
_WINDOW = const(4)  # blocks of 20 ms: the quiet window
_EPOCH = const(50)  # blocks: the span searched for one stance
_CAP = const(256)  # candidates: the sums halve here
_NONE = const(0x3FFFFFFF)  # above any window sum, and a small int on a 32-bit MCU


class QuietStance:
    def __init__(self, acc_g, gyro_mdps_per_lsb, odr_hz):
        """acc_g: one g in the (shifted) accelerometer counts the caller passes."""
        self._block_len = max(1, odr_hz // 50)
        self._window_len = self._block_len * _WINDOW
        self._cue_len = odr_hz * 30 // 1000
        self._rise = 200000 // gyro_mdps_per_lsb  # per sample
        self._swing = 150000 // gyro_mdps_per_lsb * self._window_len  # per window
        # a quarter of the mean, squared: below 2**30 up to the 32767-count clip
        self._g2_lo = (acc_g * 60 // 100) ** 2 >> 4
        self._g2_hi = (acc_g * 140 // 100) ** 2 >> 4
        # the block being summed (gyro L1, ax, ay, az), the last _WINDOW blocks
        self._block = array("i", [0] * 4)
        self._ring = array("i", [0] * (4 * _WINDOW))
        self._quiet = array("i", [0] * 3)  # this second's quietest window, summed
        self._cue_now = array("i", [0] * 3)  # the rotation after it
        self._mean = array("i", [0] * 3)
        self._a = array("i", [0] * 3)
        self._b = array("i", [0] * 3)
        self.gravity = [0, 0, 0]  # agreeing windows' mean accelerations, summed
        self.cue = [0, 0, 0]
        self.reset()

    def reset(self):
        for i in range(4):
            self._block[i] = 0
        self._block_n = 0
        self._filled = 0
        self._pos = 0
        self._blocks = 0
        self._least = _NONE
        self._most = 0
        self._cue_armed = 0
        self._cue_left = 0
        self._cue_done = 0
        self._cue_thr = 0
        for i in range(3):
            self.gravity[i] = 0
            self.cue[i] = 0
        self.count = 0  # windows summed in gravity
        self.cues = 0

    @micropython.native
    def observe(self, gx, gy, gz, sx, sy, sz, gyro_l1):
        if self._cue_armed and gyro_l1 > self._cue_thr:
            self._cue_armed = 0
            self._cue_left = self._cue_len
        if self._cue_left:
            c = self._cue_now
            c[0] += gx >> 6
            c[1] += gy >> 6
            c[2] += gz >> 6
            self._cue_left -= 1
            if not self._cue_left:
                self._cue_done = 1
        b = self._block
        b[0] += gyro_l1
        b[1] += sx
        b[2] += sy
        b[3] += sz
        self._block_n += 1
        if self._block_n == self._block_len:
            self._end_block()

    @micropython.native
    def _end_block(self):
        b = self._block
        ring = self._ring
        j = 4 * self._pos
        for i in range(4):
            ring[j + i] = b[i]
            b[i] = 0
        self._block_n = 0
        self._pos = (self._pos + 1) % _WINDOW
        if self._filled < _WINDOW:
            self._filled += 1
            if self._filled < _WINDOW:
                return  # the ring holds no whole window yet
        turned = 0
        for j in range(0, 4 * _WINDOW, 4):
            turned += ring[j]
        if turned > self._most:
            self._most = turned
        if turned < self._least:
            self._least = turned
            q = self._quiet
            for i in range(3):
                q[i] = 0
                self._cue_now[i] = 0
            for j in range(0, 4 * _WINDOW, 4):
                q[0] += ring[j + 1]
                q[1] += ring[j + 2]
                q[2] += ring[j + 3]
            self._cue_armed = 1
            self._cue_left = 0
            self._cue_done = 0
            self._cue_thr = turned // self._window_len + self._rise
        self._blocks += 1
        if self._blocks == _EPOCH:
            self._end_epoch()
            self._blocks = 0
            self._least = _NONE
            self._most = 0

    @micropython.native
    def _end_epoch(self):
        if self._most < 3 * self._least or self._most < self._least + self._swing:
            return  # no swing in this second: no stance to trust
        m = self._mean
        for i in range(3):
            m[i] = self._quiet[i] // self._window_len
        q0 = m[0] >> 2
        q1 = m[1] >> 2
        q2 = m[2] >> 2
        m2 = q0 * q0 + q1 * q1 + q2 * q2
        if not self._g2_lo < m2 < self._g2_hi:
            return
        if self.count and not self._agrees(m):
            if self.count >= NEEDED:
                return  # trusted already: an odd stride is left out
            self.count = 0
            self.cues = 0
            for i in range(3):
                self.gravity[i] = 0
                self.cue[i] = 0
        if self.count >= _CAP:
            for i in range(3):
                self.gravity[i] //= 2
                self.cue[i] //= 2
            self.count //= 2
            self.cues //= 2
        for i in range(3):
            self.gravity[i] += m[i]
        self.count += 1
        if self._cue_done:
            for i in range(3):
                self.cue[i] += self._cue_now[i]
            self.cues += 1

    @micropython.native
    def _agrees(self, m):
        """m within about 20 deg of the summed gravity: both are cut to below 64 per
        axis first, so that the squared products stay below 2**30."""
        a = self._a
        b = self._b
        for i in range(3):
            a[i] = m[i]
            b[i] = self.gravity[i]
        _small(a)
        _small(b)
        dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
        if dot <= 0:
            return False
        n2 = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]) * (b[0] * b[0] + b[1] * b[1] + b[2] * b[2])
        # cos^2 at least 7/8: cos 20.7 deg
        return dot * dot >= n2 - (n2 >> 3)


@micropython.native
def _small(v):
    big = 0
    for i in range(3):
        x = v[i] if v[i] >= 0 else -v[i]
        if x > big:
            big = x
    while big >= 64:
        big >>= 1
        for i in range(3):
            v[i] >>= 1
