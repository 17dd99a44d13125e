"""What the pod's per-sample path costs: time, instructions, allocation, CPU share.

Runs the sensor driver's unpacking and the gait engine, sample by sample, inside
the real MicroPython unix port, on raw counts from a simulated run:

- bytecode-only versus our build (the engine's native code), as a ratio of
  alternating runs in the same process tree, since the machine is noisy;
- heap bytes allocated per sample in steady state (gc.mem_alloc with gc off);
- x64 instructions per sample with valgrind's callgrind (deterministic: two run
  lengths, the difference divided by the extra samples, so start-up cancels);
- a projected CPU share at 416 Hz on an RP2040 and an ESP32-S3, with every
  assumption printed next to it.

`--port PORT` runs the same timing on a real board through mpremote.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))
sys.path.insert(0, str(REPO / "firmware"))

from heavylegs.reprocess import quantise  # noqa: E402
from heavylegs.sim import paths  # noqa: E402
from heavylegs.sim.gait_model import RunParams, simulate_run  # noqa: E402

ODR_HZ = 416

# Runs on the pod or the unix port: feed COUNTS through driver-style unpacking and
# the engine. argv: counts file, samples to process (0 = all), mode (time|alloc).
BENCH_SCRIPT = r"""
import sys, time, gc
from array import array
from heavylegs_pod.gait.detector import GaitEngine
from heavylegs_pod.hal.lsm6ds import _unpack_pairs

path = sys.argv[1]
limit = int(sys.argv[2])
mode = sys.argv[3]
with open(path, "rb") as f:
    data = f.read()
