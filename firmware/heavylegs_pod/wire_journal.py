"""The journal's flash frames: magic, type, length, payload, CRC-16.

Part of the wire format (wire.py gathers it; docs/protocol.md "Journal").
"""

from array import array

from micropython import const

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
# Session header payload, version 3 (protocol 4): u32 session, u32 start unix s,
# u8 flags (SESSION_* bits right/time known/calibrated, IDENTITY_CLOCK_KNOWN as
# bit7), u8 u8 u8 firmware major minor patch, u16 ODR Hz, u32 journal epoch, u32
# boot id, u32 start pod clock s, u8 accelerometer full scale g, u8 gyro full scale
# in 125 dps (as the identity record carries them), 12 bytes calibration (the gait
# engine's mounting frame, opaque here). Older headers are still read, told apart
# by their payload length: version 2 (38 bytes, protocol 3: no ranges, which are
# then 0, unknown) and version 1 (26 bytes, no identity either: epoch 0). A
# session's strides start right after its header, whichever version it is.
J_HEADER_FORMAT = "<IIBBBBHIIIBB"
J_HEADER_CLOCK_KNOWN = const(0x80)
J_HEADER_PAYLOAD = const(40)
J_CALIBRATION_SIZE = const(12)
J_HEADER_SIZE = const(45)  # J_HEADER_PAYLOAD + J_OVERHEAD
J_HEADER_V2_FORMAT = "<IIBBBBHIII"
J_HEADER_V2_PAYLOAD = const(38)
J_HEADER_V2_SIZE = const(43)
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
