"""Reading back what export writes: a run's strides from our CSV or Parquet files.

A FIT activity holds per-second averages, not strides, so it cannot rebuild a
run's strides: it is refused here with that reason (`heavylegs import` reads it
with watch.summary instead, as a run known only by its totals). Anything that is
not one of our files is refused naming the first thing wrong, before anything is
stored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from heavylegs.errors import HeavylegsError
from heavylegs.export.tables import COLUMNS
from heavylegs.store import FEET, STRIKE_CLASSES, Stride

# Columns added to the export later: a file without them is an older export.
_OPTIONAL = ("run_started_at", "run_name", "impact_limit_g", "pronation_deg")
_REQUIRED = tuple(c for c in COLUMNS if c not in _OPTIONAL)
_FLOATS = ("t_min", "gct_ms", "stride_ms", "cadence_spm", "strike_deg", "impact_g")
# Far beyond any run (10 h ultra) yet small enough that a unit mix-up shows.
_MAX_T_MIN = 24 * 60.0


class NotImportable(HeavylegsError, ValueError):
    """The file cannot be imported; the message names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class ImportedRun:
    path: Path
    name: str
    started_at: float | None  # None: the file does not say (an older export)
    # foot -> (pod address, strides in time order, seq from 0, ic_ms from the run's start)
    feet: Mapping[str, tuple[str, tuple[Stride, ...]]]
    digest: str  # of the measured values: the same run from CSV or Parquet agrees
    # foot -> the sensor's full scale, g, its impacts were measured at (None: not known)
    impact_limit_g: Mapping[str, int | None] = field(default_factory=dict)

    @property
    def strides(self) -> int:
        return sum(len(strides) for _, strides in self.feet.values())

    def epoch(self) -> int:
        """A journal epoch no pod draws (pods' are 0 and up): the file's own identity,
        so the same run imported again meets itself in the store."""
        return -1 - int(self.digest[:7], 16)


