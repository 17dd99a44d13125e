# The gait engine's viper kernel against its pure-Python twin, inside MicroPython:
# CPython runs the twin (host reprocessing, bench/accuracy.py), the pod runs the
# kernel, so the two must agree on every input the engine can give them.
import math
from array import array

import machine
from fwtest_util import check, drive

from heavylegs_pod.gait import _kernels as K
from heavylegs_pod.gait import detector as d
from heavylegs_pod.hal.lsm6ds import LSM6DS

EVENTS = (
    K.EV_SLIPPED,
    K.EV_IMPACT,
    K.EV_FLAT_RESTED,
    K.EV_FLAT_MOVING,
    K.EV_TOE_OFF,
    K.EV_NO_NEXT_CONTACT,
    K.EV_TURNED_DOWN,
)


def _both(k, rows, n, sample, twin):
    """One step of each from the same state; fails on any difference."""
    for i in range(K.K_SIZE):
        twin[i] = k[i]
    before = list(k)
    gx, gy, gz, ax, ay, az = sample
    event = K.step_viper(k, rows, n, gx, gy, gz, ax, ay, az)
    twin_event = K.step_py(twin, rows, n, gx, gy, gz, ax, ay, az)
    if event != twin_event or k != twin:
        diff = [(i, k[i], twin[i]) for i in range(K.K_SIZE) if k[i] != twin[i]]
        raise AssertionError(
            "n=%d sample=%r rows=%r state=%r: event %d vs twin %d, (index, kernel, twin) %r"
            % (n, sample, list(rows), before, event, twin_event, diff)
        )
    return event


def _burst_both(k, rows, samples, i, end, n0, twin):
    """One burst call of each from the same state; fails on any difference."""
    for j in range(K.K_SIZE):
        twin[j] = k[j]
    before = list(k)
    stop = K.burst_viper(k, rows, samples, i, end, n0)
    twin_stop = K.burst_py(twin, rows, samples, i, end, n0)
    if stop != twin_stop or k != twin:
        diff = [(j, k[j], twin[j]) for j in range(K.K_SIZE) if k[j] != twin[j]]
        raise AssertionError(
            "burst %d..%d n0=%d rows=%r state=%r: stop %d vs twin %d, (index, kernel, twin) %r"
            % (i, end, n0, list(rows), before, stop, twin_stop, diff)
        )
    return stop


class _CheckedKernel:
    """Stands in for the engine's kernel: runs both, counts calls, samples and events."""

    def __init__(self):
        self.twin = array("i", [0] * K.K_SIZE)
        self.seen = [0] * 8
        self.calls = 0
        self.stepped = 0

    def burst(self, k, rows, samples, i, end, n0):
        stop = _burst_both(k, rows, samples, i, end, n0, self.twin)
        self.calls += 1
        self.stepped += (stop >> K.AT_SHIFT) - i
        self.seen[stop & K.EVENT_MASK] += 1
        return stop

    def step(self, k, rows, n, gx, gy, gz, ax, ay, az):
        event = _both(k, rows, n, (gx, gy, gz, ax, ay, az), self.twin)
        self.seen[event] += 1
        return event


def _patched(kernel):
    # the engine and its replay look their kernel up at every call
    from heavylegs_pod.gait import replay

    d.burst = replay.burst = kernel.burst
    d.step = kernel.step


def _unpatched():
    from heavylegs_pod.gait import replay

    d.burst = replay.burst = K.burst
    d.step = K.step


def test_kernel_and_twin_agree_through_a_run():
    imu = LSM6DS(machine.I2C(0), 0x6A)
    chip = machine._get_board().chip
    engine = d.GaitEngine(imu.odr_hz, imu.acc_lsb_per_g, imu.gyro_mdps_per_lsb)
    kernel = _CheckedKernel()
    _patched(kernel)
    try:
        strides = len(drive(imu, chip, engine))
    finally:
        _unpatched()
    seen = kernel.seen
    check(strides > 20, "only %d strides" % strides)
    check(seen[K.EV_IMPACT] >= strides and seen[K.EV_TOE_OFF] >= strides, "events %r" % seen)
    check(seen[K.EV_FLAT_RESTED] > 0, "no foot-flat at rest: %r" % seen)
    # the run is long enough for the second solve (mp_test_sensor_path makes it,
    # on this same trace, under heap_lock)
    check(engine.cal.solved == 2 and not engine.cal.refining, "solved %d" % engine.cal.solved)