words = bytearray(len(data) // 12 * 14)
# rebuild the FIFO's tagged 7-byte words (gyro tag 0x01, accel tag 0x02) once, up front
mv = memoryview(data)
for i in range(len(data) // 12):
    words[14 * i] = 0x01 << 3
    words[14 * i + 1 : 14 * i + 7] = mv[12 * i : 12 * i + 6]
    words[14 * i + 7] = 0x02 << 3
    words[14 * i + 8 : 14 * i + 14] = mv[12 * i + 6 : 12 * i + 12]
n_total = len(data) // 12
if limit:
    n_total = min(n_total, limit)
engine = GaitEngine(416, 2048, 70)
samples = array("h", bytes(12 * 32))
# one view per FIFO burst, made up front: slicing in the loop would allocate
wmv = memoryview(words)
bursts = [wmv[14 * k : 14 * (k + 32)] for k in range(0, n_total - 31, 32)]
strides = 0
n = 0
# calibrate outside the measurement: solving the frame allocates once per session
while not engine.cal.ready and n + 32 <= n_total:
    _unpack_pairs(bursts[n // 32], 64, samples, 0)
    for i in range(32):
        k = 6 * i
        engine.feed(n + i, samples[k], samples[k + 1], samples[k + 2], samples[k + 3], samples[k + 4], samples[k + 5])
    n += 32
start_n = n
gc.collect()
gc.disable()
before = gc.mem_alloc()
t0 = time.ticks_us()
while n + 32 <= n_total:
    _unpack_pairs(bursts[n // 32], 64, samples, 0)
    for i in range(32):
        k = 6 * i
        strides += engine.feed(n + i, samples[k], samples[k + 1], samples[k + 2], samples[k + 3], samples[k + 4], samples[k + 5])
    n += 32
dt = time.ticks_diff(time.ticks_us(), t0)
after = gc.mem_alloc()
gc.enable()
done = n - start_n
print("RESULT", done, strides, dt, after - before)
"""


def make_counts(path: Path, minutes: float) -> int:
    trace = simulate_run(RunParams(duration_s=minutes * 60), seed=21)["left"]
    acc, gyr = quantise(trace)
    rows = np.concatenate([gyr, acc], axis=1).astype("<i2")
    path.write_bytes(rows.tobytes())
    return len(rows)


def bytecode_copy(dest: Path) -> Path:
    """The firmware with its native/viper decorators removed: plain bytecode."""
    target = dest / "bytecode"
    shutil.copytree(paths.FIRMWARE_PACKAGE_DIR, target / "heavylegs_pod")
    for py in (target / "heavylegs_pod").rglob("*.py"):
        text = py.read_text()
        stripped = re.sub(r"^\s*@micropython\.(native|viper)\s*\n", "", text, flags=re.M)
        # every viper kernel has a pure-Python twin: the bytecode build uses the twin
        stripped = re.sub(r"^(\s*)(\w+) = \2_viper$", r"\1\2 = \2_py", stripped, flags=re.M)
        py.write_text(stripped)
    return target


def run_unix(script: Path, counts: Path, firmware: Path, limit: int, mode: str = "time"):
    proc = subprocess.run(
        [paths.micropython_binary(), str(script), str(counts), str(limit), mode],
        capture_output=True,
        text=True,
        env={"MICROPYPATH": f"{firmware}:.frozen"},
        check=True,
    )
    fields = proc.stdout.split("RESULT")[-1].split()
    samples, strides, us, alloc = (int(v) for v in fields)
    return samples, strides, us, alloc


def callgrind_instructions(script: Path, counts: Path, firmware: Path, limit: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                paths.micropython_binary(),
                str(script),
                str(counts),
                str(limit),
                "time",
            ],
            capture_output=True,
            text=True,
            env={"MICROPYPATH": f"{firmware}:.frozen"},
            check=True,
        )
        for line in out.read_text().splitlines():
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no totals")


def run_board(port: str, script: Path, counts: Path) -> tuple[int, int, int, int]:
    """The same bench on a real board: copy firmware, counts and script, run, parse."""
    mpremote = [sys.executable, "-m", "mpremote", "connect", port]
    subprocess.run([*mpremote, "fs", "cp", "-r", str(paths.FIRMWARE_PACKAGE_DIR), ":"], check=True)
    subprocess.run([*mpremote, "fs", "cp", str(counts), ":bench_counts.bin"], check=True)
    board_script = script.read_text().replace("sys.argv[1]", '"bench_counts.bin"')
    board_script = board_script.replace("int(sys.argv[2])", "4000").replace("sys.argv[3]", '"time"')
    local = script.with_name("board_bench.py")
    local.write_text(board_script)
    proc = subprocess.run(
        [*mpremote, "run", str(local)], capture_output=True, text=True, check=True
    )
    fields = proc.stdout.split("RESULT")[-1].split()
    samples, strides, us, alloc = (int(v) for v in fields)
    return samples, strides, us, alloc


# Projection assumptions, printed with the result.
MCUS = {
    "rp2040": {
        "clock_hz": 125e6,
        "cycles_per_x64_instruction": 2.6,
        "why": "Cortex-M0+ Thumb-1 needs ~2x the instructions of x64 for MicroPython's VM "
        "and native code, CPI ~1.3 with XIP flash cache misses",
    },
    "esp32s3": {
        "clock_hz": 240e6,
        "cycles_per_x64_instruction": 1.6,
        "why": "Xtensa LX7 with windowed registers ~1.3x x64 instruction count, CPI ~1.2 from PSRAM/flash cache",
    },
}
I2C_HZ = 1_000_000  # LSM6DSOX supports Fast-mode Plus; the MCU busy-waits on the bus
BYTES_PER_SAMPLE = 14  # a gyro and an accel FIFO word


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--port", help="also run on a real board through mpremote")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        counts = tmp / "counts.bin"
        n = make_counts(counts, args.minutes)
        script = tmp / "bench_fw.py"
        script.write_text(BENCH_SCRIPT)
        bytecode = bytecode_copy(tmp)
        ours = paths.FIRMWARE_DIR
        times = {"bytecode": [], "ours": []}
        allocs = []
        for _ in range(args.repeats):
            for label, firmware in (("bytecode", bytecode), ("ours", ours)):
                samples, strides, us, alloc = run_unix(script, counts, firmware, 0)
                times[label].append(us / samples)
                if label == "ours":
                    allocs.append(alloc / samples)
        us_bytecode = statistics.median(times["bytecode"])
        us_ours = statistics.median(times["ours"])
        print(f"samples per run: {samples} ({args.minutes} min at {ODR_HZ} Hz), strides: {strides}")
        print(f"unix port, per sample: bytecode {us_bytecode:.2f} us, ours {us_ours:.2f} us")
        print(
            f"speed-up vs bytecode: {us_bytecode / us_ours:.2f}x (median of {args.repeats} alternating runs)"
        )
        print(f"heap bytes allocated per sample in steady state: {statistics.mean(allocs):.3f}")
        short = max(2000, n // 4)
        instr_short = callgrind_instructions(script, counts, ours, short)
        instr_long = callgrind_instructions(script, counts, ours, n)
        instructions = (instr_long - instr_short) / (n - short)
        print(f"x64 instructions per sample (callgrind, {n} - {short} samples): {instructions:.0f}")
        bus_s = BYTES_PER_SAMPLE * 9 / I2C_HZ
        print(
            f"I2C bus time per sample at {I2C_HZ / 1e6:.1f} MHz: {bus_s * 1e6:.0f} us (CPU waits)"
        )
        projected = {}
        for mcu, spec in MCUS.items():
            cpu_s = instructions * spec["cycles_per_x64_instruction"] / spec["clock_hz"]
            share = (cpu_s + bus_s) * ODR_HZ * 100
            projected[mcu] = share
            print(
                f"{mcu}: {spec['clock_hz'] / 1e6:.0f} MHz, {spec['cycles_per_x64_instruction']} cycles per x64 "
                f"instruction ({spec['why']}): {cpu_s * 1e6:.1f} us compute + bus = {share:.1f}% CPU at {ODR_HZ} Hz"
            )
        if args.port:
            samples_b, _, us_b, alloc_b = run_board(args.port, script, counts)
            print(
                f"board on {args.port}: {us_b / samples_b:.1f} us per sample, {alloc_b} bytes allocated"
            )
    print(
        json.dumps(
            {
                "allocs_per_sample": round(statistics.mean(allocs), 3),
                "speedup_vs_bytecode": round(us_bytecode / us_ours, 2),
                "instructions_per_sample": round(instructions),
                "projected_cpu_pct_rp2040": round(projected["rp2040"], 1),
                "projected_cpu_pct_esp32s3": round(projected["esp32s3"], 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
