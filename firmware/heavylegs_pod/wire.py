"""Every byte layout that leaves the pod, in one place.

The firmware (MicroPython) and the host (CPython) both import this module, so the
wire format exists exactly once. docs/protocol.md describes the same layouts for
people; tests/test_wire_vectors.py and the firmware tests check the shared vectors
in tests/vectors/wire.json against both runtimes.

All records are little-endian. Encoders write into caller-owned buffers so the
pod never allocates per stride.
"""

import struct
from array import array

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
PROTOCOL_VERSION = const(3)

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
# 19 u8  reserved, 0
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
RSC_FEATURES = const(0x0007)
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
        0,
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
        _reserved,
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


# --- RSC SC Control Point (0x2A55), write + indicate ------------------------------
# Request: op u8, parameters. Response (indication): 0x10, request op, result,
# then for "request supported sensor locations" the location list.
SC_SET_CUMULATIVE = const(0x01)  # u32 total distance, 1/10 m
SC_START_CALIBRATION = const(0x02)
SC_UPDATE_LOCATION = const(0x03)
SC_REQUEST_LOCATIONS = const(0x04)
SC_RESPONSE = const(0x10)
SC_SUCCESS = const(0x01)
SC_NOT_SUPPORTED = const(0x02)
SC_INVALID_PARAMETER = const(0x03)
SC_FAILED = const(0x04)


def decode_sc_response(data):
    if len(data) < 3 or data[0] != SC_RESPONSE:
        raise ValueError("not an SC control point response: %s" % bytes(data).hex())
    return {"op": data[1], "result": data[2], "params": bytes(data[3:])}


# --- Running-dynamics control point (write with response + indicate) ------------
# Request: op u8, then parameters (little-endian). Every op except CHALLENGE and
# AUTH needs a connection that has passed the challenge-response (docs/protocol.md).
OP_CHALLENGE = const(0x01)  # -> nonce (16 bytes)
OP_AUTH = const(0x02)  # mac[16] = HMAC-SHA256(key, AUTH_LABEL + nonce)[:16]
OP_START_SESSION = const(0x03)  # -> u32 session id
OP_STOP_SESSION = const(0x04)  # -> u32 session id (0 if none was open)
OP_SET_TIME = const(0x05)  # u32 unix seconds
OP_SET_FOOT = const(0x06)  # u8 0 left, 1 right
OP_ERASE_SYNCED = const(0x07)  # -> u16 sessions erased
OP_LIST_SESSIONS = const(0x08)  # session records on the sync stream; -> u16 count
OP_START_SYNC = const(0x09)  # u32 session, u32 from index; -> (when done) u32 session, u32 end
OP_ACK = const(0x0A)  # u32 session, u32 count: the host has committed records below count
OP_STOP_SYNC = const(0x0B)
OP_ERASE_SESSION = const(0x0C)  # u32 session: explicit erase, synced or not
# -> u32 journal epoch, u32 boot id, u32 pod clock seconds now (IDENTITY_FORMAT)
OP_IDENTITY = const(0x0D)

CP_RESPONSE = const(0x80)
CP_SUCCESS = const(0x01)
CP_NOT_SUPPORTED = const(0x02)
CP_INVALID_PARAMETER = const(0x03)
CP_FAILED = const(0x04)
CP_NOT_AUTHORISED = const(0x05)
CP_BUSY = const(0x06)
CP_NOT_FOUND = const(0x07)
CP_STATUS_NAMES = {
    CP_SUCCESS: "success",
    CP_NOT_SUPPORTED: "op not supported",
    CP_INVALID_PARAMETER: "invalid parameter",
    CP_FAILED: "operation failed",
    CP_NOT_AUTHORISED: "not authorised",
    CP_BUSY: "busy",
    CP_NOT_FOUND: "not found",
}
# Request length per op, including the op byte; anything else is malformed.
CP_REQUEST_SIZES = (
    (OP_CHALLENGE, 1),
    (OP_AUTH, 17),
    (OP_START_SESSION, 1),
    (OP_STOP_SESSION, 1),
    (OP_SET_TIME, 5),
    (OP_SET_FOOT, 2),
    (OP_ERASE_SYNCED, 1),
    (OP_LIST_SESSIONS, 1),
    (OP_START_SYNC, 9),
    (OP_ACK, 9),
    (OP_STOP_SYNC, 1),
    (OP_ERASE_SESSION, 5),
    (OP_IDENTITY, 1),
)
CP_MAX_REQUEST = const(17)
CP_MAX_RESPONSE = const(19)
NONCE_SIZE = const(16)
MAC_SIZE = const(16)
AUTH_LABEL = b"heavylegs-auth-v1"


