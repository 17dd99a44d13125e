"""Journal sync: pull every unsynced session from a pod into the store.

The pod streams stride records of one session on the sync characteristic, at
most SYNC_WINDOW records ahead of the last acknowledgement; records it cannot
read it declares in gap records, which count against the window like sent ones.
The host commits what arrived to SQLite and only then acknowledges it, so the
pod never forgets a record the store does not hold. A dropped link is
reconnected (through bleak-retry-connector) and the session resumes from what
the store already has.

A session is identified for ever by (pod address, journal epoch, session id):
session ids restart at 1 when a pod's journal is created, the epoch does not
repeat. Before resuming a session the host has part of, it reads the last
stride it holds once more: if that differs, the pod's session is another one
under the same identity, and it goes into a recording of its own (the store
never merges two sessions).

Registering, dating and pairing the sessions is shared with USB pull
(heavylegs.link.ingest). A stuck pod is given up after a progress watchdog or an
overall limit, with what was stored said, and never holds up the next pod.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Callable
from typing import Any

from bleak.backends.device import BLEDevice

from heavylegs.errors import HeavylegsError
from heavylegs.link.client import (
    Backends,
    LinkError,
    LinkLost,
    PodClient,
    PodIdentity,
    PodRefused,
)
from heavylegs.link.ingest import (
    PodSession,
    SyncProgress,
    SyncReport,
    date_sessions,
    erasable_sessions,
    place_runs,
    register_sessions,
)
from heavylegs.link.keys import KeyStore
from heavylegs.link.pod_journal import drop_session, list_sessions
from heavylegs.store import PodContact, Store, Stride
from heavylegs_pod import wire

log = logging.getLogger(__name__)

ACK_EVERY = 64  # records; well inside the pod's window, so the stream never stalls
COMMIT_EVERY_S = 0.5
STALL_S = 15.0  # a session that moves no record this long is stuck
MIN_TOTAL_S = 60.0  # a whole pod's sync may take at least this long ...
RECORDS_PER_S = 200.0  # ... or this rate over what it has to send, if longer


class SyncStopped(LinkError):
    """A pod's sync was given up (no progress, or over its time limit) in `session`."""

    def __init__(self, message: str, session: int | None = None) -> None:
        super().__init__(message)
        self.session = session


