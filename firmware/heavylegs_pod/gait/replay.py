"""Samples that wait for the mounting frame, and their replay once it is found.

Until MountingCalibration has solved the foot frame, GaitEngine keeps the last
few seconds of raw samples in a ring; once it has, the ring goes through the
kernel, so the first strides of a session are measured too, not lost.
"""

from array import array

from heavylegs_pod.gait._kernels import AT_SHIFT, EVENT_MASK, burst

# GaitEngine takes these as its methods (self is the engine: it has _k, _rows and
# _on_event(event, n)).


def init_replay(self, odr_hz, replay_s):
    self._replay = array("h", [0] * (6 * odr_hz * replay_s))
    self._replay_cap = odr_hz * replay_s
    self.dropped_before_calibration = 0


def clear_replay(self):
    self._replay_start = 0  # sample index of the oldest buffered sample
    self._replay_len = 0
    self._replay_pos = 0  # ring position of the oldest


def buffer_sample(self, n, gx, gy, gz, ax, ay, az):
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


def replay_buffer(self):
    cap = self._replay_cap
    pos = self._replay_pos
    start = self._replay_start
    end = pos + self._replay_len
    # the ring in at most two runs of the kernel: from the oldest sample to the end
    # of the buffer, then on from its start
    replay_run(self, pos, end if end < cap else cap, start - pos)
    if end > cap:
        replay_run(self, 0, end - cap, start + cap - pos)
    self._replay_len = 0
    self._replay_pos = 0


def replay_run(self, i, end, n0):
    """Ring samples i..end-1, sample j having index n0 + j; the events as they come."""
    k = self._k
    rows = self._rows
    buf = self._replay
    while i < end:
        stop = burst(k, rows, buf, i, end, n0)
        i = stop >> AT_SHIFT
        if stop & EVENT_MASK:
            self._on_event(stop & EVENT_MASK, n0 + i - 1)
