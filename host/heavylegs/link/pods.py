"""Recording pods' strides live, through bleak (finding them: heavylegs.link.scan).

Host code here never knows whether the radio is real: the bleak backend classes
are passed in (None means bleak's platform default), exactly as `BleakScanner`
and `BleakClient` take them.

A live recording follows the pod's sessions through its status notifications
(a new session id starts a new recording), unwraps the 16-bit stride sequence
numbers, fits each pod's sensor clock to host time, commits to the store about
once a second, and reconnects by itself when a link drops. With the owner key,
it starts a fresh session on each pod, and at the end pulls from the pods'
journals whatever the live stream missed.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bleak.backends.device import BLEDevice

from heavylegs.link.client import (
    RSC_MEASUREMENT,
    Backends,
    LinkError,
    PodClient,
    PodRefused,
)
from heavylegs.link.clock import ClockFit, gct_balance_pct, pair_steps
from heavylegs.link.ingest import SyncReport
from heavylegs.link.journal_fill import fill_from_journal
from heavylegs.link.keys import KeyStore
from heavylegs.link.scan import ScanResult, find_pods, scan
from heavylegs.link.sync import SessionKeptApart, Syncer, unwrap_seq
from heavylegs.store import Store, Stride
from heavylegs_pod import wire

__all__ = [
    "Backends",
    "LinkError",
    "LivePod",
    "Recorder",
    "ScanResult",
    "find_pods",
    "scan",
]

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 1.0  # a killed host loses at most this much, well inside the 2 s promise
RECONNECT_PAUSE_S = 0.5


@dataclass(slots=True)
class LivePod:
    """One pod during a live recording."""

    device: BLEDevice
    client: PodClient
    foot: str = "left"
    session: int = 0
    recording_id: int | None = None
    next_index: int = 0
    clock: ClockFit = field(default_factory=ClockFit)
    clocks: dict[int, ClockFit] = field(default_factory=dict)  # recording id -> fit
    pending: list[tuple[int, Stride]] = field(default_factory=list)
    received: int = 0
    bad_records: int = 0
    reconnects: int = 0
    last: Stride | None = None
    last_rsc: dict[str, Any] | None = None
    recent: list[Stride] = field(default_factory=list)
    started_session: int = 0
    # the pod's journal epoch: with the address and session id, a session's identity
    # (0 when the pod cannot be asked: no owner key)
    epoch: int = 0

    @property
    def name(self) -> str:
        return self.device.name or self.device.address

    @property
    def firmware(self) -> str:
        return self.client.firmware


class Recorder:
    """Connects to pods, subscribes, and writes strides to the store about once a second."""

    def __init__(
        self,
        store: Store,
        backends: Backends,
        *,
        run_name: str,
        source: str,
        keys: KeyStore | None = None,
        start_sessions: bool = True,
        on_stride: Callable[[LivePod, Stride], None] | None = None,
    ) -> None:
        self.store = store
        self.backends = backends
        self.run_name = run_name
        self.source = source
        self.keys = keys
        self.start_sessions = start_sessions
        self.on_stride = on_stride
        self.pods: list[LivePod] = []
        self.run_id: int | None = None
        self._closing = False
        self._reconnecting: dict[str, asyncio.Task[None]] = {}
        self.gap_reports: list[SyncReport] = []
        # recording -> the copy its strides went to when they clashed with stored ones
        self._kept_apart: dict[int, int] = {}
        self.warnings: list[str] = []

    async def connect(self, devices: list[BLEDevice]) -> None:
        self.run_id = self.store.start_run(self.run_name, self.source, time.time())
        for device in devices:
            pod = LivePod(device, PodClient(device, self.backends, on_lost=self._lost))
            self.pods.append(pod)
            await self._attach(pod, first=True)

    async def _attach(self, pod: LivePod, *, first: bool) -> None:
        client = pod.client
        await client.connect()
        key = self.keys.get(pod.device.address) if self.keys is not None else None
        if key is not None:
            await client.authenticate(key)
            pod.epoch = (await client.identity()).epoch
            await client.request(wire.OP_SET_TIME, struct.pack("<I", int(time.time())))
            if first and self.start_sessions:
                params = await client.request(wire.OP_START_SESSION)
                pod.started_session = struct.unpack_from("<I", params, 0)[0]
        assert client.client is not None
        sent = time.time()
        status = await client.status()
        self._on_status(pod, status, (sent + time.time()) / 2)
        await client.client.start_notify(wire.RD_STATUS_UUID, self._status_handler(pod))
        await client.client.start_notify(wire.RD_STRIDE_UUID, self._stride_handler(pod))
        await client.client.start_notify(RSC_MEASUREMENT, self._rsc_handler(pod))

    # --- notifications -------------------------------------------------------------

    def _on_status(self, pod: LivePod, status: dict[str, Any], at: float) -> None:
        pod.foot = status["foot"]
        if status["state"] != "recording" or not status["session"]:
            return
        if status["session"] != pod.session:
            self._switch_session(pod, status["session"])
        pod.clock.add(status["clock_ms"], at)

    def _switch_session(self, pod: LivePod, session: int) -> None:
        assert self.run_id is not None
        pod.session = session
        pod.recording_id = self.store.add_recording(
            self.run_id,
            pod_address=pod.device.address,
            pod_name=pod.name,
            foot=pod.foot,
            pod_session=session,
            firmware=pod.firmware,
            epoch=pod.epoch,
        )
        pod.recording_id = self._kept_apart.get(pod.recording_id, pod.recording_id)
        pod.clock = pod.clocks.setdefault(pod.recording_id, ClockFit())
        have = self.store.contiguous_count(pod.recording_id)
        pod.next_index = have

    def _status_handler(self, pod: LivePod) -> Callable[[Any, bytearray], None]:
        def handle(_char: Any, data: bytearray) -> None:
            try:
                status = wire.decode_status(data)
            except ValueError as exc:
                log.warning("%s: malformed status: %s", pod.name, exc)
                return
            self._on_status(pod, status, time.time())

        return handle

    def _stride_handler(self, pod: LivePod) -> Callable[[Any, bytearray], None]:
        def handle(_char: Any, data: bytearray) -> None:
            now = time.time()
            try:
                records = wire.split_records(data)
                decoded = [wire.decode_stride(data, offset) for _, offset in records]
            except ValueError as exc:
                pod.bad_records += 1
                log.warning("%s: dropped a malformed stride record: %s", pod.name, exc)
                return
            if pod.recording_id is None:
                pod.bad_records += len(decoded)
                log.warning("%s: stride before any session was announced", pod.name)
                return
            for d in decoded:
                index = unwrap_seq(d["seq"], pod.next_index)
                if index - pod.next_index > 0x8000:
                    # Far ahead means behind: a repeat from before a reconnect.
                    index -= 0x10000
                d["seq"] = index
                pod.next_index = max(pod.next_index, index + 1)
                aligned = pod.clock.host_time(d["ic_ms"])
                stride = Stride.from_wire(d, host_time=aligned if aligned is not None else now)
                pod.pending.append((pod.recording_id, stride))
                pod.received += 1
                pod.last = stride
                pod.recent.append(stride)
                if len(pod.recent) > 40:
                    del pod.recent[:20]
                if self.on_stride is not None:
                    self.on_stride(pod, stride)

        return handle

    def _rsc_handler(self, pod: LivePod) -> Callable[[Any, bytearray], None]:
        def handle(_char: Any, data: bytearray) -> None:
            try:
                pod.last_rsc = wire.decode_rsc(data)
            except ValueError as exc:
                log.warning("%s: malformed RSC measurement: %s", pod.name, exc)

        return handle

    # --- reconnection --------------------------------------------------------------

    def _lost(self, client: PodClient) -> None:
        if self._closing:
            return
        for pod in self.pods:
            if pod.client is client and pod.device.address not in self._reconnecting:
                task = asyncio.get_running_loop().create_task(self._reconnect(pod))
                self._reconnecting[pod.device.address] = task

    async def _reconnect(self, pod: LivePod) -> None:
        try:
            while not self._closing:
                try:
                    await pod.client.disconnect()
                    await self._attach(pod, first=False)
                    pod.reconnects += 1
                    log.info("%s: reconnected", pod.name)
                    return
                except (LinkError, TimeoutError) as exc:
                    log.info("%s: reconnect failed (%s); trying again", pod.name, exc)
                    await asyncio.sleep(RECONNECT_PAUSE_S)
        finally:
            self._reconnecting.pop(pod.device.address, None)

    # --- storing -------------------------------------------------------------------

    def flush(self) -> int:
        """Commit what arrived so far; returns the number of new strides stored."""
        stored = 0
        for pod in self.pods:
            if not pod.pending:
                continue
            batch = pod.pending[:]
            by_recording: dict[int, list[Stride]] = {}
            for recording_id, stride in batch:
                by_recording.setdefault(recording_id, []).append(stride)
            for recording_id, strides in by_recording.items():
                target = self._kept_apart.get(recording_id, recording_id)
                wrote = self.store.store_strides(target, strides)
                stored += wrote.new
                if wrote.recording_id != target:
                    self._keep_apart(pod, target, wrote.recording_id)
            # only what is committed leaves memory; a failed write is retried
            del pod.pending[: len(batch)]
        return stored

    def _keep_apart(self, pod: LivePod, recording_id: int, copy_id: int) -> None:
        """The store met another session under this one's identity: follow the copy."""
        self._kept_apart[recording_id] = copy_id
        for original, target in list(self._kept_apart.items()):
            if target == recording_id:
                self._kept_apart[original] = copy_id
        if pod.recording_id == recording_id:
            pod.recording_id = copy_id
        pod.clocks.setdefault(copy_id, pod.clocks.get(recording_id, ClockFit()))
        pod.pending[:] = [
            (copy_id if rid == recording_id else rid, stride) for rid, stride in pod.pending
        ]
        self.warnings.append(
            f"{pod.name} session {pod.session}: the store already held a different session "
            f"under this identity; kept this one apart as recording {copy_id}"
        )

    async def run_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), FLUSH_EVERY_S)
            except TimeoutError:
                pass
            self.flush()

    async def barrier(self, timeout_s: float = 10.0) -> None:
        """Until every stride a pod counted in its session has arrived (or timeout_s).

        The pod paces its notifications, so a stride can still be queued on it when
        the caller decides to stop.
        """
        deadline = time.monotonic() + timeout_s
        for pod in self.pods:
            while pod.client.is_connected and time.monotonic() < deadline:
                try:
                    status = await pod.client.status()
                except LinkError:
                    break
                if status["session"] != pod.session or pod.next_index >= status["strides"]:
                    break
                await asyncio.sleep(0.02)

    def live_summary(self) -> dict[str, Any]:
        """Per foot: cadence and contact time of the last strides, and GCT balance."""
        out: dict[str, Any] = {}
        for pod in self.pods:
            recent = pod.recent[-8:]
            if recent:
                out[pod.foot] = {
                    "cadence_spm": sum(s.cadence_spm for s in recent) / len(recent),
                    "gct_ms": sum(s.gct_ms for s in recent) / len(recent),
                    "strides": pod.received,
                    "connected": pod.client.is_connected,
                }
        feet = {pod.foot: pod for pod in self.pods}
        if "left" in feet and "right" in feet:
            left, right = feet["left"].recent[-12:], feet["right"].recent[-12:]
            pairs = pair_steps(
                [s.host_time or 0.0 for s in left], [s.host_time or 0.0 for s in right], 1.0
            )
            if pairs:
                out["balance_pct"] = gct_balance_pct(
                    [left[i].gct_ms for i, _ in pairs], [right[j].gct_ms for _, j in pairs]
                )
        return out

    async def close(self, *, fill_gaps: bool = True) -> None:
        """Stop the sessions this recording started, store everything, fill gaps from journals."""
        self._closing = True
        for task in list(self._reconnecting.values()):
            task.cancel()
        self.flush()
        for pod in self.pods:
            client = pod.client
            if not client.is_connected:
                continue
            try:
                if pod.started_session and client.authenticated:
                    await client.request(wire.OP_STOP_SESSION)
                if fill_gaps and client.authenticated:
                    syncer = Syncer(self.store, self.backends, self.keys or KeyStore(keys={}))
                    report = await fill_from_journal(
                        self.store,
                        syncer,
                        client,
                        pod_name=pod.name,
                        seen_live=pod.clocks,
                        kept_apart=self._kept_apart,
                    )
                    self.gap_reports.append(report)
            except (LinkError, PodRefused) as exc:
                log.warning("%s: could not finish on the pod: %s", pod.name, exc)
            except SessionKeptApart as kept:
                self.warnings.append(
                    f"{pod.name}: the journal's session differs from what arrived live; "
                    f"kept apart as recording {kept.recording_id} (run sync to complete it)"
                )
        for pod in self.pods:
            for recording_id, clock in pod.clocks.items():
                if clock.known and clock.offset_s is not None:
                    self.store.set_recording_times(
                        recording_id, clock_offset_s=clock.offset_s, clock_rate=clock.rate
                    )
                    # Seen live: the host's own clock dates it.
                    start = clock.offset_s
                    self.store.set_recording_date(
                        recording_id, "exact", start, start - 1.0, start + 1.0
                    )
            await pod.client.disconnect()
        if self.run_id is not None:
            self.store.finish_run(self.run_id, time.time())
