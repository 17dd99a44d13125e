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

Dates are honest: a session the pod dated with a set clock is exact; one dated
only by the pod's uptime is placed by arithmetic at this sync (approximate);
otherwise only bounds are known. Left and right sessions share a run only when
their times provably overlap. A stuck pod is given up after a progress
watchdog or an overall limit, with what was stored said, and never holds up
the next pod.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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
from heavylegs.link.keys import KeyStore
from heavylegs.store import PodContact, RecordingInfo, Store, Stride
from heavylegs_pod import wire

log = logging.getLogger(__name__)

ACK_EVERY = 64  # records; well inside the pod's window, so the stream never stalls
COMMIT_EVERY_S = 0.5
SYNC_SOURCE = "sync"
STALL_S = 15.0  # a session that moves no record this long is stuck
MIN_TOTAL_S = 60.0  # a whole pod's sync may take at least this long ...
RECORDS_PER_S = 200.0  # ... or this rate over what it has to send, if longer
# A pod's clock is its crystal: 100 ppm covers its drift over a day, 1 s its
# whole-second counting and the answer's round trip.
CLOCK_PPM = 100e-6
CLOCK_BASE_S = 1.0


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


@dataclass(frozen=True, slots=True)
class PodSession:
    """A session as the pod lists it (session record, then its identity record)."""

    session: int
    foot: str
    open: bool
    start_s: int | None
    calibrated: bool
    damaged: bool
    count: int
    acked: int
    firmware: str
    epoch: int = 0
    boot: int | None = None
    start_clock_s: int | None = None

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> PodSession:
        return cls(**d)

    def with_identity(self, ident: dict[str, Any]) -> PodSession:
        """Merge a decoded identity record (wire.decode_identity)."""
        return dataclasses.replace(
            self, epoch=ident["epoch"], boot=ident["boot"], start_clock_s=ident["start_clock_s"]
        )


@dataclass(slots=True)
class SyncReport:
    pod: str
    address: str = ""
    sessions: list[PodSession] = field(default_factory=list)
    received: int = 0
    new_strides: int = 0
    reconnects: int = 0
    recordings: dict[int, int] = field(default_factory=dict)  # pod session -> recording id
    new_recordings: set[int] = field(default_factory=set)
    gaps: dict[int, int] = field(default_factory=dict)  # recording id -> records declared lost
    warnings: list[str] = field(default_factory=list)
    erased: list[int] = field(default_factory=list)
    not_erased: list[int] = field(default_factory=list)

    def summary(self) -> str:
        sessions = len(self.sessions)
        return (
            f"{self.pod}: {sessions} session{'s' if sessions != 1 else ''}, "
            f"{self.new_strides} new strides, {self.reconnects} reconnect(s)"
        )


@dataclass(frozen=True, slots=True)
class SyncProgress:
    pod: str
    session: int
    done: int
    total: int


def unwrap_seq(seq16: int, expected: int) -> int:
    """The full index of a wire seq (mod 65536), the first at or after `expected`."""
    return expected + ((seq16 - expected) & 0xFFFF)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at).astimezone().strftime("%Y-%m-%d %H:%M")


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
        sessions: list[PodSession] = []

        def collect(data: bytearray) -> None:
            try:
                for tag, offset in wire.split_records(data):
                    if tag == wire.SESSION_TAG:
                        sessions.append(PodSession.from_wire(wire.decode_session(data, offset)))
                    elif tag == wire.IDENTITY_TAG:
                        ident = wire.decode_identity(data, offset)
                        for k in range(len(sessions) - 1, -1, -1):
                            if sessions[k].session == ident["session"]:
                                sessions[k] = sessions[k].with_identity(ident)
                                break
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
        for session in report.sessions:
            if session.open:
                continue
            if session_held(self.store, report, session):
                await client.request(wire.OP_ERASE_SESSION, struct.pack("<I", session.session))
                report.erased.append(session.session)
            else:
                report.not_erased.append(session.session)
                report.warnings.append(
                    f"session {session.session} not erased: the store does not hold all "
                    f"{session.count} of its records"
                )

    async def drop(self, device: BLEDevice, session_id: int, *, force: bool = False) -> str:
        """Erase one session from a pod (a damaged one the sync cannot finish).

        Refused unless the store holds every record of it, or `force`."""
        client = PodClient(device, self.backends)
        name = device.name or device.address
        try:
            await client.connect()
            await client.authenticate(self.keys.get(device.address))
            sessions = {s.session: s for s in await self.list_sessions(client)}
            session = sessions.get(session_id)
            if session is None:
                listed = ", ".join(str(s) for s in sorted(sessions)) or "none"
                raise LinkError(f"{name} has no session {session_id} (it has: {listed})")
            recording_id = self.store.find_recording(
                device.address, session_id, epoch=session.epoch, latest_copy=True
            )
            held = recording_id is not None and self.store.holds_session(
                recording_id, session.count
            )
            if not held and not force:
                have = self.store.recording(recording_id).stride_count if recording_id else 0
                raise LinkError(
                    f"{name} session {session_id}: the store holds {have} of its "
                    f"{session.count} records; run sync first, or add --force to erase "
                    "it anyway (what the store lacks is lost)"
                )
            await client.request(wire.OP_ERASE_SESSION, struct.pack("<I", session_id))
        finally:
            await client.disconnect()
        kept = "held in full by the store" if held else "NOT all of it in the store (--force)"
        return f"{name}: erased session {session_id} ({session.count} records; {kept})"


