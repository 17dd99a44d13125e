"""Rows read straight from leaf pages that no b-tree leads to any more.

When an interior page is lost (a truncated file, a damaged page high in a tree),
SQLite cannot reach the leaves below it although their bytes are intact. This
walks every b-tree from its root as far as the bytes allow, and decodes the leaf
pages nobody reaches. A page is used only if it is unmistakably one table's: its
type matches, every cell decodes to exactly its payload, its keys are in order, and
no other table or index of the file has records of that many columns.

The record format is SQLite's file format, section 2 ("B-tree Pages", "Record
Format"): https://www.sqlite.org/fileformat2.html
"""

from __future__ import annotations

import mmap
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heavylegs.errors import StoreError

_INTERIOR_INDEX, _INTERIOR_TABLE, _LEAF_INDEX, _LEAF_TABLE = 0x02, 0x05, 0x0A, 0x0D
_LEAF_OF = {_INTERIOR_INDEX: _LEAF_INDEX, _INTERIOR_TABLE: _LEAF_TABLE}
_FIXED_WIDTH = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8, 8: 0, 9: 0}


class _Malformed(StoreError):
    """This page or cell is not what it claims to be."""


@dataclass(frozen=True)
class Layout:
    """How one table's rows sit in leaf cells."""

    leaf_type: int
    # Column names in record order: a WITHOUT ROWID table stores its key first.
    record_columns: tuple[str, ...]
    # Record lengths that can only be this table's (older rows can be shorter when
    # columns were added later).
    min_columns: int
    key_columns: tuple[str, ...]
    # The INTEGER PRIMARY KEY column of a rowid table: stored as NULL, the rowid is it.
    rowid_alias: str | None


def layout_of(conn: sqlite3.Connection, table: str) -> Layout | None:
    """The table's layout, or None if its leaves cannot be told from another b-tree's."""
    info = conn.execute(f"PRAGMA table_info({_q(table)})").fetchall()
    names = [str(row[1]) for row in info]
    primary = [str(name) for _, name in sorted((row[5], row[1]) for row in info if row[5])]
    rowid = _has_rowid(conn, table)
    if rowid:
        record = tuple(names)
        keys: tuple[str, ...] = ("rowid",)
        integer_pk = [row for row in info if row[5]]
        alias = (
            str(integer_pk[0][1])
            if len(integer_pk) == 1 and str(integer_pk[0][2]).upper() == "INTEGER"
            else None
        )
    else:
        record = (*primary, *(n for n in names if n not in primary))
        keys, alias = tuple(primary), None
    leaf = _LEAF_TABLE if rowid else _LEAF_INDEX
    others = [width for kind, width in _btree_shapes(conn, skip=table) if kind == leaf]
    shortest = max(others, default=0) + 1
    if shortest > len(record):
        return None
    return Layout(leaf, record, shortest, keys, alias)


def orphan_rows(
    db_file: Path, conn: sqlite3.Connection, layout: Layout
) -> Iterator[tuple[tuple[int, ...], dict[str, Any]]]:
    """(key, {column: value}) of each row on a leaf page of the layout's type no tree reaches."""
    with db_file.open("rb") as f:
        size = f.seek(0, 2)
        if size < 512:
            return
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            page_size = _page_size(data)
            usable = page_size - data[20]
            count = size // page_size
            roots = [int(r[0]) for r in conn.execute("SELECT rootpage FROM sqlite_master")]
            reached = _reached(data, page_size, count, [1, *(r for r in roots if r > 0)])
            reached |= _freelist(data, page_size, count)
            for number in range(2, count + 1):
                if number in reached:
                    continue
                start = (number - 1) * page_size
                page = data[start : start + page_size]
                if page[0] != layout.leaf_type:
                    continue
                try:
                    rows = _leaf_rows(page, 0, usable, layout)
                except _Malformed:
                    continue
                yield from rows
        finally:
            data.close()


# --- walking the trees --------------------------------------------------------------


def _reached(data: mmap.mmap, page_size: int, count: int, roots: list[int]) -> set[int]:
    """Every page a walk from the roots touches, stopping at pages that make no sense."""
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        number = todo.pop()
        if number in seen or not 1 <= number <= count:
            continue
        seen.add(number)
        start = (number - 1) * page_size
        header = start + (100 if number == 1 else 0)
        kind = data[header]
        if kind not in _LEAF_OF:
            continue
        try:
            (cells,) = struct.unpack_from(">H", data, header + 3)
            (right,) = struct.unpack_from(">I", data, header + 8)
            todo.append(right)
            for i in range(cells):
                (cell,) = struct.unpack_from(">H", data, header + 12 + 2 * i)
                if not 0 < cell <= page_size - 4:
                    break
                todo.append(struct.unpack_from(">I", data, start + cell)[0])
        except struct.error:
            continue
    return seen


