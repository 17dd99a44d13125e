"""Per-part tables of the LSM6DS family: rates, full scales, sensitivities, FIFO depths, tags.

Also the one quantisation rule (round to nearest LSB, saturate to int16) that the chip
applies and every simulated reading follows. Runs under MicroPython and CPython."""

import sys

# MicroPython loads the board's modules top-level from MICROPYPATH; CPython as a package.
if sys.implementation.name == "micropython":
    import lsm6ds_registers as registers
else:
    from heavylegs.sim.board import lsm6ds_registers as registers


# Nominal rate in mHz by "level" (ODR code; level -2 is 1.6 Hz, 0 is 6.5 Hz),
# stored from level -2. Keeping mHz makes every conversion integer arithmetic.
LEVEL_MHZ = (
    1600,
    3250,
    6500,
    12500,
    26000,
    52000,
    104000,
    208000,
    416000,
    833000,
    1666000,
    3332000,
    6664000,
)
# LSM6DS3TR-C DEC_FIFO codes -> decimation factor (0: not in FIFO)
DECIMATION = (0, 1, 2, 3, 4, 8, 16, 32)

# Per part: WHO_AM_I, accel full scale (g) for FS_XL codes 0..3, legacy FIFO
PARTS = {
    "LSM6DSOX": (0x6C, (2, 16, 4, 8), False),
    "LSM6DSO32": (0x6C, (4, 32, 8, 16), False),
    "LSM6DS3TR-C": (0x6A, (2, 16, 4, 8), True),
}
ALIASES = {"LSM6DS3TRC": "LSM6DS3TR-C"}
# Gyro full scale (dps) for FS_G codes 0..3; FS_125 selects 125 dps.
GYRO_FS_DPS = (250, 500, 1000, 2000)
# Sensitivities in trace units: 0.061 mg/LSB at +-2 g, 4.375 mdps/LSB at 125 dps
# (= 35 eighths of a mdps); both double with each range step.
ACC_UG_PER_LSB_2G = 61
GYR_UNITS_PER_LSB_125 = 35

TAGGED_WORDS = 512
LEGACY_WORDS = 2048


def _tag_table():
    table = bytearray(8)
    for kind in range(2):
        sensor = registers.TAG_GYRO_NC if kind == 0 else registers.TAG_XL_NC
        for cnt in range(4):
            byte = (sensor << 3) | (cnt << 1)
            parity = 0
            b = byte
            while b:
                parity ^= b & 1
                b >>= 1
            table[kind * 4 + cnt] = byte | parity
    return table


TAGS = _tag_table()


def gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def quantise(value, per_lsb):
    """Round-to-nearest division, then saturate to int16 as the ADC does."""
    half = per_lsb >> 1
    if value >= 0:
        out = (value + half) // per_lsb
        return out if out < 32767 else 32767
    out = -((half - value) // per_lsb)
    return out if out > -32768 else -32768


def xl_level(code, low_power):
    if 1 <= code <= 10:
        return code
    if code == 11:
        return -2 if low_power else 1
    return None


def g_level(code):
    return code if 1 <= code <= 10 else None


def bdr_level(code):
    if 1 <= code <= 10:
        return code
    return 0 if code == 11 else None
