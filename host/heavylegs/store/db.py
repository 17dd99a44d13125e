"""The SQLite stride store: runs, the pod recordings in them, and their strides."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np

from heavylegs.errors import StoreError
from heavylegs.store.migrations import migrate
from heavylegs.store.models import RecordingInfo, RunInfo, Stride

# Long enough to ride out another process's commit, short enough that a stuck writer
# turns into a clear error instead of a hang.
_BUSY_TIMEOUT_S = 10.0

_STRIDE_COLUMNS = (
    "seq",
    "foot",
    "running",
    "clipped",
    "strike_class",
    "ic_ms",
    "gct_ms",
    "stride_ms",
    "cadence_spm",
    "strike_deg",
    "impact_g",
    "stride_len_m",
    "host_time",
)
_COLUMN_DTYPES: dict[str, type] = {
    "seq": np.int64,
    "foot": np.str_,
    "running": np.bool_,
    "clipped": np.bool_,
    "strike_class": np.str_,
    "ic_ms": np.int64,
    # float columns turn NULL (unknown) into NaN, which analysis code can mask
}
_SELECT_STRIDES = (
    f"SELECT {', '.join(_STRIDE_COLUMNS)} FROM strides WHERE recording_id = ? ORDER BY ic_ms, seq"
)
_INSERT_STRIDE = (
    f"INSERT INTO strides (recording_id, {', '.join(_STRIDE_COLUMNS)}) "
    f"VALUES (?, {', '.join('?' for _ in _STRIDE_COLUMNS)}) "
    # not INSERT OR IGNORE: that would also silently drop rows failing a CHECK
    "ON CONFLICT (recording_id, seq) DO NOTHING"
)
_SELECT_RECORDINGS = """
    SELECT r.id, r.run_id, r.pod_address, r.pod_name, r.foot, r.pod_session, r.firmware,
        (SELECT COUNT(*) FROM strides s WHERE s.recording_id = r.id),
        (SELECT MIN(ic_ms) FROM strides s WHERE s.recording_id = r.id),
        (SELECT MAX(ic_ms) FROM strides s WHERE s.recording_id = r.id),
        r.started_at, r.clock_offset_s, r.clock_rate
    FROM recordings r
"""


class SQLiteFile:
    """An open SQLite file: closing, context management, use-after-close errors.

    Shared by the Store and by other table sets kept in the same file (the
    analysis diary), so both fail the same way."""

    path: Path
    _conn: sqlite3.Connection | None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path} is closed")
        return self._conn

    @contextmanager
    def _writing(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it lands, or none of it."""
        conn = self._db
        try:
            # IMMEDIATE takes the write lock up front, so a concurrent writer waits for
            # the busy timeout instead of failing midway with SQLITE_BUSY.
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):
                raise StoreError(f"{what}: {err}") from err
            raise


