"""Trace files: what a simulated (or recorded) pod's sensor experiences.

Layout (docs/simulation.md has the full description):

    b"HLTRACE1\\n"
    one line of JSON: the header (rate, units, axes, pod, clock, sample count)
    n_samples x 6 little-endian int32: acc x, y, z in micro-g, gyro x, y, z in 1/8 mdps
    JSON ground truth (list of strides), to the end of the file

Samples are physical values in the *sensor* frame at the sensor's own clock; the
chip emulator quantises and clips them to whatever full scale the firmware sets,
so one trace serves every part and range. Integer units keep the MicroPython
reader allocation-free and exact (1/8 mdps divides every LSM6DS gyro sensitivity).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"HLTRACE1\n"
CHANNELS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
UG_PER_G = 1_000_000
GYRO_UNITS_PER_DPS = 8000
STANDARD_GRAVITY = 9.80665


class TraceError(ValueError):
    """A trace file that cannot be read as one."""


@dataclass(frozen=True, slots=True)
class TruthStride:
    """One stride as it really happened (true time, seconds from trace start)."""

    foot: str
    ic_s: float
    to_s: float
    next_ic_s: float | None
    strike_deg: float
    strike_class: str
    stride_len_m: float
    speed_mps: float
    running: bool

    @property
    def gct_s(self) -> float:
        return self.to_s - self.ic_s

    @property
    def stride_s(self) -> float | None:
        return None if self.next_ic_s is None else self.next_ic_s - self.ic_s


@dataclass(slots=True)
class TraceHeader:
    rate_hz: float
    n_samples: int
    pod: str
    foot: str
    part: str = "LSM6DSOX"
    clock_ppm: float = 0.0
    start_offset_s: float = 0.0
    scenario: str = ""
    seed: int = 0
    frame: str = "sensor axes; the foot frame is x forward, y left, z up"
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        doc = asdict(self)
        doc["version"] = 1
        doc["channels"] = list(CHANNELS)
        doc["acc_unit"] = "ug"
        doc["gyr_unit"] = "mdps/8"
        return doc


@dataclass(slots=True)
class Trace:
    header: TraceHeader
    acc_g: np.ndarray  # (n, 3) float, sensor frame
    gyr_dps: np.ndarray  # (n, 3) float, sensor frame
    truth: list[TruthStride]

    @property
    def duration_s(self) -> float:
        return self.header.n_samples / self.header.rate_hz

    def write(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = np.empty((self.header.n_samples, 6), dtype="<i4")
        raw[:, :3] = np.round(self.acc_g * UG_PER_G)
        raw[:, 3:] = np.round(self.gyr_dps * GYRO_UNITS_PER_DPS)
        header = json.dumps(self.header.to_json(), separators=(",", ":")).encode()
        truth = json.dumps([asdict(s) for s in self.truth], separators=(",", ":")).encode()
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "wb") as out:
            out.write(MAGIC)
            out.write(header + b"\n")
            out.write(raw.tobytes())
            out.write(truth)
        tmp.replace(path)
        return path


def read_trace(path: Path) -> Trace:
    data = Path(path).read_bytes()
    if not data.startswith(MAGIC):
        raise TraceError(f"{path}: not a heavylegs trace (bad magic)")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise TraceError(f"{path}: header line is not terminated")
    try:
        doc = json.loads(data[len(MAGIC) : end])
    except json.JSONDecodeError as exc:
        raise TraceError(f"{path}: header is not JSON: {exc}") from exc
    if doc.get("version") != 1:
        raise TraceError(f"{path}: unsupported trace version {doc.get('version')}")
    n = int(doc["n_samples"])
    start = end + 1
    stop = start + n * 24
    if len(data) < stop:
        raise TraceError(
            f"{path}: truncated: {n} samples announced, {(len(data) - start) // 24} present"
        )
    raw = np.frombuffer(data[start:stop], dtype="<i4").reshape(n, 6)
    try:
        truth_doc = json.loads(data[stop:] or b"[]")
    except json.JSONDecodeError as exc:
        raise TraceError(f"{path}: ground truth is not JSON: {exc}") from exc
    known = set(TraceHeader.__dataclass_fields__)
    header = TraceHeader(**{k: v for k, v in doc.items() if k in known})
    return Trace(
        header=header,
        acc_g=raw[:, :3] / UG_PER_G,
        gyr_dps=raw[:, 3:] / GYRO_UNITS_PER_DPS,
        truth=[TruthStride(**s) for s in truth_doc],
    )
