"""What a connected central reads and is notified of: service UUIDs, the stride
record, the RSC measurement, advertising and the pod status (docs/protocol.md).

Part of the wire format (wire.py gathers it); all little-endian, encoders write
into caller-owned buffers so the pod never allocates per stride.
"""

import struct

from micropython import const

# --- Running-dynamics service (ours, 128-bit UUIDs) ------------------------------
# Base: 6c0a0000-5f3e-4e8f-9a51-68656176796c ("heavyl" in the node field).
RD_SERVICE_UUID = "6c0a0001-5f3e-4e8f-9a51-68656176796c"
RD_STRIDE_UUID = "6c0a0002-5f3e-4e8f-9a51-68656176796c"
RD_STATUS_UUID = "6c0a0003-5f3e-4e8f-9a51-68656176796c"
RD_CONTROL_UUID = "6c0a0004-5f3e-4e8f-9a51-68656176796c"
RD_SYNC_UUID = "6c0a0005-5f3e-4e8f-9a51-68656176796c"
# Software Revision (0x2A28) carries this, so a host can refuse a pod it cannot speak to.
# 3: session identity (journal epoch, boot clock) and declared gaps on the sync stream.
# 4: the sensor's full-scale ranges in the session identity record.
PROTOCOL_VERSION = const(4)

# --- Standard services (Bluetooth SIG assigned numbers) --------------------------
DIS_SERVICE_UUID16 = const(0x180A)
DIS_MODEL_UUID16 = const(0x2A24)
DIS_FIRMWARE_REV_UUID16 = const(0x2A26)
DIS_SOFTWARE_REV_UUID16 = const(0x2A28)
DIS_MANUFACTURER_UUID16 = const(0x2A29)
RSC_SERVICE_UUID16 = const(0x1814)
RSC_MEASUREMENT_UUID16 = const(0x2A53)
RSC_FEATURE_UUID16 = const(0x2A54)
SC_CONTROL_POINT_UUID16 = const(0x2A55)
SENSOR_LOCATION_UUID16 = const(0x2A5D)
BATTERY_SERVICE_UUID16 = const(0x180F)
BATTERY_LEVEL_UUID16 = const(0x2A19)

# --- Stride record, version 1 ----------------------------------------------------
# 20 bytes, so one record fits the default ATT MTU of 23.
#  0 u8  version (STRIDE_VERSION)
#  1 u8  flags: bit0 right foot, bit1 running (else walking), bit2 impact clipped,
#              bits3-4 strike class (0 unknown, 1 rearfoot, 2 midfoot, 3 forefoot)
#  2 u16 sequence number within the pod session (wraps at 65536)
#  4 u32 initial contact, ms since session start (sensor clock)
#  8 u16 ground contact time, 0.1 ms
# 10 u16 stride time (IC to next IC of the same foot), 0.1 ms
# 12 u16 cadence, 0.01 steps/min
# 14 i16 foot-strike angle, 0.1 degree, positive = toe up
# 16 u8  peak impact, 0.5 g
# 17 u16 stride length, cm (0 = unknown)
# 19 u8  pronation: the foot's roll range through stance, 0.5 degree (0 = unknown:
#        a pod before protocol 4 kept this byte reserved; a real stance rolls more)
STRIDE_VERSION = const(1)
STRIDE_FORMAT = "<BBHIHHHhBHB"
STRIDE_SIZE = const(20)

FLAG_RIGHT = const(0x01)
FLAG_RUNNING = const(0x02)
FLAG_CLIPPED = const(0x04)
STRIKE_SHIFT = const(3)
STRIKE_UNKNOWN = const(0)
STRIKE_REARFOOT = const(1)
STRIKE_MIDFOOT = const(2)
STRIKE_FOREFOOT = const(3)
STRIKE_NAMES = ("unknown", "rearfoot", "midfoot", "forefoot")

# RSC measurement flags (Bluetooth RSCS 1.0, 3.2.1.1)
RSC_FLAG_STRIDE_LENGTH = const(0x01)
RSC_FLAG_TOTAL_DISTANCE = const(0x02)
RSC_FLAG_RUNNING = const(0x04)
# RSC feature bits (RSCS 1.0, 3.2): stride length, total distance, walking/running
# status. The pod claims the first two only when its gait engine measures stride
# length; calibration and multiple sensor locations are not claimed.
RSC_FEATURE_STRIDE_LENGTH = const(0x0001)
RSC_FEATURE_TOTAL_DISTANCE = const(0x0002)
RSC_FEATURE_RUNNING_STATUS = const(0x0004)
SENSOR_LOCATION_TOP_OF_SHOE = const(1)


def _clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return high
    return value