def read_export(path: Path) -> ImportedRun:
    """One exported run; NotImportable (one line) for anything else."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotImportable(f"cannot read {path}: {exc.strerror or exc}") from exc
    if data[:4] == b"PAR1":
        rows = _parquet_rows(path, data)
    elif len(data) >= 12 and data[8:12] == b".FIT":
        raise NotImportable(
            f"{path} is a FIT activity: it holds per-second averages, not strides, so it "
            "cannot rebuild a run; import the run's CSV or Parquet export"
        )
    else:
        rows = _csv_rows(path, data)
    return _run_from_rows(path, rows)


def _csv_rows(path: Path, data: bytes) -> list[dict[str, Any]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotImportable(f"{path} is not a heavylegs CSV or Parquet export") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    _check_columns(path, header)
    rows = []
    try:
        for row in reader:
            if None in row.values():
                # fewer fields than the header: an export cut off mid-line, not a second run
                raise NotImportable(
                    f"{path} is cut short at line {reader.line_num}; export the run again"
                )
            rows.append(row)
    except csv.Error as exc:
        raise NotImportable(f"{path}: not readable as CSV: {exc}") from exc
    return rows


def _parquet_rows(path: Path, data: bytes) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
    except ImportError as exc:
        raise NotImportable("reading Parquet needs pyarrow") from exc
    except Exception as exc:  # pyarrow raises its own error classes for a damaged file
        raise NotImportable(f"{path}: not a readable Parquet file ({exc})") from exc
    _check_columns(path, table.column_names)
    columns = table.to_pydict()
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _check_columns(path: Path, header: Sequence[str]) -> None:
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise NotImportable(
            f"{path} is not a heavylegs stride export (no column {', '.join(missing[:3])}"
            + (" …" if len(missing) > 3 else "")
            + ")"
        )


def _run_from_rows(path: Path, rows: list[dict[str, Any]]) -> ImportedRun:
    if not rows:
        raise NotImportable(f"{path} holds no strides")
    by_foot: dict[str, list[tuple[float, Stride]]] = {}
    pods: dict[str, str] = {}
    limits: dict[str, float | None] = {}
    starts, names = set(), set()
    for line, row in enumerate(rows, start=2):
        where = f"{path} row {line}"
        foot = str(row["foot"])
        if foot not in FEET:
            raise NotImportable(f"{where}: foot {foot!r} is neither left nor right")
        pod = str(row["pod"] or "")
        if pods.setdefault(foot, pod) != pod:
            raise NotImportable(f"{where}: the {foot} foot changes pod ({pods[foot]} to {pod})")
        values = {name: _number(where, name, row[name]) for name in _FLOATS}
        if not 0 <= values["t_min"] <= _MAX_T_MIN:
            raise NotImportable(f"{where}, column t_min: {row['t_min']!r} is outside a run")
        if values["stride_ms"] <= 0 or values["gct_ms"] <= 0:
            raise NotImportable(f"{where}: stride and contact times must be above 0 ms")
        strike_class = str(row["strike_class"])
        if strike_class not in STRIKE_CLASSES:
            raise NotImportable(f"{where}, column strike_class: {strike_class!r} is unknown")
        length = row["stride_len_m"]
        pronation = _optional(where, "pronation_deg", row.get("pronation_deg"))
        limit = _optional(where, "impact_limit_g", row.get("impact_limit_g"))
        if limits.setdefault(foot, limit) != limit:
            raise NotImportable(f"{where}: the {foot} foot changes its impact limit")
        stride_len = None if length in (None, "") else _number(where, "stride_len_m", length)
        ic_ms = int(round(values["t_min"] * 60_000))
        by_foot.setdefault(foot, []).append(
            (
                values["t_min"],
                Stride(
                    seq=0,
                    foot=foot,
                    running=_flag(where, "running", row["running"]),
                    clipped=_flag(where, "clipped", row["clipped"]),
                    strike_class=strike_class,
                    ic_ms=ic_ms,
                    gct_ms=values["gct_ms"],
                    stride_ms=values["stride_ms"],
                    cadence_spm=values["cadence_spm"],
                    strike_deg=values["strike_deg"],
                    impact_g=values["impact_g"],
                    stride_len_m=stride_len,
                    pronation_deg=pronation,
                ),
            )
        )
        starts.add(row.get("run_started_at") or None)
        names.add(row.get("run_name") or None)
    if len(starts) > 1 or len(names) > 1:
        raise NotImportable(f"{path} holds more than one run; export and import them one by one")
    started_at = _start(path, starts.pop())
    feet = {}
    digest = hashlib.sha256()
    for foot in FEET:
        if foot not in by_foot:
            continue
        ordered = sorted(by_foot[foot], key=lambda pair: pair[0])
        strides = tuple(replace(s, seq=seq) for seq, (_, s) in enumerate(ordered))
        feet[foot] = (pods[foot], strides)
        for s in strides:
            digest.update(repr(astuple(s)).encode())
    return ImportedRun(
        path,
        names.pop() or f"imported {path.stem}",
        started_at,
        feet,
        digest.hexdigest(),
        {foot: None if g is None else int(g) for foot, g in limits.items()},
    )


def _number(where: str, column: str, raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise NotImportable(f"{where}, column {column}: {raw!r} is not a finite number")
    return value


def _optional(where: str, column: str, raw: Any) -> float | None:
    """A column that may be empty (not measured) or absent (an older export)."""
    if raw is None or raw == "" or (isinstance(raw, float) and math.isnan(raw)):
        return None
    return _number(where, column, raw)


def _flag(where: str, column: str, raw: Any) -> bool:
    if raw in (True, False, 0, 1, "0", "1"):
        return bool(int(raw))
    raise NotImportable(f"{where}, column {column}: {raw!r} is not 0 or 1")


def _start(path: Path, raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise NotImportable(f"{path}: run_started_at {raw!r} is not a date and time") from exc
    if when.tzinfo is None:
        raise NotImportable(f"{path}: run_started_at {raw!r} has no time zone")
    return when.timestamp()
