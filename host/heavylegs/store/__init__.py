"""SQLite store for runs, pod recordings and strides."""

from heavylegs.errors import StoreError
from heavylegs.store.db import Store
from heavylegs.store.migrations import SCHEMA_VERSION
from heavylegs.store.models import (
    FEET,
    STRIKE_CLASSES,
    Gap,
    ImportedSummary,
    PodContact,
    RecordingInfo,
    RunInfo,
    Stride,
    StrideWrite,
)
from heavylegs.store.strides import STRIDE_COLUMNS

__all__ = [
    "FEET",
    "Gap",
    "ImportedSummary",
    "PodContact",
    "SCHEMA_VERSION",
    "STRIDE_COLUMNS",
    "STRIKE_CLASSES",
    "RecordingInfo",
    "RunInfo",
    "Store",
    "StoreError",
    "Stride",
    "StrideWrite",
]
