"""Per-stride tables: CSV for spreadsheets, Parquet for data tools."""

from __future__ import annotations

import csv
import io
import math
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from heavylegs.analysis.session import Session
from heavylegs.errors import HeavylegsError

COLUMNS = (
    "run_id",
    "foot",
    "pod",
    "t_min",
    "running",
    "gct_ms",
    "stride_ms",
    "cadence_spm",
    "strike_class",
    "strike_deg",
    "impact_g",
    "clipped",
    # the sensor's full scale, g: a clipped impact is at least this (empty: not known)
    "impact_limit_g",
    "stride_len_m",
    "pronation_deg",
    # the run's start (ISO 8601, UTC) and name on every row, so a file alone can be
    # imported back as the run it was (`heavylegs import`)
    "run_started_at",
    "run_name",
)
PYARROW_PIN = "pyarrow==26.0.1"


def stride_columns(session: Session) -> dict[str, np.ndarray]:
    """Every stride of both feet in time order, one array per column."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in COLUMNS}
    for foot, data in session.feet.items():
        n = len(data)
        parts["run_id"].append(np.full(n, -1 if session.run_id is None else session.run_id))
        parts["foot"].append(np.full(n, foot))
        parts["pod"].append(np.full(n, data.pod_address))
        parts["t_min"].append(data.minutes)
        parts["running"].append(data.running)
        parts["gct_ms"].append(data.gct_ms)
        parts["stride_ms"].append(data.stride_ms)
        parts["cadence_spm"].append(data.cadence_spm)
        parts["strike_class"].append(data.strike_class.astype(str))
        parts["strike_deg"].append(data.strike_deg)
        parts["impact_g"].append(data.impact_g)
        parts["clipped"].append(data.clipped)
        limit = np.nan if data.acc_fs_g is None else float(data.acc_fs_g)
        parts["impact_limit_g"].append(np.full(n, limit))
        parts["stride_len_m"].append(data.stride_len_m)
        parts["pronation_deg"].append(data.pronation_deg)
        parts["run_started_at"].append(np.full(n, iso_utc(session.started_at)))
        parts["run_name"].append(np.full(n, session.name))
    if not session.feet:
        return {name: np.empty(0) for name in COLUMNS}
    joined = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    order = np.argsort(joined["t_min"], kind="stable")
    return {name: values[order] for name, values in joined.items()}


def iso_utc(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).isoformat()


def to_csv(session: Session) -> bytes:
    columns = stride_columns(session)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = zip(*(columns[name].tolist() for name in COLUMNS), strict=True)
    for row in rows:
        writer.writerow(_cell(v) for v in row)
    return buf.getvalue().encode("utf-8")


def _cell(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        # empty for unknown (NaN), and round-trippable digits otherwise
        return "" if math.isnan(value) else repr(value)
    return value


def to_parquet(session: Session) -> bytes:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise HeavylegsError(
            f"Parquet export needs pyarrow: .venv/bin/pip install {PYARROW_PIN}"
        ) from err
    columns = stride_columns(session)
    arrays = {}
    for name in COLUMNS:
        values = columns[name]
        if name in ("stride_len_m", "impact_limit_g", "pronation_deg"):
            arrays[name] = pa.array(values, type=pa.float64(), from_pandas=True)  # NaN -> null
        elif values.dtype.kind in "US":
            arrays[name] = pa.array(values.tolist(), type=pa.string())
        else:
            arrays[name] = pa.array(values)
    table = pa.table(arrays)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write_atomically(path: Path, data: bytes) -> Path:
    """Write to a temporary name and rename: an older export survives a failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
