"""A simulated pod: the unmodified firmware in the real `micropython` binary.

The process gets the simulated board (machine/bluetooth stand-ins) on its path,
a working directory that plays the pod's flash (board.json, pod.json), a trace
for its sensor, and a Unix socket to a PodBridge that turns its GATT server into
a bumble peripheral on the simulated radio.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from pathlib import Path

from heavylegs.errors import HeavylegsError
from heavylegs.sim import paths
from heavylegs.sim.pod_bridge import PodBridge
from heavylegs.sim.radio import SimRadio

BOARD_EVENT_TRACE_END = 0x80
SIM_BOARD = {
    "name": "simulated pod",
    "i2c": {"id": 0, "freq": 400000},
    "imu": {"address": 0x6A, "part": "LSM6DSOX", "int1": 4},
}


class SimPodError(HeavylegsError):
    """The simulated pod's firmware failed; the message carries its traceback."""


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
        part: str = "LSM6DSOX",
    ) -> None:
        self.radio = radio
        self.trace = Path(trace).resolve()
        self.foot = foot
        self.name = name
        self.address = address
        self.pace = pace
        self.part = part
        self.trace_done = asyncio.Event()
        self.ticks_at_end = 0
        # Unix socket paths are limited to ~100 bytes: keep the directory short.
        self.workdir = Path(tempfile.mkdtemp(prefix="hlpod-"))
        self._go = self.workdir / "go"
        self.bridge: PodBridge | None = None
        self.process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[bytes] | None = None

    async def start(self) -> None:
        board = dict(SIM_BOARD, imu=dict(SIM_BOARD["imu"], part=self.part))
        (self.workdir / "board.json").write_text(json.dumps(board))
        (self.workdir / "pod.json").write_text(json.dumps({"foot": self.foot, "name": self.name}))
        socket_path = self.workdir / "ble.sock"
        self.bridge = PodBridge(self.radio, str(socket_path), address=self.address, name=self.name)
        self.bridge.on_board_event = self._board_event
        await self.bridge.start()
        env = dict(os.environ)
        env.update(
            MICROPYPATH=paths.micropython_path(),
            HEAVYLEGS_SIM_SOCKET=str(socket_path),
            HEAVYLEGS_SIM_TRACE=str(self.trace),
            HEAVYLEGS_SIM_PART=self.part,
            HEAVYLEGS_SIM_PACE=self.pace,
            HEAVYLEGS_SIM_GO=str(self._go),
            HEAVYLEGS_SIM_POD=self.address,
        )
        # The pod's own heap budget is checked by a firmware test; the emulated
        # chip shares this process, so the simulated board gets more room.
        self.process = await asyncio.create_subprocess_exec(
            paths.micropython_binary(),
            "-X",
            "heapsize=512K",
            str(paths.MAIN_PY),
            cwd=self.workdir,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._stderr_task = asyncio.create_task(self.process.stderr.read())  # type: ignore[union-attr]

    def release_sensor(self) -> None:
        """Start the run: the simulated sensor's clock begins to move."""
        self._go.touch()

    def _board_event(self, kind: int, payload: bytes) -> None:
        if kind == BOARD_EVENT_TRACE_END:
            self.ticks_at_end = int.from_bytes(payload[:4], "little")
            self.trace_done.set()

    async def wait_done(self) -> None:
        """Until the whole trace went through the firmware; raises if the firmware died."""
        assert self.process is not None
        exited = asyncio.create_task(self.process.wait())
        done_waiter = asyncio.create_task(self.trace_done.wait())
        finished, _ = await asyncio.wait({exited, done_waiter}, return_when=asyncio.FIRST_COMPLETED)
        if exited in finished and not self.trace_done.is_set():
            done_waiter.cancel()
            raise SimPodError(f"pod {self.name} firmware exited:\n{await self.stderr()}")
        exited.cancel()

    async def stderr(self) -> str:
        if self._stderr_task is None:
            return ""
        if self.process is not None and self.process.returncode is None:
            return ""
        return (await self._stderr_task).decode(errors="replace")

    async def stop(self) -> None:
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
        shutil.rmtree(self.workdir, ignore_errors=True)
