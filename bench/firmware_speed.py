"""What the pod's per-sample path costs: time, instructions, allocation, CPU share.

Feeds FIFO bursts of a simulated run through the driver's unpacking and the gait
engine through SampleStream.drain, the loop app.sensor_task runs (one kernel call
per burst, plus one per event), inside the real MicroPython unix port:

- bytecode-only (the .py with its native/viper decorators removed) versus our
  build as a pod runs it (every module through mpy-cross, here for x64), both
  running the same loop on the same samples (checked: same samples, strides and
  first steady sample in every run), in the steady state: once calibrated and once
  the frame is refined (the first seconds of motion, a kernel call per sample, are
  timed apart and printed). `speedup_vs_bytecode` is the ratio of times: the whole
  run is read into memory first, so no file read is timed, and the steady state is
  timed in chunks of about CHUNK_US (a different number of bursts per build, so both
  builds' chunks are alike in length); over --repeats alternating runs each chunk
  keeps the fastest time it ran in, and the build's time is the sum of those. The
  machine's other work only ever adds time, and a run is not a fair unit on a busy
  machine: a run of ours takes a few ms and often runs undisturbed, a bytecode run
  takes a second and never does, so the best whole run of each would flatter ours.
  Each run's own ratio is printed beside it (`speedup_vs_bytecode_pairs`: min,
  median, max), as is the ratio of instructions counted (below), which noise does
  not move but which counts this harness's file reads in both builds and weighs
  every x64 instruction alike, which the processor does not;
- heap bytes allocated per sample after calibration, refinement included
  (gc.mem_alloc with gc off);
- x64 instructions per sample with valgrind's callgrind (deterministic: two run
  lengths, both past the refinement, the difference divided by the extra samples,
  so start-up, calibration and refinement cancel), and
  how many of them are the engine, the driver's FIFO unpacking and this harness's
  file reads (the same bursts read and unpacked without the engine, then only read);
- a projected CPU share at 416 Hz on each reference board, with every assumption
  printed next to it, the I2C bus included.

`--port PORT` also runs the same script on a board through its USB serial port
(any MicroPython board, or the pty test board of heavylegs.sim.testboard): the
engine compiled for the board's arch goes into a folder of its own on the board
(hl_bench/, removed afterwards; the pod's firmware is not touched), and the board
reports its time, allocation and strides for the first --board-seconds of the run,
which the unix port also runs for comparison.
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

from heavylegs import paths  # noqa: E402
from heavylegs.deploy.boards import arch_from_mpy, load_board  # noqa: E402
from heavylegs.deploy.build import compile_firmware  # noqa: E402
from heavylegs.deploy.usb import PodConnection  # noqa: E402
from heavylegs.reprocess import quantise  # noqa: E402
from heavylegs.sim.gait_model import RunParams, simulate_run  # noqa: E402

ODR_HZ = 416
BURST_SAMPLES = 32  # the driver's default watermark: 64 FIFO words
WORD_BYTES = 7  # a tagged FIFO word: tag byte and three int16
TAG_GYRO, TAG_ACCEL = 0x01, 0x02

# Runs on the unix port or a board: bench(path, samples or 0 for all). The file
# holds tagged FIFO words as the chip sends them; each burst is read into one
# buffer outside the timed part and goes through what sensor_task does with it.
# With `chunk` (the unix port), the whole run is read into memory first and the
# steady state is timed `chunk` bursts at a time, each chunk printed (CHUNKS), so
# the caller can keep, chunk by chunk, the fastest of several runs.
BENCH_SCRIPT = r"""
import gc
import time
from array import array

from heavylegs_pod.gait.detector import GaitEngine
from heavylegs_pod.gait.stream import SampleStream
from heavylegs_pod.hal.lsm6ds_words import unpack_pairs

_BURST = 32
_BURST_BYTES = 14 * _BURST


