"""Trace files: what a simulated (or recorded) pod's sensor experiences.

The file's layout and the one parser of its header and truth, shared with the
simulated board, are in sim/board/trace_layout.py; docs/simulation.md describes it.

Samples are physical values in the *sensor* frame at the sensor's own clock; the
chip emulator quantises and clips them to whatever full scale the firmware sets,
so one trace serves every part and range. Integer units keep the MicroPython
reader allocation-free and exact (1/8 mdps divides every LSM6DS gyro sensitivity).

Time. Ground truth is in true time (seconds of the run, common to both pods).
Sample n of a pod is taken at true time `start_offset_s + n / (rate_hz * (1 +
clock_ppm * 1e-6))`, while the pod itself believes it is at `n / rate_hz`: its
sensor time. `Trace.sensor_time` and `Trace.true_time` convert, so detector
output (sensor time) can be compared with truth like with like.

The truth list holds strides (dicts with `ic_s`) and, for recordings whose
annotations are not strides, marks (dicts with `mark`, e.g. pyshoe's stride
boundaries). Readers that only know strides, such as the firmware tests, read
simulated traces, which hold strides only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from heavylegs.errors import HeavylegsError
from heavylegs.sim.board.trace_layout import (
    GYRO_UNITS_PER_DPS as GYRO_UNITS_PER_DPS,
)
from heavylegs.sim.board.trace_layout import (
    MAGIC,
    SAMPLE_BYTES,
    VERSION,
    read_header,
    read_truth,
)
from heavylegs.sim.board.trace_layout import (
    UG_PER_G as UG_PER_G,
)

CHANNELS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
STANDARD_GRAVITY = 9.80665
_INT32_MAX = 2**31 - 1


class TraceError(HeavylegsError, ValueError):
    """A trace file that cannot be read as one."""


@dataclass(frozen=True, slots=True)
class TruthStride:
    """One foot contact and the swing after it, as it really happened (true time, s).

    Fields a recording does not annotate are None (strike, stride length and
    speed of an imported walk, for instance); simulated traces fill all of them.
    """

    foot: str
    ic_s: float
    to_s: float
    next_ic_s: float | None
    strike_deg: float | None
    strike_class: str | None
    stride_len_m: float | None
    speed_mps: float | None
    running: bool
    gait: str = "run"  # "run" or "walk"
    cadence_spm: float | None = None  # the model's target cadence at this stride
    grade_pct: float = 0.0
    push_min_s: float | None = None  # push-off pitch-rate minimum (the model's; TO follows it)
    flat_s: float | None = None  # quiet foot-flat: end of the slap to heel-off
    impact_g: float | None = None  # peak |specific force| in the 40 ms after IC, no range limit
    fatigue: float = 0.0  # planted fatigue level, 0 (none) to 1 (fully drifted)

    @property
    def gct_s(self) -> float:
        return self.to_s - self.ic_s

    @property
    def stride_s(self) -> float | None:
        return None if self.next_ic_s is None else self.next_ic_s - self.ic_s


@dataclass(frozen=True, slots=True)
class TruthMark:
    """A labelled instant in a recording that has no per-stride IC/TO annotation."""

    foot: str
    t_s: float
    mark: str  # e.g. "flat_before_heel_off" (pyshoe stride boundary), "end"


@dataclass(slots=True)
class TraceHeader:
    rate_hz: float
    n_samples: int
    pod: str
    foot: str
    part: str = "LSM6DSOX"  # the part this trace is meant to be played through
    clock_ppm: float = 0.0  # the pod's sensor clock against true time
    start_offset_s: float = 0.0  # true time of sample 0
    scenario: str = ""
    seed: int = 0
    frame: str = "sensor axes; the foot frame is x forward, y left, z up"
    # sensor_from_foot: rows are the sensor axes in foot coordinates; None if unknown
    mounting: list[list[float]] | None = None
    acc_fs_g: int = 16  # the full scale the scenario intends (the firmware sets the real one)
    gyr_fs_dps: int = 2000
    source: str = "gait_model"  # or the recording a trace was imported from
    treadmill: bool = False
    stands_s: list[list[float]] = field(default_factory=list)  # [start, end] still, true time
    meta: dict[str, Any] = field(default_factory=dict)  # scenario metadata (planted fatigue, ...)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["version"] = VERSION
        doc["channels"] = list(CHANNELS)
        doc["acc_unit"] = "ug"
        doc["gyr_unit"] = "mdps/8"
        doc["time_unit"] = "s"
        return doc


@dataclass(slots=True)
class Trace:
    header: TraceHeader
    acc_g: np.ndarray  # (n, 3) float, sensor frame
    gyr_dps: np.ndarray  # (n, 3) float, sensor frame
    truth: list[TruthStride]
    marks: list[TruthMark] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.header.n_samples / self.header.rate_hz

    @property
    def _clock_gain(self) -> float:
        return 1.0 + self.header.clock_ppm * 1e-6

    def sensor_time(self, true_s: ArrayLike) -> np.ndarray:
        """True time (s) -> what the pod's sample count says (n / rate_hz)."""
        return (np.asarray(true_s) - self.header.start_offset_s) * self._clock_gain

    def true_time(self, sensor_s: ArrayLike) -> np.ndarray:
        """The pod's time (n / rate_hz) -> true time (s), the inverse of sensor_time."""
        return self.header.start_offset_s + np.asarray(sensor_s) / self._clock_gain

    def sample_times(self) -> np.ndarray:
        """True time of every sample."""
        return self.true_time(np.arange(self.header.n_samples) / self.header.rate_hz)

    def truth_in_sensor_time(self) -> list[TruthStride]:
        """The truth with every time moved onto the pod's clock (durations scale too)."""

        def conv(x: float) -> float:
            return float(self.sensor_time(x))

        def conv_optional(x: float | None) -> float | None:
            return None if x is None else conv(x)

        return [
            replace(
                s,
                ic_s=conv(s.ic_s),
                to_s=conv(s.to_s),
                next_ic_s=conv_optional(s.next_ic_s),
                push_min_s=conv_optional(s.push_min_s),
            )
            for s in self.truth
        ]

    def sample_units(self) -> np.ndarray:
        """The samples as the file stores them: n x 6 int32, micro-g and 1/8 mdps."""
        raw = np.empty((len(self.acc_g), 6), dtype=np.float64)
        raw[:, :3] = np.round(self.acc_g * UG_PER_G)
        raw[:, 3:] = np.round(self.gyr_dps * GYRO_UNITS_PER_DPS)
        # int32 holds +-2147 g and +-268,000 dps: saturate instead of wrapping.
        return np.clip(raw, -_INT32_MAX, _INT32_MAX).astype("<i4")

    def write(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = self.header
        header.n_samples = len(self.acc_g)
        raw = self.sample_units()
        head = json.dumps(header.to_json(), separators=(",", ":")).encode()
        truth = [asdict(s) for s in self.truth] + [asdict(m) for m in self.marks]
        body = json.dumps(truth, separators=(",", ":")).encode()
        # A new file renamed into place: a reader never sees half a trace.
        tmp = path.with_suffix(path.suffix + ".tmp")
        try:
            with open(tmp, "wb") as out:
                out.write(MAGIC)
                out.write(head + b"\n")
                out.write(raw.tobytes())
                out.write(body)
            tmp.replace(path)
        finally:
            # a failed write (a full disk, a folder in the way) leaves nothing behind
            tmp.unlink(missing_ok=True)
        return path


_STRIDE_FIELDS = {f.name for f in fields(TruthStride)}
_HEADER_FIELDS = {f.name for f in fields(TraceHeader)}


def read_trace(path: Path) -> Trace:
    with open(path, "rb") as f:
        try:
            doc = read_header(f)
            n = int(doc["n_samples"])
            samples = f.read(n * SAMPLE_BYTES)
            if len(samples) < n * SAMPLE_BYTES:
                raise ValueError(
                    f"truncated: {n} samples announced, {len(samples) // SAMPLE_BYTES} present"
                )
            truth_doc = read_truth(f)
        except ValueError as exc:
            raise TraceError(f"{path}: {exc}") from exc
    raw = np.frombuffer(samples, dtype="<i4").reshape(n, 6)
    # Unknown keys are skipped, so a newer writer's extra fields do not break this reader.
    header = TraceHeader(**{k: v for k, v in doc.items() if k in _HEADER_FIELDS})
    strides, marks = [], []
    try:
        for item in truth_doc:
            if "mark" in item:
                marks.append(TruthMark(foot=item["foot"], t_s=item["t_s"], mark=item["mark"]))
            else:
                strides.append(
                    TruthStride(**{k: v for k, v in item.items() if k in _STRIDE_FIELDS})
                )
    except (TypeError, KeyError) as exc:
        raise TraceError(f"{path}: ground truth entry is not a stride or a mark: {exc}") from exc
    return Trace(
        header=header,
        acc_g=raw[:, :3] / UG_PER_G,
        gyr_dps=raw[:, 3:] / GYRO_UNITS_PER_DPS,
        truth=strides,
        marks=marks,
    )
