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


def _sim_board(deep_sleep_wake):
    import json
    import os

    from heavylegs_pod.hal.board import Board

    repo = os.getenv("HEAVYLEGS_TEST_VECTORS") + "/../.."
    with open(repo + "/hardware/boards/sim-unix.json") as f:
        config = json.load(f)
    config["imu"]["deep_sleep_wake"] = deep_sleep_wake
    return Board(config)


def test_the_boot_id_and_pod_clock_survive_a_deep_sleep_and_only_that():
    from heavylegs_pod import power
    from heavylegs_pod.startup import new_boot_id, resume_from_deep_sleep

    ids = [new_boot_id() for _ in range(8)]
    check(0 not in ids and len(set(ids)) == 8, "boot ids %r" % ids)
    board = _sim_board(True)
    chip = machine._get_board().chip
    imu = LSM6DS(board.i2c, board.imu_address, board.imu_part)
    chip.advance(64)
    imu.read_fifo()
    then = imu.sleep(2)
    # what the app left in RTC memory as it went to deep sleep, 3 s after the chip's
    # timestamp read `then`; the runner starts moving meanwhile and wakes it
    kept = power.rtc_record(1_800_000_000, (then - 3 * 40000) & 0xFFFFFFFF, 0xB0071D, 500)
    chip.advance(26 * 12)
    now = imu.timestamp()
    elapsed_s = ((now - then) & 0xFFFFFFFF) // 40000 + 3
    sim = machine._get_board()
    sim.rtc_memory = kept
    # a reset (power on, the button) is a cold boot: nothing carries over
    sim.reset_cause = machine.PWRON_RESET
    check(resume_from_deep_sleep(board, {}) == (-1, 0, 0, 0), "a cold boot resumed a clock")
    # a wake from deep sleep keeps the boot id, and the pod clock ran on through it
    sim.reset_cause = machine.DEEPSLEEP_RESET
    unix_s, boot, clock_s, fraction = resume_from_deep_sleep(board, {})
    check(boot == 0xB0071D, "boot id %x after a deep sleep" % boot)
    check(clock_s == 500 + elapsed_s, "pod clock %d, expected %d" % (clock_s, 500 + elapsed_s))
    check(unix_s == 1_800_000_000 + elapsed_s, "time of day %d" % unix_s)
    check(0 <= fraction < 40000, "fraction %d" % fraction)
    # a board whose INT1 cannot wake it from deep sleep never resumes one
    sim.rtc_memory = kept
    check(resume_from_deep_sleep(_sim_board(False), {})[1] == 0, "resumed without deep sleep")
