"""The host side of the shared wire vectors (the pod side runs in mp_test_wire.py)."""

import json
from pathlib import Path

import pytest

from heavylegs_pod import wire

VECTORS = json.loads((Path(__file__).parent / "vectors" / "wire.json").read_text())


# kind -> decoder, encoder, the buffer the encoder writes over, arguments before the vector's
_ENCODED = {
    "stride": (wire.decode_stride, wire.encode_stride, bytes(wire.STRIDE_SIZE), ()),
    "status": (wire.decode_status, wire.encode_status, bytes(wire.STATUS_SIZE), ()),
    "identity": (wire.decode_identity, wire.encode_identity, bytes(wire.RECORD_SIZE), (0,)),
    # a gap record's reserved bytes are cleared, whatever the buffer held before
    "gap": (wire.decode_gap, wire.encode_gap, b"\xee" * wire.RECORD_SIZE, (0,)),
}


@pytest.mark.parametrize(
    ("kind", "vector"),
    [
        pytest.param(kind, vector, id=f"{kind}-{vector['hex'][:16]}")
        for kind in _ENCODED
        for vector in VECTORS[kind]
    ],
)
def test_record_vectors_decode_and_encode(kind, vector):
    decode, encode, blank, leading = _ENCODED[kind]
    assert decode(bytes.fromhex(vector["hex"])) == vector["decoded"]
    buf = bytearray(blank)
    encode(buf, *leading, *vector["args"].values())
    assert buf.hex() == vector["hex"]


@pytest.mark.parametrize("vector", VECTORS["rsc"], ids=lambda v: v["hex"])
def test_rsc_vectors_decode_as_the_spec_reads_them(vector):
    assert wire.decode_rsc(bytes.fromhex(vector["hex"])) == vector["decoded"]


def test_truncated_and_unknown_records_are_refused():
    good = bytes.fromhex(VECTORS["stride"][0]["hex"])
    with pytest.raises(ValueError, match="too short"):
        wire.decode_stride(good[:19])
    with pytest.raises(ValueError, match="version"):
        wire.decode_stride(b"\x02" + good[1:])
    with pytest.raises(ValueError, match="stride length"):
        wire.decode_rsc(bytes.fromhex("01000300"))


@pytest.mark.parametrize("vector", VECTORS["session"], ids=lambda v: v["hex"][:12])
def test_session_vectors(vector):
    assert wire.decode_session(bytes.fromhex(vector["hex"])) == vector["decoded"]


def test_journal_frame_and_crc_vectors():
    for vector in VECTORS["crc16"]:
        data = bytes.fromhex(vector["data"])
        assert wire.crc16(data, 0, len(data)) == vector["crc"] == 0x29B1
    for vector in VECTORS["journal_frame"]:
        frame = bytes.fromhex(vector["hex"])
        assert wire.frame_check(frame, 0, vector["kind"], len(frame) - wire.J_OVERHEAD)
        assert frame[3:-2].hex() == vector["payload"]
        for i in range(len(frame)):
            damaged = bytearray(frame)
            damaged[i] ^= 0x10
            assert not wire.frame_check(damaged, 0, vector["kind"], len(frame) - wire.J_OVERHEAD)


def test_auth_vectors_match_python_hmac():
    from heavylegs.link.client import auth_response
    from heavylegs_pod import auth

    for vector in VECTORS["auth"]:
        key, nonce = bytes.fromhex(vector["key"]), bytes.fromhex(vector["nonce"])
        assert auth_response(key, nonce).hex() == vector["response"]
        # the pod's own HMAC, run here under CPython, agrees with the standard library
        assert auth.response_for(key, nonce).hex() == vector["response"]
        long_key = bytes(range(80))
        assert auth.hmac_sha256(long_key, b"m") == __import__("hmac").digest(
            long_key, b"m", "sha256"
        )


def test_sync_packets_split_into_whole_records():
    stride = bytes.fromhex(VECTORS["stride"][0]["hex"])
    session = bytes.fromhex(VECTORS["session"][0]["hex"])
    packet = stride + session + stride
    assert wire.split_records(packet) == [(1, 0), (0x81, 20), (1, 40)]
    with pytest.raises(ValueError, match="whole records"):
        wire.split_records(packet[:-1])
    with pytest.raises(ValueError, match="not a session record"):
        wire.decode_session(stride)


def test_identity_response_vectors():
    for vector in VECTORS["identity_response"]:
        got = wire.decode_identity_response(bytes.fromhex(vector["hex"]))
        assert got == vector["decoded"] == vector["args"]
    with pytest.raises(ValueError, match="too short"):
        wire.decode_identity_response(bytes(11))


def test_sync_stream_tags_tell_every_record_apart():
    identity = bytes.fromhex(VECTORS["identity"][0]["hex"])
    gap = bytes.fromhex(VECTORS["gap"][0]["hex"])
    stride = bytes.fromhex(VECTORS["stride"][0]["hex"])
    packet = gap + stride + identity
    assert wire.split_records(packet) == [(0x82, 0), (1, 20), (0x83, 40)]
    with pytest.raises(ValueError, match="not a gap record"):
        wire.decode_gap(identity)
    with pytest.raises(ValueError, match="not a session identity record"):
        wire.decode_identity(gap)
    with pytest.raises(ValueError, match="gap record of no records"):
        wire.decode_gap(gap[:10] + bytes(4) + gap[14:])


def _write_pull_batch(entries: list, next_index: int, count: int, gaps: list) -> str:
    buf = bytearray()
    for index, record in entries:
        entry = bytearray(wire.PULL_ENTRY_SIZE)
        at = wire.encode_pull_index(entry, 0, index)
        entry[at:] = bytes.fromhex(record)
        buf.extend(entry)
    out: list[str] = []
    wire.write_pull_batch(
        lambda x: out.append(x if isinstance(x, str) else x.decode()), buf, next_index, count, gaps
    )
    return "".join(out)


@pytest.mark.parametrize("vector", VECTORS["pull_batch"], ids=lambda v: str(v["next"]))
def test_pull_batch_vectors(vector):
    entries, tail = wire.decode_pull_batch(vector["text"])
    assert [(i, r.hex()) for i, r in entries] == [(i, r) for i, r in vector["entries"]]
    assert tail == {"next": vector["next"], "count": vector["count"], "gaps": vector["gaps"]}
    got = _write_pull_batch(vector["entries"], vector["next"], vector["count"], vector["gaps"])
    assert got == vector["text"]


def test_a_long_pull_batch_splits_into_lines_and_comes_back_whole():
    record = VECTORS["stride"][0]["hex"]
    entries = [[i, record] for i in range(150)]
    text = _write_pull_batch(entries, 150, 150, [])
    assert len(text.splitlines()) == 4  # 64 + 64 + 22 entries, then the tail
    decoded, _ = wire.decode_pull_batch(text)
    assert [(i, r.hex()) for i, r in decoded] == [tuple(e) for e in entries]


def test_a_torn_pull_batch_is_refused():
    text = VECTORS["pull_batch"][0]["text"]
    lines = text.splitlines()
    with pytest.raises(ValueError, match="partial records"):
        wire.decode_pull_batch(lines[0][:-8] + "\n" + lines[-1])
    with pytest.raises(ValueError):
        wire.decode_pull_batch(lines[0])  # no tail
    with pytest.raises(ValueError, match="empty"):
        wire.decode_pull_batch("\n")
