"""Independent oracle on the unix port: Adafruit's LSM6DS driver, unmodified, runs
inside MicroPython and reads the emulated chip through the simulated board's
machine.I2C raw transfers, as a CircuitPython program would on a real bus.

The Adafruit packages are copied from site-packages into a temporary directory at
test time (their code is not part of this repository). The MicroPython side only
prints what the driver reads; the checks are made here against the trace file.
"""

from __future__ import annotations

import importlib
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from heavylegs import paths
from heavylegs.trace import Trace, TraceHeader

REPO = Path(__file__).resolve().parents[1]
ADAFRUIT_PACKAGES = ("adafruit_lsm6ds", "adafruit_bus_device", "adafruit_register")
TRACE_HZ = 416
STANDARD_GRAVITY = 9.80665
PARTS = {
    "LSM6DSOX": ("lsm6dsox", "LSM6DSOX", ("RANGE_2G", "RANGE_4G", "RANGE_8G", "RANGE_16G")),
    "LSM6DSO32": ("lsm6dso32", "LSM6DSO32", ("RANGE_4G", "RANGE_8G", "RANGE_16G", "RANGE_32G")),
    "LSM6DS3TR-C": ("lsm6ds3trc", "LSM6DS3TRC", ("RANGE_2G", "RANGE_4G", "RANGE_8G", "RANGE_16G")),
}
GYRO_RANGES = ("RANGE_125_DPS", "RANGE_250_DPS", "RANGE_500_DPS", "RANGE_1000_DPS")
GYRO_RANGES += ("RANGE_2000_DPS",)
RATES = ("RATE_416_HZ", "RATE_104_HZ", "RATE_833_HZ", "RATE_26_HZ")

PROBE = """
import busio_adapter
print("ADAPTER")
import adafruit_lsm6ds
from adafruit_lsm6ds import {module}
print("IMPORTED")
"""

# Runs inside MicroPython. One line per reading: what the driver returned, and the
# sensor clock and rate codes needed to find the trace row behind it.
SCRIPT = """
import machine
import busio_adapter
import adafruit_lsm6ds
from adafruit_lsm6ds import AccelRange, GyroRange, Rate
from adafruit_lsm6ds.{module} import {cls}

adafruit_lsm6ds.sleep = lambda seconds: None  # no settling delays: time is simulated
sensor = {cls}(busio_adapter.I2C(machine.I2C(0)))
chip = machine._get_board().chip


def report(label):
    acc = sensor.acceleration
    gyro = sensor.gyro
    print("R", label, chip.tick, chip.odr_mhz, sensor.accelerometer_data_rate,
          sensor.gyro_data_rate, AccelRange.lsb[sensor.accelerometer_range],
          GyroRange.lsb[sensor.gyro_range], repr(acc[0]), repr(acc[1]), repr(acc[2]),
          repr(gyro[0]), repr(gyro[1]), repr(gyro[2]))


print("T", sensor.temperature)
for acc_name in {acc_ranges!r}:
    for gyro_name in {gyro_ranges!r}:
        sensor.accelerometer_range = getattr(AccelRange, acc_name)
        sensor.gyro_range = getattr(GyroRange, gyro_name)
        chip.advance(3)
        report(acc_name + "/" + gyro_name)
for xl_rate in {rates!r}:
    for g_rate in {rates!r}:
        sensor.accelerometer_data_rate = getattr(Rate, xl_rate)
        sensor.gyro_data_rate = getattr(Rate, g_rate)
        chip.advance(5)
        report(xl_rate + "/" + g_rate)
print("DONE")
"""


def adafruit_sources() -> list[Path]:
    dirs = []
    for name in ADAFRUIT_PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            pytest.skip(f"needs {name} installed (dev extras): {exc}")
        dirs.append(Path(module.__file__).resolve().parent)
    return dirs


