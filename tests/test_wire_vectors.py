"""The host side of the shared wire vectors (the pod side runs in mp_test_wire.py)."""

import json
from pathlib import Path

import pytest

from heavylegs_pod import wire

VECTORS = json.loads((Path(__file__).parent / "vectors" / "wire.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["stride"], ids=lambda v: v["hex"][:12])
def test_stride_vectors_decode_and_encode(vector):
    assert wire.decode_stride(bytes.fromhex(vector["hex"])) == vector["decoded"]
    buf = bytearray(wire.STRIDE_SIZE)
    wire.encode_stride(buf, *vector["args"].values())
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
