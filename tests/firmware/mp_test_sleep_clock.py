# The sensor clock across a long sleep, on the emulated LSM6DSOX: the chip's 32-bit
# timestamp (25 us) wraps every 29.8 h, and a pod may sleep for weeks.
import machine
from fwtest_util import check

from heavylegs_pod.hal.lsm6ds import LSM6DS

LP_TICK_T25 = 1536  # one 26 Hz low-power period in 25 us timestamp units
SAMPLE_T25 = 96  # one 416 Hz sample


def test_a_sleep_longer_than_the_timestamp_wrap_is_counted_whole():
    imu = LSM6DS(machine.I2C(0), 0x6A)
    chip = machine._get_board().chip
    chip.advance(64)
    imu.read_fifo()
    before = imu.sample_count
    imu.sleep(2)
    check(chip.odr_mhz == 26000, "asleep, the accelerometer should tick at 26 Hz")
    # 40 hours of standing pass; the pod looks at the chip every 20 hours (it does
    # every minute). Time moves on the chip's own clock, with no motion to detect.
    day_ticks = 20 * 3600 * 26
    for _ in range(2):
        chip.tick += day_ticks
        imu.count_sleep()
    slept = imu.wake()
    expected = 2 * day_ticks * LP_TICK_T25 // SAMPLE_T25
    check(slept == expected, "slept %d samples, expected %d (40 h)" % (slept, expected))
    check(imu.sample_count == before + expected, "the sample clock did not move on by the sleep")
