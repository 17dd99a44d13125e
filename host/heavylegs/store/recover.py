"""Checking a store file, and salvaging a damaged one into a new file.

Both work on a private copy (see salvage.py): the file named is never changed. A
recovery builds a fresh store with this heavylegs's own schema, copies every
readable row into it, and publishes it under the new name only once SQLite's
integrity check passes on it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from heavylegs.errors import StoreError
from heavylegs.store.db import Store
from heavylegs.store.diary import Diary
from heavylegs.store.migrations import MIGRATIONS, SCHEMA_VERSION
from heavylegs.store.salvage import DamagedCopy, TableScan, quote_name

# Shown first and counted in `db check`: what a runner thinks of as their data.
MAIN_TABLES = ("runs", "recordings", "strides")
# Kept by the tables' own code, not data: never copied.
_BOOKKEEPING = frozenset({"analysis_schema"})
_PROBLEMS_SHOWN = 10


@dataclass
class HealthReport:
    path: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[TableScan] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.problems and not self.notes and all(t.lost in (0, None) for t in self.tables)
        )


@dataclass
class RecoveryReport:
    source: Path
    out: Path
    notes: list[str] = field(default_factory=list)
    tables: list[TableScan] = field(default_factory=list)


def check_store(path: Path) -> HealthReport:
    """SQLite's integrity and foreign key checks, and how many rows each table can give."""
    _require_file(path)
    report = HealthReport(path)
    with DamagedCopy(path) as copy:
        report.notes.extend(copy.notes)
        report.problems.extend(_integrity_problems(copy.conn))
        tables = copy.tables()
        if tables is not None and "runs" not in tables:
            report.problems.append("it holds no heavylegs tables (is it the right file?)")
        for table in tables or []:
            scan = TableScan(table)
            for _ in copy.scan(table, copy.columns(table), scan):
                pass
            report.tables.append(scan)
    return report


def recover_store(damaged: Path, out: Path) -> RecoveryReport:
    """Copy every readable row of `damaged` into a new store at `out` (which must not exist)."""
    _require_file(damaged)
    _require_new(out)
    report = RecoveryReport(damaged, out)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    _remove(partial)
    try:
        # The copy goes beside the output: that disk must hold a store's size anyway.
        with DamagedCopy(damaged, workdir=out.parent) as copy:
            report.notes.extend(copy.notes)
            _build(copy, partial, report)
        problems = _integrity_problems_of(partial)
        if problems:
            raise StoreError(f"the recovered copy failed SQLite's check: {problems[0]}")
        # link() refuses to replace a file, so a file that appeared at `out` meanwhile
        # is never overwritten.
        os.link(partial, out)
    except OSError as err:
        raise StoreError(f"cannot write {out}: {err.strerror or err}") from err
    except sqlite3.Error as err:
        # The new file failing (a full disk, say), not the damaged one: that is read
        # through a copy whose errors the scan absorbs.
        raise StoreError(f"cannot write {out}: {err}") from err
    finally:
        _remove(partial)
    return report


