"""Host reprocessing: the pod's own gait engine, run under CPython on a trace.

The engine, its sample path (heavylegs_pod.gait.stream) and the stride record
(heavylegs_pod.record) are the firmware modules themselves, imported through the
CPython shim, so a reprocessed stride is byte for byte the record a pod streams;
tests/test_gait_engine.py and tests/test_record_parity.py hold both runtimes to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from heavylegs.store import Stride
from heavylegs.trace import GYRO_UNITS_PER_DPS, UG_PER_G, Trace, read_trace
from heavylegs_pod import wire
from heavylegs_pod.gait import detector as d
from heavylegs_pod.gait.stream import SampleStream
from heavylegs_pod.record import encode_stride_record

STRIKE_NAMES = wire.STRIKE_NAMES


class _Counts:
    """A whole trace as one FIFO burst, for SampleStream."""

    def __init__(self, acc_counts: np.ndarray, gyr_counts: np.ndarray) -> None:
        self.samples = np.concatenate([gyr_counts, acc_counts], axis=1).ravel().tolist()
        self.sample_count = 0
        self._left = len(acc_counts)

    def read_fifo(self) -> int:
        count, self._left = self._left, 0
        self.sample_count += count
        return count


def quantise(
    trace: Trace, acc_fs_g: int = 16, gyro_fs_dps: int = 2000
) -> tuple[np.ndarray, np.ndarray]:
    """Raw int16 counts as the chip would deliver them (round to nearest, saturate)."""
    acc_ug_per_lsb = 61 * acc_fs_g // 2
    gyr_units_per_lsb = 35 * gyro_fs_dps // 125
    acc_units = np.round(trace.acc_g * UG_PER_G)
    gyr_units = np.round(trace.gyr_dps * GYRO_UNITS_PER_DPS)

    def to_counts(values: np.ndarray, per_lsb: int) -> np.ndarray:
        counts = np.sign(values) * np.floor((np.abs(values) + per_lsb // 2) / per_lsb)
        clipped: np.ndarray = np.clip(counts, -32768, 32767).astype(np.int64)
        return clipped

    return to_counts(acc_units, acc_ug_per_lsb), to_counts(gyr_units, gyr_units_per_lsb)


def run_engine(
    acc_counts: np.ndarray,
    gyr_counts: np.ndarray,
    *,
    odr_hz: int = 416,
    acc_fs_g: int = 16,
    gyro_fs_dps: int = 2000,
    foot: str = "auto",
) -> tuple[list[list[int]], d.GaitEngine]:
    """Feed counts through the engine sample by sample; returns the stride field rows."""
    engine = d.GaitEngine(odr_hz, 32768 // acc_fs_g, gyro_fs_dps * 35 // 1000, foot=foot)
    if len(acc_counts) != len(gyr_counts):
        raise ValueError("accelerometer and gyro counts differ in length")
    rows: list[list[int]] = []
    stream = SampleStream(
        _Counts(acc_counts, gyr_counts), engine, lambda stride, now_n: rows.append(list(stride))
    )
    stream.drain()
    return rows, engine


def rows_to_records(rows: Iterable[list[int]], odr_hz: int, right_foot: bool) -> list[bytes]:
    """The wire records a pod would journal for these rows, in a session from sample 0."""
    buf = bytearray(wire.STRIDE_SIZE)
    return [
        bytes(encode_stride_record(buf, row, seq, 0, odr_hz, right_foot))
        for seq, row in enumerate(rows)
    ]


def rows_to_strides(rows: Iterable[list[int]], odr_hz: int, foot: str) -> list[Stride]:
    return [
        Stride.from_wire(wire.decode_stride(record))
        for record in rows_to_records(rows, odr_hz, foot == "right")
    ]


def strides_from_trace(
    trace: Trace | Path | str,
    *,
    acc_fs_g: int | None = None,
    gyro_fs_dps: int | None = None,
    foot: str | None = None,
) -> list[Stride]:
    """What a pod would have measured on this trace, as store Strides.

    The full scales are the trace's own (its header says what the pod's board file
    set) unless given, e.g. from the stored recording (RecordingInfo.acc_fs_g)."""
    if not isinstance(trace, Trace):
        trace = read_trace(Path(trace))
    odr = int(round(trace.header.rate_hz))
    if acc_fs_g is None:
        acc_fs_g = trace.header.acc_fs_g
    if gyro_fs_dps is None:
        gyro_fs_dps = trace.header.gyr_fs_dps
    acc, gyr = quantise(trace, acc_fs_g=acc_fs_g, gyro_fs_dps=gyro_fs_dps)
    rows, engine = run_engine(
        acc,
        gyr,
        odr_hz=odr,
        acc_fs_g=acc_fs_g,
        gyro_fs_dps=gyro_fs_dps,
        foot=foot or trace.header.foot,
    )
    label = foot or trace.header.foot
    if label not in ("left", "right"):
        label = "right" if engine.right_foot else "left"
    return rows_to_strides(rows, odr, label)
