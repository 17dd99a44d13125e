"""Tagged FIFO words of the LSM6DSOX family -> (gx gy gz ax ay az) sample rows.

The driver's per-burst decode, apart from its register work: a pure-Python version
and its viper twin (used on MicroPython), the same contract, no allocation.
"""

import sys

import micropython
from micropython import const

TAG_GYRO = const(0x01)
TAG_ACCEL = const(0x02)
WORD_BYTES = const(7)  # a tag byte and three int16 axes


def unpack_pairs_py(raw, words, samples, have_gyro):
    """Tagged words -> (gx gy gz ax ay az) rows; returns the row count, or
    -(count + 1) when the batch ended on an unpaired gyro word. Plain integer
    byte arithmetic: struct.unpack would allocate a tuple per word."""
    n = 0
    offset = 0
    for _ in range(words):
        tag = raw[offset] >> 3
        if tag == TAG_GYRO or (tag == TAG_ACCEL and have_gyro):
            base = 6 * n + (3 if tag == TAG_ACCEL else 0)
            for axis in range(3):
                lo = offset + 1 + 2 * axis
                value = raw[lo] | (raw[lo + 1] << 8)
                if value > 32767:
                    value -= 65536
                samples[base + axis] = value
            if tag == TAG_ACCEL:
                n += 1
                have_gyro = 0
            else:
                have_gyro = 1
        offset += WORD_BYTES
    return -(n + 1) if have_gyro else n


if sys.implementation.name == "micropython":

    @micropython.viper
    def unpack_pairs_viper(raw, words: int, samples, have_gyro: int) -> int:
        """The viper twin of unpack_pairs_py: same contract, machine-word arithmetic.

        bench/firmware_speed.py measures the gain over the pure-Python twin."""
        src = ptr8(raw)
        dst = ptr16(samples)
        n = 0
        offset = 0
        for _ in range(words):
            tag = src[offset] >> 3
            if tag == 1 or (tag == 2 and have_gyro):
                base = 6 * n
                if tag == 2:
                    base += 3
                dst[base] = src[offset + 1] | (src[offset + 2] << 8)
                dst[base + 1] = src[offset + 3] | (src[offset + 4] << 8)
                dst[base + 2] = src[offset + 5] | (src[offset + 6] << 8)
                if tag == 2:
                    n += 1
                    have_gyro = 0
                else:
                    have_gyro = 1
            offset += 7
        if have_gyro:
            return -(n + 1)
        return n

    unpack_pairs = unpack_pairs_viper
else:
    unpack_pairs = unpack_pairs_py
