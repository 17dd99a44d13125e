"""Simulated pods met through the link layer: firmware in MicroPython -> simulated radio
-> real bleak -> store.

This is what `heavylegs record --sim`, `scan --sim`, `sync --sim` and `make demo`
run. The host side is the same Recorder and Syncer a real pod would meet; only the
bleak backend classes differ. It lives in cli/ because it is the one place that
joins the simulator and the link layer: neither imports the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from heavylegs.errors import HeavylegsError
from heavylegs.link.client import Backends
from heavylegs.link.keys import KeyStore, new_key
from heavylegs.link.pods import Recorder, find_pods
from heavylegs.sim.bleak_backend import SimBleakClient, SimBleakScanner
from heavylegs.sim.pod import SimPod
from heavylegs.sim.radio import SimRadio, use_radio
from heavylegs.sim.scenarios import write_scenario
from heavylegs.store import Store

# Public addresses in a block nobody ships, one per foot.
POD_ADDRESSES = {"left": "F0:00:00:00:00:01", "right": "F0:00:00:00:00:02"}
SIM_BACKENDS = Backends(scanner=SimBleakScanner, client=SimBleakClient)


def sim_pods(
    radio: SimRadio,
    traces: dict[str, Path],
    *,
    pace: str = "fast",
    pod_dir: Path | None = None,
    journal_kb: int = 512,
) -> tuple[list[SimPod], KeyStore]:
    """One simulated pod per trace, each provisioned with an owner key the host knows.

    With `pod_dir`, each pod's flash is the folder `pod_dir/<foot>` and its key
    stays there (`key.bin`), so a later run (or `heavylegs sync --sim`) meets the
    same pods with their journals.
    """
    keys = KeyStore(keys={})
    pods = []
    for foot, path in sorted(traces.items()):
        workdir = pod_dir / foot if pod_dir is not None else None
        key = None
        if workdir is not None and (workdir / "key.bin").exists():
            key = (workdir / "key.bin").read_bytes()
        key = key or new_key()
        keys.put(POD_ADDRESSES[foot], key)
        pods.append(
            SimPod(
                radio,
                path,
                foot=foot,
                name=f"heavylegs-{foot}",
                address=POD_ADDRESSES[foot],
                pace=pace,
                key=key,
                workdir=workdir,
                journal_kb=journal_kb,
            )
        )
    return pods, keys


@dataclass(frozen=True, slots=True)
class Progress:
    """What a progress display needs: strides so far and sensor time covered."""

    strides: int
    sensor_s: float
    duration_s: float


async def record_simulated(
    store: Store,
    traces: dict[str, Path],
    *,
    duration_s: float,
    run_name: str = "simulated run",
    pace: str = "fast",
    central_mtu: int = 247,
    on_progress: Callable[[Progress], None] | None = None,
    scan_timeout_s: float = 20.0,
    pod_dir: Path | None = None,
    on_run: Callable[[int], None] | None = None,
    silence_s: float = 20.0,
) -> int:
    """Run every pod's trace through its firmware and record it; returns the run id.

    `on_run` hears the run id however the recording ends, so a caller stopped
    part way (Ctrl-C) knows which run holds what was recorded. Pods that send no
    stride for `silence_s` (at fast pace) or have not finished `silence_s` after
    the run's length (at real-time pace, where a runner may stand for minutes)
    are given up on with a HeavylegsError.
    """
    async with SimRadio(central_mtu=central_mtu) as radio:
        with use_radio(radio):
            pods, keys = sim_pods(radio, traces, pace=pace, pod_dir=pod_dir)
            recorder: Recorder | None = None
            waiters: list[asyncio.Task[None]] = []
            try:
                for pod in pods:
                    await pod.start()
                devices = await find_pods(len(pods), scan_timeout_s, SIM_BACKENDS)
                recorder = Recorder(
                    store, SIM_BACKENDS, run_name=run_name, source=f"live-sim-{pace}", keys=keys
                )
                await recorder.connect(devices)
                for pod in pods:
                    pod.release_sensor()
                stop = asyncio.Event()
                flusher = asyncio.create_task(recorder.run_until(stop))
                waiters.extend(asyncio.create_task(pod.wait_done()) for pod in pods)
                loop = asyncio.get_running_loop()
                released = heard = loop.time()
                strides = 0
                while not all(w.done() for w in waiters):
                    await asyncio.wait(waiters, timeout=0.5)
                    for w in waiters:
                        if w.done() and w.exception() is not None:
                            raise w.exception()  # type: ignore[misc]
                    progress = _progress(recorder, duration_s)
                    if progress.strides != strides:
                        strides, heard = progress.strides, loop.time()
                    if pace == "realtime":
                        overdue = loop.time() - released > duration_s + silence_s
                    else:
                        overdue = loop.time() - heard > silence_s
                    if overdue:
                        raise HeavylegsError(
                            f"the simulated pods sent no stride for {silence_s:g} s; gave up"
                        )
                    if on_progress is not None:
                        on_progress(progress)
                await recorder.barrier()
                stop.set()
                await flusher
                if on_progress is not None:
                    on_progress(_progress(recorder, duration_s))
                assert recorder.run_id is not None
                return recorder.run_id
            finally:
                if recorder is not None and recorder.run_id is not None and on_run is not None:
                    on_run(recorder.run_id)
                if recorder is not None:
                    # Stopped part way (Ctrl-C, SIGTERM): what arrived live is kept and the
                    # rest stays in the pods' journals for `sync`. A journal fill begun now
                    # would race the strides still arriving live and be cut short half way.
                    task = asyncio.current_task()
                    stopping = task is not None and task.cancelling() > 0
                    await recorder.close(fill_gaps=not stopping)
                for pod in pods:
                    await pod.stop()
                # Stopped early, a waiter sees its firmware end; that is no news to anyone.
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)


def _progress(recorder: Recorder, duration_s: float) -> Progress:
    strides = sum(p.received for p in recorder.pods)
    covered = [p.last.ic_ms / 1000 for p in recorder.pods if p.last is not None]
    return Progress(strides, min(covered) if covered else 0.0, duration_s)


@contextlib.asynccontextmanager
async def sim_environment(
    pod_dir: Path | None, mtu: int = 247
) -> AsyncIterator[tuple[Backends, KeyStore]]:
    """Simulated pods booted from pod_dir's flash (or two fresh ones) on a simulated radio."""
    traces: dict[str, Path] = {}
    if pod_dir is not None and (pod_dir / "traces").exists():
        for path in sorted((pod_dir / "traces").glob("*.hltrace")):
            foot = "left" if "left" in path.stem else "right"
            traces[foot] = path
    # fresh pods' traces live as long as the pods: nothing is left in the temp folder
    scratch = contextlib.ExitStack()
    if not traces:
        base = pod_dir or Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="hlsim-")))
        traces = write_scenario("easy", base / "traces", minutes=0.2, seed=1)
    with scratch:
        async with _booted(traces, pod_dir, mtu) as booted:
            yield booted


@contextlib.asynccontextmanager
async def _booted(
    traces: dict[str, Path], pod_dir: Path | None, mtu: int
) -> AsyncIterator[tuple[Backends, KeyStore]]:
    async with SimRadio(central_mtu=mtu) as radio:
        with use_radio(radio):
            pods, keys = sim_pods(radio, traces, pod_dir=pod_dir)
            try:
                for pod in pods:
                    await pod.start()
                yield SIM_BACKENDS, keys
            finally:
                for pod in pods:
                    await pod.stop()
