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
from heavylegs.store.damage import store_error
from heavylegs.store.migrations import migrate
from heavylegs.store.models import Gap, PodContact, RecordingInfo, RunInfo, Stride, StrideWrite

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
# What the pod measured: a stride arriving again must match these to be a repeat.
# host_time is the host's estimate and differs between live streaming and a sync.
_POD_FIELDS = _STRIDE_COLUMNS[1:-1]
_SELECT_RECORDINGS = """
    SELECT r.id, r.run_id, r.pod_address, r.pod_name, r.foot, r.pod_session, r.firmware,
        (SELECT COUNT(*) FROM strides s WHERE s.recording_id = r.id),
        (SELECT MIN(ic_ms) FROM strides s WHERE s.recording_id = r.id),
        (SELECT MAX(ic_ms) FROM strides s WHERE s.recording_id = r.id),
        r.started_at, r.clock_offset_s, r.clock_rate, r.journal_epoch, r.copy,
        r.started_at_min, r.started_at_max, r.date_quality, r.header_damaged, r.note
    FROM recordings r
"""
_SELECT_RUNS = "SELECT id, name, source, started_at, ended_at, note FROM runs"
# How good a date is; a later sync may improve a recording's date, never worsen it.
DATE_RANK = {None: 0, "bounds": 1, "pod clock": 2, "exact": 3}


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
                raise store_error(self.path, what, err) from err
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
            raise store_error(
                self.path, f"cannot open {self.path} as a heavylegs store", err
            ) from err
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
            raise store_error(self.path, what, err) from err

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

    def add_strides(self, recording_id: int, strides: Iterable[Stride]) -> int:
        """Insert strides in one transaction; returns how many were new (see store_strides)."""
        return self.store_strides(recording_id, strides).new

    def store_strides(self, recording_id: int, strides: Iterable[Stride]) -> StrideWrite:
        """Insert strides in one transaction, never merging two sessions.

        A stride whose seq the recording holds with the same measured values is a
        repeat (live data and a later journal sync of the same session, or a sync
        run twice) and is skipped. One whose seq it holds with *different* values
        belongs to another session the store could not tell apart: the whole batch
        then goes to a copy of the recording, in a run of its own with a note, and
        the result names that copy so the caller can send the rest there too.
        """
        batch = list(strides)
        with self._writing(f"cannot add strides to recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            target = recording_id
            _, conflicting = self._compare(conn, target, batch)
            if conflicting:
                target = self._copy_for(conn, target, batch)
            rows = [
                (
                    target,
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
                for s in batch
            ]
            before = conn.total_changes
            conn.executemany(_INSERT_STRIDE, rows)
            new = conn.total_changes - before
        return StrideWrite(target, new, len(batch) - new, conflicting)

    @staticmethod
    def _compare(
        conn: sqlite3.Connection, recording_id: int, batch: list[Stride]
    ) -> tuple[int, int]:
        """(strides of batch the recording holds as they are, ones it holds otherwise)."""
        if not batch:
            return 0, 0
        seqs = [s.seq for s in batch]
        stored = {
            row[0]: row[1:]
            for row in conn.execute(
                f"SELECT seq, {', '.join(_POD_FIELDS)} FROM strides "
                "WHERE recording_id = ? AND seq BETWEEN ? AND ?",
                (recording_id, min(seqs), max(seqs)),
            )
        }
        repeats = clashes = 0
        for s in batch:
            held = stored.get(s.seq)
            if held is None:
                continue
            measured = (
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
            )
            if tuple(held) == measured:
                repeats += 1
            else:
                clashes += 1
        return repeats, clashes

    @classmethod
    def _copy_for(cls, conn: sqlite3.Connection, recording_id: int, batch: list[Stride]) -> int:
        """Where a batch that clashes with recording_id goes: a copy under the same
        identity that already holds some of it unchanged (the rest of a session kept
        apart before), else a new copy."""
        row = conn.execute(
            "SELECT r.pod_address, r.journal_epoch, r.pod_session, r.copy, r.run_id, "
            "r.pod_name, r.foot, r.firmware, u.name, u.source, u.started_at "
            "FROM recordings r JOIN runs u ON u.id = r.run_id WHERE r.id = ?",
            (recording_id,),
        ).fetchone()
        address, epoch, session, _copy, _run, pod_name, foot, firmware, name, source, at = row
        copies = conn.execute(
            "SELECT id, copy FROM recordings WHERE pod_address = ? AND journal_epoch = ? "
            "AND pod_session = ? AND id != ? ORDER BY copy",
            (address, epoch, session, recording_id),
        ).fetchall()
        for other, _ in copies:
            repeats, clashes = cls._compare(conn, other, batch)
            if repeats and not clashes:
                return int(other)
        copy = 1 + max([c for _, c in copies] + [_copy])
        note = (
            f"pod {address} session {session} arrived with strides that differ from the "
            f"ones stored for it (recording {recording_id}): two sessions under one "
            "identity, kept apart rather than merged"
        )
        run_id = conn.execute(
            "INSERT INTO runs (name, source, started_at, note) VALUES (?, ?, ?, ?)",
            (f"{name} (kept apart)", source, at, note),
        ).lastrowid
        cur = conn.execute(
            "INSERT INTO recordings (run_id, pod_address, pod_name, foot, pod_session, "
            "firmware, journal_epoch, copy, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, address, pod_name, foot, session, firmware, epoch, copy, note),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

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

    # --- damage, dates, pairing ------------------------------------------------------

    def add_gap(self, recording_id: int, first_seq: int, count: int) -> None:
        """Records [first_seq, first_seq + count) of the session could not be read on the pod."""
        if count < 1 or first_seq < 0:
            raise StoreError(f"a gap of {count} records from {first_seq} is no gap")
        with self._writing(f"cannot record a gap in recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            # One stretch of damage is one gap, however many pieces the pod declared
            # it in (its window cuts a long one) and however often (a resumed sync).
            first, end = int(first_seq), int(first_seq) + int(count)
            touching = conn.execute(
                "SELECT first_seq, count FROM gaps WHERE recording_id = ? "
                "AND first_seq <= ? AND first_seq + count >= ?",
                (recording_id, end, first),
            ).fetchall()
            for other_first, other_count in touching:
                first = min(first, other_first)
                end = max(end, other_first + other_count)
            conn.execute(
                "DELETE FROM gaps WHERE recording_id = ? AND first_seq <= ? "
                "AND first_seq + count >= ?",
                (recording_id, end, first),
            )
            conn.execute(
                "INSERT INTO gaps (recording_id, first_seq, count) VALUES (?, ?, ?)",
                (recording_id, first, end - first),
            )

    def gaps(self, recording_id: int) -> list[Gap]:
        """The recording's unreadable stretches, with the neighbouring strides' host times."""
        with self._reading(f"cannot read the gaps of recording {recording_id}") as conn:
            rows = conn.execute(
                "SELECT g.first_seq, g.count, b.host_time, a.host_time, b.ic_ms, a.ic_ms "
                "FROM gaps g "
                "LEFT JOIN strides b ON b.recording_id = g.recording_id AND b.seq = "
                "(SELECT MAX(seq) FROM strides s WHERE s.recording_id = g.recording_id "
                "AND s.seq < g.first_seq) "
                "LEFT JOIN strides a ON a.recording_id = g.recording_id AND a.seq = "
                "(SELECT MIN(seq) FROM strides s WHERE s.recording_id = g.recording_id "
                "AND s.seq >= g.first_seq + g.count) "
                "WHERE g.recording_id = ? ORDER BY g.first_seq",
                (recording_id,),
            ).fetchall()
        return [Gap(int(a), int(b), c, d, e, f) for a, b, c, d, e, f in rows]

    def holds_session(self, recording_id: int, count: int) -> bool:
        """Every record [0, count) of the session is stored or known unreadable here."""
        with self._reading(f"cannot read recording {recording_id}") as conn:
            (strides,) = conn.execute(
                "SELECT COUNT(*) FROM strides WHERE recording_id = ? AND seq < ?",
                (recording_id, int(count)),
            ).fetchone()
            (lost,) = conn.execute(
                "SELECT COALESCE(SUM(MIN(first_seq + count, ?1) - first_seq), 0) FROM gaps "
                "WHERE recording_id = ?2 AND first_seq < ?1",
                (int(count), recording_id),
            ).fetchone()
        return int(strides) + int(lost) >= count

    def set_recording_date(
        self,
        recording_id: int,
        quality: str,
        started_at: float,
        started_at_min: float | None,
        started_at_max: float | None,
    ) -> bool:
        """Date a recording and its run, unless it already has a better date; True if set.

        `quality` is 'exact', 'pod clock' or 'bounds' (RecordingInfo.date_quality).
        """
        if quality not in DATE_RANK or quality is None:
            raise ValueError(f"unknown date quality {quality!r}")
        with self._writing(f"cannot date recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            (held,) = conn.execute(
                "SELECT date_quality FROM recordings WHERE id = ?", (recording_id,)
            ).fetchone()
            if DATE_RANK[held] > DATE_RANK[quality]:
                return False
            conn.execute(
                "UPDATE recordings SET started_at = ?, started_at_min = ?, started_at_max = ?, "
                "date_quality = ? WHERE id = ?",
                (float(started_at), started_at_min, started_at_max, quality, recording_id),
            )
            return True

    def set_recording_note(
        self, recording_id: int, note: str | None, *, header_damaged: bool = False
    ) -> None:
        with self._writing(f"cannot update recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            conn.execute(
                "UPDATE recordings SET note = ?, header_damaged = ? WHERE id = ?",
                (note, int(header_damaged), recording_id),
            )

    def set_run_note(self, run_id: int, note: str | None) -> None:
        with self._writing(f"cannot update run {run_id}") as conn:
            cur = conn.execute("UPDATE runs SET note = ? WHERE id = ?", (note, run_id))
            if cur.rowcount == 0:
                raise StoreError(f"unknown run {run_id}")

    def set_run_start(self, run_id: int, started_at: float) -> None:
        with self._writing(f"cannot update run {run_id}") as conn:
            cur = conn.execute(
                "UPDATE runs SET started_at = ? WHERE id = ?", (float(started_at), run_id)
            )
            if cur.rowcount == 0:
                raise StoreError(f"unknown run {run_id}")

    def move_recording(self, recording_id: int, run_id: int) -> None:
        """Put a recording into another run; a run left with no recording goes."""
        with self._writing(f"cannot move recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise StoreError(f"unknown run {run_id}")
            (old,) = conn.execute(
                "SELECT run_id FROM recordings WHERE id = ?", (recording_id,)
            ).fetchone()
            conn.execute("UPDATE recordings SET run_id = ? WHERE id = ?", (run_id, recording_id))
            conn.execute(
                "DELETE FROM runs WHERE id = ? AND NOT EXISTS "
                "(SELECT 1 FROM recordings WHERE run_id = ?)",
                (old, old),
            )

    def pod_contact(self, pod_address: str) -> PodContact | None:
        """When the pod last listed its sessions to this store (sync or pull), and what."""
        with self._reading("cannot read pod contacts") as conn:
            row = conn.execute(
                "SELECT listed_at, journal_epoch, last_session FROM pod_contacts "
                "WHERE pod_address = ?",
                (pod_address,),
            ).fetchone()
        return None if row is None else PodContact(float(row[0]), int(row[1]), int(row[2]))

    def set_pod_listed(
        self, pod_address: str, at: float, *, epoch: int = 0, last_session: int = 0
    ) -> None:
        """The pod listed its journal (epoch, sessions up to last_session) at `at`."""
        with self._writing("cannot record a pod contact") as conn:
            conn.execute(
                "INSERT INTO pod_contacts (pod_address, listed_at, journal_epoch, last_session) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (pod_address) DO UPDATE SET "
                "listed_at = excluded.listed_at, journal_epoch = excluded.journal_epoch, "
                "last_session = excluded.last_session WHERE excluded.listed_at >= listed_at",
                (pod_address, float(at), int(epoch), int(last_session)),
            )

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

    def last_stride_below(self, recording_id: int, seq: int) -> int | None:
        """The highest seq below `seq` the recording holds a stride of."""
        with self._reading(f"cannot read strides of recording {recording_id}") as conn:
            row = conn.execute(
                "SELECT MAX(seq) FROM strides WHERE recording_id = ? AND seq < ?",
                (recording_id, int(seq)),
            ).fetchone()
        return None if row[0] is None else int(row[0])

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
            run_rows = conn.execute(f"{_SELECT_RUNS} ORDER BY started_at, id").fetchall()
            recordings = self._recordings(conn, "ORDER BY r.run_id, r.id", ())
        by_run: dict[int, list[RecordingInfo]] = {}
        for rec in recordings:
            by_run.setdefault(rec.run_id, []).append(rec)
        return [_run_info(row, by_run.get(row[0], [])) for row in run_rows]

    def run(self, run_id: int) -> RunInfo:
        with self._reading(f"cannot read run {run_id}") as conn:
            row = conn.execute(f"{_SELECT_RUNS} WHERE id = ?", (run_id,)).fetchone()
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
        # header_damaged is stored as 0/1: SQLite has no booleans.
        return [RecordingInfo(*(*row[:-2], bool(row[-2]), row[-1])) for row in rows]

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
    run_id, name, source, started_at, ended_at, note = row
    return RunInfo(
        id=int(run_id),
        name=str(name),
        source=str(source),
        started_at=float(started_at),
        ended_at=None if ended_at is None else float(ended_at),
        recordings=tuple(recordings),
        note=note,
    )
