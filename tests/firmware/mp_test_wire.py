# The pod side of the shared wire vectors in tests/vectors/wire.json.
import json

from fwtest_util import check

from heavylegs_pod import wire


def _vectors():
    import os

    here = os.getenv("HEAVYLEGS_TEST_VECTORS")
    with open(here + "/wire.json") as f:
        return json.load(f)


def test_stride_encoding_matches_vectors():
    for vector in _vectors()["stride"]:
        a = vector["args"]
        buf = bytearray(wire.STRIDE_SIZE)
        wire.encode_stride(
            buf,
            a["seq"],
            a["flags"],
            a["ic_ms"],
            a["gct_01ms"],
            a["stride_01ms"],
            a["cadence_centi"],
            a["strike_01deg"],
            a["impact_half_g"],
            a["stride_len_cm"],
            a["pronation_half_deg"],
        )
        check(buf.hex() == vector["hex"], "stride %s != %s" % (buf.hex(), vector["hex"]))


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
    v = _vectors()
    for vector in v["status"]:
        a = vector["args"]
        buf = bytearray(wire.STATUS_SIZE)
        wire.encode_status(
            buf,
            a["state"],
            a["flags"],
            a["battery"],
            a["journal_pct"],
            a["overruns"],
            a["session"],
            a["strides"],
            a["clock_ms"],
            a["unsynced"],
        )
        check(buf.hex() == vector["hex"], "status %s" % buf.hex())
    for vector in v["session"]:
        a = vector["args"]
        buf = bytearray(wire.SESSION_SIZE)
        wire.encode_session(
            buf, 0, a["flags"], a["session"], a["start_s"], a["count"], a["acked"], a["firmware"]
        )
        check(buf.hex() == vector["hex"], "session %s" % buf.hex())
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

    v = _vectors()
    for vector in v["identity"]:
        a = vector["args"]
        buf = bytearray(wire.RECORD_SIZE)
        wire.encode_identity(
            buf,
            0,
            a["session"],
            a["epoch"],
            a["boot"],
            a["start_clock_s"],
            a["clock_known"],
            a["acc_fs_g"],
            a["gyro_fs_dps"],
        )
        check(buf.hex() == vector["hex"], "identity %s" % buf.hex())
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