def test_a_calibrated_engine_calls_the_kernel_once_per_burst_and_once_per_event():
    from heavylegs_pod.gait.stream import SampleStream

    imu = LSM6DS(machine.I2C(0), 0x6A)
    chip = machine._get_board().chip
    engine = d.GaitEngine(imu.odr_hz, imu.acc_lsb_per_g, imu.gyro_mdps_per_lsb)
    strides = []
    stream = SampleStream(imu, engine, lambda stride, now_n: strides.append(now_n))
    while not chip.exhausted and (not engine.cal.ready or engine.cal.refining):
        chip.advance(chip.ticks_to_watermark())
        stream.drain()
    kernel = _CheckedKernel()
    _patched(kernel)
    bursts = samples = events = 0
    try:
        while not chip.exhausted:
            chip.advance(chip.ticks_to_watermark())
            calls = kernel.calls
            events_before = sum(kernel.seen[1:])
            got = stream.drain()
            new_events = sum(kernel.seen[1:]) - events_before
            if got:
                bursts += 1
                samples += got
                events += new_events
                check(
                    kernel.calls - calls <= 1 + new_events,
                    "%d kernel calls for a burst with %d events"
                    % (kernel.calls - calls, new_events),
                )
    finally:
        _unpatched()
    check(kernel.stepped == samples, "stepped %d of %d samples" % (kernel.stepped, samples))
    check(bursts > 100 and len(strides) > 20, "%d bursts, %d strides" % (bursts, len(strides)))
    check(
        kernel.calls <= bursts + events,
        "%d calls, %d bursts, %d events" % (kernel.calls, bursts, events),
    )
    check(kernel.seen[K.EV_NONE] > 0 and events > 2 * len(strides), "events %r" % kernel.seen)


class _Random:
    """xorshift32: the same cases on every run, no dependency on `random`."""

    def __init__(self, seed):
        self.state = seed

    def bits(self):
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def between(self, lo, hi):
        return lo + self.bits() % (hi - lo + 1)


def _unit_rows(rnd, out):
    """Three rows of length 7/8 to 9/8 in Q13: what set_rows lets through."""
    for row in range(3):
        v = [rnd.between(-1000, 1000) + 0.5 for _ in range(3)]
        scale = 8192 * rnd.between(7000, 9000) / 8000 / (v[0] ** 2 + v[1] ** 2 + v[2] ** 2) ** 0.5
        for i in range(3):
            out[3 * row + i] = int(v[i] * scale)


def _sample(rnd, still):
    if still:
        # a still foot: little rotation, about 1 g in some direction (tilted or not)
        gyro = [rnd.between(-120, 120) for _ in range(3)]
        a = [rnd.between(-1000, 1000) + 0.5 for _ in range(3)]
        g = 2048 * rnd.between(900, 1100) / 1000 / (a[0] ** 2 + a[1] ** 2 + a[2] ** 2) ** 0.5
        return gyro + [int(a[0] * g), int(a[1] * g), int(a[2] * g)]
    extremes = (-32768, 32767, 0, -1)
    out = []
    for _ in range(6):
        if rnd.bits() % 8 == 0:
            out.append(extremes[rnd.bits() % 4])
        else:
            out.append(rnd.between(-32768, 32767))
    return out


