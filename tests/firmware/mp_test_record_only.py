# Record-only running's sensor path on the simulated board: the MCU light-sleeps
# until the FIFO's INT1 watermark wakes it, and the watermark changes between the
# live and record-only lengths mid-run, as record_only.py changes it.
import machine
from fwtest_util import check, data_path, read_truth

from heavylegs_pod.gait import detector as d
from heavylegs_pod.gait.stream import SampleStream
from heavylegs_pod.hal.lsm6ds import LSM6DS

LONG_WORDS = 416  # what record_only.py sets at 416 Hz: half a second of samples
SWITCH_EVERY = 9  # bursts between watermark changes: not a multiple of anything


def test_int1_woken_light_sleep_through_watermark_changes_loses_no_stride():
    header, truth = read_truth(data_path("steady_left.hltrace"))
    imu = LSM6DS(machine.I2C(0), 0x6A, max_samples=256)
    chip = machine._get_board().chip
    engine = d.GaitEngine(imu.odr_hz, imu.acc_lsb_per_g, imu.gyro_mdps_per_lsb)
    ics = []
    stream = SampleStream(imu, engine, lambda stride, now_n: ics.append(stride[d.F_IC_N]))
    long = False
    bursts = 0
    sleeps = 0
    while not chip.exhausted:
        bursts += 1
        if bursts % SWITCH_EVERY == 0:
            long = not long
            imu.set_int1_watermark(LONG_WORDS if long else imu.watermark)
        if long:
            machine.lightsleep(5000)  # INT1 ends it, as esp32.wake_on_ext0 would
            if chip.exhausted:
                break
            level = imu.fifo_level()
            check(level >= LONG_WORDS, "woke with %d words, before the watermark" % level)
            check(level < LONG_WORDS + 64, "slept past the watermark: %d words" % level)
            sleeps += 1
        else:
            chip.advance(chip.ticks_to_watermark())
        while stream.drain():
            pass
    check(sleeps > 20, "only %d light sleeps" % sleeps)
    check(imu.overruns == 0, "FIFO overran %d times" % imu.overruns)
    check(len(ics) == len(truth), "%d strides found, %d true" % (len(ics), len(truth)))
    odr = imu.odr_hz
    for got, true in zip(ics, truth):
        check(abs(got / odr - true["ic_s"]) < 0.01, "a contact moved: %r" % (got / odr))


def test_a_watermark_beyond_the_read_buffer_is_refused():
    imu = LSM6DS(machine.I2C(0), 0x6A, max_samples=256)
    imu.set_int1_watermark(LONG_WORDS)
    check(imu.int1_words == LONG_WORDS, "the driver kept another watermark")
    try:
        LSM6DS(machine.I2C(0), 0x6A).set_int1_watermark(LONG_WORDS)  # 128 samples' buffer
    except ValueError:
        return
    raise AssertionError("a watermark beyond the read buffer must be refused")
