# The auto-start bout collector runs once per stride on the pod: it must not
# allocate, and must keep exactly the strides of the bout that proved a run.
from array import array

import micropython
from fwtest_util import check

from heavylegs_pod.gait.detector import F_CADENCE_CENTI, F_IC_N, N_FIELDS
from heavylegs_pod.power import AutoStart, power_settings

ODR = 416
RUN_STRIDE_N = 291  # 0.7 s: 171 steps/min
WALK_STRIDE_N = 458  # 1.1 s: 109 steps/min


def _stride(out, ic_n, stride_n):
    out[F_IC_N] = ic_n
    out[F_CADENCE_CENTI] = 120 * ODR * 100 // stride_n


def _offer_locked(auto, stride):
    micropython.heap_lock()
    try:
        return auto.offer(stride)
    finally:
        micropython.heap_unlock()


def _offer_strides(auto, stride, n, stride_n, count):
    """Offers `count` strides `stride_n` apart from sample n; returns the sample after
    them and what each offer answered."""
    answers = []
    for _ in range(count):
        _stride(stride, n, stride_n)
        answers.append(_offer_locked(auto, stride))
        n += stride_n
    return n, answers


def test_a_bout_proves_a_run_after_start_s_without_allocating():
    auto = AutoStart(ODR, 130, 10)
    stride = array("i", [0] * N_FIELDS)
    # walking first: never kept
    n, answers = _offer_strides(auto, stride, 1000, WALK_STRIDE_N, 5)
    check(not any(answers), "a walking stride proved a run")
    check(auto.count == 0, "walking strides were kept")
    first = n
    proved_at = -1
    for k in range(40):
        _stride(stride, n, RUN_STRIDE_N)
        if _offer_locked(auto, stride):
            proved_at = k
            break
        n += RUN_STRIDE_N
    # 10 s of bout: the stride whose contact is >= 4160 samples after the first
    check(proved_at == (10 * ODR + RUN_STRIDE_N - 1) // RUN_STRIDE_N, "proved at %d" % proved_at)
    check(auto.first_ic() == first, "the session would not start at the bout's first contact")
    check(auto.count == proved_at + 1, "kept %d strides, not %d" % (auto.count, proved_at + 1))
    for k in range(auto.count):
        check(auto.slots[k][F_IC_N] == first + k * RUN_STRIDE_N, "slot %d holds another stride" % k)


def test_a_pause_longer_than_the_bout_gap_starts_a_new_bout():
    auto = AutoStart(ODR, 130, 10)
    stride = array("i", [0] * N_FIELDS)
    n, _ = _offer_strides(auto, stride, 0, RUN_STRIDE_N, 6)
    n += 4 * ODR  # a 4 s pause: longer than the 3 s a bout may pause
    _stride(stride, n, RUN_STRIDE_N)
    check(not _offer_locked(auto, stride), "the pause did not end the bout")
    check(auto.count == 1 and auto.first_ic() == n, "the new bout does not start after the pause")


def test_walking_counts_when_the_start_cadence_is_zero():
    auto = AutoStart(ODR, 0, 10)
    stride = array("i", [0] * N_FIELDS)
    _stride(stride, 0, WALK_STRIDE_N)
    _offer_locked(auto, stride)
    check(auto.count == 1, "auto_start_spm 0 did not keep a walking stride")


def test_bad_power_settings_are_refused():
    for bad in (
        {"auto_stop_s": 0},
        {"nap_s": -1},
        {"wake_threshold_lsb": 64},
        {"sync_window_s": "x"},
    ):
        try:
            power_settings(bad)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % (bad,))
    check(power_settings({})["sync_window_s"] == 600, "the sync window default changed")


def test_the_time_of_day_survives_deep_sleeps_across_the_clock_wrap():
    from heavylegs_pod.power import clock_after_sleep, rtc_record

    half_day_t25 = 12 * 3600 * 40000 + 20000  # 12 h and half a second of 25 us counts
    timestamp = 4_000_000_000  # close to the 32-bit wrap
    record = rtc_record(1_800_000_000, timestamp)
    for _ in range(3):
        timestamp = (timestamp + half_day_t25) & 0xFFFFFFFF
        unix_s, record = clock_after_sleep(record, timestamp)
    # 129,601.5 s passed: the half seconds are carried, not dropped at each wake
    check(unix_s == 1_800_000_000 + 129_601, "time of day %d after three wakes" % unix_s)
    unknown, _ = clock_after_sleep(rtc_record(-1, 5), 5 + 40000 * 7)
    check(unknown == -1, "an unknown time of day became known")
    check(clock_after_sleep(b"junk", 1) is None, "a foreign RTC memory was taken as ours")
    check(clock_after_sleep(None, 1) is None, "no RTC memory was taken as ours")


def test_the_boot_id_and_pod_clock_survive_deep_sleeps_and_old_records_still_read():
    import struct

    from heavylegs_pod.power import resume_after_sleep, rtc_record

    half_day_t25 = 12 * 3600 * 40000 + 20000
    timestamp = 4_000_000_000
    record = rtc_record(-1, timestamp, 0xDEADBEEF, 1000)
    for _ in range(3):
        timestamp = (timestamp + half_day_t25) & 0xFFFFFFFF
        unix_s, record, boot, clock_s, fraction = resume_after_sleep(record, timestamp)
    check(boot == 0xDEADBEEF, "the boot id changed across deep sleep: %x" % boot)
    check(clock_s == 1000 + 129_601, "pod clock %d after three wakes" % clock_s)
    check(fraction == 20000 * 3 - 40000, "the half seconds carried: %d" % fraction)
    check(unix_s == -1, "an unknown time of day became known")
    # a record a protocol-2 pod left: the time of day goes on, the boot starts anew
    old = struct.pack("<4sBiI", b"HLDS", 1, 1_800_000_000, 5)
    unix_s, record, boot, clock_s, _ = resume_after_sleep(old, 5 + 40000 * 7)
    check((unix_s, boot, clock_s) == (1_800_000_000 + 7, 0, 0), "old record %r" % ((unix_s, boot),))
    check(resume_after_sleep(record, 5 + 40000 * 9)[0] == 1_800_000_000 + 9, "rewritten record")
    check(resume_after_sleep(b"HLDS" + bytes(17), 1) is None, "a record of no version")