def cp_request_size(op):
    for known, size in CP_REQUEST_SIZES:
        if known == op:
            return size
    return -1


def encode_cp_response(buf, op, status):
    """Response head into buf; op-specific parameters follow from offset 3."""
    buf[0] = CP_RESPONSE
    buf[1] = op
    buf[2] = status
    return 3


def decode_cp_response(data):
    if len(data) < 3 or data[0] != CP_RESPONSE:
        raise ValueError("not a control point response: %s" % bytes(data).hex())
    return {"op": data[1], "status": data[2], "params": bytes(data[3:])}


# --- Session record (sync stream, in answer to OP_LIST_SESSIONS), 20 bytes ------
# Sync-stream packets are whole 20-byte records back to back; byte 0 tells a
# stride record (STRIDE_VERSION) from a session record (SESSION_TAG).
#  0 u8  tag 0x81
#  1 u8  flags: bit0 right foot, bit1 open (recording now), bit2 start time known,
#              bit3 calibrated, bit4 session header damaged (metadata unknown)
#  2 u32 session id
#  6 u32 start, unix seconds (0 = unknown; the identity record then may date it)
# 10 u32 stride records in the journal
# 14 u32 records the host acknowledged
# 18 u16 firmware version: major << 12 | minor << 6 | patch
# A session is identified for ever by (pod address, journal epoch, session id):
# session ids restart at 1 whenever a journal is created (a flash wipe, a
# reinstall), the epoch is a random u32 drawn then, so the pair never repeats.
SESSION_TAG = const(0x81)
SESSION_FORMAT = "<BBIIIIH"
SESSION_SIZE = const(20)
RECORD_SIZE = const(20)
SESSION_RIGHT = const(0x01)
SESSION_OPEN = const(0x02)
SESSION_TIME_KNOWN = const(0x04)
SESSION_CALIBRATED = const(0x08)
SESSION_DAMAGED = const(0x10)


def pack_version(major, minor, patch):
    return ((major & 0x0F) << 12) | ((minor & 0x3F) << 6) | (patch & 0x3F)


def encode_session(buf, offset, flags, session, start_s, count, acked, firmware):
    struct.pack_into(
        SESSION_FORMAT,
        buf,
        offset,
        SESSION_TAG,
        flags,
        session & 0xFFFFFFFF,
        start_s & 0xFFFFFFFF,
        count & 0xFFFFFFFF,
        acked & 0xFFFFFFFF,
        firmware & 0xFFFF,
    )
    return SESSION_SIZE


def decode_session(data, offset=0):
    if len(data) - offset < SESSION_SIZE:
        raise ValueError("session record too short")
    tag, flags, session, start_s, count, acked, fw = struct.unpack_from(
        SESSION_FORMAT, data, offset
    )
    if tag != SESSION_TAG:
        raise ValueError("not a session record (tag 0x%02x)" % tag)
    return {
        "session": session,
        "foot": "right" if flags & SESSION_RIGHT else "left",
        "open": bool(flags & SESSION_OPEN),
        "start_s": start_s if flags & SESSION_TIME_KNOWN else None,
        "calibrated": bool(flags & SESSION_CALIBRATED),
        "damaged": bool(flags & SESSION_DAMAGED),
        "count": count,
        "acked": acked,
        "firmware": "%d.%d.%d" % (fw >> 12, (fw >> 6) & 0x3F, fw & 0x3F),
    }


# --- Session identity record (sync stream, right after each session record) ----
#  0 u8  tag 0x83
#  1 u8  flags: bit0 the start on the pod clock below is known
#  2 u32 session id
#  6 u32 journal epoch: random, drawn when the journal was created (0 = a session
#        journaled before protocol 3, whose identity is its id alone)
# 10 u32 boot id: random, drawn at the cold boot whose pod clock dated the start
#        (a deep sleep keeps it; a power cut or reset draws a new one)
# 14 u32 start, pod clock seconds since that boot
# 18 u16 reserved, 0
IDENTITY_TAG = const(0x83)
IDENTITY_FORMAT = "<BBIIIIH"
IDENTITY_CLOCK_KNOWN = const(0x01)


