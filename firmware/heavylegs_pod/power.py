"""When the pod records, and when it sleeps: the zero-touch state machine.

    ASLEEP  -- INT1 wake-up (any movement) -------------------------> AWAKE
    AWAKE   -- running cadence sustained for start_s -----------------> RECORDING
    AWAKE   -- nap_s quiet: advertise slowly (the sync window) -------> AWAKE
    AWAKE   -- sync_window_s more, no central connected --------------> ASLEEP
    RECORDING -- stop_s below running cadence, or the owner stops it --> AWAKE
    (RECORDING with no central connected runs record-only: record_only.py)
    AWAKE   -- a central connected (sync) ---------------------------> SYNCING
    SYNCING -- central gone -----------------------------------------> AWAKE
    any     -- battery below low_mv: session closed, journal flushed -> LOW (deep sleep)

docs/power.md draws the same machine. The session of an automatic start opens
retroactively at the first contact of the bout, so the strides that proved the
run was a run are journaled, not lost: `AutoStart` keeps copies of them in
preallocated slots until the bout is confirmed or abandoned.
"""

import struct
from array import array

from micropython import const

from heavylegs_pod import wire
from heavylegs_pod.gait.detector import F_CADENCE_CENTI, F_IC_N, N_FIELDS

# The states are the status record's state byte, so the status reports the machine
# as it is.
AWAKE = wire.STATE_IDLE
RECORDING = wire.STATE_RECORDING
ASLEEP = wire.STATE_ASLEEP
SYNCING = wire.STATE_SYNCING
LOW_BATTERY = wire.STATE_LOW_BATTERY

DEFAULTS = {
    "auto_start_spm": 130,  # 0: any stride counts, so walking starts a session too
    "auto_start_s": 10,
    "auto_stop_s": 240,
    "nap_s": 60,
    "low_battery_mv": 3450,
    "wake_threshold_lsb": 2,  # x FS/64: 0.5 g of slope at +-16 g
    # After nap_s quiet the pod stays awake this long more, advertising slowly, so a
    # phone can sync after a run; then it sleeps with the radio silent until a
    # movement wakes it. Awake, because MicroPython's BLE does not survive a light
    # sleep on the ESP32 (micropython#6396): the window costs the idle current.
    "sync_window_s": 600,
    # In deep sleep the MCU keeps no time: it wakes this often to read the sensor's
    # clock, which wraps after 29.8 h (only boards whose INT1 wakes it from deep sleep).
    "deep_sleep_check_s": 43200,
    # Record-only running (record_only.py): a run that starts with no central
    # connected turns the radio off, and every beacon_s it advertises for 1.5 s so
    # a watch or phone can still join. A minute: a watch that lost its pod
    # mid-run finds it again within its own search (Garmin watches keep searching
    # for paired sensors for minutes), and a burst a minute costs about 0.8 mA of
    # the record-only 5.3 mA on the ESP32-S3 (bench/power_budget.py, docs/power.md).
    # 0: the radio stays on for every run, streaming to whoever connects (the
    # behaviour before record-only).
    "beacon_s": 60,
}
_T25_PER_S = const(40000)  # the sensor's timestamp counts 25 us
_RTC_MAGIC = b"HLDS"
# magic, version 2, unix seconds (-1 unknown), sensor timestamp, boot id, pod clock s
_RTC_FORMAT = "<4sBiIII"
_RTC_V1_FORMAT = "<4sBiI"  # what a protocol-2 pod kept: no boot id, no pod clock
ADV_AWAKE_US = const(250_000)  # a phone finds a pod that is awake within a second
# In the sync window the pod stays findable at about a fifth of the radio's current
# (the interval Apple's accessory guidelines list for low-power advertising).
ADV_WINDOW_US = const(1_285_000)
# A gap this long between strides ends a bout that has not been confirmed yet.
_BOUT_GAP_S = const(3)
_SLOTS = const(32)


