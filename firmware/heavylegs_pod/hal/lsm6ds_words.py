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
    def unpack_pairs_viper(raw: ptr8, words: int, samples: ptr16, have_gyro: int) -> int:
        """The viper twin of unpack_pairs_py: same contract, machine-word arithmetic.

        `raw` and `samples` step along as pointers, so every byte is read at a constant
        offset (one load instruction, where an index costs an add or two), and `raw`
        and `words`, the first two locals, are the ones mpy-cross keeps in registers.
        bench/firmware_speed.py measures the gain over the pure-Python twin."""
        n = 0
        while words > 0:
            words -= 1
            tag = raw[0] >> 3
            if tag == 1:
                samples[0] = raw[1] | (raw[2] << 8)
                samples[1] = raw[3] | (raw[4] << 8)
                samples[2] = raw[5] | (raw[6] << 8)
                have_gyro = 1
            elif tag == 2 and have_gyro:
                samples[3] = raw[1] | (raw[2] << 8)
                samples[4] = raw[3] | (raw[4] << 8)
                samples[5] = raw[5] | (raw[6] << 8)
                samples = ptr16(int(samples) + 12)
                n += 1
                have_gyro = 0
            raw = ptr8(int(raw) + 7)
        if have_gyro:
            return -(n + 1)
        return n

    unpack_pairs = unpack_pairs_viper
else:
    unpack_pairs = unpack_pairs_py