async def _stop_stream(client: PodClient) -> None:
    try:
        await client.request(wire.OP_STOP_SYNC, timeout_s=2.0)
    except LinkError:
        pass  # the link is going anyway


# --- shared with USB pull ----------------------------------------------------------


def register_sessions(
    store: Store,
    address: str,
    name: str,
    report: SyncReport,
    listed_at: float,
    sessions: list[PodSession],
) -> None:
    """A recording for every listed session that has strides (an empty one never
    becomes a run), in a run of its own until place_runs pairs it."""
    for session in sessions:
        if session.count == 0:
            continue
        recording_id = store.find_recording(
            address, session.session, epoch=session.epoch, latest_copy=True
        )
        if recording_id is None:
            run_id = store.start_run(
                f"synced session {session.session} ({session.foot})", SYNC_SOURCE, listed_at
            )
            recording_id = store.add_recording(
                run_id,
                address,
                name,
                session.foot,
                session.session,
                session.firmware,
                epoch=session.epoch,
            )
            report.new_recordings.add(recording_id)
        report.recordings[session.session] = recording_id
        if session.damaged:
            note = (
                "session header damaged on the pod: its start is not known and its foot "
                "is the pod's"
            )
            store.set_recording_note(recording_id, note, header_damaged=True)
            warning = f"session {session.session}: header damaged ({note}); strides kept"
            if warning not in report.warnings:
                report.warnings.append(warning)


def session_held(store: Store, report: SyncReport, session: PodSession) -> bool:
    """Every record of the session is committed (or known unreadable) under its identity."""
    if session.count == 0:
        return True
    recording_id = report.recordings.get(session.session)
    if recording_id is None:
        return False
    rec = store.recording(recording_id)
    if (rec.pod_address, rec.journal_epoch, rec.pod_session) != (
        report.address,
        session.epoch,
        session.session,
    ):
        return False
    return store.holds_session(recording_id, session.count)


def date_sessions(
    store: Store, report: SyncReport, identity: PodIdentity | None, listed_before: PodContact | None
) -> None:
    """Date every listed session from what is known; never at the sync, silently.

    Exact when the pod's clock was set; else by the pod's uptime if it has not
    rebooted since (approximate); else only bounds: after this pod's previous listing
    and the end of an earlier dated session of its journal, before a later dated one
    and before now."""
    dated: dict[int, tuple[str, float, float, float]] = {}
    for session in report.sessions:
        recording_id = report.recordings.get(session.session)
        if recording_id is None:
            continue
        if session.start_s is not None:
            start = float(session.start_s)
            dated[recording_id] = ("exact", start, start - CLOCK_BASE_S, start + CLOCK_BASE_S)
        elif (
            identity is not None
            and session.boot is not None
            and session.start_clock_s is not None
            and session.boot == identity.boot
            and identity.clock_s >= session.start_clock_s
        ):
            elapsed = identity.clock_s - session.start_clock_s
            start = identity.at - elapsed
            spread = CLOCK_BASE_S + identity.spread_s + CLOCK_PPM * elapsed
            dated[recording_id] = ("pod clock", start, start - spread, start + spread)
    for recording_id, (quality, start, low, high) in dated.items():
        rec = store.recording(recording_id)
        if rec.clock_offset_s is not None and rec.date_quality == "exact":
            continue  # a live recording's fitted clock beats the pod's whole seconds
        if store.set_recording_date(recording_id, quality, start, low, high):
            store.set_recording_times(
                recording_id, started_at=start, clock_offset_s=start, clock_rate=1.0
            )
    now = identity.at if identity is not None else time.time()
    for session in report.sessions:
        recording_id = report.recordings.get(session.session)
        if recording_id is None or recording_id in dated:
            continue
        if recording_id not in report.new_recordings:
            continue  # dated when it first arrived; a later sync knows less of it
        rec = store.recording(recording_id)
        after, before = _bounds(store, rec, listed_before, now)
        start = before if after is None else (after + max(after, before)) / 2
        store.set_recording_date(recording_id, "bounds", start, after, before)


def _bounds(
    store: Store, rec: RecordingInfo, listed_before: PodContact | None, now: float
) -> tuple[float | None, float]:
    low = None
    if listed_before is not None and listed_before.started_after(
        rec.journal_epoch, rec.pod_session
    ):
        low = listed_before.listed_at
    high = now - (rec.last_ic_ms or 0) / 1000
    for other in store.pod_recordings(rec.pod_address, rec.journal_epoch):
        if other.id == rec.id or not other.date_known or other.started_at_min is None:
            continue
        if other.pod_session < rec.pod_session:
            ended = other.started_at_min + (other.last_ic_ms or 0) / 1000
            low = ended if low is None else max(low, ended)
        elif other.pod_session > rec.pod_session and other.started_at_max is not None:
            high = min(high, other.started_at_max - (rec.last_ic_ms or 0) / 1000)
    return low, high


