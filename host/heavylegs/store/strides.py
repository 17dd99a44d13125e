"""The Store's strides: writing them without ever merging two sessions, reading them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import numpy as np

from heavylegs.store.models import Stride, StrideWrite
from heavylegs.store.sqlite import StoreTables

STRIDE_COLUMNS = (
    "seq",
    "foot",
    "running",
    "clipped",
    "strike_class",
    "ic_ms",
    "gct_ms",
    "stride_ms",
    "cadence_spm",
    "strike_deg",
    "impact_g",
    "stride_len_m",
    "pronation_deg",
    "host_time",
)
_COLUMN_DTYPES: dict[str, type] = {
    "seq": np.int64,
    "foot": np.str_,
    "running": np.bool_,
    "clipped": np.bool_,
    "strike_class": np.str_,
    "ic_ms": np.int64,
    # float columns turn NULL (unknown) into NaN, which analysis code can mask
}
_SELECT_STRIDES = (
    f"SELECT {', '.join(STRIDE_COLUMNS)} FROM strides WHERE recording_id = ? ORDER BY ic_ms, seq"
)
_INSERT_STRIDE = (
    f"INSERT INTO strides (recording_id, {', '.join(STRIDE_COLUMNS)}) "
    f"VALUES (?, {', '.join('?' for _ in STRIDE_COLUMNS)}) "
    # not INSERT OR IGNORE: that would also silently drop rows failing a CHECK
    "ON CONFLICT (recording_id, seq) DO NOTHING"
)
# What the pod measured: a stride arriving again must match these to be a repeat.
# host_time is the host's estimate and differs between live streaming and a sync.
_POD_FIELDS = STRIDE_COLUMNS[1:-1]


class StrideTable(StoreTables):
    """Writing and reading the strides of recordings."""

    def add_strides(self, recording_id: int, strides: Iterable[Stride]) -> int:
        """Insert strides in one transaction; returns how many were new (see store_strides)."""
        return self.store_strides(recording_id, strides).new

    def store_strides(self, recording_id: int, strides: Iterable[Stride]) -> StrideWrite:
        """Insert strides in one transaction, never merging two sessions.

        A stride whose seq the recording holds with the same measured values is a
        repeat (live data and a later journal sync of the same session, or a sync
        run twice) and is skipped. One whose seq it holds with *different* values
        belongs to another session the store could not tell apart: the whole batch
        then goes to a copy of the recording, in a run of its own with a note, and
        the result names that copy so the caller can send the rest there too.
        """
        batch = list(strides)
        with self._writing(f"cannot add strides to recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            target = recording_id
            _, conflicting = self._compare(conn, target, batch)
            if conflicting:
                target = self._copy_for(conn, target, batch)
            rows = [(target, s.seq, *measured(s), s.host_time) for s in batch]
            before = conn.total_changes
            conn.executemany(_INSERT_STRIDE, rows)
            new = conn.total_changes - before
        return StrideWrite(target, new, len(batch) - new, conflicting)

    @staticmethod
    def _compare(
        conn: sqlite3.Connection, recording_id: int, batch: list[Stride]
    ) -> tuple[int, int]:
        """(strides of batch the recording holds as they are, ones it holds otherwise)."""
        if not batch:
            return 0, 0
        seqs = [s.seq for s in batch]
        stored = {
            row[0]: row[1:]
            for row in conn.execute(
                f"SELECT seq, {', '.join(_POD_FIELDS)} FROM strides "
                "WHERE recording_id = ? AND seq BETWEEN ? AND ?",
                (recording_id, min(seqs), max(seqs)),
            )
        }
        repeats = clashes = 0
        for s in batch:
            held = stored.get(s.seq)
            if held is None:
                continue
            if tuple(held) == measured(s):
                repeats += 1
            else:
                clashes += 1
        return repeats, clashes

    @classmethod
    def _copy_for(cls, conn: sqlite3.Connection, recording_id: int, batch: list[Stride]) -> int:
        """Where a batch that clashes with recording_id goes: a copy under the same
        identity that already holds some of it unchanged (the rest of a session kept
        apart before), else a new copy."""
        row = conn.execute(
            "SELECT r.pod_address, r.journal_epoch, r.pod_session, r.copy, r.run_id, "
            "r.pod_name, r.foot, r.firmware, u.name, u.source, u.started_at "
            "FROM recordings r JOIN runs u ON u.id = r.run_id WHERE r.id = ?",
            (recording_id,),
        ).fetchone()
        address, epoch, session, _copy, _run, pod_name, foot, firmware, name, source, at = row
        copies = conn.execute(
            "SELECT id, copy FROM recordings WHERE pod_address = ? AND journal_epoch = ? "
            "AND pod_session = ? AND id != ? ORDER BY copy",
            (address, epoch, session, recording_id),
        ).fetchall()
        for other, _ in copies:
            repeats, clashes = cls._compare(conn, other, batch)
            if repeats and not clashes:
                return int(other)
        copy = 1 + max([c for _, c in copies] + [_copy])
        note = (
            f"pod {address} session {session} arrived with strides that differ from the "
            f"ones stored for it (recording {recording_id}): two sessions under one "
            "identity, kept apart rather than merged"
        )
        run_id = conn.execute(
            "INSERT INTO runs (name, source, started_at, note) VALUES (?, ?, ?, ?)",
            (f"{name} (kept apart)", source, at, note),
        ).lastrowid
        cur = conn.execute(
            "INSERT INTO recordings (run_id, pod_address, pod_name, foot, pod_session, "
            "firmware, journal_epoch, copy, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, address, pod_name, foot, session, firmware, epoch, copy, note),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def contiguous_count(self, recording_id: int) -> int:
        """How many strides from seq 0 the recording holds without a gap."""
        with self._reading(f"cannot read strides of recording {recording_id}") as conn:
            row = conn.execute(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM strides WHERE recording_id = ?1 "
                "AND seq = 0) THEN (SELECT MIN(s.seq) + 1 FROM strides s "
                "WHERE s.recording_id = ?1 AND NOT EXISTS (SELECT 1 FROM strides t "
                "WHERE t.recording_id = ?1 AND t.seq = s.seq + 1)) ELSE 0 END",
                (recording_id,),
            ).fetchone()
        return int(row[0])

    def last_stride_below(self, recording_id: int, seq: int) -> int | None:
        """The highest seq below `seq` the recording holds a stride of."""
        with self._reading(f"cannot read strides of recording {recording_id}") as conn:
            row = conn.execute(
                "SELECT MAX(seq) FROM strides WHERE recording_id = ? AND seq < ?",
                (recording_id, int(seq)),
            ).fetchone()
        return None if row[0] is None else int(row[0])

    def strides(self, recording_id: int) -> list[Stride]:
        """A recording's strides in order of initial contact."""
        with self._reading(f"cannot read strides of recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            rows = conn.execute(_SELECT_STRIDES, (recording_id,)).fetchall()
        return [
            Stride(
                seq=seq,
                foot=foot,
                running=bool(running),
                clipped=bool(clipped),
                strike_class=strike,
                ic_ms=ic_ms,
                gct_ms=gct,
                stride_ms=stride,
                cadence_spm=cadence,
                strike_deg=strike_deg,
                impact_g=impact,
                stride_len_m=stride_len,
                host_time=host_time,
                pronation_deg=pronation,
            )
            for (
                seq,
                foot,
                running,
                clipped,
                strike,
                ic_ms,
                gct,
                stride,
                cadence,
                strike_deg,
                impact,
                stride_len,
                pronation,
                host_time,
            ) in rows
        ]

    def stride_table(
        self, recording_id: int, columns: Iterable[str] | None = None
    ) -> dict[str, np.ndarray]:
        """A recording's strides as one array per Stride field, in order of initial contact.

        `columns` picks fields (all by default); fetching fewer is proportionally
        faster. Unknown stride lengths and host times are NaN.
        """
        names = STRIDE_COLUMNS if columns is None else tuple(columns)
        unknown = set(names) - set(STRIDE_COLUMNS)
        if unknown:
            raise ValueError(f"no stride field named {', '.join(sorted(unknown))}")
        query = f"SELECT {', '.join(names)} FROM strides WHERE recording_id = ? ORDER BY ic_ms, seq"
        with self._reading(f"cannot read strides of recording {recording_id}") as conn:
            self._require_recording(conn, recording_id)
            rows = conn.execute(query, (recording_id,)).fetchall()
        # Transposing the row tuples and converting each column is several times
        # faster than building Stride objects first.
        values = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        return {
            name: np.array(column, dtype=_COLUMN_DTYPES.get(name, np.float64))
            for name, column in zip(names, values, strict=True)
        }


def measured(s: Stride) -> tuple[object, ...]:
    """A stride's _POD_FIELDS as SQLite holds them (booleans as 0/1)."""
    return (
        s.foot,
        int(s.running),
        int(s.clipped),
        s.strike_class,
        s.ic_ms,
        s.gct_ms,
        s.stride_ms,
        s.cadence_spm,
        s.strike_deg,
        s.impact_g,
        s.stride_len_m,
        s.pronation_deg,
    )
