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

# Version 3 (protocol 3, run identity): a recording is a pod session identified by
# (pod address, journal epoch, session id); rows from before get epoch 0, which is
# what a pod reports for sessions journaled before protocol 3. `copy` keeps a second
# session that the store could not tell apart from a first one (same identity,
# different strides) next to it instead of merging the two. A recording's date says
# how it is known; gaps are records the pod could not read; a run's note says why it
# holds one pod only; pod_contacts is when each pod last listed its sessions to this
# store and the last session id of its journal then: a later session of that journal,
# or any of a newer journal, started after it.
# SQLite cannot change a UNIQUE constraint in place, so recordings is rebuilt (the
# documented 12-step way: migrate() turns foreign keys off around it).
_V3 = (
    """
    CREATE TABLE recordings_v3 (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        pod_address TEXT NOT NULL,
        pod_name TEXT NOT NULL,
        foot TEXT NOT NULL CHECK (foot IN ('left', 'right')),
        pod_session INTEGER NOT NULL,
        firmware TEXT NOT NULL,
        started_at REAL,
        clock_offset_s REAL,
        clock_rate REAL,
        journal_epoch INTEGER NOT NULL DEFAULT 0,
        copy INTEGER NOT NULL DEFAULT 0 CHECK (copy >= 0),
        started_at_min REAL,
        started_at_max REAL,
        date_quality TEXT CHECK (date_quality IN ('exact', 'pod clock', 'bounds')),
        header_damaged INTEGER NOT NULL DEFAULT 0 CHECK (header_damaged IN (0, 1)),
        note TEXT,
        UNIQUE (pod_address, journal_epoch, pod_session, copy)
    )
    """,
    """
    INSERT INTO recordings_v3 (id, run_id, pod_address, pod_name, foot, pod_session,
        firmware, started_at, clock_offset_s, clock_rate, started_at_min, started_at_max,
        date_quality)
    SELECT id, run_id, pod_address, pod_name, foot, pod_session, firmware, started_at,
        clock_offset_s, clock_rate, started_at, started_at,
        CASE WHEN clock_offset_s IS NOT NULL OR started_at IS NOT NULL THEN 'exact' END
    FROM recordings
    """,
    "DROP TABLE recordings",
    "ALTER TABLE recordings_v3 RENAME TO recordings",
    "CREATE INDEX recordings_by_run ON recordings(run_id)",
    "CREATE INDEX recordings_by_pod ON recordings(pod_address, journal_epoch, pod_session)",
    "ALTER TABLE runs ADD COLUMN note TEXT",
    """
    CREATE TABLE gaps (
        recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
        first_seq INTEGER NOT NULL CHECK (first_seq >= 0),
        count INTEGER NOT NULL CHECK (count >= 1),
        PRIMARY KEY (recording_id, first_seq)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE pod_contacts (
        pod_address TEXT PRIMARY KEY,
        listed_at REAL NOT NULL,
        journal_epoch INTEGER NOT NULL,
        last_session INTEGER NOT NULL
    )
    """,
)

# Version 4 (watch merge): a runner's watch activity merged into a run: how it was
# aligned, its 1 s samples placed on the run's clock (t_s, unix seconds), and its laps.
# One merge per run: merging again replaces all three together.
_V4 = (
    """
    CREATE TABLE watch_merges (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        source TEXT NOT NULL,
        device TEXT NOT NULL,
        watch_start REAL NOT NULL,
        offset_s REAL NOT NULL,
        correlation REAL,
        overlap_s REAL NOT NULL,
        method TEXT NOT NULL CHECK (method IN ('cadence', 'clock')),
        merged_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE watch_samples (
        run_id INTEGER NOT NULL REFERENCES watch_merges(run_id) ON DELETE CASCADE,
        t_s REAL NOT NULL,
        speed_mps REAL,
        distance_m REAL,
        altitude_m REAL,
        grade_pct REAL,
        heart_rate_bpm REAL,
        cadence_spm REAL,
        PRIMARY KEY (run_id, t_s)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE watch_laps (
        run_id INTEGER NOT NULL REFERENCES watch_merges(run_id) ON DELETE CASCADE,
        lap INTEGER NOT NULL CHECK (lap >= 1),
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        distance_m REAL,
        ascent_m REAL,
        PRIMARY KEY (run_id, lap)
    ) WITHOUT ROWID
    """,
)

# Version 5 (protocol 4): the sensor's full scales each recording was made at, so
# a clipped impact reads as "at least this much", and each stride's pronation (the
# roll range through stance); NULL where the pod did not say.
_V5 = (
    "ALTER TABLE recordings ADD COLUMN acc_fs_g INTEGER CHECK (acc_fs_g > 0)",
    "ALTER TABLE recordings ADD COLUMN gyro_fs_dps INTEGER CHECK (gyro_fs_dps > 0)",
    "ALTER TABLE strides ADD COLUMN pronation_deg REAL CHECK (pronation_deg >= 0)",
)

# Version 6 (history from FIT files): a run imported from a FIT activity holds no
# strides, only what the file says of the whole run: its timer time, distance and
# the running-dynamics averages. The file's digest makes a second import of it a
# repeat; the pods are the ones the file names that this store knows (NULL: not
# known, so no shoe counts its distance).
_V6 = (
    """
    CREATE TABLE imported_summaries (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        origin TEXT NOT NULL CHECK (origin IN ('fit')),
        file_name TEXT NOT NULL,
        device TEXT NOT NULL,
        digest TEXT NOT NULL UNIQUE,
        timer_s REAL NOT NULL CHECK (timer_s > 0),
        elapsed_s REAL NOT NULL CHECK (elapsed_s >= timer_s),
        distance_m REAL CHECK (distance_m >= 0),
        cadence_spm REAL CHECK (cadence_spm > 0),
        stance_ms REAL CHECK (stance_ms > 0),
        balance_pct REAL CHECK (balance_pct BETWEEN 0 AND 100),
        step_length_m REAL CHECK (step_length_m > 0),
        strike_deg REAL,
        impact_g REAL CHECK (impact_g >= 0),
        pronation_deg REAL CHECK (pronation_deg >= 0),
        left_pod TEXT,
        right_pod TEXT
    )
    """,
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4, _V5, _V6)
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
    # A step may rebuild a table others refer to; with foreign keys on, dropping the
    # old table would cascade into its children. The check below replaces them.
    foreign_keys = int(conn.execute("PRAGMA foreign_keys").fetchone()[0])
    conn.execute("PRAGMA foreign_keys = OFF")
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
        broken = conn.execute("PRAGMA foreign_key_check").fetchone()
        if broken is not None:
            raise StoreError(
                f"{path}: upgrading the schema would leave a dangling reference in "
                f"table {broken[0]}; the file was not changed"
            )
        # user_version lives in the database header and is part of the transaction,
        # so a failed step leaves the old version and the old schema together.
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    return found


def _refuse_newer(version: int, path: str) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} has schema version {version}, but this heavylegs understands up to "
            f"{SCHEMA_VERSION}; upgrade heavylegs to open it (the file was not changed)"
        )


def _has_tables(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None
