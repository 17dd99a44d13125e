"""What a boot starts from: the pod's settings (pod.json), a cold boot's id, and
the clocks a deep sleep kept in RTC memory."""

import json
import os
import struct

from heavylegs_pod import power
from heavylegs_pod.hal.lsm6ds import peek_asleep

CONFIG_FILE = "pod.json"


def load_config(path=CONFIG_FILE):
    """Pod settings written at flash time; defaults keep a blank pod usable."""
    config = {"foot": "left", "name": "heavylegs", "journal_kb": 512, "bond": False}
    try:
        with open(path) as f:
            config.update(json.load(f))
    except OSError:
        pass
    if config["foot"] not in ("left", "right"):
        raise ValueError("pod.json: foot must be 'left' or 'right', not %r" % config["foot"])
    return config


def save_config(config, path=CONFIG_FILE):
    """New file, then rename: a power cut leaves the old settings or the new, never half."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(config, f)
    os.rename(tmp, path)


def new_boot_id():
    """A cold boot's name: random, nonzero, so two boots of a pod never share one."""
    boot = 0
    while not boot:
        boot = struct.unpack("<I", os.urandom(4))[0]
    return boot


def resume_from_deep_sleep(board, config):
    """After a deep sleep: (unix s or -1 when unknown, boot id, pod clock s, the
    fraction of a second past it in 25 us counts), with boot id 0 when this is a cold boot (no deep sleep, or no record of ours). A
    wake by the timer, which only counts the sensor's clock before it wraps, goes
    back to deep sleep from here and does not return."""
    if not board.deep_sleep_wake or not board.woke_from_deep_sleep():
        return -1, 0, 0, 0
    timestamp, woken = peek_asleep(board.imu_bus, board.imu_address)
    resumed = power.resume_after_sleep(board.rtc_memory(), timestamp)
    if resumed is None:
        return -1, 0, 0, 0
    unix_s, record, boot, clock_s, fraction = resumed
    board.rtc_memory(record)
    if not woken:
        board.deep_sleep_until_int1(power.power_settings(config)["deep_sleep_check_s"] * 1000)
    return unix_s, boot, clock_s, fraction
