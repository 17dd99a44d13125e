"""Independent oracle: Adafruit's LSM6DS driver reads the chip emulator.

The driver was written from the datasheets by other people; if it configures the
emulated chip through its own API and reads back the trace within one LSB, the
register map, range coding, byte order and sensitivities agree with theirs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from heavylegs.sim.board.lsm6ds_emu import ArraySource, LSM6DSEmulator
from heavylegs.sim.busio_adapter import I2C, EmulatedBus

adafruit_lsm6ds = pytest.importorskip(
    "adafruit_lsm6ds", reason="needs adafruit-circuitpython-lsm6ds (dev extras)"
)
from adafruit_lsm6ds import AccelRange, GyroRange, Rate  # noqa: E402
from adafruit_lsm6ds.lsm6ds3trc import LSM6DS3TRC  # noqa: E402
from adafruit_lsm6ds.lsm6dso32 import LSM6DSO32  # noqa: E402
from adafruit_lsm6ds.lsm6dsox import LSM6DSOX  # noqa: E402

TRACE_HZ = 416
STANDARD_GRAVITY = 9.80665
PARTS = {
    "LSM6DSOX": (LSM6DSOX, ("RANGE_2G", "RANGE_4G", "RANGE_8G", "RANGE_16G")),
    "LSM6DSO32": (LSM6DSO32, ("RANGE_4G", "RANGE_8G", "RANGE_16G", "RANGE_32G")),
    "LSM6DS3TR-C": (LSM6DS3TRC, ("RANGE_2G", "RANGE_4G", "RANGE_8G", "RANGE_16G")),
}
GYRO_RANGES = ("RANGE_125_DPS", "RANGE_250_DPS", "RANGE_500_DPS", "RANGE_1000_DPS")
GYRO_RANGES += ("RANGE_2000_DPS",)
RATES = ("RATE_416_HZ", "RATE_104_HZ", "RATE_833_HZ", "RATE_26_HZ")


@pytest.fixture(autouse=True)
def no_settling_sleeps(monkeypatch):
    # The driver sleeps 0.2 s after each range change for a real chip to settle.
    monkeypatch.setattr(adafruit_lsm6ds, "sleep", lambda seconds: None)


def trace_rows(n: int, max_g: float, max_dps: float, seed: int = 3) -> np.ndarray:
    """Random samples inside the smallest range: acc micro-g, gyro 1/8 mdps."""
    rng = np.random.default_rng(seed)
    acc = rng.uniform(-max_g, max_g, size=(n, 3)) * 1e6
    gyr = rng.uniform(-max_dps, max_dps, size=(n, 3)) * 8000
    return np.round(np.hstack([acc, gyr])).astype(np.int64)


def make(part: str, rows: np.ndarray):
    chip = LSM6DSEmulator(ArraySource([tuple(map(int, r)) for r in rows], TRACE_HZ * 1000), part)
    i2c = I2C(EmulatedBus({0x6A: chip}))
    cls = PARTS[part][0]
    return chip, cls(i2c)


def latest_row(chip: LSM6DSEmulator, code: int, other_code: int) -> int:
    """Trace row behind a sensor's output register: its own rate, the trace decimated."""
    base = max(code, other_code)
    every = 1 << (base - code)
    tick = (chip.tick - 1) // every * every
    return tick * TRACE_HZ * 1000 // chip.odr_mhz


def expected_acc(row: np.ndarray) -> list[float]:
    return [v * 1e-6 * STANDARD_GRAVITY for v in row[:3]]


def expected_gyro(row: np.ndarray) -> list[float]:
    return [math.radians(v / 8000) for v in row[3:]]


def assert_within_one_lsb(got, want, lsb, what):
    for axis, (g, w) in enumerate(zip(got, want, strict=True)):
        assert abs(g - w) <= lsb * 1.0001, f"{what} axis {axis}: {g} vs {w} (1 LSB = {lsb})"


@pytest.mark.parametrize("part", PARTS)
def test_driver_finds_and_resets_the_chip(part):
    rows = trace_rows(64, 1.9, 120)
    chip, sensor = make(part, rows)
    # The driver's own start-up: reset, BDU, 104 Hz, +-4 g (8 g on the O32), 250 dps.
    assert chip.regs[0x12] & 0x40
    assert chip.odr_mhz == 104_000
    assert sensor.temperature == 25.0


@pytest.mark.parametrize("part", PARTS)
def test_driver_reads_trace_within_one_lsb_at_every_range_and_rate(part):
    rows = trace_rows(4000, 1.95, 124)
    chip, sensor = make(part, rows)
    for acc_name in PARTS[part][1]:
        for gyro_name in GYRO_RANGES:
            sensor.accelerometer_range = getattr(AccelRange, acc_name)
            sensor.gyro_range = getattr(GyroRange, gyro_name)
            chip.advance(3)
            acc_lsb = AccelRange.lsb[sensor.accelerometer_range] * 1e-3 * STANDARD_GRAVITY
            gyro_lsb = math.radians(GyroRange.lsb[sensor.gyro_range] / 1000)
            code_xl = sensor.accelerometer_data_rate
            code_g = sensor.gyro_data_rate
            acc_row = rows[latest_row(chip, code_xl, code_g)]
            gyro_row = rows[latest_row(chip, code_g, code_xl)]
            assert_within_one_lsb(sensor.acceleration, expected_acc(acc_row), acc_lsb, acc_name)
            assert_within_one_lsb(sensor.gyro, expected_gyro(gyro_row), gyro_lsb, gyro_name)
    for xl_rate in RATES:
        for g_rate in RATES:
            sensor.accelerometer_data_rate = getattr(Rate, xl_rate)
            sensor.gyro_data_rate = getattr(Rate, g_rate)
            chip.advance(5)
            code_xl = getattr(Rate, xl_rate)
            code_g = getattr(Rate, g_rate)
            acc_row = rows[latest_row(chip, code_xl, code_g)]
            gyro_row = rows[latest_row(chip, code_g, code_xl)]
            acc_lsb = AccelRange.lsb[sensor.accelerometer_range] * 1e-3 * STANDARD_GRAVITY
            gyro_lsb = math.radians(GyroRange.lsb[sensor.gyro_range] / 1000)
            assert_within_one_lsb(sensor.acceleration, expected_acc(acc_row), acc_lsb, xl_rate)
            assert_within_one_lsb(sensor.gyro, expected_gyro(gyro_row), gyro_lsb, g_rate)


@pytest.mark.parametrize(("part", "clips"), [("LSM6DSOX", True), ("LSM6DSO32", False)])
def test_driver_sees_a_20_g_heel_strike_clip_only_at_16_g(part, clips):
    rows = np.array([[0, 5_000_000, 20_000_000, 0, 0, 0]] * 32)
    chip, sensor = make(part, rows)
    sensor.accelerometer_range = AccelRange.RANGE_16G if clips else AccelRange.RANGE_32G
    chip.advance(2)
    z_g = sensor.acceleration[2] / STANDARD_GRAVITY
    if clips:
        assert z_g == pytest.approx(32767 * 0.488e-3)  # 15.99 g, the top code
    else:
        assert z_g == pytest.approx(20.0, abs=0.976e-3)
    assert sensor.acceleration[1] / STANDARD_GRAVITY == pytest.approx(5.0, abs=0.976e-3)
