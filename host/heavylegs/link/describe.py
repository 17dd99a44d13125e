"""Sync outcomes in words for people: approximate dates, unreadable strides, why a
session stayed a one-pod run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from heavylegs.store.models import local_minute

if TYPE_CHECKING:
    from heavylegs.link.ingest import SyncReport
    from heavylegs.store import RecordingInfo, Store


def one_pod_reason(rec: RecordingInfo) -> str:
    """Why a synced session stayed a run of its own, for the run's note."""
    other = "right" if rec.foot == "left" else "left"
    if rec.date_known:
        how = "" if rec.date_quality == "exact" else " (dated from the pod's clock)"
        return f"{rec.foot} pod only: no {other}-pod session overlaps it in time{how}"
    when = "at an unknown time" if rec.started_at_max is None else rec.start_window(0.0)
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
            lines.append(
                f"session {session.session} ({rec.foot}): started about "
                f"{local_minute(rec.started_at)} (from the pod's clock, ±{rec.start_spread_s:.0f} s)"
            )
        elif rec.date_quality == "bounds":
            when = rec.start_window(rec.started_at or 0.0)
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
