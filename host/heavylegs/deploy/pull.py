"""`heavylegs pull`: journal sessions over USB into the store, as BLE sync does.

The rules are BLE sync's (heavylegs.link.sync, heavylegs.link.ingest), and so are the store calls:

- a pod session is the recording (pod address, journal epoch, session id); the
  pod's address is its BLE address, so a session synced over BLE and over USB is
  one recording, and a session of a reflashed pod's new journal is another;
- records are committed to SQLite first and acknowledged to the pod's journal
  only then, so the pod never lets go of a record the store does not hold;
  records the pod cannot read are stored as a gap and acknowledged past;
- a record that arrives twice is stored once, one that differs from what the
  store holds under the same identity is kept apart, never merged; a pull
  starts after what the store already holds, so an interrupted pull just runs
  again;
- sessions are dated and paired into runs as sync does; `--erase-synced` erases
  only sessions the store holds in full under their identity, one by one.

USB needs no owner key: whoever holds the cable holds the pod. The firmware is
interrupted while the journal is read, and started again afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from heavylegs.deploy import podside
from heavylegs.deploy.errors import DeployError, PodCommandError
from heavylegs.deploy.flash import ble_address
from heavylegs.deploy.usb import PodConnection
from heavylegs.link import ingest
from heavylegs.link.client import PodIdentity
from heavylegs.store import Store, Stride
from heavylegs.store.backup import backup_store
from heavylegs_pod import wire

# A pull reports what a BLE sync does.
PullReport = ingest.SyncReport

BATCH = 512  # records per round trip: about 16 KiB of base64 on the wire


def _parse_batch(out: bytes) -> tuple[list[tuple[int, bytes]], dict[str, Any]]:
    if not out.strip():
        raise PodCommandError("the pod sent nothing for a journal batch")
    try:
        records, tail = wire.decode_pull_batch(out.decode(errors="replace"))
    except ValueError as err:
        raise PodCommandError(f"garbled journal batch from the pod: {err}") from err
    # wire.py is MicroPython code without annotations: say what it returns
    parsed: tuple[list[tuple[int, bytes]], dict[str, Any]] = (records, tail)
    return parsed


def _listing(listing: dict[str, Any]) -> list[ingest.PodSession]:
    sessions = [
        ingest.PodSession.from_wire(wire.decode_session(bytes.fromhex(h)))
        for h in listing["sessions"]
    ]
    identities = {}
    for ident in listing.get("identities", []):
        decoded = wire.decode_identity(bytes.fromhex(ident["record"]))
        identities[decoded["session"]] = decoded
    return [
        s.with_identity(identities[s.session]) if s.session in identities else s for s in sessions
    ]


def _pod_identity(listing: dict[str, Any], at: float) -> PodIdentity:
    pod = listing.get("pod") or {}
    return PodIdentity(
        epoch=int(pod.get("epoch") or 0),
        # No boot id: the pod's uptime cannot date anything (its RTC memory is gone).
        boot=pod.get("boot"),
        clock_s=int(pod.get("clock_s") or 0),
        at=at,
    )


def pull(
    port: str,
    db: Path,
    *,
    erase_synced: bool = False,
    timeout_s: float = 10.0,
    on_progress: Callable[[ingest.SyncProgress], None] | None = None,
    restart: bool = True,
) -> ingest.SyncReport:
    with PodConnection(port, timeout_s) as conn:
        # Before anything writes: a damaged store stops here, and a pull gone wrong
        # can be undone from the copy.
        backup_store(db, "erase" if erase_synced else "pull")
        with Store(db) as store:
            return _pull_into(conn, store, port, erase_synced, on_progress, restart)


def _pull_into(
    conn: PodConnection,
    store: Store,
    port: str,
    erase_synced: bool,
    on_progress: Callable[[ingest.SyncProgress], None] | None,
    restart: bool,
) -> ingest.SyncReport:
    conn.enter_raw_repl()
    address = ble_address(conn)
    try:
        listing = conn.run_json(podside.JOURNAL_OPEN)
    except PodCommandError as err:
        raise DeployError(
            f"the pod on {port} has no readable journal (is heavylegs flashed on it?):\n{err}"
        ) from err
    listed_at = time.time()
    conn.run(podside.JOURNAL_HELPERS)
    name = str(listing["name"])
    report = ingest.SyncReport(pod=name, address=address)
    report.sessions = _listing(listing)
    identity = _pod_identity(listing, listed_at)
    listed_before = store.pod_contact(address)
    ingest.register_sessions(store, address, name, report, listed_at, report.sessions)
    store.set_pod_listed(
        address,
        listed_at,
        epoch=identity.epoch,
        last_session=max((s.session for s in report.sessions), default=0),
    )
    try:
        for session in report.sessions:
            _pull_session(conn, store, name, session, report, on_progress)
    finally:
        ingest.date_sessions(store, report, identity, listed_before)
        ingest.place_runs(store, report)
    if erase_synced:
        for session in ingest.erasable_sessions(store, report):
            erased = conn.run_json(
                f"print(json.dumps({{'erased': _hl_j.erase({int(session.session)})}}))"
            )
            if erased.get("erased"):
                report.erased.append(session.session)
    if restart:
        conn.restart_firmware(0.2)
    return report


def _ack(conn: PodConnection, session: int, count: int) -> None:
    conn.run_json(f"_hl_journal_ack({session}, {count})")


def _pull_session(
    conn: PodConnection,
    store: Store,
    name: str,
    session: ingest.PodSession,
    report: ingest.SyncReport,
    on_progress: Callable[[ingest.SyncProgress], None] | None,
) -> None:
    recording_id = report.recordings.get(session.session)
    if recording_id is None:
        return  # an empty session: nothing to store
    have = store.contiguous_count(recording_id)
    state = store.sync_state(recording_id)
    # Past the prefix we hold, only what this store acknowledged before: a hole
    # there is a record the pod found damaged, not one to ask for again.
    start = max(have, state[0] if state else 0)
    if start > session.count:
        start = 0  # the store holds more than the pod has: not this session
    # As BLE sync: before acknowledging what the store holds, make sure it is this
    # session's when the pod does not remember our acknowledgements or has no epoch.
    suspect = session.acked < start or session.epoch == 0
    verify = store.last_stride_below(recording_id, start) if start and suspect else None
    position = verify if verify is not None else start
    if position >= session.count:
        store.set_sync_state(recording_id, start, session.count, time.time())
        return
    while position < session.count:
        out = conn.run(f"_hl_journal_send({session.session}, {position}, {BATCH})")
        records, tail = _parse_batch(out)
        reached = int(tail["next"])
        strides = []
        for index, record in records:
            decoded = wire.decode_stride(record)
            decoded["seq"] = index
            host_time = (
                session.start_s + decoded["ic_ms"] / 1000 if session.start_s is not None else None
            )
            strides.append(Stride.from_wire(decoded, host_time=host_time))
        report.received += len(strides)
        # Stored first, acknowledged second: the pod lets go only of what is safe here.
        wrote = store.store_strides(recording_id, strides)
        report.new_strides += wrote.new
        if wrote.recording_id != recording_id:
            # Another session under this identity: kept apart, filled from the start.
            recording_id = wrote.recording_id
            report.recordings[session.session] = recording_id
            report.new_recordings.add(recording_id)
            report.warnings.append(
                f"session {session.session}: the store already held a different session "
                f"under this identity; kept this one apart as recording {recording_id}"
            )
            position = 0
            continue
        # Every index the pod passed that it did not send, it could not read.
        sent = {index for index, _ in records}
        lost_from = None
        for index in range(position, max(position, reached) + 1):
            if index < reached and index not in sent:
                if lost_from is None:
                    lost_from = index
            elif lost_from is not None:
                store.add_gap(recording_id, lost_from, index - lost_from)
                report.gaps[recording_id] = report.gaps.get(recording_id, 0) + index - lost_from
                lost_from = None
        if reached <= position:
            break  # the pod's journal ends early (a torn tail): nothing more to read
        store.set_sync_state(recording_id, reached, max(session.count, reached), time.time())
        _ack(conn, session.session, reached)
        position = reached
        if on_progress is not None:
            on_progress(ingest.SyncProgress(name, session.session, reached, session.count))
