"""The end of a live recording: what the live stream missed, pulled from a pod's journal.

The pod journals every stride it detects, so a stride lost on the air (a dropped
link, a full queue) is still on it when the recording ends. Only sessions this
recording saw live are filled; a session it never saw is left for `sync`.
"""

from __future__ import annotations

from collections.abc import Container, Mapping

from heavylegs.link.client import PodClient
from heavylegs.link.ingest import SyncReport
from heavylegs.link.sync import Syncer
from heavylegs.store import Store


async def fill_from_journal(
    store: Store,
    syncer: Syncer,
    client: PodClient,
    *,
    pod_name: str,
    seen_live: Container[int],
    kept_apart: Mapping[int, int],
) -> SyncReport:
    """Complete each recording in `seen_live` from the pod's journal.

    `kept_apart` maps a recording to the copy its strides went to when they
    clashed with stored ones. Raises what `Syncer` raises: LinkError, PodRefused,
    SessionKeptApart.
    """
    report = SyncReport(pod=pod_name)
    for session in await syncer.list_sessions(client):
        recording_id = store.find_recording(client.address, session.session, epoch=session.epoch)
        if recording_id is None:
            continue
        recording_id = kept_apart.get(recording_id, recording_id)
        if recording_id not in seen_live:
            continue
        if session.acc_fs_g is not None:
            # the live records do not say the sensor's ranges; the listing does
            store.set_recording_ranges(recording_id, session.acc_fs_g, session.gyro_fs_dps)
        await syncer._sync_session(client, session, recording_id, report)
    return report
