"""Shoes as pairs: a pair has a name, a start distance, an in-service and a retired date,
and pods are assigned to a pair from a date, so a run keeps the shoes it was run in.

The tables live in the analysis diary (store.diary), under its own version number.
"""

from __future__ import annotations

import bisect
import sqlite3
import time
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from heavylegs.errors import StoreError
from heavylegs.store.models import local_day
from heavylegs.store.sqlite import SQLiteFile

# a name is one cell of the shoe table, and what a person types to name the pair
MAX_NAME_CHARS = 60

# Diary step 2: pairs and dated pod assignments. Each old per-pod shoe becomes a pair
# (pods named alike become one pair, which is what they were), assigned from the
# beginning of time as the old table meant; its distance is the pair's start distance.
DIARY_V2 = (
    """
    CREATE TABLE shoe_pairs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        start_km REAL NOT NULL DEFAULT 0 CHECK (start_km >= 0),
        in_service_at REAL NOT NULL,
        retired_at REAL CHECK (retired_at IS NULL OR retired_at >= in_service_at),
        alert_km REAL CHECK (alert_km IS NULL OR alert_km > 0)
    )
    """,
    """
    CREATE TABLE shoe_pods (
        pod_address TEXT NOT NULL,
        from_at REAL NOT NULL,
        pair_id INTEGER NOT NULL REFERENCES shoe_pairs(id) ON DELETE CASCADE,
        PRIMARY KEY (pod_address, from_at)
    ) WITHOUT ROWID
    """,
    """
    INSERT INTO shoe_pairs (name, start_km, in_service_at)
    SELECT name, MAX(prior_km), MIN(added_at) FROM shoes GROUP BY name
    """,
    """
    INSERT INTO shoe_pods (pod_address, from_at, pair_id)
    SELECT s.pod_address, 0, p.id FROM shoes s JOIN shoe_pairs p ON p.name = s.name
    """,
    "DROP TABLE shoes",
)

# Running shoes are commonly replaced after 500-800 km.
DEFAULT_ALERT_KM = 700.0


@dataclass(frozen=True, slots=True)
class ShoePair:
    id: int
    name: str
    start_km: float
    in_service_at: float
    retired_at: float | None
    alert_km: float | None

    def in_service(self, at: float) -> bool:
        return self.retired_at is None or at <= self.retired_at


@dataclass(frozen=True, slots=True)
class ShoeShelf:
    """Every pair and every dated pod assignment: which pair a pod was on at a time."""

    pairs: tuple[ShoePair, ...]
    # pod address -> [(from_at, pair id)], by from_at
    assignments: dict[str, list[tuple[float, int]]]

    def pair_of(self, pod_address: str, at: float) -> ShoePair | None:
        """The pair the pod was on at `at`; None if unassigned then or the pair was retired."""
        dated = self.assignments.get(pod_address, [])
        index = bisect.bisect_right([when for when, _ in dated], at) - 1
        if index < 0:
            return None
        pair = next(p for p in self.pairs if p.id == dated[index][1])
        return pair if pair.in_service(at) else None

    def pods_of(self, pair_id: int) -> tuple[str, ...]:
        """Pods ever assigned to the pair, in address order."""
        return tuple(
            sorted(
                address
                for address, dated in self.assignments.items()
                if any(pid == pair_id for _, pid in dated)
            )
        )

    def by_name(self, name: str) -> ShoePair | None:
        wanted = name.strip().casefold()
        return next((p for p in self.pairs if p.name.casefold() == wanted), None)


