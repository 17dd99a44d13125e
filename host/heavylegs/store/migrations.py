"""Numbered schema migrations, tracked in SQLite's `PRAGMA user_version`.

MIGRATIONS[n] upgrades a database from version n to n + 1. Append new steps; never
edit a released one, because databases in the field have already run it.
"""

from __future__ import annotations

import sqlite3

from heavylegs.errors import StoreError

_V1 = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL
    )
    """,
    """
    CREATE TABLE recordings (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        pod_address TEXT NOT NULL,
        pod_name TEXT NOT NULL,
        foot TEXT NOT NULL CHECK (foot IN ('left', 'right')),
        pod_session INTEGER NOT NULL,
        firmware TEXT NOT NULL,
        UNIQUE (pod_address, pod_session)
    )
    """,
    "CREATE INDEX recordings_by_run ON recordings(run_id)",
    # WITHOUT ROWID: the primary key is the natural key, so rows are stored once in its
    # order and a repeated (recording, seq) is found without a second index.
    """
    CREATE TABLE strides (
        recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        foot TEXT NOT NULL CHECK (foot IN ('left', 'right')),
        running INTEGER NOT NULL CHECK (running IN (0, 1)),
        clipped INTEGER NOT NULL CHECK (clipped IN (0, 1)),
        strike_class TEXT NOT NULL
            CHECK (strike_class IN ('unknown', 'rearfoot', 'midfoot', 'forefoot')),
        ic_ms INTEGER NOT NULL,
        gct_ms REAL NOT NULL,
        stride_ms REAL NOT NULL,
        cadence_spm REAL NOT NULL,
        strike_deg REAL NOT NULL,
        impact_g REAL NOT NULL,
        stride_len_m REAL,
        host_time REAL,
        PRIMARY KEY (recording_id, seq)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX strides_by_time ON strides(recording_id, ic_ms)",
)

# Version 2 (journal sync): when the pod's session started by its own clock (set by
# the host), the fit of its sensor clock to host time, and what each pod
# session's sync has reached.
_V2 = (
    "ALTER TABLE recordings ADD COLUMN started_at REAL",
    "ALTER TABLE recordings ADD COLUMN clock_offset_s REAL",
    "ALTER TABLE recordings ADD COLUMN clock_rate REAL",
    """
    CREATE TABLE pod_sync (
        recording_id INTEGER PRIMARY KEY REFERENCES recordings(id) ON DELETE CASCADE,
        acked INTEGER NOT NULL CHECK (acked >= 0),
        pod_count INTEGER NOT NULL CHECK (pod_count >= 0),
        synced_at REAL NOT NULL
    )
    """,
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the schema up to SCHEMA_VERSION; returns the version found before.

    `conn` must be in autocommit mode (isolation_level=None) so the transaction here
    is the only one. The version is read again under the write lock, so two
    processes opening the same new file do not both run a step.
    """
    found = schema_version(conn)
    _refuse_newer(found, path)
    if found == SCHEMA_VERSION:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)
        _refuse_newer(current, path)
        if current == 0 and _has_tables(conn):
            raise StoreError(
                f"{path} is an SQLite database but not a heavylegs store; "
                "choose another file (this one was not changed)"
            )
        for version in range(current, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        # user_version lives in the database header and is part of the transaction,
        # so a failed step leaves the old version and the old schema together.
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found


def _refuse_newer(version: int, path: str) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} has schema version {version}, but this heavylegs understands up to "
            f"{SCHEMA_VERSION}; upgrade heavylegs to open it (the file was not changed)"
        )


def _has_tables(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None