def _freelist(data: mmap.mmap, page_size: int, count: int) -> set[int]:
    """Pages SQLite has freed: their old rows were deleted on purpose."""
    free: set[int] = set()
    (trunk,) = struct.unpack_from(">I", data, 32)
    while 1 < trunk <= count and trunk not in free:
        free.add(trunk)
        start = (trunk - 1) * page_size
        nxt, leaves = struct.unpack_from(">II", data, start)
        for i in range(min(leaves, page_size // 4 - 2)):
            free.add(struct.unpack_from(">I", data, start + 8 + 4 * i)[0])
        trunk = nxt
    return free


# --- decoding a leaf ---------------------------------------------------------------


def _leaf_rows(
    page: bytes, header: int, usable: int, layout: Layout
) -> list[tuple[tuple[int, ...], dict[str, Any]]]:
    (cells,) = struct.unpack_from(">H", page, header + 3)
    (content_start,) = struct.unpack_from(">H", page, header + 5)
    if cells == 0 or header + 8 + 2 * cells > (content_start or 65536):
        raise _Malformed
    rows = []
    for i in range(cells):
        (cell,) = struct.unpack_from(">H", page, header + 8 + 2 * i)
        if not (content_start or 65536) <= cell < usable:
            raise _Malformed
        rows.append(_cell_row(page, cell, usable, layout))
    keys = [key for key, _ in rows]
    if keys != sorted(keys) or len(set(keys)) != len(keys):
        raise _Malformed
    return rows


def _cell_row(
    page: bytes, at: int, usable: int, layout: Layout
) -> tuple[tuple[int, ...], dict[str, Any]]:
    payload, at = varint(page, at)
    rowid = None
    if layout.leaf_type == _LEAF_TABLE:
        rowid, at = varint(page, at)
        rowid -= (rowid >> 63) << 64
        local = usable - 35
    else:
        local = (usable - 12) * 64 // 255 - 23
    if payload > local or at + payload > usable:
        raise _Malformed  # spills to overflow pages: not worth the risk here
    values = _record(page[at : at + payload])
    if not layout.min_columns <= len(values) <= len(layout.record_columns):
        raise _Malformed
    row = dict(zip(layout.record_columns, values, strict=False))
    if layout.rowid_alias is not None:
        if row.get(layout.rowid_alias) is not None:
            raise _Malformed
        row[layout.rowid_alias] = rowid
    if rowid is not None:
        return (rowid,), row
    key = tuple(row.get(name) for name in layout.key_columns)
    if not all(isinstance(part, int) for part in key):
        raise _Malformed
    return key, row  # type: ignore[return-value]


def _record(payload: bytes) -> list[Any]:
    header_size, at = varint(payload, 0)
    if not 0 < header_size <= len(payload):
        raise _Malformed
    serials = []
    while at < header_size:
        serial, at = varint(payload, at)
        serials.append(serial)
    if at != header_size:
        raise _Malformed
    values: list[Any] = []
    body = header_size
    for serial in serials:
        width = _FIXED_WIDTH.get(serial)
        if width is None:
            if serial < 12:
                raise _Malformed
            width = (serial - 12) // 2
        raw = payload[body : body + width]
        if len(raw) != width:
            raise _Malformed
        body += width
        if serial == 0:
            values.append(None)
        elif serial <= 6:
            values.append(int.from_bytes(raw, "big", signed=True))
        elif serial == 7:
            values.append(struct.unpack(">d", raw)[0])
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial % 2 == 0:
            values.append(bytes(raw))
        else:
            try:
                values.append(raw.decode("utf-8"))
            except UnicodeDecodeError as err:
                raise _Malformed from err
    if body != len(payload):
        raise _Malformed
    return values


def varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's variable-length integer at `at`: its value and the offset after it."""
    value = 0
    for i in range(9):
        if at + i >= len(data):
            raise _Malformed
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise _Malformed


# --- schema facts --------------------------------------------------------------------


def _btree_shapes(conn: sqlite3.Connection, skip: str) -> list[tuple[int, int]]:
    """(leaf page type, columns per record) of every other b-tree in the file."""
    shapes = []
    for kind, name in conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index') AND rootpage > 0"
    ):
        if name == skip:
            continue
        if kind == "index":
            width = len(conn.execute(f"PRAGMA index_xinfo({_q(name)})").fetchall())
            shapes.append((_LEAF_INDEX, width))
        else:
            width = len(conn.execute(f"PRAGMA table_info({_q(name)})").fetchall())
            shapes.append((_LEAF_TABLE if _has_rowid(conn, name) else _LEAF_INDEX, width))
    return shapes


def _has_rowid(conn: sqlite3.Connection, table: str) -> bool:
    try:
        conn.execute(f"SELECT rowid FROM {_q(table)} LIMIT 0")
        return True
    except sqlite3.OperationalError:
        return False


def _page_size(data: mmap.mmap) -> int:
    (raw,) = struct.unpack_from(">H", data, 16)
    return 65536 if raw == 1 else raw


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
