"""`heavylegs pull`: journal sessions over USB into the store, as BLE sync does.

The rules are BLE sync's (heavylegs.link.sync), and so are the store calls:

- a pod session is the recording (pod address, session id); the pod's address
  is its BLE address, so a session synced over BLE and over USB is one recording;
- records are committed to SQLite first and acknowledged to the pod's journal
  only then, so the pod never lets go of a record the store does not hold;
- a record that arrives twice is stored once ((recording, seq) is unique), and
  a pull starts after what the store already holds, so an interrupted pull
  just runs again.

USB needs no owner key: whoever holds the cable holds the pod. The firmware is
interrupted while the journal is read, and started again afterwards.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heavylegs.deploy import podside
from heavylegs.deploy.errors import DeployError, PodCommandError
from heavylegs.deploy.flash import ble_address
from heavylegs.deploy.usb import PodConnection
from heavylegs.link.sync import PodSession, Syncer, SyncProgress
from heavylegs.store import Store, Stride
from heavylegs_pod import wire

BATCH = 512  # records per round trip: about 16 KiB of base64 on the wire
_RECORD = 4 + wire.STRIDE_SIZE  # u32 index, then the stride record


@dataclass
class PullReport:
    pod: str
    address: str
    sessions: list[PodSession] = field(default_factory=list)
    received: int = 0
    new_strides: int = 0
    recordings: dict[int, int] = field(default_factory=dict)
    erased: int = 0


@dataclass(frozen=True)
class _UsbPod:
    """What the shared sync rules need to know of a pod (PodClient over BLE)."""

    address: str
    name: str
    firmware: str


def _parse_batch(out: bytes) -> tuple[list[tuple[int, bytes]], dict[str, Any]]:
    lines = [line for line in out.decode(errors="replace").splitlines() if line.strip()]
    if not lines:
        raise PodCommandError("the pod sent nothing for a journal batch")
    try:
        tail = json.loads(lines[-1])
        blob = b"".join(base64.b64decode(line) for line in lines[:-1])
    except ValueError as err:
        raise PodCommandError(f"garbled journal batch from the pod: {err}") from err
    if len(blob) % _RECORD:
        raise PodCommandError("the pod sent a journal batch of partial records")
    records = [
        (struct.unpack_from("<I", blob, k)[0], blob[k + 4 : k + _RECORD])
        for k in range(0, len(blob), _RECORD)
    ]
    return records, tail


def pull(
    port: str,
    db: Path,
    *,
    erase_synced: bool = False,
    timeout_s: float = 10.0,
    on_progress: Callable[[SyncProgress], None] | None = None,
    restart: bool = True,
) -> PullReport:
    with PodConnection(port, timeout_s) as conn, Store(db) as store:
        conn.enter_raw_repl()
        address = ble_address(conn)
        try:
            listing = conn.run_json(podside.JOURNAL_OPEN)
        except PodCommandError as err:
            raise DeployError(
                f"the pod on {port} has no readable journal (is heavylegs flashed on it?):\n{err}"
            ) from err
        conn.run(podside.JOURNAL_HELPERS)
        pod = _UsbPod(address, str(listing["name"]), str(listing["firmware"]))
        report = PullReport(pod=pod.name, address=address)
        report.sessions = [
            PodSession.from_wire(wire.decode_session(bytes.fromhex(h))) for h in listing["sessions"]
        ]
        # The recording each session belongs to is chosen exactly as BLE sync does.
        rules = Syncer(store, None, None)  # type: ignore[arg-type]
        for session in report.sessions:
            recording_id = rules._recording_for(pod, session)
            report.recordings[session.session] = recording_id
            _pull_session(conn, store, pod, session, recording_id, report, on_progress)
        if erase_synced:
            report.erased = int(conn.run_json("_hl_journal_erase_synced()")["erased"])
        if restart:
            conn.restart_firmware(0.2)
    return report


def _ack(conn: PodConnection, session: int, count: int) -> None:
    conn.run_json(f"_hl_journal_ack({session}, {count})")


def _pull_session(
    conn: PodConnection,
    store: Store,
    pod: _UsbPod,
    session: PodSession,
    recording_id: int,
    report: PullReport,
    on_progress: Callable[[SyncProgress], None] | None,
) -> None:
    have = store.contiguous_count(recording_id)
    state = store.sync_state(recording_id)
    # Past the prefix we hold, only what this store acknowledged before: a hole
    # there is a record the pod found damaged, not one to ask for again.
    start = max(have, state[0] if state else 0)
    if start >= session.count:
        if session.acked < start:
            _ack(conn, session.session, start)
        store.set_sync_state(recording_id, start, session.count, time.time())
        return
    if start > session.acked:
        # Already in this store (recorded live or synced over BLE): let the pod know.
        _ack(conn, session.session, start)
    position = start
    while position < session.count:
        out = conn.run(f"_hl_journal_send({session.session}, {position}, {BATCH})")
        records, tail = _parse_batch(out)
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
        report.new_strides += store.add_strides(recording_id, strides)
        reached = int(tail["next"])
        if reached <= position:
            break  # the pod's journal ends early (a torn tail): nothing more to read
        store.set_sync_state(recording_id, reached, max(session.count, reached), time.time())
        _ack(conn, session.session, reached)
        position = reached
        if on_progress is not None:
            on_progress(SyncProgress(pod.name, session.session, reached, session.count))