def power_settings(config):
    """The power settings of pod.json, checked; a bad value raises ValueError."""
    out = {}
    for key, default in DEFAULTS.items():
        value = config.get(key, default)
        if not isinstance(value, int) or value < 0:
            raise ValueError("pod.json: %s must be a whole number >= 0, not %r" % (key, value))
        out[key] = value
    if out["auto_start_s"] < 1 or out["auto_stop_s"] < 1 or out["nap_s"] < 1:
        raise ValueError("pod.json: auto_start_s, auto_stop_s and nap_s must be >= 1")
    if not 1 <= out["deep_sleep_check_s"] <= 86400:
        raise ValueError("pod.json: deep_sleep_check_s must be 1..86400 (the clock wraps)")
    if not 1 <= out["wake_threshold_lsb"] <= 63:
        raise ValueError("pod.json: wake_threshold_lsb must be 1..63")
    return out


class AutoStart:
    """Collects a bout of running strides until it has lasted long enough."""

    def __init__(self, odr_hz, start_spm, start_s):
        self.start_centi = start_spm * 100
        self.start_n = start_s * odr_hz
        self.gap_n = _BOUT_GAP_S * odr_hz
        self.slots = [array("i", [0] * N_FIELDS) for _ in range(_SLOTS)]
        self.count = 0

    def running(self, stride):
        cadence = stride[F_CADENCE_CENTI]
        if self.start_centi == 0:
            return True
        return cadence > self.start_centi

    def offer(self, stride):
        """Keep a stride of a bout; True once the bout has proved to be a run."""
        if not self.running(stride):
            self.count = 0
            return False
        ic_n = stride[F_IC_N]
        count = self.count
        if count and ic_n - self.slots[count - 1][F_IC_N] > self.gap_n:
            count = 0
        slot = self.slots[count]
        for i in range(N_FIELDS):
            slot[i] = stride[i]
        count += 1
        self.count = count
        return count == _SLOTS or ic_n - self.slots[0][F_IC_N] >= self.start_n

    def first_ic(self):
        return self.slots[0][F_IC_N]


def rtc_record(unix_s, timestamp, boot=0, clock_s=0):
    """What a pod keeps across deep sleep: the time of day, the boot id and the pod
    clock at a sensor timestamp."""
    return struct.pack(
        _RTC_FORMAT, _RTC_MAGIC, 2, unix_s, timestamp & 0xFFFFFFFF, boot & 0xFFFFFFFF, clock_s
    )


def resume_after_sleep(record, timestamp):
    """(unix seconds now or -1, the record to keep, boot id, pod clock s now, the
    fraction of a second past it in 25 us counts) from the record kept in RTC
    memory and the sensor's timestamp now; None when there is no valid record.
    Boot id 0: an old record that kept none (the boot starts anew). The record
    moves on by whole seconds only, so repeated wakes do not add up rounding."""
    if record is None:
        return None
    boot = 0
    clock_s = 0
    if len(record) == struct.calcsize(_RTC_FORMAT):
        magic, version, unix_s, then, boot, clock_s = struct.unpack(_RTC_FORMAT, record)
        if version != 2:
            return None
    elif len(record) == struct.calcsize(_RTC_V1_FORMAT):
        magic, version, unix_s, then = struct.unpack(_RTC_V1_FORMAT, record)
        if version != 1:
            return None
    else:
        return None
    if magic != _RTC_MAGIC:
        return None
    whole_s = ((timestamp - then) & 0xFFFFFFFF) // _T25_PER_S
    then = (then + whole_s * _T25_PER_S) & 0xFFFFFFFF
    if unix_s >= 0:
        unix_s += whole_s
    if boot:
        clock_s += whole_s
    fraction = (timestamp - then) & 0xFFFFFFFF
    return unix_s, rtc_record(unix_s, then, boot, clock_s), boot, clock_s, fraction


def clock_after_sleep(record, timestamp):
    """(unix seconds now or -1, the record to keep); None without a valid record."""
    resumed = resume_after_sleep(record, timestamp)
    if resumed is None:
        return None
    return resumed[0], resumed[1]
