# The driver's FIFO unpacking, viper kernel against its pure-Python twin, inside
# MicroPython: the pod runs the kernel, so it must give the twin's rows, count and
# unpaired-gyro flag on any word sequence the chip can send, and write nothing else.
from array import array

from fwtest_util import check, locked

from heavylegs_pod.hal.lsm6ds_words import (
    TAG_ACCEL,
    TAG_GYRO,
    WORD_BYTES,
    unpack_pairs,
    unpack_pairs_py,
    unpack_pairs_viper,
)

MAX_WORDS = 48
SENTINEL = -12345  # rows past the last one written must keep it


class _Lcg:
    def __init__(self, seed):
        self.state = seed

    def bits(self):
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return self.state >> 8


def _random_words(rnd, words):
    raw = bytearray(WORD_BYTES * MAX_WORDS)
    for w in range(words):
        pick = rnd.bits() % 20
        if pick < 9:
            tag = TAG_GYRO
        elif pick < 18:
            tag = TAG_ACCEL
        else:
            tag = rnd.bits() % 32  # another sensor's word, or a gap: skipped
        # the low three bits are the chip's word counter and parity, not the tag
        raw[WORD_BYTES * w] = (tag << 3) | (rnd.bits() % 8)
        for b in range(1, WORD_BYTES):
            raw[WORD_BYTES * w + b] = rnd.bits() % 256
    return raw


def _both(raw, words, have_gyro):
    kernel = array("h", [SENTINEL] * (6 * MAX_WORDS))
    twin = array("h", [SENTINEL] * (6 * MAX_WORDS))
    got = unpack_pairs_viper(raw, words, kernel, have_gyro)
    want = unpack_pairs_py(raw, words, twin, have_gyro)
    if got != want or kernel != twin:
        raise AssertionError(
            "words=%d have_gyro=%d raw=%r: %d vs twin %d, rows %r vs %r"
            % (words, have_gyro, bytes(raw[: WORD_BYTES * words]), got, want, kernel, twin)
        )
    return got


def test_the_pod_runs_the_viper_kernel():
    check(unpack_pairs is unpack_pairs_viper, "MicroPython should unpack with the kernel")


def test_kernel_and_twin_agree_on_random_word_sequences():
    rnd = _Lcg(15)
    seen_unpaired = seen_rows = 0
    for _ in range(1500):
        words = rnd.bits() % (MAX_WORDS + 1)
        got = _both(_random_words(rnd, words), words, rnd.bits() % 2)
        if got < 0:
            seen_unpaired += 1
        elif got > 0:
            seen_rows += 1
    check(seen_unpaired > 100 and seen_rows > 100, "cases: %d, %d" % (seen_unpaired, seen_rows))


def test_kernel_and_twin_agree_on_the_edges():
    gyro = bytes([TAG_GYRO << 3, 1, 0, 0xFF, 0xFF, 0, 0x80])
    accel = bytes([TAG_ACCEL << 3 | 5, 0xFF, 0x7F, 2, 0, 0x34, 0x12])
    cases = (
        (b"", 1),  # nothing read, a gyro word still waiting from the last burst
        (accel, 1),  # which this burst's first word completes
        (accel + accel, 0),  # accel words without a gyro word: no row
        (gyro + gyro + accel, 0),  # a second gyro word replaces the first
        (gyro + accel + gyro, 0),  # the burst ends on an unpaired gyro word
    )
    for raw, have_gyro in cases:
        words = len(raw) // WORD_BYTES
        _both(bytearray(raw + bytes(WORD_BYTES * MAX_WORDS - len(raw))), words, have_gyro)
    rows = array("h", bytes(12))
    check(unpack_pairs_viper(gyro + accel, 2, rows, 0) == 1, "one row")
    check(list(rows) == [1, -1, -32768, 32767, 2, 0x1234], "row %r" % list(rows))


def test_kernel_allocates_nothing():
    raw = _random_words(_Lcg(3), MAX_WORDS)
    rows = array("h", bytes(12 * MAX_WORDS))
    kernel = unpack_pairs_viper
    locked(lambda: kernel(raw, MAX_WORDS, rows, 0))
    locked(lambda: kernel(raw, MAX_WORDS, rows, 1))
