"""Copies of the store taken before anything risky writes to it.

SQLite's online backup API copies a consistent snapshot while other connections
read or write (a commit in progress is either wholly in the copy or not at all).
Each copy is checked with PRAGMA quick_check before it counts; the oldest copies
are deleted once more than `keep` good ones exist. A store that fails the check is
not backed up and no older backup is deleted: the last good copy is what a
recovery may need.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path

from heavylegs.errors import StoreError
from heavylegs.store.damage import StoreDamagedError, is_damage, refuse_empty

DEFAULT_KEEP = 5
_REASON = re.compile(r"[a-z][a-z0-9-]{0,31}")


def backups_dir(db_path: Path) -> Path:
    return db_path.parent / "backups"


def backup_store(db_path: Path, reason: str = "manual", keep: int = DEFAULT_KEEP) -> Path | None:
    """Back up the store at `db_path` before `reason` (e.g. "sync", "erase") writes.

    Returns the new backup, <store folder>/backups/<stem>-YYYYmmdd-HHMMSS-<reason>.db
    (UTC), or None when there is no store yet (nothing to lose). Raises
    StoreDamagedError if the store fails SQLite's quick check: then nothing is
    written and no older backup is deleted, and the caller should not write either.
    """
    if not isinstance(reason, str) or not _REASON.fullmatch(reason):
        raise ValueError(f"backup reason must be a lowercase word (letters, digits, -): {reason!r}")
    if keep < 1:
        raise ValueError(f"keep at least one backup, got {keep}")
    if not db_path.exists():
        return None
    refuse_empty(db_path)
    folder = backups_dir(db_path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StoreError(f"cannot create {folder} for backups: {err.strerror or err}") from err
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    partial = folder / f".{db_path.stem}-{stamp}-{reason}.partial-{os.getpid()}"
    try:
        _copy(db_path, partial)
        target = _publish(partial, folder, db_path.stem, stamp, reason)
    except OSError as err:
        raise StoreError(f"cannot write a backup in {folder}: {err.strerror or err}") from err
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            partial.with_name(partial.name + suffix).unlink(missing_ok=True)
    _rotate(db_path, keep)
    return target


def list_backups(db_path: Path) -> list[Path]:
    """This store's backups, oldest first."""
    return [path for *_, path in sorted(_named_backups(backups_dir(db_path), db_path.stem))]


def _named_backups(folder: Path, stem: str) -> list[tuple[str, int, Path]]:
    """(UTC time stamp, number within that second, path) of each backup of store `stem`."""
    pattern = re.compile(
        re.escape(stem) + r"-(\d{8}-\d{6})(?:-(\d+))?-" + _REASON.pattern + r"\.db"
    )
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = pattern.fullmatch(path.name)
        if match:
            found.append((match.group(1), int(match.group(2) or 1), path))
    return found


def _copy(db_path: Path, partial: Path) -> None:
    # Read-write like any Store (mode=rw never creates the file): as the last
    # connection to close it also tidies the -wal and -shm away, which a read-only
    # one cannot do.
    source = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=rw", uri=True)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            # The copy takes the source's WAL flag with its header; a backup is one
            # self-contained file, so it goes back to a rollback journal.
            target.execute("PRAGMA journal_mode = DELETE")
            verdict = [row[0] for row in target.execute("PRAGMA quick_check").fetchall()]
        finally:
            target.close()
    except sqlite3.Error as err:
        if is_damage(err):
            raise StoreDamagedError(db_path, f"{err}; no backup taken, older backups kept") from err
        raise StoreError(f"cannot back up {db_path}: {err}") from err
    finally:
        source.close()
    if verdict != ["ok"]:
        first = str(verdict[0]).splitlines()[-1] if verdict else "no answer"
        raise StoreDamagedError(db_path, f"{first}; no backup taken, older backups kept")


def _publish(partial: Path, folder: Path, stem_of: str, stamp: str, reason: str) -> Path:
    """Give the copy its name without ever replacing a file (two backups in one second)."""
    # Numbered after every backup of the same second, even ones rotated away, so a
    # newer backup never takes a name that sorts before an older one.
    taken = [counter for when, counter, _ in _named_backups(folder, stem_of) if when == stamp]
    first = max(taken, default=0) + 1
    for counter in range(first, first + 1000):
        numbered = "" if counter == 1 else f"-{counter}"
        name = f"{stem_of}-{stamp}{numbered}-{reason}.db"
        target = folder / name
        try:
            os.link(partial, target)
        except FileExistsError:
            continue
        return target
    raise StoreError(f"too many backups named {stem_of}-{stamp}-* in {folder}")


def _rotate(db_path: Path, keep: int) -> None:
    for old in list_backups(db_path)[:-keep]:
        old.unlink(missing_ok=True)
