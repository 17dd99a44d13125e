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