class ShoeTables(SQLiteFile):
    """The diary's shoe tables."""

    def shoe_shelf(self) -> ShoeShelf:
        with self._reading("cannot read shoes") as conn:
            pair_rows = conn.execute(
                "SELECT id, name, start_km, in_service_at, retired_at, alert_km "
                "FROM shoe_pairs ORDER BY in_service_at, id"
            ).fetchall()
            pod_rows = conn.execute(
                "SELECT pod_address, from_at, pair_id FROM shoe_pods ORDER BY pod_address, from_at"
            ).fetchall()
        pairs = tuple(_pair(row) for row in pair_rows)
        assignments: dict[str, list[tuple[float, int]]] = {}
        for address, from_at, pair_id in pod_rows:
            assignments.setdefault(str(address), []).append((float(from_at), int(pair_id)))
        return ShoeShelf(pairs, assignments)

    def add_pair(
        self,
        name: str,
        pods: tuple[str, ...],
        *,
        start_km: float = 0.0,
        in_service_at: float | None = None,
        alert_km: float | None = DEFAULT_ALERT_KM,
    ) -> ShoePair:
        """A new pair, its pods assigned to it from its in-service date.

        Runs before that date keep whatever shoes their pods were on then."""
        name = _checked_name(name)
        if not start_km >= 0:
            raise ValueError(f"distance already on the shoes must be 0 km or more, got {start_km}")
        since = time.time() if in_service_at is None else float(in_service_at)
        with self._writing(f"cannot add the shoes {name!r}") as conn:
            if self._pair_named(conn, name) is not None:
                raise ValueError(f"there are already shoes named {name!r}; give another name")
            pair_id = conn.execute(
                "INSERT INTO shoe_pairs (name, start_km, in_service_at, alert_km) "
                "VALUES (?, ?, ?, ?)",
                (name, float(start_km), since, alert_km),
            ).lastrowid
            assert pair_id is not None
            for pod in pods:
                self._assign(conn, pod, pair_id, since)
        return ShoePair(pair_id, name, float(start_km), since, None, alert_km)

    def assign_pods(self, name: str, pods: tuple[str, ...], from_at: float) -> ShoePair:
        """Move pods onto an existing pair from `from_at` on; earlier runs keep their shoes.

        Pods on a pair from a day before its in-service date mean it went into service
        then: the date moves back (the caller says so) rather than leave runs on a
        pair that was not yet in service."""
        with self._writing(f"cannot assign pods to {name!r}") as conn:
            pair = self._pair_named(conn, name)
            if pair is None:
                raise ValueError(f"no shoes named {name!r}; add them with `heavylegs shoe add`")
            if pair.retired_at is not None and from_at > pair.retired_at:
                raise ValueError(f"{pair.name} were retired; pods cannot join them later")
            if local_day(from_at) < local_day(pair.in_service_at):
                conn.execute(
                    "UPDATE shoe_pairs SET in_service_at = ? WHERE id = ?", (from_at, pair.id)
                )
                pair = replace(pair, in_service_at=from_at)
            for pod in pods:
                self._assign(conn, pod, pair.id, max(from_at, pair.in_service_at))
        return pair

    def retire_pair(self, name: str, at: float) -> ShoePair:
        with self._writing(f"cannot retire {name!r}") as conn:
            pair = self._pair_named(conn, name)
            if pair is None:
                raise ValueError(f"no shoes named {name!r}")
            if pair.retired_at is not None:
                raise ValueError(
                    f"{pair.name} were retired on {local_day(pair.retired_at)} already"
                )
            if local_day(at) < local_day(pair.in_service_at):
                raise ValueError(
                    f"{pair.name} went into service on {local_day(pair.in_service_at)}; "
                    "they cannot be retired before that"
                )
            joined = conn.execute(
                "SELECT MAX(from_at) FROM shoe_pods WHERE pair_id = ?", (pair.id,)
            ).fetchone()[0]
            # retired before a pod joined them, that pod's runs would count on no shoes
            if joined is not None and local_day(at) < local_day(joined):
                raise ValueError(
                    f"pods were put on {pair.name} on {local_day(joined)}; "
                    "they cannot be retired before that"
                )
            # a day means that day, though the pair went into service part way through it
            at = max(at, pair.in_service_at)
            conn.execute("UPDATE shoe_pairs SET retired_at = ? WHERE id = ?", (at, pair.id))
        return ShoePair(pair.id, pair.name, pair.start_km, pair.in_service_at, at, pair.alert_km)

    @staticmethod
    def _assign(conn: sqlite3.Connection, pod: str, pair_id: int, from_at: float) -> None:
        conn.execute(
            "INSERT INTO shoe_pods (pod_address, from_at, pair_id) VALUES (?, ?, ?) "
            "ON CONFLICT (pod_address, from_at) DO UPDATE SET pair_id = excluded.pair_id",
            (pod, float(from_at), pair_id),
        )

    @staticmethod
    def _pair_named(conn: sqlite3.Connection, name: str) -> ShoePair | None:
        row = conn.execute(
            "SELECT id, name, start_km, in_service_at, retired_at, alert_km FROM shoe_pairs "
            "WHERE name = ? COLLATE NOCASE",
            (name.strip(),),
        ).fetchone()
        return None if row is None else _pair(row)


def _checked_name(name: str) -> str:
    """The name as stored; refused if it would not fit on one line of the shoe table."""
    name = name.strip()
    if not name:
        raise ValueError("give the shoes a name")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ValueError("a shoe name must be one line of text, without control characters")
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(
            f"a shoe name must be at most {MAX_NAME_CHARS} characters, got {len(name)}"
        )
    return name


def _pair(row: tuple[Any, ...]) -> ShoePair:
    pair_id, name, start_km, in_service_at, retired_at, alert_km = row
    return ShoePair(
        int(pair_id),
        str(name),
        float(start_km),
        float(in_service_at),
        None if retired_at is None else float(retired_at),
        None if alert_km is None else float(alert_km),
    )


def no_such_pod(address: str, known: set[str]) -> StoreError:
    listed = ", ".join(sorted(known)) or "none yet"
    return StoreError(f"no pod {address} in the store (pods: {listed})")
