"""What BLE sync and USB pull share: the sessions a pod lists, registering them
into the store, dating them and placing them into runs, and which are safe to erase.

Dates are honest: a session the pod dated with a set clock is exact; one dated
only by the pod's uptime is placed by arithmetic at this sync (approximate);
otherwise only bounds are known. Left and right sessions share a run only when
their times provably overlap.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from heavylegs.link.client import PodIdentity
from heavylegs.link.describe import one_pod_reason
from heavylegs.store import PodContact, RecordingInfo, Store

SYNC_SOURCE = "sync"
# A pod's clock is its crystal: 100 ppm covers its drift over a day, 1 s its
# whole-second counting and the answer's round trip.
CLOCK_PPM = 100e-6
CLOCK_BASE_S = 1.0


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
    # the sensor's full scales the session was recorded at (None: an older pod)
    acc_fs_g: int | None = None
    gyro_fs_dps: int | None = None

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> PodSession:
        return cls(**d)

    def with_identity(self, ident: dict[str, Any]) -> PodSession:
        """Merge a decoded identity record (wire.decode_identity)."""
        return dataclasses.replace(
            self,
            epoch=ident["epoch"],
            boot=ident["boot"],
            start_clock_s=ident["start_clock_s"],
            acc_fs_g=ident.get("acc_fs_g"),
            gyro_fs_dps=ident.get("gyro_fs_dps"),
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
        if session.acc_fs_g is not None or session.gyro_fs_dps is not None:
            store.set_recording_ranges(recording_id, session.acc_fs_g, session.gyro_fs_dps)
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
        store.set_run_note(run.id, one_pod_reason(rec))


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


def erasable_sessions(store: Store, report: SyncReport) -> list[PodSession]:
    """The closed sessions the store holds in full under their identity; each other
    closed one is noted in the report as not erased, with why."""
    erasable = []
    for session in report.sessions:
        if session.open:
            continue
        if session_held(store, report, session):
            erasable.append(session)
        else:
            report.not_erased.append(session.session)
            report.warnings.append(
                f"session {session.session} not erased: the store does not hold all "
                f"{session.count} of its records"
            )
    return erasable