def encode_stride(
    buf,
    seq,
    flags,
    ic_ms,
    gct_01ms,
    stride_01ms,
    cadence_centi_spm,
    strike_01deg,
    impact_half_g,
    stride_len_cm,
    pronation_half_deg=0,
    offset=0,
):
    """Pack one stride record into buf at offset (STRIDE_SIZE bytes).

    Values are integers in wire units; out-of-range values saturate rather than
    wrap, because a saturated field is obviously extreme while a wrapped one lies.
    """
    struct.pack_into(
        STRIDE_FORMAT,
        buf,
        offset,
        STRIDE_VERSION,
        flags,
        seq & 0xFFFF,
        ic_ms & 0xFFFFFFFF,
        _clamp(gct_01ms, 0, 0xFFFF),
        _clamp(stride_01ms, 0, 0xFFFF),
        _clamp(cadence_centi_spm, 0, 0xFFFF),
        _clamp(strike_01deg, -32768, 32767),
        _clamp(impact_half_g, 0, 0xFF),
        _clamp(stride_len_cm, 0, 0xFFFF),
        _clamp(pronation_half_deg, 0, 0xFF),
    )
    return STRIDE_SIZE


def decode_stride(data, offset=0):
    """Decode a stride record into a dict of SI-ish values; raises ValueError."""
    if len(data) - offset < STRIDE_SIZE:
        raise ValueError("stride record too short: %d bytes" % (len(data) - offset))
    (
        version,
        flags,
        seq,
        ic_ms,
        gct,
        stride,
        cadence,
        strike,
        impact,
        stride_len,
        pronation,
    ) = struct.unpack_from(STRIDE_FORMAT, data, offset)
    if version != STRIDE_VERSION:
        raise ValueError("unsupported stride record version %d" % version)
    return {
        "seq": seq,
        "foot": "right" if flags & FLAG_RIGHT else "left",
        "running": bool(flags & FLAG_RUNNING),
        "clipped": bool(flags & FLAG_CLIPPED),
        "strike_class": STRIKE_NAMES[(flags >> STRIKE_SHIFT) & 0x03],
        "ic_ms": ic_ms,
        "gct_ms": gct / 10,
        "stride_ms": stride / 10,
        "cadence_spm": cadence / 100,
        "strike_deg": strike / 10,
        "impact_g": impact / 2,
        "stride_len_m": stride_len / 100 if stride_len else None,
        "pronation_deg": pronation / 2 if pronation else None,
    }


# --- RSC measurement (0x2A53) ----------------------------------------------------
# flags u8, speed u16 (1/256 m/s), cadence u8 (steps/min), then optional stride
# length u16 (cm) and total distance u32 (1/10 m) as flagged.
RSC_MEASUREMENT_MAX = const(10)


def encode_rsc(buf, running, speed_256, cadence_spm, stride_len_cm, total_dm):
    """Pack an RSC measurement into buf; returns its length.

    stride_len_cm and total_dm may be negative to leave the field out.
    """
    flags = RSC_FLAG_RUNNING if running else 0
    size = 4
    if stride_len_cm >= 0:
        flags |= RSC_FLAG_STRIDE_LENGTH
    if total_dm >= 0:
        flags |= RSC_FLAG_TOTAL_DISTANCE
    struct.pack_into(
        "<BHB", buf, 0, flags, _clamp(speed_256, 0, 0xFFFF), _clamp(cadence_spm, 0, 0xFF)
    )
    if stride_len_cm >= 0:
        struct.pack_into("<H", buf, size, _clamp(stride_len_cm, 0, 0xFFFF))
        size += 2
    if total_dm >= 0:
        struct.pack_into("<I", buf, size, total_dm & 0xFFFFFFFF)
        size += 4
    return size


def decode_rsc(data):
    """Decode an RSC measurement as a spec-following reader would."""
    if len(data) < 4:
        raise ValueError("RSC measurement too short: %d bytes" % len(data))
    flags, speed, cadence = struct.unpack_from("<BHB", data, 0)
    offset = 4
    stride_len = None
    total = None
    if flags & RSC_FLAG_STRIDE_LENGTH:
        if len(data) < offset + 2:
            raise ValueError("RSC measurement truncated in stride length")
        stride_len = struct.unpack_from("<H", data, offset)[0] / 100
        offset += 2
    if flags & RSC_FLAG_TOTAL_DISTANCE:
        if len(data) < offset + 4:
            raise ValueError("RSC measurement truncated in total distance")
        total = struct.unpack_from("<I", data, offset)[0] / 10
    return {
        "running": bool(flags & RSC_FLAG_RUNNING),
        "speed_mps": speed / 256,
        "cadence_spm": cadence,
        "stride_len_m": stride_len,
        "total_distance_m": total,
    }