@pytest.fixture(scope="module")
def lib_dir(tmp_path_factory) -> Path:
    lib = tmp_path_factory.mktemp("mp-lib")
    for package in adafruit_sources():
        target = lib / package.name
        target.mkdir()
        for source in package.glob("*.py"):
            shutil.copy(source, target / source.name)
    shutil.copy(REPO / "host" / "heavylegs" / "sim" / "busio_adapter.py", lib)
    return lib


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(11)
    n = 4000
    acc = np.round(rng.uniform(-1.95, 1.95, size=(n, 3)) * 1e6)
    gyr = np.round(rng.uniform(-124, 124, size=(n, 3)) * 8000)
    header = TraceHeader(rate_hz=float(TRACE_HZ), n_samples=n, pod="oracle", foot="left")
    path = tmp_path_factory.mktemp("mp-trace") / "oracle.hltrace"
    Trace(header, acc / 1e6, gyr / 8000, []).write(path)
    return path, np.hstack([acc, gyr]).astype(np.int64)


def run_micropython(code: str, lib: Path, trace_path: Path, part: str, tmp_path: Path):
    script = tmp_path / "oracle_script.py"
    script.write_text(code)
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([str(lib), str(paths.SIM_BOARD_DIR), ".frozen"])
    env["HEAVYLEGS_SIM_TRACE"] = str(trace_path)
    env["HEAVYLEGS_SIM_PART"] = part
    env.pop("HEAVYLEGS_SIM_SOCKET", None)
    return subprocess.run(
        [paths.micropython_binary(), str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def latest_row(tick: int, odr_mhz: int, code: int, other_code: int) -> int:
    every = 1 << (max(code, other_code) - code)
    return (tick - 1) // every * every * TRACE_HZ * 1000 // odr_mhz


@pytest.mark.parametrize("part", PARTS)
def test_adafruit_driver_inside_micropython_reads_the_trace(part, lib_dir, trace, tmp_path):
    module, cls, acc_ranges = PARTS[part]
    trace_path, rows = trace
    probe = run_micropython(PROBE.format(module=module), lib_dir, trace_path, part, tmp_path)
    if "IMPORTED" not in probe.stdout:
        adafruit_failed = "ADAPTER" in probe.stdout and (
            "ImportError" in probe.stderr or "SyntaxError" in probe.stderr
        )
        if adafruit_failed:
            pytest.skip(f"Adafruit's driver does not import on this MicroPython: {probe.stderr}")
        pytest.fail(f"import probe failed:\n{probe.stdout}{probe.stderr}")

    code = SCRIPT.format(
        module=module, cls=cls, acc_ranges=acc_ranges, gyro_ranges=GYRO_RANGES, rates=RATES
    )
    proc = run_micropython(code, lib_dir, trace_path, part, tmp_path)
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("DONE"), proc.stdout + proc.stderr

    readings = 0
    for line in proc.stdout.splitlines():
        fields = line.split()
        if fields[0] == "T":
            assert float(fields[1]) == 25.0
        if fields[0] != "R":
            continue
        label = fields[1]
        tick, odr_mhz, code_xl, code_g = map(int, fields[2:6])
        acc_lsb = float(fields[6]) * 1e-3 * STANDARD_GRAVITY
        gyro_lsb = math.radians(float(fields[7]) / 1000)
        got = [float(v) for v in fields[8:14]]
        acc_row = rows[latest_row(tick, odr_mhz, code_xl, code_g)]
        gyro_row = rows[latest_row(tick, odr_mhz, code_g, code_xl)]
        for axis in range(3):
            want = acc_row[axis] * 1e-6 * STANDARD_GRAVITY
            assert abs(got[axis] - want) <= acc_lsb * 1.0001, (label, "acc", axis, got, want)
            want = math.radians(gyro_row[3 + axis] / 8000)
            assert abs(got[3 + axis] - want) <= gyro_lsb * 1.0001, (label, "gyro", axis, got, want)
        readings += 1
    assert readings == len(acc_ranges) * len(GYRO_RANGES) + len(RATES) ** 2