def encode_identity(buf, offset, session, epoch, boot, start_clock_s, clock_known):
    struct.pack_into(
        IDENTITY_FORMAT,
        buf,
        offset,
        IDENTITY_TAG,
        IDENTITY_CLOCK_KNOWN if clock_known else 0,
        session & 0xFFFFFFFF,
        epoch & 0xFFFFFFFF,
        boot & 0xFFFFFFFF,
        start_clock_s & 0xFFFFFFFF,
        0,
    )
    return RECORD_SIZE


def decode_identity(data, offset=0):
    if len(data) - offset < RECORD_SIZE:
        raise ValueError("session identity record too short")
    tag, flags, session, epoch, boot, start_clock_s, _ = struct.unpack_from(
        IDENTITY_FORMAT, data, offset
    )
    if tag != IDENTITY_TAG:
        raise ValueError("not a session identity record (tag 0x%02x)" % tag)
    known = bool(flags & IDENTITY_CLOCK_KNOWN)
    return {
        "session": session,
        "epoch": epoch,
        "boot": boot if known else None,
        "start_clock_s": start_clock_s if known else None,
    }


# --- Gap record (sync stream, in place of records the pod cannot read) -----------
# The pod declares unreadable (CRC-damaged) records instead of skipping them in
# silence; a declared record counts against the sync window like a sent one, so
# any length of damage streams through, and the host acknowledges past it.
#  0 u8  tag 0x82
#  1 u8  reserved, 0
#  2 u32 session id
#  6 u32 first unreadable record index
# 10 u32 how many consecutive records from there are unreadable (>= 1)
# 14 6 bytes reserved, 0
GAP_TAG = const(0x82)
GAP_FORMAT = "<BBIII"


def encode_gap(buf, offset, session, first, count):
    struct.pack_into(
        GAP_FORMAT, buf, offset, GAP_TAG, 0, session & 0xFFFFFFFF, first & 0xFFFFFFFF, count
    )
    for i in range(offset + 14, offset + RECORD_SIZE):
        buf[i] = 0
    return RECORD_SIZE


def decode_gap(data, offset=0):
    if len(data) - offset < RECORD_SIZE:
        raise ValueError("gap record too short")
    tag, _, session, first, count = struct.unpack_from(GAP_FORMAT, data, offset)
    if tag != GAP_TAG:
        raise ValueError("not a gap record (tag 0x%02x)" % tag)
    if count < 1:
        raise ValueError("gap record of no records")
    return {"session": session, "first": first, "count": count}


# --- OP_IDENTITY response parameters ------------------------------------------------
# u32 journal epoch (what new sessions get), u32 boot id, u32 pod clock seconds now.
# With a session's identity record this dates a run recorded while the pod had no
# time of day: it began (clock now - start clock) seconds before this answer, if
# the boot ids agree.
IDENTITY_RESPONSE_FORMAT = "<III"
IDENTITY_RESPONSE_SIZE = const(12)


def decode_identity_response(params):
    if len(params) < IDENTITY_RESPONSE_SIZE:
        raise ValueError("identity answer too short: %d bytes" % len(params))
    epoch, boot, clock_s = struct.unpack_from(IDENTITY_RESPONSE_FORMAT, params, 0)
    return {"epoch": epoch, "boot": boot, "clock_s": clock_s}


def split_records(data):
    """A sync-stream packet -> list of (tag, offset); raises ValueError if ragged."""
    if not data or len(data) % RECORD_SIZE:
        raise ValueError("sync packet of %d bytes is not whole records" % len(data))
    return [(data[o], o) for o in range(0, len(data), RECORD_SIZE)]


# --- Journal (flash), docs/protocol.md "Journal" ---------------------------------
# Frame: u8 magic, u8 type, u8 payload length, payload, u16 CRC-16/CCITT-FALSE over
# type, length and payload. The CRC is written last: it is the record's commit
# mark, so a record cut short by power loss fails it and is not read back.
JOURNAL_MAGIC = const(0xA7)
J_HEADER = const(1)
J_STRIDE = const(2)
J_ACK = const(3)
J_COUNTER = const(4)
J_EPOCH = const(5)  # the journal's epoch file: one u32 frame, written once
J_OVERHEAD = const(5)
# Session header payload, version 2 (protocol 3): u32 session, u32 start unix s,
# u8 flags (SESSION_* bits right/time known/calibrated, IDENTITY_CLOCK_KNOWN as
# bit7), u8 u8 u8 firmware major minor patch, u16 ODR Hz, u32 journal epoch, u32
# boot id, u32 start pod clock s, 12 bytes calibration (the gait engine's mounting
# frame, opaque here). Version 1 headers (26-byte payload, no identity) are still
# read: their sessions have epoch 0 and strides at J_HEADER_V1_SIZE + 25 k.
J_HEADER_FORMAT = "<IIBBBBHIII"
J_HEADER_CLOCK_KNOWN = const(0x80)
J_HEADER_PAYLOAD = const(38)
J_CALIBRATION_SIZE = const(12)
J_HEADER_SIZE = const(43)  # J_HEADER_PAYLOAD + J_OVERHEAD
J_HEADER_V1_FORMAT = "<IIBBBBH"
J_HEADER_V1_PAYLOAD = const(26)
J_HEADER_V1_SIZE = const(31)