# --- Advertising ------------------------------------------------------------------
_AD_FLAGS = const(0x01)
_AD_UUID16_COMPLETE = const(0x03)
_AD_COMPLETE_NAME = const(0x09)
_AD_UUID128_COMPLETE = const(0x07)


def _ad_field(kind, value):
    return bytes((len(value) + 1, kind)) + value


def uuid128_le(uuid_str):
    """128-bit UUID string to the little-endian bytes used on the air."""
    raw = bytes.fromhex(uuid_str.replace("-", ""))
    return bytes(reversed(raw))


def advertising_payload(name):
    """Flags + RSC service (so watches find us) + our service; name goes in scan response."""
    return (
        _ad_field(_AD_FLAGS, b"\x06")
        + _ad_field(_AD_UUID16_COMPLETE, struct.pack("<H", RSC_SERVICE_UUID16))
        + _ad_field(_AD_UUID128_COMPLETE, uuid128_le(RD_SERVICE_UUID))
    )


def scan_response_payload(name):
    return _ad_field(_AD_COMPLETE_NAME, name.encode())


# --- Pod status (running-dynamics service, read/notify), version 2 --------------
#  0 u8  version (STATUS_VERSION)
#  1 u8  state: 0 idle (awake, no session), 1 recording, 2 asleep (the pod's own
#        state: it sleeps only with no central and then falls silent), 3 syncing
#        (a central is connected, no session), 4 low battery (session closed, pod
#        about to power down)
#  2 u8  flags: bit0 right foot, bit1 mounting calibrated, bit2 time set,
#              bit3 journal full (strides are streamed but no longer journaled),
#              bit4 provisioned (the pod has an owner key), bit5 battery low
#  3 u8  battery, %
#  4 u8  journal usage, % of its capacity
#  5 u16 FIFO overrun events since boot (samples were lost)
#  7 u32 session id (0 = none yet)
# 11 u32 strides in the current session
# 15 u32 session clock: sensor ms since the session started (when idle: since boot
#        or the last wake from sleep)
# 19 u8  sessions in the journal not yet fully synced
STATUS_VERSION = const(2)
STATUS_FORMAT = "<BBBBBHIIIB"
STATUS_SIZE = const(20)
STATE_IDLE = const(0)
STATE_RECORDING = const(1)
STATE_ASLEEP = const(2)
STATE_SYNCING = const(3)
STATE_LOW_BATTERY = const(4)
STATE_NAMES = ("idle", "recording", "asleep", "syncing", "low battery")
STATUS_RIGHT = const(0x01)
STATUS_CALIBRATED = const(0x02)
STATUS_TIME_SET = const(0x04)
STATUS_JOURNAL_FULL = const(0x08)
STATUS_PROVISIONED = const(0x10)
STATUS_BATTERY_LOW = const(0x20)


def encode_status(
    buf, state, flags, battery, journal_pct, overruns, session, strides, clock_ms, unsynced
):
    struct.pack_into(
        STATUS_FORMAT,
        buf,
        0,
        STATUS_VERSION,
        state,
        flags,
        _clamp(battery, 0, 100),
        _clamp(journal_pct, 0, 100),
        _clamp(overruns, 0, 0xFFFF),
        session & 0xFFFFFFFF,
        strides & 0xFFFFFFFF,
        clock_ms & 0xFFFFFFFF,
        _clamp(unsynced, 0, 0xFF),
    )
    return STATUS_SIZE


def decode_status(data):
    if len(data) < STATUS_SIZE:
        raise ValueError("status too short: %d bytes" % len(data))
    (
        version,
        state,
        flags,
        battery,
        journal_pct,
        overruns,
        session,
        strides,
        clock_ms,
        unsynced,
    ) = struct.unpack_from(STATUS_FORMAT, data, 0)
    if version != STATUS_VERSION:
        raise ValueError("unsupported status version %d" % version)
    return {
        # a newer pod may know more states: say so rather than refuse its status
        "state": STATE_NAMES[state] if state < len(STATE_NAMES) else "state %d" % state,
        "foot": "right" if flags & STATUS_RIGHT else "left",
        "calibrated": bool(flags & STATUS_CALIBRATED),
        "time_set": bool(flags & STATUS_TIME_SET),
        "journal_full": bool(flags & STATUS_JOURNAL_FULL),
        "provisioned": bool(flags & STATUS_PROVISIONED),
        "battery_low": bool(flags & STATUS_BATTERY_LOW),
        "battery_pct": battery,
        "journal_pct": journal_pct,
        "overruns": overruns,
        "session": session,
        "strides": strides,
        "clock_ms": clock_ms,
        "unsynced_sessions": unsynced,
    }
