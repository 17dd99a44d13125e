"""Host reprocessing: the pod's own gait engine, run under CPython on a trace.

The engine is the firmware module itself (heavylegs_pod.gait.detector), imported
through the CPython shim, so host figures and pod figures come from one
implementation; tests/test_parity.py requires both runtimes to agree exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from heavylegs.store import Stride
from heavylegs.trace import GYRO_UNITS_PER_DPS, UG_PER_G, Trace, read_trace
from heavylegs_pod import wire
from heavylegs_pod.gait import detector as d

STRIKE_NAMES = wire.STRIKE_NAMES


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
        return np.clip(counts, -32768, 32767).astype(np.int64)

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
    rows: list[list[int]] = []
    feed = engine.feed
    acc = acc_counts.tolist()
    gyr = gyr_counts.tolist()
    for n, (a, g) in enumerate(zip(acc, gyr, strict=True)):
        if feed(n, g[0], g[1], g[2], a[0], a[1], a[2]):
            rows.append(list(engine.stride))
    return rows, engine


def rows_to_strides(rows: Iterable[list[int]], odr_hz: int, foot: str) -> list[Stride]:
    strides = []
    for r in rows:
        strides.append(
            Stride(
                seq=r[d.F_SEQ],
                foot=foot,
                running=bool(r[d.F_RUNNING]),
                clipped=bool(r[d.F_CLIPPED]),
                strike_class=STRIKE_NAMES[d.strike_class(r[d.F_STRIKE_01DEG])],
                ic_ms=d.ic_ms(r[d.F_IC_N], r[d.F_IC_FRAC], odr_hz),
                gct_ms=r[d.F_GCT_01MS] / 10,
                stride_ms=r[d.F_STRIDE_01MS] / 10,
                cadence_spm=r[d.F_CADENCE_CENTI] / 100,
                strike_deg=r[d.F_STRIKE_01DEG] / 10,
                impact_g=r[d.F_IMPACT_HALF_G] / 2,
                stride_len_m=r[d.F_STRIDE_LEN_CM] / 100 if r[d.F_STRIDE_LEN_CM] else None,
            )
        )
    return strides


def strides_from_trace(
    trace: Trace | Path | str, *, acc_fs_g: int | None = None, foot: str | None = None
) -> list[Stride]:
    """What a pod would have measured on this trace, as store Strides."""
    if not isinstance(trace, Trace):
        trace = read_trace(Path(trace))
    odr = int(round(trace.header.rate_hz))
    if acc_fs_g is None:
        acc_fs_g = 32 if trace.header.part == "LSM6DSO32" else 16
    acc, gyr = quantise(trace, acc_fs_g=acc_fs_g)
    rows, engine = run_engine(
        acc, gyr, odr_hz=odr, acc_fs_g=acc_fs_g, foot=foot or trace.header.foot
    )
    label = foot or trace.header.foot
    if label not in ("left", "right"):
        label = "right" if engine.right_foot else "left"
    return rows_to_strides(rows, odr, label)
