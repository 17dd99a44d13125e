"""The Store's record of a runner's watch activity merged into a run.

A run holds at most one merged activity. Its samples and laps are stored on the
run's clock (the alignment applied), so readers never redo the alignment.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from heavylegs.errors import StoreError
from heavylegs.store.models import local_minute
from heavylegs.store.sqlite import StoreTables

# Sample columns in storage order; every one may be NULL (the watch did not record it).
WATCH_COLUMNS = (
    "speed_mps",
    "distance_m",
    "altitude_m",
    "grade_pct",
    "heart_rate_bpm",
    "cadence_spm",
)


class AlreadyMerged(StoreError):
    """The run already holds a watch activity, and replacing it was not asked for."""


@dataclass(frozen=True, slots=True)
class WatchMerge:
    """Which activity a run holds and how it was placed: run clock = watch clock + offset_s."""

    source: str
    device: str
    watch_start: float
    offset_s: float
    correlation: float | None
    overlap_s: float
    method: str
    merged_at: float


@dataclass(frozen=True, slots=True)
class WatchLap:
    """A watch lap on the run's clock (unix seconds)."""

    lap: int
    start_s: float
    end_s: float
    distance_m: float | None
    ascent_m: float | None


class WatchRecords(StoreTables):
    """Merged watch activities: alignment, samples and laps of each run."""

    def set_watch(
        self,
        run_id: int,
        merge: WatchMerge,
        t_s: np.ndarray,
        columns: dict[str, np.ndarray],
        laps: Sequence[WatchLap],
        *,
        replace: bool = False,
    ) -> None:
        """Store a merged activity in one transaction: all of it, or nothing."""
        missing = set(WATCH_COLUMNS) - set(columns)
        if missing:
            raise StoreError(f"watch samples lack {', '.join(sorted(missing))}")
        rows = [
            (run_id, float(t), *(_real(columns[name][k]) for name in WATCH_COLUMNS))
            for k, t in enumerate(t_s)
        ]
        with self._writing(f"cannot store the watch activity of run {run_id}") as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise StoreError(f"unknown run {run_id}")
            held = _merge_row(conn, run_id)
            if held is not None and not replace:
                raise AlreadyMerged(
                    f"run {run_id} already holds {held.source} (merged "
                    f"{local_minute(held.merged_at)}); use --replace to replace it"
                )
            conn.execute("DELETE FROM watch_merges WHERE run_id = ?", (run_id,))
            conn.execute(
                "INSERT INTO watch_merges (run_id, source, device, watch_start, offset_s, "
                "correlation, overlap_s, method, merged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    merge.source,
                    merge.device,
                    float(merge.watch_start),
                    float(merge.offset_s),
                    merge.correlation,
                    float(merge.overlap_s),
                    merge.method,
                    float(merge.merged_at),
                ),
            )
            conn.executemany(
                f"INSERT INTO watch_samples (run_id, t_s, {', '.join(WATCH_COLUMNS)}) "
                f"VALUES ({', '.join('?' * (len(WATCH_COLUMNS) + 2))})",
                rows,
            )
            # the diary's cached summary of the run was judged without this watch
            if conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_summaries'"
            ).fetchone():
                conn.execute("DELETE FROM run_summaries WHERE run_id = ?", (run_id,))
            conn.executemany(
                "INSERT INTO watch_laps (run_id, lap, start_s, end_s, distance_m, ascent_m) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (run_id, lap.lap, lap.start_s, lap.end_s, lap.distance_m, lap.ascent_m)
                    for lap in laps
                ],
            )

    def watch_merge(self, run_id: int) -> WatchMerge | None:
        with self._reading(f"cannot read the watch activity of run {run_id}") as conn:
            return _merge_row(conn, run_id)

    def watch_samples(self, run_id: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(t_s on the run's clock, {column: values, NaN unknown}), in time order."""
        with self._reading(f"cannot read the watch samples of run {run_id}") as conn:
            rows = conn.execute(
                f"SELECT t_s, {', '.join(WATCH_COLUMNS)} FROM watch_samples "
                "WHERE run_id = ? ORDER BY t_s",
                (run_id,),
            ).fetchall()
        table = np.array(rows, dtype=np.float64).reshape(len(rows), len(WATCH_COLUMNS) + 1)
        return table[:, 0], {name: table[:, k + 1] for k, name in enumerate(WATCH_COLUMNS)}

    def watch_laps(self, run_id: int) -> list[WatchLap]:
        with self._reading(f"cannot read the watch laps of run {run_id}") as conn:
            rows = conn.execute(
                "SELECT lap, start_s, end_s, distance_m, ascent_m FROM watch_laps "
                "WHERE run_id = ? ORDER BY lap",
                (run_id,),
            ).fetchall()
        return [WatchLap(int(a), float(b), float(c), d, e) for a, b, c, d, e in rows]


def _merge_row(conn: sqlite3.Connection, run_id: int) -> WatchMerge | None:
    row = conn.execute(
        "SELECT source, device, watch_start, offset_s, correlation, overlap_s, method, "
        "merged_at FROM watch_merges WHERE run_id = ?",
        (run_id,),
    ).fetchone()
    return None if row is None else WatchMerge(*row)


def _real(value: float) -> float | None:
    # SQLite stores NaN as NULL anyway; say so explicitly
    return float(value) if np.isfinite(value) else None
