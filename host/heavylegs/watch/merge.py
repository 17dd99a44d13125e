"""Merge a watch activity into a stored run: find the run, align, store on its clock."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from heavylegs.errors import HeavylegsError
from heavylegs.store import RunInfo, Store
from heavylegs.store.watch import AlreadyMerged, WatchLap, WatchMerge
from heavylegs.watch.align import MAX_LAG_S, Alignment, align
from heavylegs.watch.fit import WatchActivity

# The most runs an error message lists.
_LISTED = 5


class NoMatchingRun(HeavylegsError):
    """No run, or more than one, fits the watch activity; the message lists candidates."""


@dataclass(frozen=True, slots=True)
class Merged:
    run: RunInfo
    alignment: Alignment
    samples: int
    laps: int
    replaced: bool


def stride_times(store: Store, run: RunInfo) -> tuple[np.ndarray, np.ndarray]:
    """(initial contact on the run's clock in unix s, cadence) of every stride of the run.

    A stride's host time is its contact on the host's clock (through the pod clock fit
    of a live recording, or the session start of a synced one); a recording without
    host times is dated from its session start.
    """
    times, cadences = [], []
    for rec in run.recordings:
        if not rec.stride_count:
            continue
        table = store.stride_table(rec.id, ("ic_ms", "host_time", "cadence_spm"))
        at = table["host_time"]
        if np.isnan(at).all():
            start = rec.started_at if rec.started_at is not None else run.started_at
            at = start + table["ic_ms"] / 1000
        times.append(at)
        cadences.append(table["cadence_spm"])
    if not times:
        return np.empty(0), np.empty(0)
    return np.concatenate(times), np.concatenate(cadences)


def run_span(store: Store, run: RunInfo) -> tuple[float, float]:
    t, _ = stride_times(store, run)
    known = t[np.isfinite(t)]
    if len(known) == 0:
        return run.started_at, run.ended_at or run.started_at
    return float(known.min()), float(known.max())


def _shared_s(activity: WatchActivity, span: tuple[float, float]) -> float:
    """Seconds in common, allowing the clocks to disagree by up to MAX_LAG_S."""
    start, end = span
    return max(0.0, min(activity.end_s, end + MAX_LAG_S) - max(activity.start_s, start - MAX_LAG_S))


def pick_run(store: Store, activity: WatchActivity, run_id: int | None) -> RunInfo:
    """The run named, if the activity overlaps it; else the one run it overlaps."""
    when = _span_text(activity.start_s, activity.end_s)
    if run_id is not None:
        run = store.run(run_id)
        span = run_span(store, run)
        if not run.stride_count:
            raise NoMatchingRun(f"run {run.id} holds no strides: nothing to merge the watch into")
        if _shared_s(activity, span) <= 0:
            raise NoMatchingRun(
                f"{activity.source} was recorded {when}, run {run.id} {_span_text(*span)}: "
                "they do not overlap (another day's file?); nothing was changed"
            )
        return run
    runs = [run for run in store.runs() if run.stride_count]
    spans = {run.id: run_span(store, run) for run in runs}
    overlapping = [run for run in runs if _shared_s(activity, spans[run.id]) > 0]
    if len(overlapping) == 1:
        return overlapping[0]
    if not runs:
        summaries = len(store.runs())
        raise NoMatchingRun(
            f"no run in the store has strides to merge {activity.source} into"
            + (
                f" ({summaries} run{'s' if summaries != 1 else ''} hold only a summary, "
                "as imported from a FIT file)"
                if summaries
                else ": the store holds no run"
            )
        )
    if not overlapping:
        nearest = sorted(runs, key=lambda r: abs(spans[r.id][0] - activity.start_s))[:_LISTED]
        listed = "; ".join(f"run {r.id} {_span_text(*spans[r.id])}" for r in nearest)
        raise NoMatchingRun(
            f"no run overlaps {activity.source} ({when}); "
            + f"nearest: {listed}"
            + "; name one as RUN if its clock was wrong by more than "
            f"{MAX_LAG_S / 60:.0f} min"
        )
    listed = "; ".join(f"run {r.id} {_span_text(*spans[r.id])}" for r in overlapping[:_LISTED])
    raise NoMatchingRun(
        f"{len(overlapping)} runs overlap {activity.source} ({when}): {listed}; name one as RUN"
    )


def merge_activity(
    store: Store, activity: WatchActivity, run_id: int | None = None, *, replace: bool = False
) -> Merged:
    """Align the activity with its run and store it there; nothing is stored on failure."""
    run = pick_run(store, activity, run_id)
    held = store.watch_merge(run.id)
    if held is not None and not replace:
        raise AlreadyMerged(
            f"run {run.id} already holds {held.source} ({held.device}); use --replace to replace it"
        )
    t, cadence = stride_times(store, run)
    alignment = align(activity, t, cadence)
    offset = alignment.offset_s
    store.set_watch(
        run.id,
        WatchMerge(
            source=activity.source,
            device=activity.device,
            watch_start=activity.start_s,
            offset_s=offset,
            correlation=alignment.correlation,
            overlap_s=alignment.overlap_s,
            method=alignment.method,
            merged_at=time.time(),
        ),
        activity.t_s + offset,
        {
            "speed_mps": activity.speed_mps,
            "distance_m": activity.distance_m,
            "altitude_m": activity.altitude_m,
            "grade_pct": activity.grade_pct,
            "heart_rate_bpm": activity.heart_rate_bpm,
            "cadence_spm": activity.cadence_spm,
        },
        [
            WatchLap(k, lap.start_s + offset, lap.end_s + offset, lap.distance_m, lap.ascent_m)
            for k, lap in enumerate(activity.laps, 1)
        ],
        replace=replace,
    )
    return Merged(run, alignment, len(activity), len(activity.laps), held is not None)


def _span_text(start: float, end: float) -> str:
    a = datetime.fromtimestamp(start, UTC).astimezone()
    b = datetime.fromtimestamp(end, UTC).astimezone()
    tail = b.strftime("%H:%M") if a.date() == b.date() else b.strftime("%Y-%m-%d %H:%M")
    return f"{a.strftime('%Y-%m-%d %H:%M')}-{tail}"
