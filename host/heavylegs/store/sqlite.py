"""The open SQLite file under the Store and the analysis diary, and the recording
queries every part of the Store shares."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from heavylegs.errors import StoreError
from heavylegs.store.damage import store_error
from heavylegs.store.models import RecordingInfo

_SELECT_RECORDINGS = """
    SELECT r.id, r.run_id, r.pod_address, r.pod_name, r.foot, r.pod_session, r.firmware,
        (SELECT COUNT(*) FROM strides s WHERE s.recording_id = r.id),
        (SELECT MIN(ic_ms) FROM strides s WHERE s.recording_id = r.id),
        (SELECT MAX(ic_ms) FROM strides s WHERE s.recording_id = r.id),
        r.started_at, r.clock_offset_s, r.clock_rate, r.journal_epoch, r.copy,
        r.started_at_min, r.started_at_max, r.date_quality, r.header_damaged, r.note,
        r.acc_fs_g, r.gyro_fs_dps
    FROM recordings r
"""


class ClosedOnExit:
    """A context manager that calls close() when its block ends."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SQLiteFile(ClosedOnExit):
    """An open SQLite file: closing, context management, use-after-close errors.

    Shared by the Store and by other table sets kept in the same file (the
    analysis diary), so both fail the same way."""

    path: Path
    _conn: sqlite3.Connection | None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

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

    @contextmanager
    def _reading(self, what: str) -> Iterator[sqlite3.Connection]:
        conn = self._db
        try:
            yield conn
        except sqlite3.Error as err:
            raise store_error(self.path, what, err) from err


class StoreTables(SQLiteFile):
    """The recording lookups each part of the Store uses."""

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
        return [RecordingInfo(*(*row[:-4], bool(row[-4]), *row[-3:])) for row in rows]