class Store(SQLiteFile):
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
            raise StoreError(f"cannot open {self.path} as a heavylegs store: {err}") from err
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    # --- lifecycle -----------------------------------------------------------------

    @contextmanager
    def _reading(self, what: str) -> Iterator[sqlite3.Connection]:
        conn = self._db
        try:
            yield conn
        except sqlite3.Error as err:
            raise StoreError(f"{what}: {err}") from err

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
    ) -> int:
        """Register a pod session in a run; a session stored before keeps its id (and run)."""
        with self._writing(f"cannot add a recording to run {run_id}") as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise StoreError(f"unknown run {run_id}")
            conn.execute(
                "INSERT INTO recordings "
                "(run_id, pod_address, pod_name, foot, pod_session, firmware) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (pod_address, pod_session) DO NOTHING",
                (run_id, pod_address, pod_name, foot, int(pod_session), firmware),
            )
            row = conn.execute(
                "SELECT id FROM recordings WHERE pod_address = ? AND pod_session = ?",
                (pod_address, int(pod_session)),
            ).fetchone()
        return int(row[0])

    def add_strides(self, recording_id: int, strides: Iterable[Stride]) -> int:
        """Insert strides in one transaction; returns how many were new.

        A stride whose seq the recording already holds is skipped, so live data and
        a later journal sync of the same session can both be fed in.
        """
        rows = [
            (
                recording_id,
                s.seq,
                s.foot,
                int(s.running),
                int(s.clipped),
                s.strike_class,
                s.ic_ms,
                s.gct_ms,
                s.stride_ms,
                s.cadence_spm,
                s.strike_deg,
                s.impact_g,
                s.stride_len_m,
                s.host_time,
            )
            for s in strides
        ]
        with self._writing(f"cannot add strides to recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            before = conn.total_changes
            conn.executemany(_INSERT_STRIDE, rows)
            return conn.total_changes - before

    def find_recording(self, pod_address: str, pod_session: int) -> int | None:
        with self._reading("cannot look up a recording") as conn:
            row = conn.execute(
                "SELECT id FROM recordings WHERE pod_address = ? AND pod_session = ?",
                (pod_address, int(pod_session)),
            ).fetchone()
        return None if row is None else int(row[0])

    def find_run_near(
        self, started_at: float, window_s: float, source: str, foot: str
    ) -> int | None:
        """A run of `source` that started within window_s and has no recording of `foot` yet.

        Pods synced after a run have no host run: the second pod of a pair joins the
        first pod's run this way.
        """
        with self._reading("cannot look up runs") as conn:
            row = conn.execute(
                "SELECT id FROM runs WHERE source = ? AND ABS(started_at - ?) <= ? "
                "AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.run_id = runs.id "
                "AND r.foot = ?) ORDER BY ABS(started_at - ?) LIMIT 1",
                (source, float(started_at), float(window_s), foot, float(started_at)),
            ).fetchone()
        return None if row is None else int(row[0])

    def set_recording_times(
        self,
        recording_id: int,
        *,
        started_at: float | None = None,
        clock_offset_s: float | None = None,
        clock_rate: float | None = None,
    ) -> None:
        """Record a session's start and clock fit; strides get host_time from the fit."""
        with self._writing(f"cannot update recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            if started_at is not None:
                conn.execute(
                    "UPDATE recordings SET started_at = ? WHERE id = ?",
                    (float(started_at), recording_id),
                )
            if clock_offset_s is not None and clock_rate is not None:
                conn.execute(
                    "UPDATE recordings SET clock_offset_s = ?, clock_rate = ? WHERE id = ?",
                    (float(clock_offset_s), float(clock_rate), recording_id),
                )
                conn.execute(
                    "UPDATE strides SET host_time = ? + ? * ic_ms / 1000.0 WHERE recording_id = ?",
                    (float(clock_offset_s), float(clock_rate), recording_id),
                )

    def contiguous_count(self, recording_id: int) -> int:
        """How many strides from seq 0 the recording holds without a gap."""
        with self._reading(f"cannot read strides of recording {recording_id}") as conn:
            row = conn.execute(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM strides WHERE recording_id = ?1 "
                "AND seq = 0) THEN (SELECT MIN(s.seq) + 1 FROM strides s "
                "WHERE s.recording_id = ?1 AND NOT EXISTS (SELECT 1 FROM strides t "
                "WHERE t.recording_id = ?1 AND t.seq = s.seq + 1)) ELSE 0 END",
                (recording_id,),
            ).fetchone()
        return int(row[0])

    def sync_state(self, recording_id: int) -> tuple[int, int] | None:
        """(records this store acknowledged to the pod, records the pod had), if synced before."""
        with self._reading(f"cannot read the sync state of recording {recording_id}") as conn:
            row = conn.execute(
                "SELECT acked, pod_count FROM pod_sync WHERE recording_id = ?", (recording_id,)
            ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def set_sync_state(self, recording_id: int, acked: int, pod_count: int, at: float) -> None:
        with self._writing(f"cannot record the sync state of recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            conn.execute(
                "INSERT INTO pod_sync (recording_id, acked, pod_count, synced_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (recording_id) DO UPDATE SET "
                "acked = MAX(acked, excluded.acked), pod_count = excluded.pod_count, "
                "synced_at = excluded.synced_at",
                (recording_id, int(acked), int(pod_count), float(at)),
            )

    # --- reading -------------------------------------------------------------------

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        with self._reading("cannot list runs") as conn:
            run_rows = conn.execute(
                "SELECT id, name, source, started_at, ended_at FROM runs ORDER BY started_at, id"
            ).fetchall()
            recordings = self._recordings(conn, "ORDER BY r.run_id, r.id", ())
        by_run: dict[int, list[RecordingInfo]] = {}
        for rec in recordings:
            by_run.setdefault(rec.run_id, []).append(rec)
        return [_run_info(row, by_run.get(row[0], [])) for row in run_rows]

    def run(self, run_id: int) -> RunInfo:
        with self._reading(f"cannot read run {run_id}") as conn:
            row = conn.execute(
                "SELECT id, name, source, started_at, ended_at FROM runs WHERE id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"unknown run {run_id}")
            recordings = self._recordings(conn, "WHERE r.run_id = ? ORDER BY r.id", (run_id,))
        return _run_info(row, recordings)

    def latest_run(self) -> RunInfo | None:
        with self._reading("cannot read the latest run") as conn:
            row = conn.execute(
                "SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else self.run(int(row[0]))

    def recording(self, recording_id: int) -> RecordingInfo:
        with self._reading(f"cannot read recording {recording_id}") as conn:
            found = self._recordings(conn, "WHERE r.id = ?", (recording_id,))
        if not found:
            raise StoreError(f"unknown recording {recording_id}")
        return found[0]

    def strides(self, recording_id: int) -> list[Stride]:
        """A recording's strides in order of initial contact."""
        with self._reading(f"cannot read strides of recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            rows = conn.execute(_SELECT_STRIDES, (recording_id,)).fetchall()
        return [
            Stride(
                seq=seq,
                foot=foot,
                running=bool(running),
                clipped=bool(clipped),
                strike_class=strike,
                ic_ms=ic_ms,
                gct_ms=gct,
                stride_ms=stride,
                cadence_spm=cadence,
                strike_deg=strike_deg,
                impact_g=impact,
                stride_len_m=stride_len,
                host_time=host_time,
            )
            for (
                seq,
                foot,
                running,
                clipped,
                strike,
                ic_ms,
                gct,
                stride,
                cadence,
                strike_deg,
                impact,
                stride_len,
                host_time,
            ) in rows
        ]

    def stride_table(
        self, recording_id: int, columns: Iterable[str] | None = None
    ) -> dict[str, np.ndarray]:
        """A recording's strides as one array per Stride field, in order of initial contact.

        `columns` picks fields (all by default); fetching fewer is proportionally
        faster. Unknown stride lengths and host times are NaN.
        """
        names = _STRIDE_COLUMNS if columns is None else tuple(columns)
        unknown = set(names) - set(_STRIDE_COLUMNS)
        if unknown:
            raise ValueError(f"no stride field named {', '.join(sorted(unknown))}")
        query = f"SELECT {', '.join(names)} FROM strides WHERE recording_id = ? ORDER BY ic_ms, seq"
        with self._reading(f"cannot read strides of recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            rows = conn.execute(query, (recording_id,)).fetchall()
        # Transposing the row tuples and converting each column is several times
        # faster than building Stride objects first.
        values = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        return {
            name: np.array(column, dtype=_COLUMN_DTYPES.get(name, np.float64))
            for name, column in zip(names, values, strict=True)
        }

    # --- helpers -------------------------------------------------------------------

    @staticmethod
    def _require_recording(conn: sqlite3.Connection, recording_id: int) -> None:
        found = conn.execute("SELECT 1 FROM recordings WHERE id = ?", (recording_id,))
        if found.fetchone() is None:
            raise StoreError(f"unknown recording {recording_id}")

    @staticmethod
    def _recordings(
        conn: sqlite3.Connection, tail: str, params: tuple[object, ...]
    ) -> list[RecordingInfo]:
        rows = conn.execute(f"{_SELECT_RECORDINGS} {tail}", params).fetchall()
        return [RecordingInfo(*row) for row in rows]

    def drop_run_if_empty(self, run_id: int) -> bool:
        """Remove a run that holds no stride (an interrupted or failed recording); True if gone.

        One statement, so a stride committed meanwhile keeps its run."""
        with self._writing(f"cannot remove the empty run {run_id}") as conn:
            cur = conn.execute(
                "DELETE FROM runs WHERE id = ? AND NOT EXISTS (SELECT 1 FROM strides s "
                "JOIN recordings r ON s.recording_id = r.id WHERE r.run_id = runs.id)",
                (run_id,),
            )
        return cur.rowcount > 0


def _run_info(row: tuple[Any, ...], recordings: list[RecordingInfo]) -> RunInfo:
    run_id, name, source, started_at, ended_at = row
    return RunInfo(
        id=int(run_id),
        name=str(name),
        source=str(source),
        started_at=float(started_at),
        ended_at=None if ended_at is None else float(ended_at),
        recordings=tuple(recordings),
    )