J_STRIDE_SIZE = const(25)  # STRIDE_SIZE + J_OVERHEAD
J_U32_SIZE = const(9)  # ack and counter frames: one u32


def _crc16_table():
    table = array("H", bytes(512))
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table[i] = crc & 0xFFFF
    return table


# A 16-bit CRC keeps every intermediate a small int on a 32-bit MCU, where a
# CRC-32 result would be a heap-allocated long on every stride.
_CRC16 = _crc16_table()


def crc16(data, start, end):
    table = _CRC16
    crc = 0xFFFF
    for i in range(start, end):
        crc = ((crc << 8) & 0xFF00) ^ table[((crc >> 8) ^ data[i]) & 0xFF]
    return crc


def frame_seal(buf, kind, length):
    """Frame the payload already at buf[3:3+length]; returns the frame size."""
    buf[0] = JOURNAL_MAGIC
    buf[1] = kind
    buf[2] = length
    crc = crc16(buf, 1, 3 + length)
    buf[3 + length] = crc & 0xFF
    buf[4 + length] = crc >> 8
    return length + J_OVERHEAD


def frame_check(buf, offset, kind, length):
    """True when buf holds an intact frame of this kind and payload length at offset."""
    if len(buf) - offset < length + J_OVERHEAD:
        return False
    if buf[offset] != JOURNAL_MAGIC or buf[offset + 1] != kind or buf[offset + 2] != length:
        return False
    end = offset + 3 + length
    crc = crc16(buf, offset + 1, end)
    return buf[end] == (crc & 0xFF) and buf[end + 1] == (crc >> 8)


# --- USB pull batch --------------------------------------------------------------
# `heavylegs pull` reads the journal through the USB REPL, where only text passes.
# A batch is lines of base64 (at most PULL_LINE_BYTES bytes each) holding entries
# of a u32 journal index and the 20-byte stride record at that index, then one
# line of JSON {"next": int, "count": int, "gaps": [[first, count], ...]}: every
# index below next is either sent or in a gap, count is the session's length.
PULL_ENTRY_FORMAT = "<I"
PULL_ENTRY_SIZE = const(24)  # the index, then STRIDE_SIZE bytes of record
PULL_LINE_BYTES = const(1536)  # 64 entries a line


def encode_pull_index(buf, offset, index):
    """Write an entry's index at offset; returns where its stride record goes."""
    struct.pack_into(PULL_ENTRY_FORMAT, buf, offset, index)
    return offset + 4


def write_pull_batch(write, entries, next_index, count, gaps):
    """Write a batch of entries (bytes, whole entries) and its JSON tail through write."""
    import binascii
    import json

    view = memoryview(entries)
    for k in range(0, len(entries), PULL_LINE_BYTES):
        write(binascii.b2a_base64(view[k : k + PULL_LINE_BYTES]))
    # by hand, not a dict: MicroPython's dicts do not keep their keys' order
    write('{"next": %d, "count": %d, "gaps": %s}\n' % (next_index, count, json.dumps(gaps)))


def decode_pull_batch(text):
    """A batch's text -> ([(index, stride record bytes)], tail dict); raises ValueError."""
    import binascii
    import json

    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("an empty journal batch")
    tail = json.loads(lines[-1])
    if not isinstance(tail, dict):
        raise ValueError("a journal batch without its tail")
    blob = b"".join(binascii.a2b_base64(line) for line in lines[:-1])
    if len(blob) % PULL_ENTRY_SIZE:
        raise ValueError("a journal batch of partial records")
    entries = []
    for k in range(0, len(blob), PULL_ENTRY_SIZE):
        index = struct.unpack_from(PULL_ENTRY_FORMAT, blob, k)[0]
        entries.append((index, blob[k + 4 : k + PULL_ENTRY_SIZE]))
    return entries, tail