def _random_state(rnd, k, n, flat_needed):
    """Any state the engine can reach, and integrator values past the kernel's
    limits (where it must stop integrating the same way in both)."""
    contact = 8001 * 65536
    k[K.S_STATE] = rnd.between(0, 4)
    k[K.S_SINCE] = n - rnd.between(0, 3000)
    k[K.S_PAX] = rnd.between(-32768, 32767)
    k[K.S_PAY] = rnd.between(-32768, 32767)
    k[K.S_PAZ] = rnd.between(-32768, 32767)
    k[K.S_PREV_GP] = rnd.between(-65536, 65536)
    k[K.S_SWING_PEAK] = rnd.between(0, 65536)
    # half the cases inside a contact's time limit, where the contact states branch most
    k[K.S_IC_N] = n - rnd.between(0, 3000 if rnd.bits() % 2 else 200)
    k[K.S_STRIKE_SUM] = rnd.between(-contact, contact)
    k[K.S_SLAP_DONE] = rnd.between(0, 1)
    k[K.S_SLAP_MOVED] = rnd.between(0, 1)
    k[K.S_SLAP_LOW] = rnd.between(-65536, 0)
    k[K.S_SLAP_HIGH] = rnd.between(-65536, 65536)
    k[K.S_PJX] = rnd.between(-65536, 65535)
    k[K.S_PJY] = rnd.between(-65536, 65535)
    k[K.S_PJZ] = rnd.between(-65536, 65535)
    k[K.S_FLAT_COUNT] = rnd.between(0, 3 * flat_needed)
    k[K.S_IMPACT_MAX] = rnd.between(0, 3 * 4096 * 4096)
    k[K.S_CLIPPED] = rnd.between(0, 1)
    k[K.S_MIN_GP] = rnd.between(-65536, 65536)
    k[K.S_MIN_N] = n - rnd.between(0, 3)
    k[K.S_Y_BEFORE] = rnd.between(-65536, 65536)
    k[K.S_Y_AFTER] = rnd.between(-65536, 65536)
    k[K.S_ROLL] = rnd.between(-contact, contact)
    k[K.S_ROLL_MIN] = min(0, k[K.S_ROLL] - rnd.between(0, 65536))
    k[K.S_ROLL_MAX] = max(0, k[K.S_ROLL] + rnd.between(0, 65536))
    k[K.S_ROLL_AT_FLAT] = rnd.between(-contact, contact)
    k[K.S_STILL_RUN] = flat_needed - rnd.between(0, 2)
    k[K.S_TILTED_FLATS] = rnd.between(0, 6)
    k[K.S_INTEGRATING] = rnd.between(0, 1)
    for index, limit in ((K.S_C, 12288), (K.S_S, 12288), (K.S_V, 1 << 24), (K.S_X, 1 << 29)):
        kind = rnd.bits() % 8
        if kind == 0:
            k[index] = rnd.between(-0x7FFFFFFF, 0x7FFFFFFF)
        elif kind == 1:
            # on the kernel's limit, or just past it
            k[index] = (limit + rnd.between(-1, 1)) * (1 if rnd.bits() % 2 else -1)
        else:
            k[index] = rnd.between(-limit, limit)
    k[K.S_T] = rnd.between(0, 5000)
    k[K.S_PENDING] = rnd.between(0, 1)
    k[K.S_SWING_SUM] = rnd.between(0, 2000 * 65536 // 2)
    k[K.S_SOFT_N] = 0 if rnd.bits() % 2 else n - rnd.between(0, 20)
    k[K.S_DOWN_N] = 0 if rnd.bits() % 2 else n - rnd.between(0, 100)
    k[K.S_DOWN_Y0] = rnd.between(-65536, 65536)
    k[K.S_DOWN_Y1] = rnd.between(-65536, 65536)
    k[K.S_DOWN_SUM] = rnd.between(0, 2000 * 65536 // 2)
    # either side of the swing's angle, so both PUSH branches are taken
    k[K.S_YAW_SUM] = rnd.between(0, 2 * k[K.P_SWING_ANGLE])


def _random_case_buffers():
    """A new engine's parameters, and the kernel's, the twin's and the frame's buffers."""
    params = d.GaitEngine(416, 2048, 70)._k
    k = array("i", [0] * K.K_SIZE)
    twin = array("i", [0] * K.K_SIZE)
    rows = array("i", [0] * 9)
    return params, params[K.P_FLAT_NEEDED], k, twin, rows


def _case_rows(rnd, rows, case):
    """A random frame for odd cases, the identity frame of a new engine for even ones."""
    if case % 2:
        _unit_rows(rnd, rows)
    else:
        for i in range(9):
            rows[i] = 8192 if i % 4 == 0 else 0


def test_kernel_and_twin_agree_on_random_states_and_extreme_samples():
    params, flat_needed, k, twin, rows = _random_case_buffers()
    rnd = _Random(2024)
    seen = [0] * 8
    for case in range(6000):
        for i in range(K.S_STATE):
            k[i] = params[i]
        n = rnd.between(3000, (1 << 29) - 1)
        _random_state(rnd, k, n, flat_needed)
        _case_rows(rnd, rows, case)
        seen[_both(k, rows, n, _sample(rnd, rnd.bits() % 3 == 0), twin)] += 1
    for event in EVENTS:
        check(seen[event] > 0, "event %d never happened: %r" % (event, seen))


def test_the_sample_after_push_offs_minimum_is_kept_once_the_yaw_has_passed_a_swing():
    # A pivot step's yaw can pass the swing's angle on the minimum's own sample: the
    # toe-off parabola still needs the sample after it, not one from an older minimum.
    params, flat_needed, k, twin, rows = _random_case_buffers()
    _case_rows(None, rows, 0)
    for i in range(K.S_STATE):
        k[i] = params[i]
    n = 5000
    k[K.S_STATE] = K.PUSH
    k[K.S_SINCE] = n - 100
    k[K.S_IC_N] = n - 100
    k[K.S_YAW_SUM] = k[K.P_SWING_ANGLE] + 1
    k[K.S_MIN_GP] = -3000
    k[K.S_MIN_N] = n - 1
    k[K.S_Y_BEFORE] = -2000
    k[K.S_Y_AFTER] = -9999
    k[K.S_PAZ] = 2048
    # identity frame: the pitch rate is -gy, the toe turning up 500 counts
    _both(k, rows, n, (0, -500, 0, 0, 0, 2048), twin)
    check(k[K.S_Y_AFTER] == 500, "y2 is %d, not the sample after the minimum" % k[K.S_Y_AFTER])


def test_burst_kernel_and_twin_agree_on_random_bursts():
    # whole bursts from random states, each call resumed where the last stopped, so
    # that the loop, the early return at an event and the sample index all agree too
    params, flat_needed, k, twin, rows = _random_case_buffers()
    samples = array("h", bytes(12 * 48))
    rnd = _Random(77)
    seen = [0] * 8
    calls = 0
    for case in range(600):
        for i in range(K.S_STATE):
            k[i] = params[i]
        end = rnd.between(1, 48)
        start = rnd.between(0, end - 1)
        # n0 may be negative: a replay run starts mid-ring (n0 + i >= 0 still)
        n0 = rnd.between(3000, (1 << 29) - 1) if case % 4 else -start
        _random_state(rnd, k, n0 + start, flat_needed)
        if n0 <= 0:
            # sample indices near 0: the state's indices are no older than sample 0
            for index in (K.S_SINCE, K.S_IC_N, K.S_MIN_N, K.S_SOFT_N):
                k[index] = max(0, k[index])
        _case_rows(rnd, rows, case)
        still = rnd.bits() % 2
        for j in range(end):
            sample = _sample(rnd, still and rnd.bits() % 4)
            for axis in range(6):
                samples[6 * j + axis] = sample[axis]
        i = start
        while i < end:
            stop = _burst_both(k, rows, samples, i, end, n0, twin)
            calls += 1
            check(i < stop >> K.AT_SHIFT <= end, "burst %d..%d stopped at %d" % (i, end, stop))
            check(stop & K.EVENT_MASK or stop >> K.AT_SHIFT == end, "stopped without an event")
            seen[stop & K.EVENT_MASK] += 1
            i = stop >> K.AT_SHIFT
    check(calls > 1000, "only %d calls" % calls)
    for event in EVENTS:
        check(seen[event] > 0, "event %d never ended a burst: %r" % (event, seen))


def test_the_frame_solved_again_while_running_allocates_nothing_and_matches_the_float_one():
    import micropython

    from heavylegs_pod.gait import calibration as c

    # a pod on the laces, tilted and turned: sums as a few seconds of running leave them
    cases = (
        (
            [310000, -52000, 790000],
            [9100000, 23300000, 9030000, 433000, 1636000, 9081000],
            [-900, 30000, -800],
        ),
        (
            [-40000, 1000, -99000],
            [200000, 350000000, 4000000, 1000000, -300000, 2000000],
            [0, -700000, 1000],
        ),
        ([5, 1020, 3], [100, 200, 900000000, 10, 20, 30000], [50000, 0, -4000]),
    )
    for gravity, cov, cue in cases:
        want = c.solve_frame(gravity, cov, cue)
        cal = c.MountingCalibration(2048, 70, 416)
        cal._gravity = list(gravity)
        cal._gravity_n = 1000
        cal._cov = list(cov)
        cal._cue = list(cue)
        cal._cues = 5
        cal.ready = True
        micropython.heap_lock()
        try:
            solved = cal._refine()
        finally:
            micropython.heap_unlock()
        check(solved == 1, "the second solve gave up")
        for i in range(9):
            exact = want[i // 3][i % 3] * 8192
            check(
                abs(cal.rows[i] - exact) <= 24,
                "row %d: %d, float solve %.0f" % (i, cal.rows[i], exact),
            )


def _rocking_strides(strides, swing=True):
    """Raw samples (gx gy gz ax ay az; 1 g = 1024, 1 dps = 1000/70) of a foot whose
    every axis rocks by 60 dps / 0.3 g at 23-26 Hz, never still; each 0.72 s stride a
    0.24 s stance, a heel rise about +left, a swing. Returns samples, up, left."""
    up = [0.3, -0.2, 0.93]
    n = math.sqrt(sum(v * v for v in up))
    up = [v / n for v in up]
    left = [0.0, up[2], -up[1]]  # perpendicular to up
    n = math.sqrt(sum(v * v for v in left))
    left = [v / n for v in left]
    dps = 1000 / 70
    per_stride = 300
    out = array("h", [0] * (6 * per_stride * strides))
    for k in range(per_stride * strides):
        t = k / 416
        i = k % per_stride
        turn = 0.0
        lift = 0.0
        if swing and 100 <= i < 140:
            turn = 600.0  # heel rising: a rotation about +left
        elif swing and i >= 140:
            turn = -450.0 * math.sin(math.pi * (i - 140) / 160)
            lift = 1.0
        for a in range(3):
            shift = 2 * math.pi * a / 3
            rock_w = 60.0 * math.sin(2 * math.pi * 26 * t + shift + 0.4)
            rock_g = 0.3 * math.sin(2 * math.pi * 23 * t + shift + 1.1)
            out[6 * k + a] = int((turn * left[a] + rock_w) * dps)
            out[6 * k + 3 + a] = int((up[a] * (1 + lift) + rock_g) * 1024)
    return out, up, left


def test_the_quiet_stance_of_a_foot_that_is_never_still_gives_gravity_and_sign_allocating_nothing():
    from fwtest_util import locked

    from heavylegs_pod.gait.quiet import NEEDED, QuietStance

    samples, up, left = _rocking_strides(10)
    quiet = QuietStance(1024, 70, 416)

    def feed():
        s = samples
        for j in range(0, len(s), 6):
            gx = s[j]
            gy = s[j + 1]
            gz = s[j + 2]
            quiet.observe(gx, gy, gz, s[j + 3], s[j + 4], s[j + 5], abs(gx) + abs(gy) + abs(gz))

    locked(feed)
    check(
        quiet.count >= NEEDED and quiet.cues >= 2, "%d windows, %d cues" % (quiet.count, quiet.cues)
    )
    g = quiet.gravity
    norm = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]) ** 0.5
    cos_up = (g[0] * up[0] + g[1] * up[1] + g[2] * up[2]) / norm
    check(cos_up > 0.998, "gravity %r is %.1f deg off up" % (g, math.degrees(math.acos(cos_up))))
    c = quiet.cue
    check(c[0] * left[0] + c[1] * left[1] + c[2] * left[2] > 0, "push-off cue %r: wrong sign" % c)
    # the same foot rocking while standing: no swing, so no stance to take gravity from
    samples, _, _ = _rocking_strides(10, swing=False)
    quiet.reset()
    locked(feed)
    check(quiet.count == 0, "%d windows taken from a foot that never swung" % quiet.count)


def test_the_quiet_stance_weighs_the_first_whole_window_as_soon_as_it_is_filled():
    from heavylegs_pod.gait.quiet import QuietStance

    quiet = QuietStance(1024, 70, 416)
    # 4 blocks of 8 samples at 416 Hz: exactly one 80 ms window, turning 100 a sample
    for _ in range(32):
        quiet.observe(100, 0, 0, 0, 0, 1024, 100)
    check(quiet._least == 3200, "the first window was not weighed: least %d" % quiet._least)


def test_a_soft_slap_landing_begun_on_the_toes_turn_down_is_timed_at_its_slap():
    # At 100 Hz a slap can pass both the flat and the swing threshold in one sample:
    # its soft landing is then timed at the slap's first sample, as any slap's, not
    # where the toe turned down (that is for a landing seen only at its foot-flat).
    engine = d.GaitEngine(416, 2048, 70)
    k = engine._k
    n = 5000
    k[K.S_STATE] = K.ARMED
    k[K.S_SOFT_N] = n - 10
    k[K.S_DOWN_N] = n - 10
    k[K.S_DOWN_Y0] = 0
    k[K.S_DOWN_Y1] = -4 * k[K.P_SWING_THR]  # crossed the flat threshold early in its sample
    engine._initial_contact(n, -2 * k[K.P_SWING_THR])
    check(engine._ic_jolt == (n - 10) * 64, "slap landing at %d/64" % engine._ic_jolt)
    # the same turn down, the landing seen at the rest after it: begun at the turn
    engine.reset()
    k[K.S_STATE] = K.ARMED
    k[K.S_SOFT_N] = n - 10
    k[K.S_DOWN_N] = n - 10
    k[K.S_DOWN_Y0] = 0
    k[K.S_DOWN_Y1] = -4 * k[K.P_SWING_THR]
    engine._initial_contact(n, 0)
    check(engine._ic_jolt < (n - 10) * 64, "foot-flat landing at %d/64" % engine._ic_jolt)
