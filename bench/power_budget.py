"""How long a pod lasts, from the power states a simulated run really went through.

Two runs of the unmodified firmware on the simulated board (host/heavylegs/sim):
one that nobody listens to, which the pod records with its radio off and light
sleep between FIFO bursts (record-only running, firmware record_only.py), and
one streamed live to a central connected from the start. The simulated board
records every state and transition in sensor time (sim/power_timeline.py):
time asleep and awake, radio off, advertising or connected, light sleeps,
radio starts, bytes on the sensor bus. Those are priced here with each board's
currents; nothing is a hand-set duty cycle.

What the simulator cannot time (the MCU runs the firmware in no sensor time) is
measured elsewhere and added per event: the CPU's busy share per sample is the
`projected_cpu_pct_*` that bench/firmware_speed.py derives from callgrind
instruction counts of the real per-sample path (run it first, or pass
--cpu-pct); each wake from light sleep costs the bus time of the bytes it read
plus the wake itself. Currents are datasheet or typical figures, printed with
the result. Last line: one JSON object for the reference board (the first of
BOARDS): `run_hours_record_only`, `run_hours` (live streaming), `standby_days`,
`cpu_awake_pct` and the measured state shares.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CELL_MAH = 150.0
SYNC_WINDOW_S = 600  # power.DEFAULTS["sync_window_s"]
USABLE = 0.85  # LiPo from 4.2 V to the 3.45 V low-battery cut, and ageing
ADV_EVENT_S = 1.28  # ble_adv_ma is quoted at this interval: one event's charge
NAME = "hl-power"
ADDRESS = "F0:00:00:00:00:0B"

# Sensor currents (LSM6DSOX datasheet DS12814, table 3 "electrical characteristics").
SENSOR_MA = {
    "accel+gyro 416 Hz high performance": 0.55,
    "accel 26 Hz low power, wake-up armed": 0.0044,
}
HP = SENSOR_MA["accel+gyro 416 Hz high performance"]

# MCU and radio, typical figures; sources in the 'why' text. `idle_ma` is what the MCU
# draws awake between FIFO batches: the firmware then waits in asyncio, and
# MicroPython has no automatic light sleep (ESP32: micropython#5459; with BLE active
# machine.lightsleep is not possible either, #6396), so the clocks keep running.
# `light_sleep_ma` is spent in light sleep: record-only running between FIFO
# bursts (BLE inactive), and standby where the board has no deep-sleep wake.
# `wake_s` is a wake from light sleep; `ble_start_mas` the charge of BLE.active(True).
BOARDS = {
    "esp32s3-devkitc": {
        "cpu_key": "projected_cpu_pct_esp32s3",
        "board_file": "esp32s3-devkitc-lsm6dso32",  # its sensor bus: I2C at 400 kHz
        "awake_ma": 40.0,
        "idle_ma": 20.0,
        "light_sleep_ma": 0.24,
        "deep_sleep_ma": 0.008,
        "deep_sleep_wake": True,  # INT1 on an RTC GPIO (hardware/boards/esp32s3-*.json)
        "boot_mas": 40.0,  # a timer wake: about 1 s booting at ~40 mA, then back to sleep
        "ble_conn_ma": 8.0,
        "ble_adv_ma": 0.15,  # at a 1.28 s interval
        "board_overhead_ma": 0.1,
        "wake_s": 0.001,
        "ble_start_mas": 8.0,
        "why": "ESP32-S3 datasheet: 240 MHz active with the radio idle ~40 mA, CPU idle at 160 MHz "
        "(MicroPython's default) with clocks running ~20 mA (Espressif's modem-sleep figures: the "
        "ESP32-S2 17 mA at 160 MHz; a DevKitM-1 measured 31.7 mA running), light sleep 240 uA, "
        "deep sleep 8 uA; Espressif's BLE power notes: a 30 ms connection interval with modem "
        "sleep averages several mA; 1.28 s advertising ~150 uA; DevKit LDO/LED excluded (a pod "
        "board has none); a light-sleep wake ~1 ms at the idle current (ESP-IDF's sleep "
        "modes guide: hundreds of us plus the flash); BLE.active(True) ~0.2 s at ~40 mA "
        "(NimBLE host and controller start) = 8 mAs per burst",
    },
    "xiao-esp32s3-spi": {
        # the same ESP32-S3 with the sensor on SPI: only the bus time of each wake differs
        "cpu_key": "projected_cpu_pct_esp32s3",
        "board_file": "xiao-esp32s3-lsm6dso32-spi",
        "awake_ma": 40.0,
        "idle_ma": 20.0,
        "light_sleep_ma": 0.24,
        "deep_sleep_ma": 0.008,
        "deep_sleep_wake": True,
        "boot_mas": 40.0,
        "ble_conn_ma": 8.0,
        "ble_adv_ma": 0.15,
        "board_overhead_ma": 0.1,
        "wake_s": 0.001,
        "ble_start_mas": 8.0,
        "why": "as esp32s3-devkitc, with the LSM6DSO32 on SPI at 10 MHz "
        "(hardware/boards/xiao-esp32s3-lsm6dso32-spi.json): 8 clocks a byte, no ACK, where "
        "I2C at 400 kHz takes 9; MicroPython's esp32 machine.SPI waits in ESP-IDF's "
        "spi_device_transmit (ports/esp32/machine_hw_spi.c), which blocks the task on the "
        "transfer's interrupt, so the "
        "core idles through it as it does on I2C",
    },
    "arduino-nano-rp2040-connect": {
        "cpu_key": "projected_cpu_pct_rp2040_i2c",
        "board_file": "nano-rp2040-connect",
        "awake_ma": 24.0,
        "idle_ma": 7.0,
        "light_sleep_ma": 1.3,
        "deep_sleep_ma": 0.18,  # dormant, woken by a GPIO edge
        "deep_sleep_wake": False,  # our firmware has no dormant mode for the rp2 port
        "boot_mas": 24.0,
        "ble_conn_ma": 12.0,
        "ble_adv_ma": 1.0,  # at a 1.28 s interval
        "board_overhead_ma": 0.5,
        "wake_s": 0.001,
        "ble_start_mas": 24.0,
        # firmware_speed.py counts the bus time in its CPU share (pico-sdk polls)
        "bus_in_cpu_pct": True,
        "why": "RP2040 datasheet: 125 MHz ~24 mA, waiting for an event with the clocks running ~7 mA "
        "(the Pico datasheet's idle figures), dormant 0.18 mA; sleep with clocks gated ~1.3 mA; the "
        "BLE radio is the NINA-W102 (an ESP32) over SPI: ~12 mA average connected, ~1 mA advertising; "
        "on-board regulator and IMU pull-ups ~0.5 mA; the NINA module's BLE start ~1 s at ~24 mA",
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


def simulate(minutes: float, seed: int, live: bool) -> tuple[dict, float, float]:
    """One simulated run: (summary of its power states from the auto start to the last
    running stride, start s, end s)."""
    sys.path.insert(0, str(REPO / "host"))
    sys.path.insert(0, str(REPO / "firmware"))
    from heavylegs.sim.gait_model import RunParams, simulate_run
    from heavylegs.sim.pod import SimPod
    from heavylegs.sim.radio import SimRadio, use_radio
    from heavylegs.trace import read_trace

    async def run(trace: Path, workdir: Path):
        async with SimRadio() as radio:
            with use_radio(radio):
                async with SimPod(
                    radio, trace, foot="left", name=NAME, address=ADDRESS, workdir=workdir
                ) as pod:
                    await asyncio.wait_for(pod.bridge.attached.wait(), 10)  # type: ignore[union-attr]
                    if not live:
                        await pod.run_trace(600, settle_s=0.3)
                        return pod
                    from bleak import BleakClient, BleakScanner

                    from heavylegs.sim.bleak_backend import SimBleakClient, SimBleakScanner

                    device = await BleakScanner.find_device_by_name(
                        NAME, timeout=10.0, backend=SimBleakScanner
                    )
                    async with BleakClient(device, backend=SimBleakClient):
                        await pod.run_trace(600, settle_s=0.3)
                    return pod

    with tempfile.TemporaryDirectory(prefix="hlpower-") as tmp:
        params = replace(RunParams(duration_s=minutes * 60), stand_s=20.0)
        trace = simulate_run(params, seed=seed, scenario="power")["left"].write(
            Path(tmp) / "power-left.hltrace"
        )
        pod = asyncio.run(run(trace, Path(tmp) / "pod"))
        truth = read_trace(trace).truth_in_sensor_time()
    from heavylegs.sim.board.simlink_proto import POWER_RADIO

    # The run as the pod records it: from its auto start (the session opens 10 s
    # into the run; record-only turns the radio off then) to the last stride.
    start = truth[0].ic_s + 12.0
    offs = pod.power.times(POWER_RADIO, 0)
    if offs and not live:
        start = offs[0]
    end = truth[-1].ic_s
    return pod.power.summary(start, end), start, end


def bus_s_per_byte(board: dict) -> float:
    return _bus_s_per_byte(board["board_file"])


@functools.cache
def _bus_s_per_byte(board_file: str) -> float:
    from heavylegs.deploy.boards import load_board

    bus = load_board(board_file)
    return (8 if bus.bus_kind == "spi" else 9) / bus.bus_hz


def price(board: dict, s, cpu_pct: float) -> tuple[float, dict[str, float]]:
    """Mean current (mA) over the summary's span, and where the charge went (mAs)."""
    cpu = cpu_pct / 100.0
    over = board["board_overhead_ma"]
    # Record-only wakes: the wake itself, the FIFO's bytes on the bus (the core idles
    # through the transfer, awake), and the engine on every sample slept through.
    # The bus is the board file's: I2C bytes take 9 clocks with the ACK, SPI bytes 8.
    bus_s = 0.0 if board.get("bus_in_cpu_pct") else s.bus_bytes * bus_s_per_byte(board)
    wake_s = s.sleeps * board["wake_s"] + bus_s
    compute_s = s.asleep_s * cpu
    sleep_s = max(0.0, s.asleep_s - wake_s - compute_s)
    awake_ma = cpu * board["awake_ma"] + (1 - cpu) * board["idle_ma"]
    charge = {
        "light sleep": sleep_s * (board["light_sleep_ma"] + HP + over),
        "wakes and FIFO reads": wake_s * (board["idle_ma"] + HP + over),
        "engine after each wake": compute_s * (board["awake_ma"] + HP + over),
        "awake with the radio on": s.awake_s * (awake_ma + HP + over),
        "connected": s.connected_s * board["ble_conn_ma"],
        "advertising": s.advertising_events * board["ble_adv_ma"] * ADV_EVENT_S,
        "radio starts": s.radio_ons * board["ble_start_mas"],
    }
    return sum(charge.values()) / s.span_s, charge


