"""Journal sync: pull every unsynced session from a pod into the store.

The pod streams stride records of one session on the sync characteristic, at
most SYNC_WINDOW records ahead of the last acknowledgement. The host commits
what arrived to SQLite and only then acknowledges it, so the pod never forgets
a record the store does not hold. A dropped link is reconnected (through
bleak-retry-connector) and the session resumes from what the store already has;
anything sent twice is deduplicated by (pod, session, seq).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bleak.backends.device import BLEDevice

from heavylegs.link.client import Backends, LinkError, LinkLost, PodClient
from heavylegs.link.keys import KeyStore
from heavylegs.store import Store, Stride
from heavylegs_pod import wire

log = logging.getLogger(__name__)

ACK_EVERY = 64  # records; well inside the pod's window, so the stream never stalls
COMMIT_EVERY_S = 0.5
RUN_WINDOW_S = 600.0  # synced sessions of two feet that start this close share a run
SYNC_SOURCE = "sync"


@dataclass(frozen=True, slots=True)
class PodSession:
    """A session as the pod lists it."""

    session: int
    foot: str
    open: bool
    start_s: int | None
    calibrated: bool
    damaged: bool
    count: int
    acked: int
    firmware: str

    @classmethod
    def from_wire(cls, d: dict) -> PodSession:
        return cls(**d)


@dataclass(slots=True)
class SyncReport:
    pod: str
    sessions: list[PodSession] = field(default_factory=list)
    received: int = 0
    new_strides: int = 0
    reconnects: int = 0
    recordings: dict[int, int] = field(default_factory=dict)  # pod session -> recording id


@dataclass(frozen=True, slots=True)
class SyncProgress:
    pod: str
    session: int
    done: int
    total: int


def unwrap_seq(seq16: int, expected: int) -> int:
    """The full index of a wire seq (mod 65536), the first at or after `expected`."""
    return expected + ((seq16 - expected) & 0xFFFF)


class Syncer:
    """Syncs pods one after another into `store`."""

    def __init__(
        self,
        store: Store,
        backends: Backends,
        keys: KeyStore,
        *,
        on_progress: Callable[[SyncProgress], None] | None = None,
        on_packet: Callable[[PodClient, int], None] | None = None,
        max_reconnects: int = 50,
        erase_synced: bool = False,
    ) -> None:
        self.store = store
        self.backends = backends
        self.keys = keys
        self.on_progress = on_progress
        self.on_packet = on_packet
        self.max_reconnects = max_reconnects
        self.erase_synced = erase_synced

    async def sync(self, device: BLEDevice) -> SyncReport:
        report = SyncReport(pod=device.name or device.address)
        key = self.keys.get(device.address)
        while True:
            client = PodClient(device, self.backends)
            try:
                await client.connect()
                await client.authenticate(key)
                await self._sync_all(client, report)
                if self.erase_synced:
                    await client.request(wire.OP_ERASE_SYNCED)
                return report
            except LinkLost:
                report.reconnects += 1
                if report.reconnects > self.max_reconnects:
                    raise LinkError(
                        f"{report.pod}: link dropped {report.reconnects} times; sync stopped "
                        "(what arrived is stored; run sync again)"
                    ) from None
                log.info("%s: link dropped during sync; reconnecting", report.pod)
            finally:
                await client.disconnect()

    async def list_sessions(self, client: PodClient) -> list[PodSession]:
        sessions: list[PodSession] = []

        def collect(data: bytearray) -> None:
            try:
                for tag, offset in wire.split_records(data):
                    if tag == wire.SESSION_TAG:
                        sessions.append(PodSession.from_wire(wire.decode_session(data, offset)))
            except ValueError as exc:
                log.warning("%s: bad session record: %s", client.name, exc)

        client.on_sync_data(collect)
        try:
            params = await client.request(wire.OP_LIST_SESSIONS)
        finally:
            client.on_sync_data(None)
        (count,) = struct.unpack_from("<H", params, 0)
        if len(sessions) != count:
            raise LinkError(f"{client.name}: listed {count} sessions but {len(sessions)} arrived")
        return sessions

    async def _sync_all(self, client: PodClient, report: SyncReport) -> None:
        report.sessions = await self.list_sessions(client)
        for session in report.sessions:
            recording_id = self._recording_for(client, session)
            report.recordings[session.session] = recording_id
            await self._sync_session(client, session, recording_id, report)

    def _recording_for(self, client: PodClient, session: PodSession) -> int:
        store = self.store
        found = store.find_recording(client.address, session.session)
        if found is None:
            started = float(session.start_s) if session.start_s is not None else time.time()
            run_id = store.find_run_near(started, RUN_WINDOW_S, SYNC_SOURCE, session.foot)
            if run_id is None:
                run_id = store.start_run(
                    f"synced session {session.session} ({session.foot})", SYNC_SOURCE, started
                )
            found = store.add_recording(
                run_id, client.address, client.name, session.foot, session.session, client.firmware
            )
        if session.start_s is not None:
            # A live recording's fitted clock is better than the pod's whole seconds.
            fitted = store.recording(found).clock_offset_s is not None
            store.set_recording_times(
                found,
                started_at=session.start_s,
                clock_offset_s=None if fitted else session.start_s,
                clock_rate=None if fitted else 1.0,
            )
        return found

    async def _sync_session(
        self, client: PodClient, session: PodSession, recording_id: int, report: SyncReport
    ) -> None:
        store = self.store
        have = store.contiguous_count(recording_id)
        state = store.sync_state(recording_id)
        # Past the prefix we hold, only what this store acknowledged before: a hole
        # there is a record the pod found damaged, not one to ask for again.
        start = max(have, state[0] if state else 0)
        if start >= session.count and not session.open:
            if session.acked < start:
                await client.request(wire.OP_ACK, struct.pack("<II", session.session, start))
            store.set_sync_state(recording_id, start, session.count, time.time())
            return
        if start > session.acked:
            # Already in this store (recorded live): tell the pod so it can let go.
            await client.request(
                wire.OP_ACK, struct.pack("<II", session.session, min(start, session.count))
            )
        pending: list[Stride] = []
        expected = start
        arrived = asyncio.Event()
        start_s = session.start_s

        def on_data(data: bytearray) -> None:
            nonlocal expected
            if self.on_packet is not None:
                self.on_packet(client, len(data))
            try:
                records = wire.split_records(data)
            except ValueError as exc:
                log.warning("%s: %s", client.name, exc)
                return
            for tag, offset in records:
                if tag != wire.STRIDE_VERSION:
                    continue
                decoded = wire.decode_stride(data, offset)
                index = unwrap_seq(decoded["seq"], expected)
                decoded["seq"] = index
                host_time = start_s + decoded["ic_ms"] / 1000 if start_s is not None else None
                pending.append(Stride.from_wire(decoded, host_time=host_time))
                expected = index + 1
                report.received += 1
            if len(pending) >= ACK_EVERY:
                arrived.set()

        client.on_sync_data(on_data)
        acked = start

        async def commit_and_ack() -> None:
            nonlocal acked
            if pending:
                batch = pending[:]
                report.new_strides += store.add_strides(recording_id, batch)
                del pending[: len(batch)]
            reached = expected
            if reached > acked:
                store.set_sync_state(
                    recording_id, reached, max(session.count, reached), time.time()
                )
                await client.request(wire.OP_ACK, struct.pack("<II", session.session, reached))
                acked = reached
            if self.on_progress is not None:
                self.on_progress(SyncProgress(client.name, session.session, reached, session.count))

        try:
            done = await client.send(wire.OP_START_SYNC, struct.pack("<II", session.session, start))
            while not done.done():
                arrived.clear()
                waiter = asyncio.ensure_future(arrived.wait())
                await asyncio.wait(
                    {waiter, done}, timeout=COMMIT_EVERY_S, return_when="FIRST_COMPLETED"
                )
                waiter.cancel()
                await commit_and_ack()
            params = await client.result(wire.OP_START_SYNC, done, None)
            _, end = struct.unpack_from("<II", params, 0)
            if end > expected:
                # The pod skipped damaged records at the end of its stream.
                expected = end
            await commit_and_ack()
            store.set_sync_state(recording_id, acked, max(session.count, end), time.time())
        finally:
            client.on_sync_data(None)
            if pending:
                # The link dropped: keep what arrived; the next round starts after it.
                report.new_strides += store.add_strides(recording_id, pending)
                pending.clear()
