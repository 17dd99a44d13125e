"""Exports of a run: FIT activity files, and per-stride CSV and Parquet tables."""

from heavylegs.export.fit import (
    FitError,
    LapBounds,
    encode_activity,
    encode_run,
    first_stride_unix,
)
from heavylegs.export.tables import to_csv, to_parquet

__all__ = [
    "FitError",
    "LapBounds",
    "encode_activity",
    "encode_run",
    "first_stride_unix",
    "to_csv",
    "to_parquet",
]