def standby(board: dict) -> dict:
    """Asleep between runs: sensor watching for movement, radio silent."""
    asleep_ma = board["light_sleep_ma"] + SENSOR_MA["accel 26 Hz low power, wake-up armed"]
    asleep_ma += board["board_overhead_ma"]
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
    capacity = CELL_MAH * USABLE
    cpu_idle_window = board["idle_ma"] + HP + board["board_overhead_ma"]
    window_ma = cpu_idle_window + board["ble_adv_ma"] * 1280 / 1285
    return {
        "standby_ma": asleep_ma,
        "standby_days": capacity / asleep_ma / 24,
        "deep_ma": deep_ma,
        "deep_days": capacity / deep_ma / 24,
        "window_mah": window_ma * SYNC_WINDOW_S / 3600,
    }


def describe(label: str, s, start: float, end: float) -> None:
    print(
        f"{label}: {end - start:.0f} s of sensor time from the auto start; asleep "
        f"{s.asleep_s / s.span_s:.1%}, radio off {s.radio_off_s / s.span_s:.1%}, advertising "
        f"{s.advertising_s / s.span_s:.1%}, connected {s.connected_s / s.span_s:.1%}; "
        f"{s.sleeps} light sleeps ({s.sleeps / s.span_s:.2f}/s), {s.radio_ons} radio starts, "
        f"{s.advertising_events:.0f} advertisements, {s.bus_bytes} bytes read in wakes"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cpu-pct", type=float, help="CPU awake share for every board (skips the bench)"
    )
    parser.add_argument("--minutes", type=float, default=4.0, help="running time simulated")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    measured = None if args.cpu_pct is not None else cpu_from_bench()
    if measured is not None and any(b["cpu_key"] not in measured for b in BOARDS.values()):
        print(
            "bench/firmware_speed.py gave no CPU projection (is valgrind installed?): "
            "pass --cpu-pct to use a figure of your own",
            file=sys.stderr,
        )
        return 1
    print(f"cell: {CELL_MAH:.0f} mAh, {USABLE:.0%} usable")
    for name, ma in SENSOR_MA.items():
        print(f"sensor {name}: {ma} mA (LSM6DSOX datasheet)")
    record_only, r0, r1 = simulate(args.minutes, args.seed, live=False)
    streamed, l0, l1 = simulate(args.minutes, args.seed, live=True)
    describe("simulated run, nobody listening (record-only)", record_only, r0, r1)
    describe("simulated run, a central connected throughout (live)", streamed, l0, l1)
    capacity = CELL_MAH * USABLE
    results = {}
    for name, board in BOARDS.items():
        cpu = args.cpu_pct if measured is None else measured[board["cpu_key"]]
        rec_ma, rec_charge = price(board, record_only, cpu)
        live_ma, live_charge = price(board, streamed, cpu)
        sb = standby(board)
        results[name] = (cpu, rec_ma, live_ma, sb)
        print(f"\n{name}: {board['why']}")
        print(f"  CPU busy {cpu:.1f}% at 416 Hz (bench/firmware_speed.py projection)")
        print(
            f"  running, record-only: {rec_ma:.2f} mA -> {capacity / rec_ma:.1f} h (target > 20 h)"
        )
        for what, mas in rec_charge.items():
            print(f"    {what}: {mas / record_only.span_s:.3f} mA")
        print(f"  running, streaming live: {live_ma:.2f} mA -> {capacity / live_ma:.1f} h")
        for what, mas in live_charge.items():
            if mas:
                print(f"    {what}: {mas / streamed.span_s:.3f} mA")
        print(
            f"  sync window after a run (awake, advertising every 1.285 s): "
            f"{sb['window_mah']:.1f} mAh per run of {SYNC_WINDOW_S // 60} min"
        )
        how = "deep sleep, woken by INT1" if board["deep_sleep_wake"] else "light sleep"
        print(
            f"  standby as built ({how}, radio silent): {sb['standby_ma']:.3f} mA -> "
            f"{sb['standby_days']:.1f} days (target > 30 days)"
        )
    cpu, rec_ma, live_ma, sb = results[next(iter(BOARDS))]
    s = record_only
    print(
        json.dumps(
            {
                "run_hours_record_only": round(capacity / rec_ma, 1),
                "run_hours": round(capacity / live_ma, 1),
                "standby_days": round(sb["standby_days"], 1),
                "cpu_awake_pct": round(cpu, 1),
                "record_only_ma": round(rec_ma, 2),
                "live_ma": round(live_ma, 2),
                "record_only_asleep_pct": round(100 * s.asleep_s / s.span_s, 1),
                "record_only_radio_off_pct": round(100 * s.radio_off_s / s.span_s, 1),
                "record_only_wakes_per_s": round(s.sleeps / s.span_s, 2),
                "record_only_radio_starts_per_h": round(3600 * s.radio_ons / s.span_s, 1),
                # the same pod with its sensor on SPI (hardware/boards/*-spi.json)
                "run_hours_record_only_spi": round(capacity / results["xiao-esp32s3-spi"][1], 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