# FIFO words from a file, shaped like the driver: the burst is read from the file
# outside the timed part, unpacked by read_fifo inside it.
class BurstFile:

    def __init__(self, f):
        self.f = f
        self.burst = bytearray(_BURST_BYTES)
        self.samples = array("h", bytes(12 * _BURST))
        self.sample_count = 0

    def load(self):
        return self.f.readinto(self.burst) == _BURST_BYTES

    def read_fifo(self):
        unpack_pairs(self.burst, 2 * _BURST, self.samples, 0)
        self.sample_count += _BURST
        return _BURST


# The same from memory: loading a burst is taking the next buffer, no system call.
class BurstMemory(BurstFile):

    def __init__(self, f):
        super().__init__(f)
        self.bursts = []
        while f.readinto(self.burst) == _BURST_BYTES:
            self.bursts.append(bytes(self.burst))
        self.next = 0

    def load(self):
        if self.next == len(self.bursts):
            return False
        self.burst = self.bursts[self.next]
        self.next += 1
        return True


class Tally:
    def __init__(self):
        self.strides = 0

    def on_stride(self, stride, now_n):
        self.strides += 1


# work: 2 the pod's loop (drain), 1 the driver's unpacking only, 0 neither (the file
# reads and this loop: the harness, which stands in for the I2C transfer)
def bench(path, limit, work=2, chunk=0):
    engine = GaitEngine(416, 2048, 70)
    tally = Tally()
    with open(path, "rb") as f:
        source = BurstMemory(f) if chunk else BurstFile(f)
        stream = SampleStream(source, engine, tally.on_stride)
        # calibration stays out of the measurement: solving the frame allocates, once
        while not engine.cal.ready and source.load():
            stream.drain()
        start_n = source.sample_count
        tally.strides = 0
        us = 0
        # the first seconds after calibration refine the frame, a kernel call per
        # sample; from the burst after that on, the pod's steady state is timed apart
        steady_from = -1
        steady_us = 0
        chunk_us = array("I", bytes(4 * (len(source.bursts) // chunk + 2))) if chunk else None
        chunks = 0
        gc.collect()
        gc.disable()
        before = gc.mem_alloc()
        while (not limit or source.sample_count + _BURST <= limit) and source.load():
            t0 = time.ticks_us()
            if work == 2:
                stream.drain()
            elif work == 1:
                source.read_fifo()
            else:
                source.sample_count += _BURST
            t = time.ticks_diff(time.ticks_us(), t0)
            us += t
            if steady_from >= 0:
                steady_us += t
            elif work == 2 and not engine.cal.refining:
                steady_from = source.sample_count
                if chunk:
                    break
        more = chunk and steady_from >= 0
        while more:
            t0 = time.ticks_us()
            for _ in range(chunk):
                if not source.load():
                    more = False
                    break
                stream.drain()
            t = time.ticks_diff(time.ticks_us(), t0)
            chunk_us[chunks] = t
            chunks += 1
            us += t
            steady_us += t
        allocated = gc.mem_alloc() - before
        gc.enable()
    steady_n = source.sample_count - steady_from if steady_from >= 0 else 0
    print("RESULT", source.sample_count - start_n, tally.strides, us, allocated, steady_from, steady_n, steady_us)
    if chunk:
        print("CHUNKS", " ".join(str(chunk_us[c]) for c in range(chunks)))
"""
UNIX_MAIN = (
    "\nimport sys\nbench(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))\n"
)
# A timed chunk lasts about this long: long enough that the clock's microsecond
# steps are under 1% of it, short enough that most chunks run between two of the
# scheduler's preemptions on a busy machine, in both builds alike.
CHUNK_US = 250
BOARD_DIR = "hl_bench"
# what BENCH_SCRIPT imports, and nothing else of the firmware
BOARD_MODULES = re.compile(r"heavylegs_pod/(__init__|gait/\w+|hal/__init__|hal/lsm6ds\w*)\.mpy")


def make_fifo_words(path: Path, minutes: float) -> int:
    """A simulated run as the FIFO delivers it: a gyro word, then an accel word."""
    trace = simulate_run(RunParams(duration_s=minutes * 60), seed=21)["left"]
    acc, gyr = quantise(trace)
    n = len(acc) // BURST_SAMPLES * BURST_SAMPLES
    words = np.zeros((n, 2, WORD_BYTES), dtype=np.uint8)
    words[:, 0, 0] = TAG_GYRO << 3
    words[:, 1, 0] = TAG_ACCEL << 3
    words[:, 0, 1:] = gyr[:n].astype("<i2").view(np.uint8).reshape(n, 6)
    words[:, 1, 1:] = acc[:n].astype("<i2").view(np.uint8).reshape(n, 6)
    path.write_bytes(words.tobytes())
    return n


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


def _result(stdout: str) -> tuple[int, int, int, int]:
    fields = stdout.split("RESULT")[-1].split()
    samples, strides, us, alloc = (int(v) for v in fields[:4])
    return samples, strides, us, alloc


def _steady(stdout: str) -> tuple[int, int, int]:
    """(first sample of the steady state, its samples, its us) from a RESULT line."""
    fields = stdout.split("RESULT")[-1].split()
    steady_from, steady_n, steady_us = (int(v) for v in fields[4:7])
    return steady_from, steady_n, steady_us


def run_unix(script: Path, words: Path, firmware: Path, limit: int = 0):
    return _result(run_unix_stdout(script, words, firmware, limit))


def run_unix_stdout(
    script: Path, words: Path, firmware: Path, limit: int = 0, chunk: int = 0
) -> str:
    proc = subprocess.run(
        [paths.micropython_binary(), "-X", "heapsize=32M", str(script), str(words)]
        + [str(limit), "2", str(chunk)],
        capture_output=True,
        text=True,
        env={"MICROPYPATH": f"{firmware}:.frozen"},
        check=True,
    )
    return proc.stdout


def _chunks(stdout: str) -> list[int]:
    return [int(v) for v in stdout.split("CHUNKS")[-1].split()]


def time_alternating(script: Path, words: Path, builds: dict[str, Path], repeats: int) -> dict:
    """Each build `repeats` times, alternating, so both see the same spells of load
    from the machine's other work. A first run of each, from the file, sizes its
    chunks to about CHUNK_US; then every run has the whole run in memory and times
    its steady state in those chunks. Per build: `best`, us per sample with every
    chunk at the fastest it ran in any run (the machine's other work only ever adds
    time, and a chunk is short enough to have run undisturbed at least once), `runs`,
    each run's own us per sample, and the most heap bytes allocated per sample after
    calibration in any run. Raises unless every run did the same work: the same
    samples, strides and first sample of the steady state."""
    timed: dict = {}
    work = None
    chunk = {}
    for label, firmware in builds.items():
        steady_from, steady_n, steady_us = _steady(run_unix_stdout(script, words, firmware))
        if not steady_n:
            raise SystemExit(f"{label}: the frame was still being refined at the end of the run")
        burst_us = steady_us / steady_n * BURST_SAMPLES
        chunk[label] = max(1, round(CHUNK_US / max(burst_us, 0.1)))
        timed[label] = {"chunk_bursts": chunk[label], "runs": [], "alloc": 0.0}
    fastest: dict[str, list[int]] = {}
    for _ in range(repeats):
        for label, firmware in builds.items():
            stdout = run_unix_stdout(script, words, firmware, chunk=chunk[label])
            samples, strides, us, alloc = _result(stdout)
            steady_from, steady_n, steady_us = _steady(stdout)
            if work is None:
                work = (samples, strides, steady_from)
            elif (samples, strides, steady_from) != work:
                raise SystemExit(
                    f"{label} did other work than the first run: (samples, strides, first "
                    f"steady sample) {(samples, strides, steady_from)} against {work}"
                )
            chunks = _chunks(stdout)
            fastest[label] = [
                min(a, b) for a, b in zip(fastest.get(label, chunks), chunks, strict=True)
            ]
            entry = timed[label]
            entry["runs"].append(steady_us / steady_n)
            entry["best"] = sum(fastest[label]) / steady_n
            refining_n = samples - steady_n
            refining = (us - steady_us) / refining_n if refining_n else 0.0
            entry["refining"] = min(entry.get("refining", refining), refining)
            entry["alloc"] = max(entry["alloc"], alloc / samples)
    assert work is not None
    timed["samples"], timed["strides"], timed["steady_from"] = work
    return timed


def callgrind_instructions(
    script: Path, words: Path, firmware: Path, limit: int, work: int = 2
) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                paths.micropython_binary(),
                str(script),
                str(words),
                str(limit),
                str(work),
                "0",
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


def run_board(port: str, words: Path, build_dir: Path) -> tuple[str, tuple[int, int, int, int]]:
    """BENCH_SCRIPT on a board: returns its arch and (samples, strides, us, bytes)."""
    with PodConnection(port, timeout_s=30.0) as pod:
        pod.enter_raw_repl()
        mpy = pod.run_json("print(json.dumps(getattr(sys.implementation, '_mpy', 0)))")
        arch = arch_from_mpy(int(mpy))
        if arch is None:
            raise SystemExit(f"the MicroPython on {port} has no native code emitter")
        modules = [
            mpy_file
            for mpy_file in compile_firmware(arch, build_dir)
            if BOARD_MODULES.fullmatch(mpy_file.relative_to(build_dir / arch).as_posix())
        ]
        try:
            for mpy_file in modules:
                relative = mpy_file.relative_to(build_dir / arch).as_posix()
                pod.write_file(f"{BOARD_DIR}/{relative}", mpy_file.read_bytes())
            pod.write_file(f"{BOARD_DIR}/words.bin", words.read_bytes())
            out = pod.run(
                f"import sys\nsys.path.insert(0, {BOARD_DIR!r})\n"
                + BENCH_SCRIPT
                + f"\nbench({BOARD_DIR + '/words.bin'!r}, 0)\n",
                timeout_s=600,
            )
        finally:
            # a fresh interpreter, so nothing of the bench is still open or imported
            pod.enter_raw_repl()
            pod.run(REMOVE_TREE + f"_hl_rmtree({BOARD_DIR!r})")
    return arch, _result(out.decode())


REMOVE_TREE = """
import os
def _hl_rmtree(d):
    try:
        entries = list(os.ilistdir(d))
    except OSError:
        return
    for e in entries:
        p = d + '/' + e[0]
        if e[1] == 0x4000:
            _hl_rmtree(p)
        else:
            os.remove(p)
    os.rmdir(d)
"""

# Projection assumptions, printed with the result. Each MCU is priced on the board
# file named here, with the sensor on the bus that file wires (i2c or spi).
MCUS = {
    "rp2040": {
        "board": "pico-w-lsm6dso32-spi",
        "clock_hz": 125e6,
        "cycles_per_x64_instruction": 2.6,
        "why": "Cortex-M0+ Thumb-1 needs ~2x the instructions of x64 for MicroPython's VM "
        "and native code, CPI ~1.3 with XIP flash cache misses",
        "cpu_busy_on_bus": True,
        "target_pct": 5,  # issue 15
        "bus_why": "MicroPython's rp2 machine.SPI moves a transfer of 32 bytes or more by DMA "
        "but then waits for it in dma_channel_wait_for_finish_blocking, and a shorter one "
        "with the pico-sdk's polling spi_write_read_blocking (ports/rp2/machine_spi.c, "
        "machine_spi_transfer): either way the core is busy until the last byte, so the bus "
        "time counts in full",
    },
    "rp2040_i2c": {
        "board": "nano-rp2040-connect",
        "clock_hz": 125e6,
        "cycles_per_x64_instruction": 2.6,
        "why": "as rp2040",
        "cpu_busy_on_bus": True,
        "target_pct": 5,
        "bus_why": "MicroPython's rp2 machine.I2C calls the pico-sdk's i2c_read/write_timeout_us, "
        "which poll the controller byte by byte: the CPU is busy for the whole transfer",
    },
    "esp32s3": {
        "board": "esp32s3-devkitc-lsm6dso32",
        "clock_hz": 240e6,
        "cycles_per_x64_instruction": 1.6,
        "why": "Xtensa LX7 with windowed registers ~1.3x x64 instruction count, CPI ~1.2 from PSRAM/flash cache",
        "cpu_busy_on_bus": False,
        "target_pct": 10,
        "bus_why": "MicroPython's esp32 machine.I2C hands the transfer to ESP-IDF's "
        "i2c_master_cmd_begin, which blocks the task on a queue while the controller's "
        "interrupt moves the bytes: the core idles (WAITI) through the bus time. Not "
        "modelled: the driver's set-up per transfer and its interrupts (one per hardware "
        "FIFO refill)",
    },
}
# The RP2040's SPI clock: clk_peri (= clk_sys, 125 MHz, in MicroPython's rp2 port)
# divided by an even prescale (2..254) times a post-divider (1..256), the fastest
# that does not exceed the request (pico-sdk hardware_spi spi_set_baudrate).
RP2040_CLK_PERI_HZ = 125_000_000
# A burst is two transfers: FIFO_STATUS1/2 (2 bytes), then the FIFO words.
# I2C: each transfer costs address+W, register, repeated start with address+R
# (3 bytes), START/Sr/STOP (~3 bit times); every byte is 9 bit times with its ACK.
TRANSFER_OVERHEAD_BITS = 3 * 9 + 3
STATUS_BITS = 2 * 9 + TRANSFER_OVERHEAD_BITS
# SPI: each transfer is the command byte (register | 0x80) then the data, 8 clocks a
# byte, no ACK, no address; chip select is a GPIO the driver toggles (its cost is
# measured below as MicroPython instructions, not bus time). The SPI block streams
# bytes back to back (DMA or the polled 8-deep FIFO keeps it fed).
SPI_COMMAND_BITS = 8
TRANSFERS_PER_BURST = 2

# The SPI transport's own MicroPython cost per transfer (hal/spi_regs.py: a Python
# method, chip select low and high, two SPI calls, where the I2C path is one call
# into C), counted with callgrind on the unix port: the transport with C methods
# standing in for machine.SPI and Pin (the read from /dev/zero, the command write and
# the pin as list.count, a C method that takes one argument and does next to
# nothing, as gpio_put nearly does), minus one bare C read of the same bytes.
SPI_TRANSPORT_SCRIPT = r"""
import sys

from heavylegs_pod.hal.spi_regs import SpiRegisters


class Stand:
    pass


zero = open("/dev/zero", "rb")
spi = Stand()
spi.write = [].count
spi.readinto = zero.readinto
cs = Stand()
cs.value = [].count
bus = SpiRegisters(spi, cs)
view = memoryview(bytearray(448))
n = int(sys.argv[2])
if int(sys.argv[3]):
    read = bus.readfrom_mem_into
    for _ in range(n):
        read(0x6A, 0x78, view)
else:
    read = zero.readinto
    for _ in range(n):
        read(view)
"""


def rp2040_spi_hz(requested: int) -> float:
    prescale = 2
    while prescale <= 254 and RP2040_CLK_PERI_HZ >= (prescale + 2) * 256 * requested:
        prescale += 2
    postdiv = 256
    while postdiv > 1 and RP2040_CLK_PERI_HZ // (prescale * (postdiv - 1)) <= requested:
        postdiv -= 1
    return RP2040_CLK_PERI_HZ / (prescale * postdiv)


def bus_bits_per_sample(burst_samples: int, kind: str = "i2c") -> float:
    data_bytes = burst_samples * 2 * WORD_BYTES
    if kind == "spi":
        return ((data_bytes + 2) * 8 + TRANSFERS_PER_BURST * SPI_COMMAND_BITS) / burst_samples
    data_bits = data_bytes * 9 + TRANSFER_OVERHEAD_BITS
    return (data_bits + STATUS_BITS) / burst_samples


def spi_transport_instructions(firmware: Path) -> float:
    """x64 instructions the SPI transport adds to each transfer, over the I2C path's one
    call into C (both leave the bus itself to C)."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "spi_transport.py"
        script.write_text(SPI_TRANSPORT_SCRIPT)
        count = {}
        for mode in (0, 1):
            for n in (2000, 12000):
                # the script takes (unused path, transfers, transport or bare read)
                count[mode, n] = callgrind_instructions(script, script, firmware, n, mode)
        per = {m: (count[m, 12000] - count[m, 2000]) / 10000 for m in (0, 1)}
    return per[1] - per[0]


def project(instructions: float) -> dict[str, tuple[float, float]]:
    """CPU share at 416 Hz per reference board, and the part of it that is compute
    (the rest is the sensor bus, where the CPU waits on it); prints every assumption."""
    for kind in ("i2c", "spi"):
        bits = bus_bits_per_sample(BURST_SAMPLES, kind)
        print(
            f"{kind.upper()} per sample: {bits:.1f} bit times ({2 * WORD_BYTES} bytes of FIFO "
            f"words, plus the status read and "
            + ("addressing and ACKs" if kind == "i2c" else "the command bytes")
            + f" of a {BURST_SAMPLES}-sample burst; a burst of 4x more samples would save "
            f"{bits - bus_bits_per_sample(4 * BURST_SAMPLES, kind):.1f})"
        )
    transport = spi_transport_instructions(paths.FIRMWARE_DIR)
    print(
        f"SPI transport (hal/spi_regs.py) per transfer, beyond the I2C path's one call: "
        f"{transport:.0f} x64 instructions (callgrind, C stand-ins for machine.SPI and Pin; "
        f"not modelled: the port's DMA channel set-up per transfer of 32 bytes or more)"
    )
    projected = {}
    for mcu, spec in MCUS.items():
        board = load_board(spec["board"])
        kind = board.bus_kind
        bits = bus_bits_per_sample(BURST_SAMPLES, kind)
        cycles = spec["cycles_per_x64_instruction"] / spec["clock_hz"]
        cpu_s = instructions * cycles
        if kind == "spi":
            cpu_s += transport * TRANSFERS_PER_BURST / BURST_SAMPLES * cycles
        bus_hz = float(board.bus_hz)
        if kind == "spi" and board.data["mcu"] == "RP2040":
            bus_hz = rp2040_spi_hz(board.bus_hz)
        bus_s = bits / bus_hz
        busy_s = cpu_s + (bus_s if spec["cpu_busy_on_bus"] else 0.0)
        share = busy_s * ODR_HZ * 100
        projected[mcu] = (share, cpu_s * ODR_HZ * 100)
        print(
            f"{mcu}: {spec['clock_hz'] / 1e6:.0f} MHz, {spec['cycles_per_x64_instruction']} cycles per "
            f"x64 instruction ({spec['why']}): {cpu_s * 1e6:.1f} us compute per sample"
            + (
                f", {transport * TRANSFERS_PER_BURST / BURST_SAMPLES * cycles * 1e6:.2f} us of "
                "it the SPI transport"
                if kind == "spi"
                else ""
            )
        )
        if kind == "spi":
            clock = (
                f"SPI at {bus_hz / 1e6:.2f} MHz ({board.bus_hz / 1e6:.0f} MHz asked in "
                f"hardware/boards/{spec['board']}.json"
                + (
                    f"; the RP2040 divides {RP2040_CLK_PERI_HZ / 1e6:.0f} MHz clk_peri down to "
                    "the nearest rate not above it)"
                    if board.data["mcu"] == "RP2040"
                    else ")"
                )
            )
            other = ""
        else:
            clock = f"I2C at {bus_hz / 1e3:.0f} kHz (hardware/boards/{spec['board']}.json)"
            fm_plus = bits / 1e6 * ODR_HZ * 100
            other = f" ({fm_plus:.1f}% at the LSM6DSOX's 1 MHz Fast-mode Plus)"
        print(
            f"  {clock}: {bus_s * 1e6:.1f} us per sample, {bus_s * ODR_HZ * 100:.2f}% of the "
            f"time{other}; "
            + ("CPU busy: " if spec["cpu_busy_on_bus"] else "CPU idle: ")
            + spec["bus_why"]
        )
        print(
            f"  => {share:.1f}% CPU busy at {ODR_HZ} Hz, {cpu_s * ODR_HZ * 100:.1f}% of it "
            f"compute (target: below {spec['target_pct']}%)"
        )
    return projected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--port", help="also run on a board through mpremote")
    parser.add_argument("--board-seconds", type=float, default=20.0)
    args = parser.parse_args()
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        words = tmp / "fifo_words.bin"
        n = make_fifo_words(words, args.minutes)
        script = tmp / "bench_fw.py"
        script.write_text(BENCH_SCRIPT + UNIX_MAIN)
        bytecode = bytecode_copy(tmp)
        # ours as a pod runs it, every module through mpy-cross (here for x64): its
        # viper code keeps two locals in registers, where the unix port compiling
        # the .py keeps three
        compile_firmware("x64", tmp / "ours")
        ours = tmp / "ours" / "x64"
        timed = time_alternating(script, words, {"bytecode": bytecode, "ours": ours}, args.repeats)
        samples, strides, steady_from = timed["samples"], timed["strides"], timed["steady_from"]
        bytecode_t, ours_t = timed["bytecode"], timed["ours"]
        pair_ratios = [b / o for b, o in zip(bytecode_t["runs"], ours_t["runs"], strict=True)]
        print(
            f"samples measured per run: {samples} of {n} ({args.minutes} min at {ODR_HZ} Hz, "
            f"after calibration), strides: {strides}; timed in steady state from sample "
            f"{steady_from} on, once the frame is refined"
        )
        for label in ("bytecode", "ours"):
            entry = timed[label]
            runs = sorted(entry["runs"])
            print(
                f"unix port, {label}, us per sample in steady state: {entry['best']:.3f} with "
                f"every chunk of {entry['chunk_bursts']} bursts at its fastest in "
                f"{len(runs)} runs; the runs themselves: min {runs[0]:.3f}, median "
                f"{statistics.median(runs):.3f}, max {runs[-1]:.3f}; while the frame is "
                f"refined (a kernel call per sample): {entry['refining']:.3f} at best"
            )
        speedup = bytecode_t["best"] / ours_t["best"]
        print(
            f"speed-up vs bytecode: {speedup:.2f}x (every chunk at its fastest, "
            f"{args.repeats} alternating runs of each; the runs' own ratios, pair by pair: "
            f"min {min(pair_ratios):.2f}x, median {statistics.median(pair_ratios):.2f}x, "
            f"max {max(pair_ratios):.2f}x)"
        )
        print(f"heap bytes allocated per sample after calibration: {ours_t['alloc']:.3f}")
        report.update(
            {
                "allocs_per_sample": round(ours_t["alloc"], 3),
                "speedup_vs_bytecode": round(speedup, 2),
                "speedup_vs_bytecode_pairs": [
                    round(min(pair_ratios), 2),
                    round(statistics.median(pair_ratios), 2),
                    round(max(pair_ratios), 2),
                ],
                "us_per_sample_ours": round(ours_t["best"], 3),
                "us_per_sample_bytecode": round(bytecode_t["best"], 3),
                # the first seconds after calibration, left out of the figures above
                "refining_samples": steady_from - (n - samples),
                "speedup_vs_bytecode_refining": round(
                    bytecode_t["refining"] / ours_t["refining"], 2
                ),
            }
        )
        if shutil.which("valgrind"):
            # both lengths in steady state, so the difference is the steady state the
            # timing above measures
            first_steady = steady_from + BURST_SAMPLES
            short = max(4000, n // 4, first_steady) // BURST_SAMPLES * BURST_SAMPLES
            per_sample = {}
            for work in (2, 1, 0):
                instr_short = callgrind_instructions(script, words, ours, short, work)
                instr_long = callgrind_instructions(script, words, ours, n, work)
                per_sample[work] = (instr_long - instr_short) / (n - short)
            instructions = per_sample[2]
            bytecode_short = callgrind_instructions(script, words, bytecode, short)
            bytecode_long = callgrind_instructions(script, words, bytecode, n)
            instructions_bytecode = (bytecode_long - bytecode_short) / (n - short)
            print(
                f"x64 instructions per sample, bytecode only: {instructions_bytecode:.0f}, "
                f"{instructions_bytecode / instructions:.2f}x ours (deterministic, where the "
                f"timed speed-up depends on what else the machine is doing)"
            )
            print(
                f"x64 instructions per sample (callgrind, {n} - {short} samples): {instructions:.0f}, "
                f"of which the engine {instructions - per_sample[1]:.0f}, the driver's FIFO "
                f"unpacking {per_sample[1] - per_sample[0]:.0f} and this harness's file reads "
                f"{per_sample[0]:.0f} (the same run without the engine, then without both)"
            )
            harness = per_sample[0]
            print(
                f"  the same ratio without this harness's file reads in either build (the "
                f"pod's I2C driver does other work in their place, the same in both): "
                f"{(instructions_bytecode - harness) / (instructions - harness):.2f}x"
            )
            projected = project(instructions)
            report.update(
                {
                    "instructions_per_sample": round(instructions),
                    "instructions_per_sample_engine": round(instructions - per_sample[1]),
                    "instructions_per_sample_unpack": round(per_sample[1] - per_sample[0]),
                    "instructions_per_sample_harness": round(per_sample[0]),
                    "instructions_per_sample_bytecode": round(instructions_bytecode),
                    "speedup_vs_bytecode_instructions": round(
                        instructions_bytecode / instructions, 2
                    ),
                    "projected_cpu_pct_rp2040": round(projected["rp2040"][0], 1),
                    "projected_cpu_pct_rp2040_compute": round(projected["rp2040"][1], 1),
                    "projected_cpu_pct_rp2040_i2c": round(projected["rp2040_i2c"][0], 1),
                    "projected_cpu_pct_esp32s3": round(projected["esp32s3"][0], 1),
                }
            )
        else:
            print("valgrind is not installed: no instruction count, so no projection")
        if args.port:
            board_samples = min(n, int(args.board_seconds * ODR_HZ)) // BURST_SAMPLES
            board_words = tmp / "board_words.bin"
            data = words.read_bytes()[: board_samples * BURST_SAMPLES * 2 * WORD_BYTES]
            board_words.write_bytes(data)
            arch, (samples_b, strides_b, us_b, alloc_b) = run_board(
                args.port, board_words, tmp / "build"
            )
            samples_u, strides_u, _, _ = run_unix(script, board_words, ours)
            print(
                f"board on {args.port} ({arch}): {samples_b} samples after calibration, "
                f"{us_b / samples_b:.1f} us per sample, {alloc_b} bytes allocated, "
                f"{strides_b} strides (unix port on the same samples: {samples_u}, {strides_u})"
            )
            report.update(
                {
                    "board_arch": arch,
                    "board_samples": samples_b,
                    "board_us_per_sample": round(us_b / samples_b, 2),
                    "board_allocs_per_sample": round(alloc_b / samples_b, 3),
                    "board_strides": strides_b,
                    "unix_samples_same_run": samples_u,
                    "unix_strides_same_run": strides_u,
                }
            )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
