"""Telling a damaged store file apart from an ordinary SQLite failure, and saying so once.

Kept free of other store imports, so the Store and the analysis diary can both map
their sqlite3 errors here without import cycles.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from heavylegs.errors import StoreError

# SQLite's primary result codes for a file whose bytes are wrong: a page that breaks
# the b-tree rules (CORRUPT) or a header that is not SQLite's (NOTADB).
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_DAMAGE_CODES = frozenset({_SQLITE_CORRUPT, _SQLITE_NOTADB})


class StoreDamagedError(StoreError):
    """The store file's bytes are damaged; `heavylegs db check` / `db recover` help."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(damaged_message(path, reason))


def damaged_message(path: Path, reason: str) -> str:
    return (
        f"{path} is damaged ({reason}); run `heavylegs db check` to see what is readable "
        "and `heavylegs db recover` to salvage it into a new file"
    )


def is_damage(err: BaseException) -> bool:
    """True when SQLite says the file's bytes are bad, not that a query or lock failed."""
    if not isinstance(err, sqlite3.DatabaseError):
        return False
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGE_CODES
    # Python before 3.11 carries no error code: fall back on SQLite's fixed wording.
    text = str(err)
    return "malformed" in text or "not a database" in text


def store_error(path: Path, what: str, err: sqlite3.Error) -> StoreError:
    """The StoreError to raise for `err`: the damage message if the file is damaged."""
    if is_damage(err):
        return StoreDamagedError(path, str(err))
    return StoreError(f"{what}: {err}")


def refuse_empty(path: Path) -> None:
    """SQLite would take a 0-byte file for a new store, and the runs' loss would go
    unsaid: a cut-short store is refused by whatever opens or backs it up."""
    if path.is_file() and path.stat().st_size == 0:
        raise StoreError(
            f"{path} is empty (0 bytes): the store was cut short and holds nothing; "
            "restore it from a backup (`heavylegs db backup` makes them) or delete it "
            "to start anew"
        )