def replace_with_recovered(damaged: Path, recovered: Path) -> Path:
    """Move the damaged file (and its log) aside and put the recovered store in its place.

    Returns where the damaged file went. Close every heavylegs command using the
    store first: a process still holding the old file would keep writing to it.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    aside = damaged.with_name(f"{damaged.name}.damaged-{stamp}")
    if aside.exists():
        raise StoreError(f"{aside} already exists; wait a second and try again")
    os.replace(damaged, aside)
    # The old write-ahead log belongs to the old file: left beside the new one, SQLite
    # would apply its pages to it.
    for suffix in ("-wal", "-shm"):
        log = damaged.with_name(damaged.name + suffix)
        if log.exists():
            os.replace(log, aside.with_name(aside.name + suffix))
    os.replace(recovered, damaged)
    return aside


# --- building the new file ---------------------------------------------------------


def _build(copy: DamagedCopy, partial: Path, report: RecoveryReport) -> None:
    version = _schema_version(copy)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{copy.path} has schema version {version}, but this heavylegs understands up to "
            f"{SCHEMA_VERSION}; upgrade heavylegs to recover it (the file was not changed)"
        )
    found = copy.tables()
    if found is None:
        report.notes.append("tables were looked for under the names this heavylegs uses")

    # The store's tables are created at the damaged file's own version, so its rows fit
    # them as they are; the Store then upgrades the copy like any older file.
    conn = sqlite3.connect(partial, isolation_level=None)
    try:
        for step in MIGRATIONS[:version]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        store_tables = _tables(conn)
        _copy_tables(copy, conn, [t for t in found or store_tables if t in store_tables], report)
    finally:
        conn.close()

    Store(partial).close()
    Diary(partial).close()

    conn = sqlite3.connect(partial, isolation_level=None)
    try:
        extra = [t for t in _tables(conn) if t not in store_tables and t not in _BOOKKEEPING]
        _copy_tables(copy, conn, [t for t in found or extra if t in extra], report)
        unknown = set(found or ()) - set(_tables(conn))
        for table in sorted(unknown):
            report.notes.append(f"table {table} is not a heavylegs table: not copied")
        _settle_orphans(conn, report)
    finally:
        conn.close()
    if found is None and not any(scan.kept for scan in report.tables):
        raise StoreError(
            f"nothing in {copy.path} is readable as a heavylegs store (is it the right "
            "file?); no file written"
        )


def _copy_tables(
    copy: DamagedCopy, conn: sqlite3.Connection, tables: list[str], report: RecoveryReport
) -> None:
    for table in tables:
        wanted = [c for c in _columns(conn, table) if c in copy.columns(table)]
        scan = TableScan(table)
        report.tables.append(scan)
        if not wanted:
            scan.unreadable = "its columns are unreadable"
            continue
        insert = (
            f"INSERT INTO {quote_name(table)} ({', '.join(quote_name(c) for c in wanted)}) "
            f"VALUES ({', '.join('?' for _ in wanted)})"
        )
        conn.execute("BEGIN")
        for row in copy.scan(table, wanted, scan):
            try:
                conn.execute(insert, row)
            except sqlite3.IntegrityError:
                # Bytes damaged into a row that breaks the schema's rules: not kept.
                scan.rejected += 1
        conn.execute("COMMIT")


def _settle_orphans(conn: sqlite3.Connection, report: RecoveryReport) -> None:
    """Give recordings whose run was lost a stand-in run; drop rows nothing can hold."""
    try:
        placed = conn.execute(
            "INSERT INTO runs (id, name, source, started_at) "
            "SELECT r.run_id, 'recovered run ' || r.run_id, 'recovered', "
            "COALESCE(MIN(r.started_at), (SELECT MIN(s.host_time) FROM strides s "
            "WHERE s.recording_id IN (SELECT id FROM recordings WHERE run_id = r.run_id)), 0) "
            "FROM recordings r WHERE r.run_id NOT IN (SELECT id FROM runs) GROUP BY r.run_id"
        ).rowcount
    except sqlite3.Error as err:
        report.notes.append(f"could not make stand-in runs for orphaned recordings: {err}")
        placed = 0
    if placed > 0:
        report.notes.append(
            f"{placed} run(s) were unreadable but their recordings were not: they are "
            "kept as runs named 'recovered run N'"
        )
    dropped: dict[str, int] = {}
    removed = True
    while removed:
        removed = False
        for table in _tables(conn):
            for fk in conn.execute(f"PRAGMA foreign_key_list({quote_name(table)})").fetchall():
                parent, child_col, parent_col = fk[2], fk[3], fk[4] or "rowid"
                count = conn.execute(
                    f"DELETE FROM {quote_name(table)} WHERE {quote_name(child_col)} IS NOT NULL AND "
                    f"{quote_name(child_col)} NOT IN (SELECT {quote_name(parent_col)} "
                    f"FROM {quote_name(parent)})"
                ).rowcount
                if count > 0:
                    dropped[table] = dropped.get(table, 0) + count
                    removed = True
    for scan in report.tables:
        scan.rejected += dropped.pop(scan.table, 0)
    for table, count in dropped.items():
        report.notes.append(f"{count} {table} rows referred to rows that were lost: dropped")


def _schema_version(copy: DamagedCopy) -> int:
    """The file's schema version; from its tables' shape when the header was lost."""
    version = copy.user_version()
    if version:
        return version
    found = {t: copy.columns(t) for t in copy.tables() or ()}
    if not found:
        return SCHEMA_VERSION
    for candidate in range(SCHEMA_VERSION, 0, -1):
        conn = sqlite3.connect(":memory:")
        try:
            for step in MIGRATIONS[:candidate]:
                for statement in step:
                    conn.execute(statement)
            shape = {t: _columns(conn, t) for t in _tables(conn)}
        finally:
            conn.close()
        if all(found.get(t) == cols for t, cols in shape.items()):
            return candidate
    return SCHEMA_VERSION


# --- helpers -----------------------------------------------------------------------


def _integrity_problems(conn: sqlite3.Connection) -> list[str]:
    problems: list[str] = []
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        lines = [line for row in rows for line in str(row[0]).splitlines()]
        problems.extend(
            line for line in lines if line != "ok" and not line.startswith("*** in database")
        )
    except sqlite3.DatabaseError as err:
        problems.append(str(err))
    try:
        orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
        if orphans:
            tables = sorted({str(row[0]) for row in orphans})
            problems.append(
                f"{len(orphans)} rows of {', '.join(tables)} refer to rows that do not exist"
            )
    except sqlite3.DatabaseError as err:
        if not problems:
            problems.append(f"foreign key check failed: {err}")
    return problems


def _integrity_problems_of(path: Path) -> list[str]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return _integrity_problems(conn)
    finally:
        conn.close()


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY rootpage"
    ).fetchall()
    return [str(row[0]) for row in rows]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f"PRAGMA table_info({quote_name(table)})")]


def _require_file(path: Path) -> None:
    if not path.exists():
        raise StoreError(f"no store at {path}")
    if not path.is_file():
        raise StoreError(f"{path} is not a file")


def _require_new(out: Path) -> None:
    if out.is_dir():
        raise StoreError(f"{out} is a folder; name a new file for the recovered store")
    if out.exists() or out.is_symlink():
        raise StoreError(f"{out} already exists; name a new file for the recovered store")
    if not out.parent.is_dir():
        raise StoreError(f"{out.parent} is not a folder; create it or choose another --out")


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
