"""Exports of a run: FIT activity files, and per-stride CSV and Parquet tables."""

from heavylegs.export.fit import FitError, FitRecord, encode_activity, fit_records
from heavylegs.export.tables import to_csv, to_parquet

__all__ = ["FitError", "FitRecord", "encode_activity", "fit_records", "to_csv", "to_parquet"]
