# The pod's sensor path on the simulated board: emulated LSM6DSOX -> driver -> engine.
import sys

import machine
from fwtest_util import check, close, data_path, drive, locked, read_truth

from heavylegs_pod.gait import _kernels as K
from heavylegs_pod.gait import detector as d
from heavylegs_pod.gait.stream import SampleStream
from heavylegs_pod.hal.lsm6ds import LSM6DS


def _run_engine(watermark=64):
    imu = LSM6DS(machine.I2C(0), 0x6A, watermark=watermark)
    return imu, _drive(imu, machine._get_board().chip)


def _drive(imu, chip):
    """Every sample of the chip's trace through driver and engine; the test plays time."""
    engine = d.GaitEngine(imu.odr_hz, imu.acc_lsb_per_g, imu.gyro_mdps_per_lsb)
    return drive(imu, chip, engine)


def test_runs_inside_micropython():
    check(sys.implementation.name == "micropython", "not running in MicroPython")


def test_driver_checks_who_am_i():
    i2c = machine.I2C(0)
    try:
        LSM6DS(i2c, 0x6B)
    except OSError:
        return
    raise AssertionError("a missing sensor must raise OSError")


def test_every_stride_found_with_contact_time_on_target():
    header, truth = read_truth(data_path("steady_left.hltrace"))
    imu, strides = _run_engine()
    odr = imu.odr_hz
    check(imu.overruns == 0, "FIFO overran %d times" % imu.overruns)
    check(len(strides) == len(truth), "%d strides found, %d true" % (len(strides), len(truth)))
    errors = []
    for got, true in zip(strides, truth):
        ic_s = d.ic_ms(got[d.F_IC_N], got[d.F_IC_FRAC], odr) / 1000
        close(ic_s, true["ic_s"], 1.5 / odr + 0.001, "initial contact (s)")
        error = got[d.F_GCT_01MS] / 10 - (true["to_s"] - true["ic_s"]) * 1000
        close(error, 0, 10.0, "contact time error (ms)")
        errors.append(error)
        close(got[d.F_STRIKE_01DEG] / 10, true["strike_deg"], 1.5, "strike angle (deg)")
        if true["next_ic_s"] is not None:
            cadence = 120 / (true["next_ic_s"] - true["ic_s"])
            close(got[d.F_CADENCE_CENTI] / 100, cadence, 1.0, "cadence (steps/min)")
    # DESIGN.md's targets: bias below 3 ms, SD below 4 ms
    mean = sum(errors) / len(errors)
    sd = (sum((e - mean) ** 2 for e in errors) / len(errors)) ** 0.5
    close(mean, 0, 3.0, "contact time bias (ms)")
    check(sd < 4.0, "contact time SD %.2f ms" % sd)


def test_slow_reader_overruns_and_says_so():
    i2c = machine.I2C(0)
    imu = LSM6DS(i2c, 0x6A)
    chip = machine._get_board().chip
    chip.advance(3000)  # far more than the FIFO holds, nobody reading
    imu.fifo_level()
    check(imu.overruns == 1, "overrun not reported")
    check(chip.overruns > 0, "emulator lost no data")


class _StrideTally:
    """The stride callback of the allocation proof: counts, keeps the longest."""

    def __init__(self):
        self.found = 0
        self.longest = 0

    def on_stride(self, stride, now_n):
        self.found += 1
        if stride[d.F_STRIDE_LEN_CM] > self.longest:
            self.longest = stride[d.F_STRIDE_LEN_CM]


def test_the_shipped_sample_path_allocates_nothing():
    # The pod's own loop (SampleStream.drain, which app.sensor_task calls), locked
    # whole: FIFO burst unpacking, engine steps and stride callbacks.
    imu = LSM6DS(machine.I2C(0), 0x6A)
    chip = machine._get_board().chip
    engine = d.GaitEngine(imu.odr_hz, imu.acc_lsb_per_g, imu.gyro_mdps_per_lsb)
    tally = _StrideTally()
    stream = SampleStream(imu, engine, tally.on_stride)
    recorder = _RecordingBus(imu.i2c)
    while not chip.exhausted and not engine.cal.ready:
        # solving the mounting frame (once a session) may allocate; the rest may not
        chip.advance(chip.ticks_to_watermark())
        stream.drain()
    # The simulated bus is Python and allocates: record the rest of the run's bus
    # reads first, then replay them from preallocated bytes as a port's C driver does.
    imu.i2c = recorder
    levels = []
    have_gyro = imu._have_gyro
    count_before = imu.sample_count
    while not chip.exhausted:
        chip.advance(chip.ticks_to_watermark())
        levels.append(imu.read_fifo())
    check(sum(levels) > 4000, "too few samples left to prove anything")
    imu.i2c = _ReplayBus(recorder.reads)
    imu._have_gyro = have_gyro
    imu.sample_count = count_before
    kernel = _CountedKernel(engine.cal)
    steady_bursts = 0
    d.burst = kernel.burst
    try:
        for want in levels:
            steady_bursts += 0 if engine.cal.refining else 1
            got = locked(stream.drain)
            check(got == want, "replayed burst drained %d samples, not %d" % (got, want))
    finally:
        d.burst = K.burst
    check(tally.found > 20, "only %d strides: the locked loop did not emit strides" % tally.found)
    check(tally.longest > 150, "stride length not measured in the locked loop")
    # and it is the burst loop: once the frame is solved again (the first seconds),
    # one kernel call per burst plus one per event, a few per stride
    check(steady_bursts > 200, "only %d bursts after the second solve" % steady_bursts)
    check(
        kernel.steady_calls <= steady_bursts + 4 * tally.found,
        "%d kernel calls for %d bursts and %d strides"
        % (kernel.steady_calls, steady_bursts, tally.found),
    )
    check(kernel.samples == sum(levels), "the kernel stepped %d samples" % kernel.samples)


