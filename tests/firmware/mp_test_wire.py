# The pod side of the shared wire vectors in tests/vectors/wire.json.
import json

from fwtest_util import check

from heavylegs_pod import wire


def _vectors():
    import os

    here = os.getenv("HEAVYLEGS_TEST_VECTORS")
    with open(here + "/wire.json") as f:
        return json.load(f)


def _check_encoder(kind, size, encode, names, leading=()):
    """Each vector of `kind` encodes, from its args in the order `names`, to its hex."""
    for vector in _vectors()[kind]:
        a = vector["args"]
        buf = bytearray(size)
        encode(buf, *(tuple(leading) + tuple(a[name] for name in names)))
        check(buf.hex() == vector["hex"], "%s %s != %s" % (kind, buf.hex(), vector["hex"]))


_STRIDE_ARGS = (
    "seq",
    "flags",
    "ic_ms",
    "gct_01ms",
    "stride_01ms",
    "cadence_centi",
    "strike_01deg",
    "impact_half_g",
    "stride_len_cm",
    "pronation_half_deg",
)
_STATUS_ARGS = (
    "state",
    "flags",
    "battery",
    "journal_pct",
    "overruns",
    "session",
    "strides",
    "clock_ms",
    "unsynced",
)
_SESSION_ARGS = ("flags", "session", "start_s", "count", "acked", "firmware")
_IDENTITY_ARGS = (
    "session",
    "epoch",
    "boot",
    "start_clock_s",
    "clock_known",
    "acc_fs_g",
    "gyro_fs_dps",
)


def test_stride_encoding_matches_vectors():
    _check_encoder("stride", wire.STRIDE_SIZE, wire.encode_stride, _STRIDE_ARGS)


def test_rsc_encoding_matches_vectors():
    for vector in _vectors()["rsc"]:
        a = vector["args"]
        buf = bytearray(wire.RSC_MEASUREMENT_MAX)
        size = wire.encode_rsc(
            buf, a["running"], a["speed_256"], a["cadence_spm"], a["stride_len_cm"], a["total_dm"]
        )
        check(bytes(buf[:size]).hex() == vector["hex"], "rsc %s" % bytes(buf[:size]).hex())


def test_encoding_allocates_nothing():
    import micropython

    buf = bytearray(wire.STRIDE_SIZE)
    micropython.heap_lock()
    try:
        wire.encode_stride(buf, 1, 2, 3000, 2500, 7000, 17000, 100, 20, 0)
    finally:
        micropython.heap_unlock()


def test_status_session_and_journal_frames_match_vectors():
    _check_encoder("status", wire.STATUS_SIZE, wire.encode_status, _STATUS_ARGS)
    _check_encoder("session", wire.SESSION_SIZE, wire.encode_session, _SESSION_ARGS, (0,))
    v = _vectors()
    for vector in v["journal_frame"]:
        payload = bytes.fromhex(vector["payload"])
        frame = bytearray(len(payload) + wire.J_OVERHEAD)
        frame[3 : 3 + len(payload)] = payload
        wire.frame_seal(frame, vector["kind"], len(payload))
        check(frame.hex() == vector["hex"], "frame %s" % frame.hex())
        check(wire.frame_check(frame, 0, vector["kind"], len(payload)), "frame_check")
    for vector in v["crc16"]:
        data = bytes.fromhex(vector["data"])
        check(wire.crc16(data, 0, len(data)) == vector["crc"], "crc16")


def test_identity_gap_and_identity_answer_match_vectors():
    import struct

    _check_encoder("identity", wire.RECORD_SIZE, wire.encode_identity, _IDENTITY_ARGS, (0,))
    v = _vectors()
    for vector in v["gap"]:
        a = vector["args"]
        buf = bytearray(b"\xee" * wire.RECORD_SIZE)
        wire.encode_gap(buf, 0, a["session"], a["first"], a["count"])
        check(buf.hex() == vector["hex"], "gap %s" % buf.hex())
    for vector in v["identity_response"]:
        a = vector["args"]
        buf = bytearray(wire.IDENTITY_RESPONSE_SIZE)
        struct.pack_into(wire.IDENTITY_RESPONSE_FORMAT, buf, 0, a["epoch"], a["boot"], a["clock_s"])
        check(buf.hex() == vector["hex"], "identity answer %s" % buf.hex())


def test_pull_batch_matches_vectors():
    for vector in _vectors()["pull_batch"]:
        buf = bytearray()
        for index, record in vector["entries"]:
            entry = bytearray(wire.PULL_ENTRY_SIZE)
            at = wire.encode_pull_index(entry, 0, index)
            entry[at:] = bytes.fromhex(record)
            buf.extend(entry)
        out = []
        wire.write_pull_batch(
            lambda x, out=out: out.append(x if isinstance(x, str) else x.decode()),
            buf,
            vector["next"],
            vector["count"],
            vector["gaps"],
        )
        check("".join(out) == vector["text"], "pull batch %r" % "".join(out))


def test_auth_response_matches_the_host():
    from heavylegs_pod import auth

    for vector in _vectors()["auth"]:
        got = auth.response_for(bytes.fromhex(vector["key"]), bytes.fromhex(vector["nonce"]))
        check(got.hex() == vector["response"], "auth %s" % got.hex())


def test_journal_frame_and_status_allocate_nothing():
    import micropython

    frame = bytearray(wire.J_STRIDE_SIZE)
    status = bytearray(wire.STATUS_SIZE)
    micropython.heap_lock()
    try:
        wire.frame_seal(frame, wire.J_STRIDE, wire.STRIDE_SIZE)
        wire.frame_check(frame, 0, wire.J_STRIDE, wire.STRIDE_SIZE)
        wire.encode_status(status, 1, 3, 90, 10, 0, 7, 100, 123456, 1)
    finally:
        micropython.heap_unlock()