class SessionKeptApart(HeavylegsError):
    """A session turned out to be another than the one stored under its identity;
    its strides went to `recording_id`, a copy kept apart.

    Not a LinkError: the link is fine, and the handlers that give up on a pod
    must let this one through to the caller that completes the copy."""

    def __init__(self, recording_id: int) -> None:
        super().__init__(recording_id)
        self.recording_id = recording_id


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
        stall_s: float = STALL_S,
        min_total_s: float = MIN_TOTAL_S,
        records_per_s: float = RECORDS_PER_S,
    ) -> None:
        self.store = store
        self.backends = backends
        self.keys = keys
        self.on_progress = on_progress
        self.on_packet = on_packet
        self.max_reconnects = max_reconnects
        self.erase_synced = erase_synced
        self.stall_s = stall_s
        self.min_total_s = min_total_s
        self.records_per_s = records_per_s

    # --- one pod ---------------------------------------------------------------------

    async def sync(self, device: BLEDevice) -> SyncReport:
        """Sync one pod; raises LinkError (SyncStopped if given up) saying what was stored."""
        report = SyncReport(pod=device.name or device.address, address=device.address)
        key = self.keys.get(device.address)
        # Known before this sync lists anything: the earliest a new session can date from.
        listed_before = self.store.pod_contact(device.address)
        started = time.monotonic()
        deadline: float | None = None
        identity: PodIdentity | None = None
        try:
            while True:
                client = PodClient(device, self.backends)
                try:
                    await client.connect()
                    await client.authenticate(key)
                    identity = await client.identity()
                    report.sessions = await self.list_sessions(client)
                    if deadline is None:
                        left = sum(max(0, s.count - s.acked) for s in report.sessions)
                        deadline = started + max(self.min_total_s, left / self.records_per_s)
                    self._register(client, identity, report)
                    for session in report.sessions:
                        await self._sync_one(client, session, report, deadline)
                    self._date_and_pair(report, identity, listed_before)
                    if self.erase_synced:
                        await self._erase_verified(client, report)
                    return report
                except LinkLost:
                    report.reconnects += 1
                    if report.reconnects > self.max_reconnects:
                        raise LinkError(
                            f"{report.pod}: link dropped {report.reconnects} times; sync "
                            f"stopped ({self._stored(report)}; run sync again)"
                        ) from None
                    if deadline is not None and time.monotonic() > deadline:
                        raise SyncStopped(
                            f"{report.pod}: sync stopped after {time.monotonic() - started:.0f} s "
                            f"of dropped links ({self._stored(report)}; run sync again)"
                        ) from None
                    log.info("%s: link dropped during sync; reconnecting", report.pod)
                finally:
                    await client.disconnect()
        except LinkError as exc:
            if identity is not None and report.recordings:
                # What did arrive is dated and placed like a finished sync's.
                self._date_and_pair(report, identity, listed_before)
            if isinstance(exc, SyncStopped):
                which = exc.session if exc.session is not None else "SESSION"
                raise SyncStopped(
                    f"{exc} ({self._stored(report)}); run sync again, or if the session is "
                    f"damaged drop it: heavylegs drop {which} --pod {device.address}",
                    exc.session,
                ) from None
            raise

    def _stored(self, report: SyncReport) -> str:
        held = len(report.recordings)
        return (
            f"{report.new_strides} new strides from {held} session{'s' if held != 1 else ''} "
            "are stored"
        )

    async def list_sessions(self, client: PodClient) -> list[PodSession]:
        return await list_sessions(client)

    # --- recordings, dates, runs -----------------------------------------------------

    def _register(self, client: PodClient, identity: PodIdentity, report: SyncReport) -> None:
        """A recording for every listed session with strides; then note this listing."""
        register_sessions(
            self.store, client.address, client.name, report, identity.at, report.sessions
        )
        self.store.set_pod_listed(
            client.address,
            identity.at,
            epoch=identity.epoch,
            last_session=max((s.session for s in report.sessions), default=0),
        )

    def _date_and_pair(
        self, report: SyncReport, identity: PodIdentity | None, listed_before: PodContact | None
    ) -> None:
        date_sessions(self.store, report, identity, listed_before)
        place_runs(self.store, report)

    # --- one session ----------------------------------------------------------------

    async def _sync_one(
        self, client: PodClient, session: PodSession, report: SyncReport, deadline: float
    ) -> None:
        recording_id = report.recordings.get(session.session)
        if recording_id is None:
            return
        try:
            await self._sync_session(client, session, recording_id, report, deadline)
        except SessionKeptApart as diverted:
            # Kept apart from the recording it clashed with: fill the copy from the start.
            report.recordings[session.session] = diverted.recording_id
            report.new_recordings.add(diverted.recording_id)
            report.warnings.append(
                f"session {session.session}: the store already held a different session "
                f"under this identity; kept this one apart as recording {diverted.recording_id}"
            )
            await self._sync_session(client, session, diverted.recording_id, report, deadline)

    async def _sync_session(
        self,
        client: PodClient,
        session: PodSession,
        recording_id: int,
        report: SyncReport,
        deadline: float | None = None,
    ) -> None:
        store = self.store
        have = store.contiguous_count(recording_id)
        state = store.sync_state(recording_id)
        # Past the prefix we hold, only what this store acknowledged before: a hole
        # there is a record the pod found damaged, not one to ask for again.
        start = max(have, state[0] if state else 0)
        if start > session.count:
            # The store holds more than the pod has: not this session. Read it all;
            # the store keeps apart whatever differs.
            start = 0
        # Acknowledging what the store holds is only safe if it is this session's. When
        # the pod does not remember our acknowledgements, or the identity is a session
        # id alone (epoch 0: journaled before protocol 3), read the last stride we hold
        # once more and compare.
        suspect = session.acked < start or session.epoch == 0
        verify = store.last_stride_below(recording_id, start) if start and suspect else None
        first = verify if verify is not None else start
        if first >= session.count and not session.open:
            store.set_sync_state(recording_id, start, session.count, time.time())
            return
        pending: list[Stride] = []
        pending_gaps: list[tuple[int, int]] = []
        expected = first
        arrived = asyncio.Event()
        start_s = session.start_s

        def lost(first_lost: int, count: int) -> None:
            pending_gaps.append((first_lost, count))
            report.gaps[recording_id] = report.gaps.get(recording_id, 0) + count

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
                if tag == wire.GAP_TAG:
                    gap = wire.decode_gap(data, offset)
                    end = gap["first"] + gap["count"]
                    if gap["session"] == session.session and end > expected:
                        begin = max(gap["first"], expected)
                        lost(begin, end - begin)
                        expected = end
                    continue
                if tag != wire.STRIDE_VERSION:
                    continue
                decoded = wire.decode_stride(data, offset)
                index = unwrap_seq(decoded["seq"], expected)
                if index > expected:
                    # Skipped without a word (a pod before protocol 3): lost all the same.
                    lost(expected, index - expected)
                decoded["seq"] = index
                host_time = start_s + decoded["ic_ms"] / 1000 if start_s is not None else None
                pending.append(Stride.from_wire(decoded, host_time=host_time))
                expected = index + 1
                report.received += 1
            if len(pending) >= ACK_EVERY:
                arrived.set()

        client.on_sync_data(on_data)
        acked = first

        async def commit_and_ack() -> None:
            nonlocal acked
            if pending:
                batch = pending[:]
                wrote = store.store_strides(recording_id, batch)
                del pending[: len(batch)]
                report.new_strides += wrote.new
                if wrote.recording_id != recording_id:
                    raise SessionKeptApart(wrote.recording_id)
            for gap in pending_gaps:
                store.add_gap(recording_id, *gap)
            pending_gaps.clear()
            reached = expected
            if reached > acked:
                store.set_sync_state(
                    recording_id, reached, max(session.count, reached), time.time()
                )
                try:
                    await client.request(
                        wire.OP_ACK,
                        struct.pack("<II", session.session, reached),
                        timeout_s=max(self.stall_s, 1.0),
                    )
                except (LinkLost, PodRefused):
                    raise
                except LinkError:
                    raise SyncStopped(
                        f"{client.name}: sync stopped: the pod stopped answering in session "
                        f"{session.session} at record {reached} of {session.count}",
                        session.session,
                    ) from None
                acked = reached
            if self.on_progress is not None:
                self.on_progress(SyncProgress(client.name, session.session, reached, session.count))

        moved_at = time.monotonic()
        moved_to = expected
        try:
            done = await client.send(wire.OP_START_SYNC, struct.pack("<II", session.session, first))
            while not done.done():
                arrived.clear()
                waiter = asyncio.ensure_future(arrived.wait())
                watched: set[asyncio.Future[Any]] = {waiter, done}
                await asyncio.wait(watched, timeout=COMMIT_EVERY_S, return_when="FIRST_COMPLETED")
                waiter.cancel()
                await commit_and_ack()
                now = time.monotonic()
                if expected > moved_to:
                    moved_to, moved_at = expected, now
                elif now - moved_at > self.stall_s:
                    raise SyncStopped(
                        f"{client.name}: sync stopped: session {session.session} moved no "
                        f"record for {self.stall_s:.0f} s at record {expected} of "
                        f"{session.count}",
                        session.session,
                    )
                if deadline is not None and now > deadline:
                    raise SyncStopped(
                        f"{client.name}: sync stopped: over its time limit in session "
                        f"{session.session} at record {expected} of {session.count}",
                        session.session,
                    )
            params = await client.result(wire.OP_START_SYNC, done, None)
            _, end = struct.unpack_from("<II", params, 0)
            if end > expected:
                # Records skipped at the end of the stream without a gap record.
                lost(expected, end - expected)
                expected = end
            await commit_and_ack()
            store.set_sync_state(recording_id, acked, max(session.count, end), time.time())
        except SessionKeptApart:
            pending.clear()  # stored in the copy, which is filled again from the start
            pending_gaps.clear()
            await _stop_stream(client)
            raise
        except SyncStopped:
            await _stop_stream(client)
            raise
        finally:
            client.on_sync_data(None)
            if pending:
                # The link dropped: keep what arrived; the next round starts after it.
                report.new_strides += store.store_strides(recording_id, pending).new
                pending.clear()
            for gap in pending_gaps:
                store.add_gap(recording_id, *gap)

    # --- erasing ---------------------------------------------------------------------

    async def _erase_verified(self, client: PodClient, report: SyncReport) -> None:
        """Erase each closed session the store holds in full under its identity."""
        for session in erasable_sessions(self.store, report):
            await client.request(wire.OP_ERASE_SESSION, struct.pack("<I", session.session))
            report.erased.append(session.session)

    async def drop(self, device: BLEDevice, session_id: int, *, force: bool = False) -> str:
        """Erase one session from a pod (a damaged one the sync cannot finish).

        Refused unless the store holds every record of it, or `force`."""
        return await drop_session(
            self.store, self.backends, self.keys, device, session_id, force=force
        )


async def _stop_stream(client: PodClient) -> None:
    try:
        await client.request(wire.OP_STOP_SYNC, timeout_s=2.0)
    except LinkError:
        pass  # the link is going anyway