class _CountedKernel:
    """The engine's kernel, counting the samples it stepped and its calls once the
    frame is final."""

    def __init__(self, cal):
        self.cal = cal
        self.steady_calls = 0
        self.samples = 0

    def burst(self, k, rows, samples, i, end, n0):
        stop = K.burst(k, rows, samples, i, end, n0)
        if not self.cal.refining:
            self.steady_calls += 1
        self.samples += (stop >> K.AT_SHIFT) - i
        return stop


def test_engine_and_driver_fit_a_small_heap():
    import gc

    gc.collect()
    before = gc.mem_alloc()
    imu = LSM6DS(machine.I2C(0), 0x6A)
    engine = d.GaitEngine(imu.odr_hz, imu.acc_lsb_per_g, imu.gyro_mdps_per_lsb)
    gc.collect()
    used = gc.mem_alloc() - before
    # the pod has ~190 KB of heap on an RP2040; the sensor path may take a quarter
    check(used < 48 * 1024, "driver + engine take %d bytes" % used)
    check(engine.cal.ready is False, "a new engine starts uncalibrated")


def test_lsm6ds3trc_pattern_fifo_gives_the_same_strides():
    # a second chip on the simulated bus: the older LSM6DS3TR-C with its pattern FIFO
    from lsm6ds_emu import LSM6DSEmulator, TraceFileSource

    board = machine._get_board()
    chip = LSM6DSEmulator(TraceFileSource(data_path("steady_left.hltrace")), "LSM6DS3TR-C")
    board.devices[0x6B] = chip
    imu = LSM6DS(machine.I2C(0), 0x6B, part="LSM6DS3TR-C")
    check(chip.watermark() == 32 * 6, "threshold %d words" % chip.watermark())
    strides = _drive(imu, chip)
    _, reference = _run_engine()
    check(
        len(strides) == len(reference) and len(strides) > 20,
        "%d vs %d" % (len(strides), len(reference)),
    )
    for got, want in zip(strides, reference):
        check(got == want, "stride differs: %r vs %r" % (got, want))
    try:
        LSM6DS(machine.I2C(0), 0x6A, part="LSM6DS3TR-C")
    except OSError:
        return
    raise AssertionError("a DSOX answering where a DS3TR-C was expected must be refused")


# LSM6DSOX registers (DS12814): what read_fifo reads on every burst.
FIFO_STATUS1 = 0x3A
FIFO_DATA_OUT_TAG = 0x78


class _RecordingBus:
    """Passes reads through to the simulated bus and keeps what came back."""

    def __init__(self, bus):
        self.bus = bus
        self.reads = []

    def readfrom_mem_into(self, addr, reg, buf):
        self.bus.readfrom_mem_into(addr, reg, buf)
        self.reads.append((reg, bytes(buf)))

    def writeto_mem(self, addr, reg, buf):
        self.bus.writeto_mem(addr, reg, buf)


class _ReplayBus:
    """Answers the same reads again from preallocated bytes, allocating nothing, as a
    port's I2C driver in C does. The simulated bus is Python and allocates, so it
    cannot stand in when the driver's own allocation is what is measured."""

    def __init__(self, reads):
        self.regs = bytes(reg for reg, _ in reads)
        self.data = bytearray(b"".join(data for _, data in reads))
        self.i = 0
        self.offset = 0

    def readfrom_mem_into(self, addr, reg, buf):
        check(self.regs[self.i] == reg, "the driver read another register than before")
        data = self.data
        o = self.offset
        for k in range(len(buf)):
            buf[k] = data[o + k]
        self.offset = o + len(buf)
        self.i += 1


def test_fifo_bursts_allocate_nothing():
    imu = LSM6DS(machine.I2C(0), 0x6A)
    chip = machine._get_board().chip
    recorder = _RecordingBus(imu.i2c)
    imu.i2c = recorder
    expected = []
    # a level that is not a whole number of watermarks: the rest waits in the FIFO
    for ticks in (40, 70, 33, 90, 64, 128, 20, 200):
        chip.advance(ticks)
        count = imu.read_fifo()
        expected.append((count, bytes(imu._samples_mv[: 6 * count])))
        check(count % (imu.watermark // 2) == 0, "read %d samples: not whole watermarks" % count)
    check(sum(c for c, _ in expected) > 200, "the bursts read too little to prove anything")
    imu.i2c = _ReplayBus(recorder.reads)
    imu._have_gyro = False
    for count, samples in expected:
        got = locked(imu.read_fifo)
        check(got == count, "replayed burst read %d samples, not %d" % (got, count))
        check(bytes(imu._samples_mv[: 6 * got]) == samples, "replayed samples differ")
