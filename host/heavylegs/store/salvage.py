"""Reading what is still readable in a damaged store file, without touching it.

The file (and its write-ahead log) is copied to a private folder first, so nothing
here can change the damaged original, not even SQLite's own WAL recovery. The copy
is opened with the settings that let SQLite read past a truncated end, and a header
that is not SQLite's is rebuilt on the copy. Each table is then read in key order;
when a page cannot be read the scan skips ahead to the next key that can be, so one
bad page loses only the rows it held.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heavylegs.errors import StoreError
from heavylegs.store.damage import is_damage
from heavylegs.store.pages import layout_of, orphan_rows
from heavylegs.store.sqlite import ClosedOnExit

_MIN_KEY = -(2**63)
_MAX_KEY = 2**63 - 1
# A start this far into a key column reads the next value's rows: nothing of its own.
_FAR_KEY = 2**62
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_NOTADB = 26
# 4096 is SQLite's default and what heavylegs stores use; the others are tried
# only when the header that recorded the page size is gone.
_MAJOR, _MINOR, _PATCH = sqlite3.sqlite_version_info
_VERSION_NUMBER = _MAJOR * 1_000_000 + _MINOR * 1000 + _PATCH
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)


@dataclass
class TableScan:
    """What reading one table found."""

    table: str
    read: int = 0
    # Rows read but refused by the new file's schema (damaged values), or dropped
    # because the row they belong to was lost.
    rejected: int = 0
    # Rows found on leaf pages that the table's b-tree no longer leads to.
    from_orphan_pages: int = 0
    # How many rows SQLite can count (often through an intact index); None if it cannot.
    counted: int | None = None
    skipped: list[str] = field(default_factory=list)
    unreadable: str | None = None

    @property
    def kept(self) -> int:
        return self.read - self.rejected

    @property
    def lost(self) -> int | None:
        """Rows counted but not kept; None when SQLite could not count the table."""
        if self.counted is None:
            return None
        return max(self.counted - self.kept, 0)


class DamagedCopy(ClosedOnExit):
    """A private, read-only copy of a store file for salvage. Use as a context manager."""

    def __init__(self, path: Path, workdir: Path | None = None) -> None:
        """Copy `path` into a private folder made in `workdir` (default: the system's)."""
        self.path = path
        self.notes: list[str] = []
        self._dir = tempfile.TemporaryDirectory(
            prefix=".heavylegs-salvage-", dir=None if workdir is None else workdir.resolve()
        )
        self._copy = Path(self._dir.name).resolve() / "store.db"
        try:
            if not self._snapshot():
                shutil.copyfile(path, self._copy)
                wal = path.with_name(path.name + "-wal")
                if wal.exists():
                    # The log holds commits not yet in the main file; SQLite applies
                    # what its checksums vouch for and ignores the rest.
                    shutil.copyfile(wal, self._copy.with_name("store.db-wal"))
        except OSError as err:
            self._dir.cleanup()
            raise StoreError(f"cannot read {path}: {err.strerror or err}") from err
        self.conn = self._open()

    def _snapshot(self) -> bool:
        """Copy through SQLite's backup API, consistent even while another process writes.

        It copies pages without reading their contents, so page damage comes along
        to be found; a file SQLite cannot open at all is copied byte for byte instead.
        """
        # Without a -wal file no connection has the store open (SQLite removes the log
        # when the last one closes), so the file can be read as immutable: nothing,
        # not even an empty -wal or -shm, is then created beside it.
        has_log = self.path.with_name(self.path.name + "-wal").exists()
        mode = "mode=ro" if has_log else "immutable=1"
        try:
            source = sqlite3.connect(f"{self.path.resolve().as_uri()}?{mode}", uri=True)
        except sqlite3.Error:
            return False
        try:
            target = sqlite3.connect(self._copy)
            try:
                source.backup(target)
                return True
            finally:
                target.close()
        except sqlite3.Error:
            self._copy.unlink(missing_ok=True)
            return False
        finally:
            source.close()

    def _open(self) -> sqlite3.Connection:
        conn = self._connect()
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.DatabaseError as err:
            conn.close()
            not_sqlite = getattr(err, "sqlite_errorcode", None) == _SQLITE_NOTADB
            if not (not_sqlite or self._copy.read_bytes()[:16] != _SQLITE_MAGIC):
                # The schema page itself is unreadable: tables cannot be found.
                self.notes.append(f"the table list is unreadable ({err})")
                return self._connect()
        page_size = self._rebuild_header()
        if page_size is None:
            self.notes.append("the file header is damaged and could not be rebuilt")
        else:
            self.notes.append(
                f"the file header was damaged; read with a rebuilt header (page size {page_size})"
            )
        return self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"{self._copy.as_uri()}?mode=ro", uri=True, isolation_level=None)
        # writable_schema lets SQLite open a file shorter than its header says (it
        # reads what is there); nothing is written, the connection is read-only.
        conn.execute("PRAGMA writable_schema = ON")
        # Check each page's cells against its bounds, so damage raises an error
        # instead of yielding rows made of garbage.
        conn.execute("PRAGMA cell_size_check = ON")
        return conn

    def _rebuild_header(self) -> int | None:
        """Write a plausible header on the copy; returns the page size that works."""
        size = self._copy.stat().st_size
        original = self._copy.read_bytes()[:100]
        for page_size in _PAGE_SIZES:
            if size < page_size:
                continue
            with self._copy.open("r+b") as f:
                f.write(_header(page_size, size // page_size))
            try:
                conn = self._connect()
                try:
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                    return page_size
                finally:
                    conn.close()
            except sqlite3.DatabaseError:
                continue
        with self._copy.open("r+b") as f:
            f.write(original)
        return None

    def close(self) -> None:
        self.conn.close()
        self._dir.cleanup()

    # --- what the file holds ---------------------------------------------------------

    def tables(self) -> list[str] | None:
        """Tables named in the file's schema, or None if the schema is unreadable."""
        try:
            rows = self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY rootpage"
            ).fetchall()
        except sqlite3.DatabaseError:
            return None
        return [str(row[0]) for row in rows]

    def columns(self, table: str) -> list[str]:
        try:
            rows = self.conn.execute(f"PRAGMA table_info({quote_name(table)})").fetchall()
        except sqlite3.DatabaseError:
            return []
        return [str(row[1]) for row in rows]

    def user_version(self) -> int | None:
        try:
            return int(self.conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError:
            return None

    def scan(self, table: str, columns: list[str], report: TableScan) -> Iterator[tuple[Any, ...]]:
        """Yield `columns` of every readable row of `table`, in key order.

        Rows on pages SQLite cannot read are skipped; `report` counts what was read
        and describes the skipped key ranges.
        """
        report.counted = self._count(table)
        keys = self._key(table)
        if keys is None:
            yield from self._in_one_read(table, columns, report)
            return
        reader = _KeyedReader(self.conn, table, keys, columns)
        gaps: list[tuple[tuple[int, ...], tuple[int, ...] | None]] = []
        start: tuple[int, ...] | None = (_MIN_KEY,) * len(keys)
        while start is not None:
            last: tuple[int, ...] | None = None
            try:
                for row in reader.rows_from(start):
                    last = row[: len(keys)]
                    report.read += 1
                    yield row[len(keys) :]
                break
            except sqlite3.DatabaseError as err:
                if not is_damage(err) and last is None and start == (_MIN_KEY,) * len(keys):
                    report.unreadable = str(err)
                    return
            resume = start if last is None else _successor(last)
            if resume is None:
                break
            start = reader.next_readable(resume)
            gaps.append((resume, start))
            end = "the end" if start is None else _describe(keys, start)
            report.skipped.append(f"{_describe(keys, resume)} up to {end}")
        if gaps:
            yield from self._from_orphan_pages(table, columns, gaps, report)

    def _in_one_read(
        self, table: str, columns: list[str], report: TableScan
    ) -> Iterator[tuple[Any, ...]]:
        """A table without an integer key to skip ahead by (watch_samples, shoe_pods): its
        rows in one plain read, up to the first page SQLite cannot read."""
        names = ", ".join(quote_name(c) for c in columns)
        try:
            for row in self.conn.execute(f"SELECT {names} FROM {quote_name(table)}"):
                report.read += 1
                yield tuple(row)
        except sqlite3.DatabaseError as err:
            if report.read == 0:
                report.unreadable = str(err)
            else:
                report.skipped.append(f"every row after the first {report.read} ({err})")

    def _from_orphan_pages(
        self,
        table: str,
        columns: list[str],
        gaps: list[tuple[tuple[int, ...], tuple[int, ...] | None]],
        report: TableScan,
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of the skipped key ranges found on leaf pages no b-tree reaches any more."""
        try:
            layout = layout_of(self.conn, table)
        except sqlite3.DatabaseError:
            return
        if layout is None:
            return
        seen: set[tuple[int, ...]] = set()
        for key, row in orphan_rows(self._copy, self.conn, layout):
            if key in seen or not any(
                low <= key and (high is None or key < high) for low, high in gaps
            ):
                continue
            seen.add(key)
            report.read += 1
            report.from_orphan_pages += 1
            yield tuple(row.get(column) for column in columns)

    def _count(self, table: str) -> int | None:
        try:
            return int(self.conn.execute(f"SELECT count(*) FROM {quote_name(table)}").fetchone()[0])
        except sqlite3.DatabaseError:
            return None

    def _key(self, table: str) -> list[str] | None:
        """The columns rows are stored in order of: rowid, or a WITHOUT ROWID primary key."""
        try:
            self.conn.execute(f"SELECT rowid FROM {quote_name(table)} LIMIT 0")
            return ["rowid"]
        except sqlite3.OperationalError:
            pass
        except sqlite3.DatabaseError:
            return None
        try:
            info = self.conn.execute(f"PRAGMA table_info({quote_name(table)})").fetchall()
        except sqlite3.DatabaseError:
            return None
        primary = sorted((row[5], row[1]) for row in info if row[5])
        # The skip-ahead steps through integer keys; other tables are read in one go.
        integer = all(str(row[2]).upper() == "INTEGER" for row in info if row[5])
        return [name for _, name in primary] if primary and integer else None


class _KeyedReader:
    """Ordered reads of one table from any key, and the search for the next readable key."""

    def __init__(self, conn: sqlite3.Connection, table: str, keys: list[str], columns: list[str]):
        self.conn = conn
        self.width = len(keys)
        key_list = ", ".join(quote_name(k) for k in keys)
        marks = ", ".join("?" for _ in keys)
        where = f"({key_list}) >= ({marks})" if len(keys) > 1 else f"{key_list} >= ?"
        selected = ", ".join([*(quote_name(k) for k in keys), *(quote_name(c) for c in columns)])
        source = f"FROM {quote_name(table)} WHERE {where} ORDER BY {key_list}"
        self._rows_sql = f"SELECT {selected} {source}"
        self._probe_sql = f"SELECT {key_list} {source} LIMIT 1"

    def rows_from(self, start: tuple[int, ...]) -> Iterator[tuple[Any, ...]]:
        yield from self.conn.execute(self._rows_sql, start)

    def readable(self, start: tuple[int, ...]) -> bool:
        try:
            self.conn.execute(self._probe_sql, start).fetchall()
            return True
        except sqlite3.DatabaseError:
            return False

    def next_readable(self, resume: tuple[int, ...]) -> tuple[int, ...] | None:
        """The smallest key after `resume` from which reading works, stepping over bad pages.

        Tries the last key column first (later rows of the same recording), then the
        ones before it (later recordings).
        """
        for column in reversed(range(self.width)):
            found = self._first_readable(resume[:column], resume[column], column)
            if found is not None:
                return found
        return None

    def _first_readable(
        self, prefix: tuple[int, ...], failed: int, column: int
    ) -> tuple[int, ...] | None:
        """The smallest readable start under `prefix` whose `column` value exceeds `failed`.

        Steps grow exponentially, then a binary search finds where readable keys
        begin. A bad page can end inside the value before that one (a recording's
        first strides on the bad page, the rest on good ones), so that value is
        searched again one column deeper.
        """
        tail = (_MIN_KEY,) * (self.width - column - 1)
        # From an open start, step from 0: heavylegs keys are ids and counters, and
        # doubling from -2**63 would jump straight past them.
        base = -1 if failed == _MIN_KEY else failed
        low, step = base, 1
        while True:
            if base + step > _MAX_KEY:
                return None
            candidate = base + step
            if self.readable((*prefix, candidate, *tail)):
                break
            low, step = candidate, step * 2
        while candidate - low > 1:
            middle = (candidate + low) // 2
            if self.readable((*prefix, middle, *tail)):
                candidate = middle
            else:
                low = middle
        if tail and candidate - 1 > base:
            deeper = self._first_readable((*prefix, candidate - 1), _MIN_KEY, column + 1)
            if deeper is not None and deeper[-1] < _FAR_KEY:
                return deeper
        return (*prefix, candidate, *tail)


def _successor(key: tuple[int, ...]) -> tuple[int, ...] | None:
    for column in reversed(range(len(key))):
        if key[column] < _MAX_KEY:
            return (*key[:column], key[column] + 1, *(_MIN_KEY,) * (len(key) - column - 1))
    return None


def _describe(keys: list[str], key: tuple[int, ...]) -> str:
    shown = [f"{name} {value}" for name, value in zip(keys, key, strict=True) if value != _MIN_KEY]
    return ", ".join(shown) if shown else "the start"


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _header(page_size: int, page_count: int) -> bytes:
    """A 100-byte SQLite header for a WAL-mode UTF-8 file of this size (user_version 0)."""
    return (
        _SQLITE_MAGIC
        + struct.pack(">HBBBBBB", 1 if page_size == 65536 else page_size, 2, 2, 0, 64, 32, 32)
        # change counter, page count, freelist trunk and count (the freelist is
        # dropped: only live pages matter), schema cookie, schema format 4
        + struct.pack(">IIIIII", 1, page_count, 0, 0, 1, 4)
        # cache size, autovacuum root, UTF-8, user_version, incremental vacuum, app id
        + struct.pack(">IIIIII", 0, 0, 1, 0, 0, 0)
        + bytes(20)
        # version-valid-for equals the change counter, so the page count is trusted
        + struct.pack(">II", 1, _VERSION_NUMBER)
    )
