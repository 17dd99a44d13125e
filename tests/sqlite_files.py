"""Store files changed behind the store's back, the way another program or an old release would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from heavylegs.store.migrations import MIGRATIONS


def run_sql(path: Path, *statements: str) -> None:
    """Runs each statement on the file at `path` and commits, as another program would."""
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def version_1_store(path: Path) -> sqlite3.Connection:
    """An open, empty store as the first release made it: autocommit, ready for its rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    return conn
