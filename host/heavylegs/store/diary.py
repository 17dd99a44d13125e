"""The analysis's own tables in the store's SQLite file: self-reports, shoes, run summaries.

They live beside the store's tables but under their own version number (table
`analysis_schema`), so the store's migrations and these never step on each other.
Steps are appended, never edited: databases in the field have run the old ones.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from heavylegs.errors import StoreError
from heavylegs.store.damage import store_error
from heavylegs.store.shoes import DIARY_V2, ShoeTables

_BUSY_TIMEOUT_S = 10.0

_V1 = (
    "CREATE TABLE IF NOT EXISTS analysis_schema (version INTEGER NOT NULL)",
    """
    CREATE TABLE IF NOT EXISTS checkins (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        recorded_at REAL NOT NULL,
        sleep_h REAL CHECK (sleep_h IS NULL OR (sleep_h >= 0 AND sleep_h <= 24)),
        effort INTEGER CHECK (effort IS NULL OR effort BETWEEN 1 AND 10),
        legs INTEGER CHECK (legs IS NULL OR legs BETWEEN 1 AND 5),
        strength_before INTEGER CHECK (strength_before IS NULL OR strength_before IN (0, 1)),
        fuelling INTEGER CHECK (fuelling IS NULL OR fuelling BETWEEN 1 AND 5),
        hydration INTEGER CHECK (hydration IS NULL OR hydration BETWEEN 1 AND 5),
        note TEXT
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS shoes (
        pod_address TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prior_km REAL NOT NULL DEFAULT 0 CHECK (prior_km >= 0),
        added_at REAL NOT NULL
    )
    """,
    # A cache: rebuilt whenever the run's stride count or the analysis version changes.
    """
    CREATE TABLE IF NOT EXISTS run_summaries (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        analysis_version INTEGER NOT NULL,
        stride_count INTEGER NOT NULL,
        body TEXT NOT NULL
    )
    """,
)
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, DIARY_V2)
ANALYSIS_SCHEMA_VERSION = len(MIGRATIONS)

# Scales of the self-report, as the CLI asks them.
SCALES = {
    "effort": (1, 10, "how hard the run felt: 1 very easy … 10 all out"),
    "legs": (1, 5, "legs: 1 fresh … 5 very heavy"),
    "fuelling": (1, 5, "fuelling before and during: 1 ran on empty … 5 well fuelled"),
    "hydration": (1, 5, "hydration: 1 thirsty all day … 5 well hydrated"),
}


@dataclass(frozen=True, slots=True)
class CheckIn:
    """A quick self-report after a run; every answer is optional."""

    sleep_h: float | None = None
    effort: int | None = None
    legs: int | None = None
    strength_before: bool | None = None
    fuelling: int | None = None
    hydration: int | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        if self.sleep_h is not None and not 0 <= self.sleep_h <= 24:
            raise ValueError(f"sleep must be 0 to 24 hours, got {self.sleep_h}")
        for name, (low, high, meaning) in SCALES.items():
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and low <= value <= high):
                raise ValueError(f"{name} must be a whole number {low} to {high} ({meaning})")

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def merged(self, newer: CheckIn) -> CheckIn:
        """This report with every answer `newer` gives replaced."""
        values = {
            f.name: getattr(newer, f.name)
            if getattr(newer, f.name) is not None
            else getattr(self, f.name)
            for f in fields(self)
        }
        return CheckIn(**values)


class Diary(ShoeTables):
    """Self-reports, shoes and cached run summaries in a heavylegs store file.

    Open it on a file the Store has created (it refers to the store's runs).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise StoreError(f"{self.path} does not exist: record or sync a run first")
        try:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open {self.path}: {err}") from err
        self._conn: sqlite3.Connection | None = conn
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            has_runs = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'"
            ).fetchone()
            if has_runs is None:
                raise StoreError(f"{self.path} is not a heavylegs store (no runs table)")
            self._migrate(conn)
        except sqlite3.Error as err:
            self.close()
            what = f"cannot prepare the analysis tables in {self.path}"
            raise store_error(self.path, what, err) from err
        except BaseException:
            self.close()
            raise

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_V1[0])
            row = conn.execute("SELECT MAX(version) FROM analysis_schema").fetchone()
            found = int(row[0]) if row and row[0] is not None else 0
            if found > ANALYSIS_SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has analysis tables of version {found}, but this heavylegs "
                    f"understands up to {ANALYSIS_SCHEMA_VERSION}; upgrade heavylegs "
                    "(the file was not changed)"
                )
            for version in range(found, ANALYSIS_SCHEMA_VERSION):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
            if found < ANALYSIS_SCHEMA_VERSION:
                conn.execute("DELETE FROM analysis_schema")
                conn.execute(
                    "INSERT INTO analysis_schema (version) VALUES (?)", (ANALYSIS_SCHEMA_VERSION,)
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _read(self, what: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise store_error(self.path, what, err) from err

    # --- self-reports ---------------------------------------------------------------

    def record_checkin(self, run_id: int, report: CheckIn) -> CheckIn:
        """Store answers for a run, keeping earlier answers the new report leaves out."""
        if report.is_empty():
            raise ValueError("nothing to record: give at least one answer")
        with self._writing(f"cannot record the check-in for run {run_id}") as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
                raise StoreError(f"unknown run {run_id}")
            before = self._checkin_in(conn, run_id)
            merged = before.merged(report) if before else report
            conn.execute(
                "INSERT OR REPLACE INTO checkins (run_id, recorded_at, sleep_h, effort, legs, "
                "strength_before, fuelling, hydration, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    time.time(),
                    merged.sleep_h,
                    merged.effort,
                    merged.legs,
                    None if merged.strength_before is None else int(merged.strength_before),
                    merged.fuelling,
                    merged.hydration,
                    merged.note,
                ),
            )
        return merged

    def checkin(self, run_id: int) -> CheckIn | None:
        try:
            return self._checkin_in(self._db, run_id)
        except sqlite3.Error as err:
            raise store_error(self.path, f"cannot read the check-in of run {run_id}", err) from err

    def checkins(self) -> dict[int, CheckIn]:
        rows = self._read("cannot read check-ins", f"SELECT run_id, {_CHECKIN_COLS} FROM checkins")
        return {int(row[0]): _checkin_row(row[1:]) for row in rows}

    @staticmethod
    def _checkin_in(conn: sqlite3.Connection, run_id: int) -> CheckIn | None:
        row = conn.execute(
            f"SELECT {_CHECKIN_COLS} FROM checkins WHERE run_id = ?", (run_id,)
        ).fetchone()
        return None if row is None else _checkin_row(row)

    # --- summary cache --------------------------------------------------------------

    def cached_summary(self, run_id: int, version: int, stride_count: int) -> dict[str, Any] | None:
        rows = self._read(
            f"cannot read the summary of run {run_id}",
            "SELECT body FROM run_summaries WHERE run_id = ? AND analysis_version = ? "
            "AND stride_count = ?",
            (run_id, version, stride_count),
        )
        return json.loads(rows[0][0]) if rows else None

    def cache_summary(
        self, run_id: int, version: int, stride_count: int, body: dict[str, Any]
    ) -> None:
        with self._writing(f"cannot cache the summary of run {run_id}") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO run_summaries (run_id, analysis_version, stride_count, "
                "body) VALUES (?, ?, ?, ?)",
                (run_id, version, stride_count, json.dumps(body)),
            )


_CHECKIN_COLS = "sleep_h, effort, legs, strength_before, fuelling, hydration, note"


def _checkin_row(row: tuple[Any, ...]) -> CheckIn:
    sleep_h, effort, legs, strength, fuelling, hydration, note = row
    return CheckIn(
        sleep_h=sleep_h,
        effort=effort,
        legs=legs,
        strength_before=None if strength is None else bool(strength),
        fuelling=fuelling,
        hydration=hydration,
        note=note,
    )


def checkin_dict(report: CheckIn) -> dict[str, Any]:
    return {k: v for k, v in asdict(report).items() if v is not None}
