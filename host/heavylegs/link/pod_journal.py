"""The pod's journal as the host sees it: listing its sessions, erasing one.

Shared by journal sync (heavylegs.link.sync), live recording (which pulls what the
stream missed) and `heavylegs drop`.
"""

from __future__ import annotations

import logging
import struct

from bleak.backends.device import BLEDevice

from heavylegs.link.client import Backends, LinkError, PodClient
from heavylegs.link.ingest import PodSession
from heavylegs.link.keys import KeyStore
from heavylegs.store import Store
from heavylegs_pod import wire

log = logging.getLogger(__name__)


async def list_sessions(client: PodClient) -> list[PodSession]:
    """Every session the pod's journal holds, each with its identity record."""
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


async def drop_session(
    store: Store,
    backends: Backends,
    keys: KeyStore,
    device: BLEDevice,
    session_id: int,
    *,
    force: bool = False,
) -> str:
    """Erase one session from a pod (a damaged one the sync cannot finish).

    Refused unless the store holds every record of it, or `force`."""
    client = PodClient(device, backends)
    name = device.name or device.address
    try:
        await client.connect()
        await client.authenticate(keys.get(device.address))
        sessions = {s.session: s for s in await list_sessions(client)}
        session = sessions.get(session_id)
        if session is None:
            listed = ", ".join(str(s) for s in sorted(sessions)) or "none"
            raise LinkError(f"{name} has no session {session_id} (it has: {listed})")
        recording_id = store.find_recording(
            device.address, session_id, epoch=session.epoch, latest_copy=True
        )
        held = recording_id is not None and store.holds_session(recording_id, session.count)
        if not held and not force:
            have = store.recording(recording_id).stride_count if recording_id else 0
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
