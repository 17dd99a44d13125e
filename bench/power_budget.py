"""How long a pod lasts: average current, hours of running, days of standby.

The CPU's awake share comes from measurement, not assumption: it is the
`projected_cpu_pct_*` that bench/firmware_speed.py derives from callgrind
instruction counts of the real per-sample path on the unix port (run it first,
or pass --cpu-pct). Everything else is a datasheet or typical figure, printed next
to the result. Last line: one JSON object with `run_hours`, `standby_days` and
`cpu_awake_pct` for the reference board (the first of BOARDS).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CELL_MAH = 150.0
SYNC_WINDOW_S = 600  # power.DEFAULTS["sync_window_s"]
USABLE = 0.85  # LiPo from 4.2 V to the 3.45 V low-battery cut, and ageing

# Sensor currents (LSM6DSOX datasheet DS12814, table 3 "electrical characteristics").
SENSOR_MA = {
    "accel+gyro 416 Hz high performance": 0.55,
    "accel 26 Hz low power, wake-up armed": 0.0044,
}

# MCU and radio, typical figures; sources in the 'why' text. `idle_ma` is what the MCU
# draws between FIFO batches while the pod is awake: the firmware then waits in
# asyncio, and MicroPython has no automatic light sleep (ESP32: micropython#5459;
# machine.lightsleep would also cut BLE, #6396), so the clocks keep running.
# `light_sleep_ma` is only spent asleep, when the radio is silent or the board's
# radio is a chip of its own.
BOARDS = {
    "esp32s3-devkitc": {
        "cpu_key": "projected_cpu_pct_esp32s3",
        "awake_ma": 40.0,
        "idle_ma": 20.0,
        "light_sleep_ma": 0.24,
        "deep_sleep_ma": 0.008,
        "deep_sleep_wake": True,  # INT1 on an RTC GPIO (hardware/boards/esp32s3-*.json)
        "boot_mas": 40.0,  # a timer wake: about 1 s booting at ~40 mA, then back to sleep
        "ble_conn_ma": 8.0,
        "ble_adv_ma": 0.15,  # at a 1.28 s interval
        "board_overhead_ma": 0.1,
        "why": "ESP32-S3 datasheet: 240 MHz active with the radio idle ~40 mA, CPU idle at 160 MHz "
        "(MicroPython's default) with clocks running ~20 mA (Espressif's modem-sleep figures: the "
        "ESP32-S2 17 mA at 160 MHz; a DevKitM-1 measured 31.7 mA running), light sleep 240 uA, "
        "deep sleep 8 uA; Espressif's BLE power notes: a 30 ms connection interval with modem "
        "sleep averages several mA; 1.28 s advertising ~150 uA; DevKit LDO/LED excluded (a pod "
        "board has none)",
    },
    "arduino-nano-rp2040-connect": {
        "cpu_key": "projected_cpu_pct_rp2040",
        "awake_ma": 24.0,
        "idle_ma": 7.0,
        "light_sleep_ma": 1.3,
        "deep_sleep_ma": 0.18,  # dormant, woken by a GPIO edge
        "deep_sleep_wake": False,  # our firmware has no dormant mode for the rp2 port
        "boot_mas": 24.0,
        "ble_conn_ma": 12.0,
        "ble_adv_ma": 1.0,  # at a 1.28 s interval
        "board_overhead_ma": 0.5,
        "why": "RP2040 datasheet: 125 MHz ~24 mA, waiting for an event with the clocks running ~7 mA "
        "(the Pico datasheet's idle figures), dormant 0.18 mA; sleep with clocks gated ~1.3 mA; the "
        "BLE radio is the NINA-W102 (an ESP32) over SPI: ~12 mA average connected, ~1 mA advertising; "
        "on-board regulator and IMU pull-ups ~0.5 mA",
    },
}


def cpu_from_bench() -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "firmware_speed.py"),
            "--minutes",
            "0.5",
            "--repeats",
            "1",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def budget(board: dict, cpu_pct: float) -> dict:
    share = cpu_pct / 100.0
    awake_ma = (
        share * board["awake_ma"]
        + (1 - share) * board["idle_ma"]
        + SENSOR_MA["accel+gyro 416 Hz high performance"]
        + board["board_overhead_ma"]
    )
    # awake, the firmware advertises every power.ADV_AWAKE_US (250 ms)
    advertising_awake_ma = board["ble_adv_ma"] * 1280 / 250
    # asleep: MCU in light sleep, sensor watching for movement, the radio silent
    asleep_ma = (
        board["light_sleep_ma"]
        + SENSOR_MA["accel 26 Hz low power, wake-up armed"]
        + board["board_overhead_ma"]
    )
    capacity = CELL_MAH * USABLE
    running_ma = awake_ma + board["ble_conn_ma"]
    journal_only_ma = awake_ma + advertising_awake_ma
    # the sync window after a run: awake (MicroPython's ESP32 BLE does not survive a
    # light sleep), advertising every 1.285 s (power.ADV_WINDOW_US), sync_window_s long
    window_ma = awake_ma + board["ble_adv_ma"] * 1280 / 1285
    # deep sleep: the MCU keeps no time, so it boots every deep_sleep_check_s (12 h)
    # to read the sensor's clock before that wraps
    deep_ma = (
        board["deep_sleep_ma"]
        + SENSOR_MA["accel 26 Hz low power, wake-up armed"]
        + board["board_overhead_ma"]
        + board["boot_mas"] / 43200
    )
    if board["deep_sleep_wake"]:
        asleep_ma = deep_ma
    return {
        "running_ma": running_ma,
        "run_hours": capacity / running_ma,
        "journal_only_ma": journal_only_ma,
        "journal_only_hours": capacity / journal_only_ma,
        "window_ma": window_ma,
        "window_mah": window_ma * SYNC_WINDOW_S / 3600,
        "standby_ma": asleep_ma,
        "standby_days": capacity / asleep_ma / 24,
        "deep_ma": deep_ma,
        "deep_days": capacity / deep_ma / 24,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cpu-pct", type=float, help="CPU awake share for every board (skips the bench)"
    )
    args = parser.parse_args()
    measured = None if args.cpu_pct is not None else cpu_from_bench()
    print(f"cell: {CELL_MAH:.0f} mAh, {USABLE:.0%} usable")
    for name, ma in SENSOR_MA.items():
        print(f"sensor {name}: {ma} mA (LSM6DSOX datasheet)")
    results = {}
    if measured is not None and any(b["cpu_key"] not in measured for b in BOARDS.values()):
        print(
            "bench/firmware_speed.py gave no CPU projection (is valgrind installed?): "
            "pass --cpu-pct to use a figure of your own",
            file=sys.stderr,
        )
        return 1
    for name, board in BOARDS.items():
        cpu = args.cpu_pct if measured is None else measured[board["cpu_key"]]
        r = budget(board, cpu)
        results[name] = (cpu, r)
        print(f"\n{name}: {board['why']}")
        print(f"  CPU awake {cpu:.1f}% at 416 Hz (bench/firmware_speed.py projection)")
        print(
            f"  running, streaming to a phone or watch: {r['running_ma']:.2f} mA -> "
            f"{r['run_hours']:.1f} h (target > 20 h)"
        )
        print(
            f"  running, journal only (no central; advertising every 250 ms): "
            f"{r['journal_only_ma']:.2f} mA -> {r['journal_only_hours']:.1f} h"
        )
        print(
            f"  sync window after a run (awake, advertising every 1.285 s): "
            f"{r['window_ma']:.2f} mA for {SYNC_WINDOW_S // 60} min: {r['window_mah']:.1f} mAh per run"
        )
        how = "deep sleep, woken by INT1" if board["deep_sleep_wake"] else "light sleep"
        print(
            f"  standby as built ({how}, radio silent): {r['standby_ma']:.3f} mA -> "
            f"{r['standby_days']:.1f} days (target > 30 days)"
        )
        if not board["deep_sleep_wake"]:
            print(
                f"  standby in deep sleep woken by INT1 (not built for this board): "
                f"{r['deep_ma']:.3f} mA -> {r['deep_days']:.1f} days"
            )
    cpu, ref = results[next(iter(BOARDS))]
    print(
        json.dumps(
            {
                "run_hours": round(ref["run_hours"], 1),
                "standby_days": round(ref["standby_days"], 1),
                "cpu_awake_pct": round(cpu, 1),
                "run_hours_journal_only": round(ref["journal_only_hours"], 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
