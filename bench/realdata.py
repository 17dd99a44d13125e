"""Loads the real foot-IMU recordings in ../shared/data for the benches.

Recordings are resampled to the pod's 416 Hz by linear interpolation and turned
into raw counts at the pod's default ranges (±16 g, ±2000 dps), so the engine
sees them exactly as it would see a pod's FIFO.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ODR_HZ = 416
G = 9.80665


@dataclass
class Recording:
    name: str
    foot: str
    acc_g: np.ndarray  # (n, 3) at ODR_HZ, sensor frame
    gyr_dps: np.ndarray
    t0_s: float  # time of sample 0 in the recording's own clock
    kind: str  # run or walk
    # truth, in the recording's clock (seconds)
    boundaries_s: list[float] = field(default_factory=list)  # pyshoe: foot-flat before heel-off
    ic_s: list[float] = field(default_factory=list)  # gaitmap: mocap initial contacts
    to_s: list[float] = field(default_factory=list)  # gaitmap: mocap toe-offs
    # voisard: each step's swing, (toe-off, heel strike) in seconds
    swings_s: list[tuple[float, float]] = field(default_factory=list)
    span_s: tuple[float, float] | None = None  # the labelled part of the trial
    unlabelled_s: list[tuple[float, float]] = field(default_factory=list)  # gaps in it

    def contacts(self) -> tuple[list[float], list[float | None]]:
        """True contacts as (ICs, toe-offs); a toe-off is None where none followed
        (the last step before standing)."""
        if self.swings_s:
            ics = [hs for _, hs in self.swings_s]
            tos = [nxt[0] for nxt in self.swings_s[1:]] + [None]
            return ics, [
                to if to is not None and to > ic else None for ic, to in zip(ics, tos, strict=True)
            ]
        tos: list[float | None] = []
        for k, ic in enumerate(self.ic_s):
            nxt = self.ic_s[k + 1] if k + 1 < len(self.ic_s) else ic + 2.0
            later = [to for to in self.to_s if ic < to < nxt]
            tos.append(later[0] if later else None)
        return list(self.ic_s), tos


def _resample(t: np.ndarray, values: np.ndarray) -> tuple[float, np.ndarray]:
    grid = np.arange(t[0], t[-1], 1.0 / ODR_HZ)
    out = np.stack([np.interp(grid, t, values[:, i]) for i in range(values.shape[1])], axis=1)
    return float(grid[0]), out


def counts(rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    acc = np.clip(np.round(rec.acc_g * 2048), -32768, 32767).astype(np.int64)
    gyr = np.clip(np.round(rec.gyr_dps * 1000 / 70), -32768, 32767).astype(np.int64)
    return acc, gyr


def pyshoe() -> list[Recording]:
    base = DATA / "pyshoe_running"
    if not base.exists():
        return []
    kinds = {}
    with open(base / "manifest.csv") as f:
        for row in csv.DictReader(f):
            kinds[row["trial"]] = row["label_heuristic"]
    out = []
    for path in sorted((base / "csv").glob("*.csv")):
        data = np.genfromtxt(path, delimiter=",", names=True)
        t = data["t_s"]
        acc = np.stack([data["acc_x_mps2"], data["acc_y_mps2"], data["acc_z_mps2"]], 1) / G
        gyr = np.degrees(
            np.stack([data["gyr_x_radps"], data["gyr_y_radps"], data["gyr_z_radps"]], 1)
        )
        t0, acc_r = _resample(t, acc)
        _, gyr_r = _resample(t, gyr)
        rec = Recording(path.stem, "right", acc_r, gyr_r, t0, kinds.get(path.stem, "run"))
        strides = base / "strides" / path.name
        if strides.exists():
            marks = np.genfromtxt(strides, delimiter=",", names=True)
            rec.boundaries_s = [float(x) for x in marks["timestamp"][:-1]]  # last row: trial end
        out.append(rec)
    return out


def gaitmap_walking() -> list[Recording]:
    base = DATA / "gaitmap_walking"
    if not base.exists():
        return []
    with open(base / "imu_sample.csv") as f:
        sensors = next(csv.reader(f))
        axes = next(csv.reader(f))
    data = np.genfromtxt(base / "imu_sample.csv", delimiter=",", skip_header=2)
    rate = 204.8
    t = np.arange(len(data)) / rate
    events = np.genfromtxt(
        base / "stride_events_sample.csv", delimiter=",", names=True, dtype=None, encoding=None
    )
    out = []
    for foot in ("left", "right"):
        cols = {axes[i]: i for i in range(1, len(axes)) if sensors[i] == f"{foot}_sensor"}
        acc = np.stack([data[:, cols[f"acc_{a}"]] for a in "xyz"], 1) / G
        gyr = np.stack([data[:, cols[f"gyr_{a}"]] for a in "xyz"], 1)
        t0, acc_r = _resample(t, acc)
        _, gyr_r = _resample(t, gyr)
        rec = Recording(f"gaitmap-{foot}", foot, acc_r, gyr_r, t0, "walk")
        mine = events[events["foot"] == foot]
        # gaitmap strides run min_vel to min_vel; ic and tc inside are the mocap events
        rec.ic_s = sorted({float(x) / rate for x in mine["ic"]})
        rec.to_s = sorted({float(x) / rate for x in mine["tc"]})
        # the list holds whole strides only: the first and last steps of the walk
        # are real contacts without truth, so scoring stops at the labelled ones
        rec.span_s = (rec.ic_s[0], rec.ic_s[-1])
        # nor are the strides of the turn between the two walks
        gaps = np.diff(rec.ic_s)
        typical = float(np.median(gaps))
        rec.unlabelled_s = [
            (a + 0.5 * typical, b - 0.5 * typical)
            for a, b, gap in zip(rec.ic_s[:-1], rec.ic_s[1:], gaps, strict=True)
            if gap > 1.6 * typical
        ]
        out.append(rec)
    return out


def voisard_walking() -> list[Recording]:
    """Voisard et al. (IPOL 2023): both feet, 100 Hz, raw Xsens axes, every swing labelled.

    Lost packets are gaps in PacketCounter (the sample clock): the samples either
    side are joined by the same linear interpolation that resamples to 416 Hz.
    """
    base = DATA / "voisard_walking" / "GaitData"
    if not base.exists():
        return []
    out = []
    for meta_path in sorted(base.glob("*.json"), key=lambda p: [int(x) for x in p.stem.split("-")]):
        meta = json.loads(meta_path.read_text())
        for foot, suffix, key in (
            ("left", "lf", "LeftFootEvents"),
            ("right", "rf", "RightFootEvents"),
        ):
            path = base / f"{meta_path.stem}_{suffix}.txt"
            if not path.exists():
                continue
            data = np.genfromtxt(path, skip_header=1, names=True, delimiter="\t")
            counter = data["PacketCounter"]
            t = (counter - counter[0]) / 100.0
            acc = np.stack([data["Acc_X"], data["Acc_Y"], data["Acc_Z"]], 1) / G
            gyr = np.degrees(np.stack([data["Gyr_X"], data["Gyr_Y"], data["Gyr_Z"]], 1))
            t0, acc_r = _resample(t, acc)
            _, gyr_r = _resample(t, gyr)
            rec = Recording(f"voisard-{meta_path.stem}-{suffix}", foot, acc_r, gyr_r, t0, "walk")
            rec.swings_s = [(a / 100.0, b / 100.0) for a, b in meta[key]]
            lo, hi = meta["TrialBoundaries"]
            rec.span_s = (lo / 100.0, hi / 100.0)
            out.append(rec)
    return out
