"""The sync stream's 20-byte records besides strides: session, session identity
and gap records, and how a packet splits into records.

Part of the wire format (wire.py gathers it; docs/protocol.md).
"""

import struct

from micropython import const

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
# 18 u8  accelerometer full scale the session was recorded at, g (0 = unknown: a
#        session journaled before protocol 4); an impact at it is clipped
# 19 u8  gyro full scale, in 125 dps (16 = +-2000 dps; 0 = unknown)
IDENTITY_TAG = const(0x83)
IDENTITY_FORMAT = "<BBIIIIBB"
IDENTITY_CLOCK_KNOWN = const(0x01)
GYRO_FS_UNIT_DPS = const(125)


def encode_identity(
    buf, offset, session, epoch, boot, start_clock_s, clock_known, acc_fs_g=0, gyro_fs_dps=0
):
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
        acc_fs_g & 0xFF,
        (gyro_fs_dps // GYRO_FS_UNIT_DPS) & 0xFF,
    )
    return RECORD_SIZE


def decode_identity(data, offset=0):
    if len(data) - offset < RECORD_SIZE:
        raise ValueError("session identity record too short")
    tag, flags, session, epoch, boot, start_clock_s, acc_fs_g, gyro_fs = struct.unpack_from(
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
        "acc_fs_g": acc_fs_g or None,
        "gyro_fs_dps": gyro_fs * GYRO_FS_UNIT_DPS or None,
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


def split_records(data):
    """A sync-stream packet -> list of (tag, offset); raises ValueError if ragged."""
    if not data or len(data) % RECORD_SIZE:
        raise ValueError("sync packet of %d bytes is not whole records" % len(data))
    return [(data[o], o) for o in range(0, len(data), RECORD_SIZE)]
