"""The SQLite stride store: runs, the pod recordings in them, and their strides."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from heavylegs.errors import StoreError
from heavylegs.store.damage import refuse_empty, store_error
from heavylegs.store.migrations import migrate
from heavylegs.store.models import ImportedSummary, RecordingInfo, RunInfo, WholeRecording
from heavylegs.store.sessions import SessionRecords
from heavylegs.store.strides import STRIDE_COLUMNS, StrideTable, measured
from heavylegs.store.watch import WatchRecords

# Long enough to ride out another process's commit, short enough that a stuck writer
# turns into a clear error instead of a hang.
_BUSY_TIMEOUT_S = 10.0
_SELECT_RUNS = "SELECT id, name, source, started_at, ended_at, note FROM runs"
_SUMMARY_VALUES = (
    "file_name", "device", "digest", "timer_s", "elapsed_s", "distance_m", "cadence_spm",
    "stance_ms", "balance_pct", "step_length_m", "strike_deg", "impact_g", "pronation_deg",
)  # fmt: skip
_SELECT_SUMMARIES = (
    f"SELECT run_id, origin, left_pod, right_pod, {', '.join(_SUMMARY_VALUES)} "
    "FROM imported_summaries"
)
_INSERT_WHOLE_STRIDE = (
    f"INSERT INTO strides (recording_id, {', '.join(STRIDE_COLUMNS)}) "
    f"VALUES (?, {', '.join('?' for _ in STRIDE_COLUMNS)})"
)


class Store(StrideTable, SessionRecords, WatchRecords):
    """One SQLite file in WAL mode, so a report can read while a recording writes.

    Use as a context manager, or call close(). Every failure surfaces as StoreError.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the folder for {self.path}: {err}") from err
        self._conn: sqlite3.Connection | None = None
        refuse_empty(self.path)
        try:
            # isolation_level=None: transactions are opened explicitly below, and the
            # sqlite3 module's implicit ones would otherwise wrap PRAGMAs and migrations.
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open {self.path}: {err}") from err
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            # Migrate first: it refuses foreign and newer files before anything here
            # writes to them (journal_mode is stored in the file).
            migrate(conn, str(self.path))
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"{self.path}: SQLite refused WAL mode (got {mode!r}); "
                    "keep the database on a local file system"
                )
            # NORMAL in WAL mode can lose the last commits on power loss but never
            # corrupts; the pods' journals still hold those strides for a later sync.
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as err:
            conn.close()
            raise store_error(
                self.path, f"cannot open {self.path} as a heavylegs store", err
            ) from err
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    # --- writing -------------------------------------------------------------------

    def start_run(self, name: str, source: str, started_at: float) -> int:
        with self._writing("cannot start a run") as conn:
            cur = conn.execute(
                "INSERT INTO runs (name, source, started_at) VALUES (?, ?, ?)",
                (name, source, float(started_at)),
            )
            run_id = cur.lastrowid
        assert run_id is not None
        return run_id

    def finish_run(self, run_id: int, ended_at: float) -> None:
        with self._writing(f"cannot finish run {run_id}") as conn:
            cur = conn.execute(
                "UPDATE runs SET ended_at = ? WHERE id = ?", (float(ended_at), run_id)
            )
            if cur.rowcount == 0:
                raise StoreError(f"unknown run {run_id}")

    def add_recording(
        self,
        run_id: int,
        pod_address: str,
        pod_name: str,
        foot: str,
        pod_session: int,
        firmware: str,
        *,
        epoch: int = 0,
    ) -> int:
        """Register a pod session in a run; a session stored before keeps its id (and run).

        A session is (pod address, journal epoch, session id): ids restart at 1 when a
        pod's journal is created, and the epoch, drawn then, tells the two apart.
        """
        with self._writing(f"cannot add a recording to run {run_id}") as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise StoreError(f"unknown run {run_id}")
            conn.execute(
                "INSERT INTO recordings "
                "(run_id, pod_address, pod_name, foot, pod_session, firmware, journal_epoch) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (pod_address, journal_epoch, pod_session, copy) DO NOTHING",
                (run_id, pod_address, pod_name, foot, int(pod_session), firmware, int(epoch)),
            )
            row = conn.execute(
                "SELECT id FROM recordings WHERE pod_address = ? AND journal_epoch = ? "
                "AND pod_session = ? AND copy = 0",
                (pod_address, int(epoch), int(pod_session)),
            ).fetchone()
        return int(row[0])

    def find_recording(
        self, pod_address: str, pod_session: int, *, epoch: int = 0, latest_copy: bool = False
    ) -> int | None:
        """The recording of pod session (address, epoch, session); with latest_copy, the
        last one kept apart under that identity (where a sync sends new strides)."""
        with self._reading("cannot look up a recording") as conn:
            row = conn.execute(
                "SELECT id FROM recordings WHERE pod_address = ? AND journal_epoch = ? "
                "AND pod_session = ? ORDER BY copy " + ("DESC" if latest_copy else "") + " LIMIT 1",
                (pod_address, int(epoch), int(pod_session)),
            ).fetchone()
        return None if row is None else int(row[0])

    def pod_recordings(self, pod_address: str, epoch: int) -> list[RecordingInfo]:
        """Every recording of one pod journal, by session id."""
        with self._reading("cannot look up recordings") as conn:
            return self._recordings(
                conn,
                "WHERE r.pod_address = ? AND r.journal_epoch = ? ORDER BY r.pod_session, r.copy",
                (pod_address, int(epoch)),
            )

    def shift_run(self, run_id: int, seconds: float) -> None:
        """Move a run and everything dated in it by `seconds` (a simulated run dated
        into the past): run, recordings and strides together, or nothing."""
        d = float(seconds)
        with self._writing(f"cannot redate run {run_id}") as conn:
            cur = conn.execute(
                "UPDATE runs SET started_at = started_at + ?, ended_at = ended_at + ? WHERE id = ?",
                (d, d, run_id),
            )
            if cur.rowcount == 0:
                raise StoreError(f"unknown run {run_id}")
            conn.execute(
                "UPDATE recordings SET started_at = started_at + ?1, "
                "started_at_min = started_at_min + ?1, started_at_max = started_at_max + ?1, "
                "clock_offset_s = clock_offset_s + ?1 WHERE run_id = ?2",
                (d, run_id),
            )
            conn.execute(
                "UPDATE strides SET host_time = host_time + ? WHERE recording_id IN "
                "(SELECT id FROM recordings WHERE run_id = ?)",
                (d, run_id),
            )

    def add_whole_run(
        self,
        name: str,
        source: str,
        started_at: float,
        ended_at: float,
        recordings: Sequence[WholeRecording],
    ) -> int:
        """A complete run (an import) in one transaction: all of it is stored, or none.

        Each recording's identity must be new to the store: a pod session stored
        before is never extended from a file."""
        with self._writing("cannot store the run") as conn:
            run_id = conn.execute(
                "INSERT INTO runs (name, source, started_at, ended_at) VALUES (?, ?, ?, ?)",
                (name, source, float(started_at), float(ended_at)),
            ).lastrowid
            for rec in recordings:
                clash = conn.execute(
                    "SELECT run_id FROM recordings WHERE pod_address = ? AND journal_epoch = ? "
                    "AND pod_session = ?",
                    (rec.pod_address, rec.epoch, rec.pod_session),
                ).fetchone()
                if clash is not None:
                    raise StoreError(
                        f"pod {rec.pod_address} session {rec.pod_session} is already "
                        f"stored in run {clash[0]}"
                    )
                rec_id = conn.execute(
                    "INSERT INTO recordings (run_id, pod_address, pod_name, foot, pod_session, "
                    "firmware, journal_epoch, started_at, started_at_min, started_at_max, "
                    "date_quality, acc_fs_g) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'exact', ?)",
                    (
                        run_id,
                        rec.pod_address,
                        rec.pod_name,
                        rec.foot,
                        rec.pod_session,
                        rec.firmware,
                        rec.epoch,
                        float(started_at),
                        float(started_at),
                        float(started_at),
                        rec.acc_fs_g,
                    ),
                ).lastrowid
                conn.executemany(
                    _INSERT_WHOLE_STRIDE,
                    [(rec_id, s.seq, *measured(s), s.host_time) for s in rec.strides],
                )
        assert run_id is not None
        return run_id

    def add_summary_run(
        self, name: str, source: str, started_at: float, summary: ImportedSummary
    ) -> int:
        """A run known only by its totals (a FIT activity), in one transaction.

        A file stored before (the same digest) is refused: the caller checks first."""
        values = [getattr(summary, column) for column in _SUMMARY_VALUES]
        with self._writing("cannot store the run") as conn:
            held = conn.execute(
                "SELECT run_id FROM imported_summaries WHERE digest = ?", (summary.digest,)
            ).fetchone()
            if held is not None:
                raise StoreError(f"{summary.file_name} is already stored as run {held[0]}")
            run_id = conn.execute(
                "INSERT INTO runs (name, source, started_at, ended_at) VALUES (?, ?, ?, ?)",
                (name, source, float(started_at), float(started_at) + summary.elapsed_s),
            ).lastrowid
            conn.execute(
                f"INSERT INTO imported_summaries (run_id, origin, left_pod, right_pod, "
                f"{', '.join(_SUMMARY_VALUES)}) VALUES ({', '.join('?' for _ in range(4 + len(values)))})",
                (
                    run_id,
                    summary.origin,
                    summary.pods.get("left"),
                    summary.pods.get("right"),
                    *values,
                ),
            )
        assert run_id is not None
        return run_id

    def summary_run_of(self, digest: str) -> int | None:
        """The run a FIT file with this digest was imported as, if it was."""
        with self._reading("cannot look up imported runs") as conn:
            row = conn.execute(
                "SELECT run_id FROM imported_summaries WHERE digest = ?", (digest,)
            ).fetchone()
        return None if row is None else int(row[0])

    # --- reading -------------------------------------------------------------------

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        with self._reading("cannot list runs") as conn:
            run_rows = conn.execute(f"{_SELECT_RUNS} ORDER BY started_at, id").fetchall()
            recordings = self._recordings(conn, "ORDER BY r.run_id, r.id", ())
            imported = _summaries(conn, "", ())
        by_run: dict[int, list[RecordingInfo]] = {}
        for rec in recordings:
            by_run.setdefault(rec.run_id, []).append(rec)
        return [_run_info(row, by_run.get(row[0], []), imported.get(row[0])) for row in run_rows]

    def run(self, run_id: int) -> RunInfo:
        with self._reading(f"cannot read run {run_id}") as conn:
            row = conn.execute(f"{_SELECT_RUNS} WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise StoreError(f"unknown run {run_id}")
            recordings = self._recordings(conn, "WHERE r.run_id = ? ORDER BY r.id", (run_id,))
            imported = _summaries(conn, "WHERE run_id = ?", (run_id,))
        return _run_info(row, recordings, imported.get(run_id))

    def latest_run(self) -> RunInfo | None:
        with self._reading("cannot read the latest run") as conn:
            # a run of kept-apart copies only (RunInfo.kept_apart) comes last
            row = conn.execute(
                "SELECT id FROM runs u ORDER BY (EXISTS (SELECT 1 FROM recordings r "
                "WHERE r.run_id = u.id) AND NOT EXISTS (SELECT 1 FROM recordings r "
                "WHERE r.run_id = u.id AND r.copy = 0)), started_at DESC, id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else self.run(int(row[0]))

    def recording(self, recording_id: int) -> RecordingInfo:
        with self._reading(f"cannot read recording {recording_id}") as conn:
            found = self._recordings(conn, "WHERE r.id = ?", (recording_id,))
        if not found:
            raise StoreError(f"unknown recording {recording_id}")
        return found[0]

    def drop_run_if_empty(self, run_id: int) -> bool:
        """Remove a run that holds no stride (an interrupted or failed recording); True if gone.

        One statement, so a stride committed meanwhile keeps its run."""
        with self._writing(f"cannot remove the empty run {run_id}") as conn:
            cur = conn.execute(
                "DELETE FROM runs WHERE id = ? AND NOT EXISTS (SELECT 1 FROM strides s "
                "JOIN recordings r ON s.recording_id = r.id WHERE r.run_id = runs.id) "
                "AND NOT EXISTS (SELECT 1 FROM imported_summaries i WHERE i.run_id = runs.id)",
                (run_id,),
            )
        return cur.rowcount > 0


def _summaries(
    conn: sqlite3.Connection, where: str, params: tuple[Any, ...]
) -> dict[int, ImportedSummary]:
    out = {}
    for run_id, origin, left, right, *values in conn.execute(
        f"{_SELECT_SUMMARIES} {where}", params
    ):
        pods = {foot: pod for foot, pod in (("left", left), ("right", right)) if pod}
        fields = dict(zip(_SUMMARY_VALUES, values, strict=True))
        out[int(run_id)] = ImportedSummary(**fields, pods=pods, origin=str(origin))
    return out


def _run_info(
    row: tuple[Any, ...], recordings: list[RecordingInfo], imported: ImportedSummary | None = None
) -> RunInfo:
    run_id, name, source, started_at, ended_at, note = row
    return RunInfo(
        id=int(run_id),
        name=str(name),
        source=str(source),
        started_at=float(started_at),
        ended_at=None if ended_at is None else float(ended_at),
        recordings=tuple(recordings),
        note=note,
        imported=imported,
    )