def _span(rec: RecordingInfo) -> tuple[float, float] | None:
    """(latest possible first contact, earliest possible last contact), host time."""
    if not rec.date_known or rec.stride_count == 0:
        return None
    if rec.started_at_min is None or rec.started_at_max is None:
        return None
    first = (rec.first_ic_ms or 0) / 1000
    last = (rec.last_ic_ms or 0) / 1000
    return rec.started_at_max + first, rec.started_at_min + last


def provably_overlap(a: RecordingInfo, b: RecordingInfo) -> bool:
    """Both dated, and their strides overlap in time whatever the dates' uncertainty."""
    span_a, span_b = _span(a), _span(b)
    if span_a is None or span_b is None:
        return False
    return span_a[0] < span_b[1] and span_b[0] < span_a[1]


def place_runs(store: Store, report: SyncReport) -> None:
    """Pair each newly synced session with the other foot's when their times provably
    overlap; otherwise it stays a one-pod run whose note says why."""
    for recording_id in sorted(set(report.recordings.values())):
        rec = store.recording(recording_id)
        run = store.run(rec.run_id)
        if run.source != SYNC_SOURCE or len(run.recordings) > 1:
            continue  # a live run, or paired already
        if rec.started_at is not None:
            store.set_run_start(run.id, rec.started_at)
        partner = _partner(store, rec)
        if partner is not None:
            store.move_recording(recording_id, partner.run_id)
            store.set_run_note(partner.run_id, None)
            other = store.recording(partner.id)
            starts = [t for t in (rec.started_at, other.started_at) if t is not None]
            if starts:
                store.set_run_start(partner.run_id, min(starts))
            continue
        store.set_run_note(run.id, _one_pod_reason(rec))


def _partner(store: Store, rec: RecordingInfo) -> RecordingInfo | None:
    if _span(rec) is None:
        return None
    best: tuple[float, RecordingInfo] | None = None
    for run in store.runs():
        if run.source != SYNC_SOURCE or len(run.recordings) != 1:
            continue
        (other,) = run.recordings
        if other.foot == rec.foot or other.pod_address == rec.pod_address:
            continue
        if not provably_overlap(rec, other):
            continue
        gap = abs((other.started_at or 0.0) - (rec.started_at or 0.0))
        if best is None or gap < best[0]:
            best = (gap, other)
    return None if best is None else best[1]


def _one_pod_reason(rec: RecordingInfo) -> str:
    other = "right" if rec.foot == "left" else "left"
    if rec.date_known:
        how = "" if rec.date_quality == "exact" else " (dated from the pod's clock)"
        return f"{rec.foot} pod only: no {other}-pod session overlaps it in time{how}"
    if rec.started_at_min is not None and rec.started_at_max is not None:
        when = f"between {_when(rec.started_at_min)} and {_when(rec.started_at_max)}"
    elif rec.started_at_max is not None:
        when = f"before {_when(rec.started_at_max)}"
    else:
        when = "at an unknown time"
    return (
        f"{rec.foot} pod only: recorded while the pod had no clock, so it is only known "
        f"to have started {when}; it is not paired with a {other}-pod session"
    )


def describe_dates(store: Store, report: SyncReport) -> list[str]:
    """One line per session dated approximately by this sync, for the user."""
    lines = []
    for session in report.sessions:
        recording_id = report.recordings.get(session.session)
        if recording_id is None or recording_id not in report.new_recordings:
            continue
        rec = store.recording(recording_id)
        if rec.date_quality == "pod clock" and rec.started_at is not None:
            spread = (rec.started_at_max or rec.started_at) - rec.started_at
            lines.append(
                f"session {session.session} ({rec.foot}): started about "
                f"{_when(rec.started_at)} (from the pod's clock, ±{spread:.0f} s)"
            )
        elif rec.date_quality == "bounds":
            if rec.started_at_min is not None and rec.started_at_max is not None:
                when = f"between {_when(rec.started_at_min)} and {_when(rec.started_at_max)}"
            else:
                when = f"before {_when(rec.started_at_max or rec.started_at or 0.0)}"
            lines.append(
                f"session {session.session} ({rec.foot}): started {when} "
                "(the pod had no clock: date approximate)"
            )
    return lines


def describe_gaps(store: Store, report: SyncReport) -> list[str]:
    """'session 3: 12 strides unreadable between 14:02 and 14:03', per gap this sync met."""
    lines = []
    by_recording = {rid: sid for sid, rid in report.recordings.items()}
    for recording_id in report.gaps:
        sid = by_recording.get(recording_id, 0)
        for gap in store.gaps(recording_id):
            lines.append(f"session {sid}: {gap.describe()}")
    return lines
