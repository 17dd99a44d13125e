"""The two control points: the RSC SC Control Point (0x2A55) and the running-
dynamics control point the owner drives sessions, time and sync through.

Part of the wire format (wire.py gathers it; docs/protocol.md).
"""

import struct

from micropython import const

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
