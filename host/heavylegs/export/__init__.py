"""Exports of a run: FIT activity files, and per-stride CSV and Parquet tables."""

from heavylegs.export.fit import FitError, LapBounds, encode_activity, encode_run
from heavylegs.export.tables import to_csv, to_parquet

__all__ = [
    "FitError",
    "LapBounds",
    "encode_activity",
    "encode_run",
    "to_csv",
    "to_parquet",
]
