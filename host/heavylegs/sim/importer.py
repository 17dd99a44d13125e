"""Recorded foot-IMU data into trace files, so real signals can be replayed like simulated ones.

Two formats are read (both described in ../shared/data/README.md):

- pyshoe_running `csv/<trial>.csv`: `t_s` (200 Hz with jitter), acc in m/s², gyro
  in rad/s, the sensor's raw frame (x forward, y right, z down, pitched on the
  instep). Truth: `strides/<trial>.csv` boundaries (the last foot-flat sample
  before heel-off), carried as marks; the file's last row is the trial's end.
- gaitmap_walking `imu_sample.csv`: two header rows (sensor, axis), 204.8 Hz,
  acc in m/s², gyro in deg/s, two feet in gaitmap's normalised foot frame (x
  forward, y left, z up, as ours). Truth: `stride_events_sample.csv` from motion
  capture; per stride, IC = `pre_ic`, TO = `tc`, next IC = `ic`.

Samples are resampled onto the pod's rate (416 Hz) with a Lanczos kernel (a=3)
on the recording's own time stamps, so timing jitter is taken out and the
signal is not low-passed below the recording's Nyquist frequency. Truth keeps
the recording's clock: a trace's `start_offset_s` is the time of its first
sample, and clock_ppm is 0 (the recording's clock is the reference).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from heavylegs.errors import HeavylegsError
from heavylegs.trace import STANDARD_GRAVITY, Trace, TraceHeader, TruthMark, TruthStride

POD_RATE_HZ = 416.0
GAITMAP_RATE_HZ = 204.8
_LANCZOS_A = 3
PYSHOE_COLUMNS = (
    "t_s",
    "acc_x_mps2",
    "acc_y_mps2",
    "acc_z_mps2",
    "gyr_x_radps",
    "gyr_y_radps",
    "gyr_z_radps",
)
_GAITMAP_AXES = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


class RecordingError(HeavylegsError, ValueError):
    """A recording that cannot be imported, with the reason."""


def resample(t_in: np.ndarray, x_in: np.ndarray, t_out: np.ndarray) -> np.ndarray:
    """Values of x (n, ...) sampled at t_in (ascending), at times t_out.

    Windowed-sinc (Lanczos, a=3) interpolation in sample-index space: each output
    time is mapped to a fractional index of the input through its time stamps,
    which absorbs small jitter. Weights are normalised so a constant stays exact.
    """
    t_in = np.asarray(t_in, dtype=float)
    x_in = np.asarray(x_in, dtype=float)
    if len(t_in) < 2 or np.any(np.diff(t_in) <= 0):
        raise RecordingError("time stamps must be increasing")
    pos = np.interp(t_out, t_in, np.arange(len(t_in), dtype=float))
    base = np.floor(pos).astype(int)
    offsets = np.arange(-_LANCZOS_A + 1, _LANCZOS_A + 1)
    idx = base[:, None] + offsets[None, :]
    x = pos[:, None] - idx
    weights = np.sinc(x) * np.sinc(x / _LANCZOS_A)
    weights[np.abs(x) >= _LANCZOS_A] = 0.0
    idx = np.clip(idx, 0, len(t_in) - 1)
    weights /= weights.sum(axis=1, keepdims=True)
    result: np.ndarray = np.einsum("ok,ok...->o...", weights, x_in[idx])
    return result


def _grid(t_in: np.ndarray, rate_hz: float) -> np.ndarray:
    n = int(np.floor((t_in[-1] - t_in[0]) * rate_hz)) + 1
    times: np.ndarray = t_in[0] + np.arange(n) / rate_hz
    return times


def import_pyshoe(
    csv_path: Path, *, strides_path: Path | None = None, rate_hz: float = POD_RATE_HZ
) -> Trace:
    """One pyshoe trial (right foot) as a trace at `rate_hz`, with its stride boundaries."""
    csv_path = Path(csv_path)
    data = _read_numeric_csv(csv_path, header_rows=1)
    header = data.header[0]
    missing = [c for c in PYSHOE_COLUMNS if c not in header]
    if missing:
        raise RecordingError(f"{csv_path}: not a pyshoe trial: no column {', '.join(missing)}")
    col = {name: header.index(name) for name in PYSHOE_COLUMNS}
    t_in = data.values[:, col["t_s"]]
    acc = data.values[:, [col[c] for c in PYSHOE_COLUMNS[1:4]]] / STANDARD_GRAVITY
    gyr = np.degrees(data.values[:, [col[c] for c in PYSHOE_COLUMNS[4:7]]])
    t_out = _grid(t_in, rate_hz)
    raw = resample(t_in, np.hstack([acc, gyr]), t_out)
    if strides_path is None:
        guess = csv_path.parent.parent / "strides" / csv_path.name
        strides_path = guess if guess.exists() else None
    marks: list[TruthMark] = []
    if strides_path is not None:
        rows = _read_numeric_csv(Path(strides_path), header_rows=1, min_rows=1)
        if "timestamp" not in rows.header[0]:
            raise RecordingError(f"{strides_path}: no 'timestamp' column")
        stamps = rows.values[:, rows.header[0].index("timestamp")]
        # Every row but the last is a stride boundary; the last marks the trial's end.
        marks = [TruthMark("right", float(s), "flat_before_heel_off") for s in stamps[:-1]]
        marks += [TruthMark("right", float(stamps[-1]), "end")] if len(stamps) else []
    label = _pyshoe_label(csv_path)
    head = TraceHeader(
        rate_hz=rate_hz,
        n_samples=len(t_out),
        pod="right",
        foot="right",
        start_offset_s=float(t_out[0]),
        scenario=csv_path.stem,
        frame="pyshoe raw sensor frame: x forward, y right, z down, pitched on the instep",
        mounting=None,
        acc_fs_g=16,
        source=f"pyshoe_running/{csv_path.name}",
        meta={"label": label} if label else {},
        extra={
            "source_rate_hz": float(1.0 / np.median(np.diff(t_in))),
            "source_units": {"acc": "m/s^2", "gyr": "rad/s"},
        },
    )
    return Trace(head, raw[:, :3], raw[:, 3:], [], marks)


def _pyshoe_label(csv_path: Path) -> str:
    """The walk/run label from manifest.csv beside csv/, if there is one."""
    manifest = csv_path.parent.parent / "manifest.csv"
    if not manifest.exists():
        return ""
    with open(manifest, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("trial") == csv_path.stem:
                return row.get("label_heuristic", "")
    return ""


def import_gaitmap(
    imu_path: Path, *, events_path: Path | None = None, rate_hz: float = POD_RATE_HZ
) -> dict[str, Trace]:
    """gaitmap's two-foot walk as one trace per foot, with motion-capture IC and TO."""
    imu_path = Path(imu_path)
    data = _read_numeric_csv(imu_path, header_rows=2)
    sensors, axes = data.header
    feet: dict[str, list[int]] = {}
    for foot in ("left", "right"):
        cols = []
        for axis in _GAITMAP_AXES:
            hits = [
                i
                for i, (s, a) in enumerate(zip(sensors, axes, strict=False))
                if s == f"{foot}_sensor" and a == axis
            ]
            if not hits:
                raise RecordingError(f"{imu_path}: no column {foot}_sensor/{axis}")
            cols.append(hits[0])
        feet[foot] = cols
    t_in = np.arange(len(data.values)) / GAITMAP_RATE_HZ
    t_out = _grid(t_in, rate_hz)
    if events_path is None:
        guess = imu_path.parent / "stride_events_sample.csv"
        events_path = guess if guess.exists() else None
    truth = _gaitmap_truth(Path(events_path)) if events_path is not None else {}
    out = {}
    for foot, cols in feet.items():
        values = data.values[:, cols]
        acc = values[:, :3] / STANDARD_GRAVITY
        raw = resample(t_in, np.hstack([acc, values[:, 3:]]), t_out)
        head = TraceHeader(
            rate_hz=rate_hz,
            n_samples=len(t_out),
            pod=foot,
            foot=foot,
            start_offset_s=0.0,
            scenario=imu_path.stem,
            frame="gaitmap normalised foot frame: x forward, y left, z up (sensor on the lateral heel)",
            mounting=None,
            acc_fs_g=16,
            source=f"gaitmap_walking/{imu_path.name}",
            meta={"label": "walk"},
            extra={
                "source_rate_hz": GAITMAP_RATE_HZ,
                "source_units": {"acc": "m/s^2", "gyr": "deg/s"},
                "note": "the recording saturates at +-16 g at heel strike",
            },
        )
        out[foot] = Trace(head, raw[:, :3], raw[:, 3:], truth.get(foot, []))
    return out


def _gaitmap_truth(path: Path) -> dict[str, list[TruthStride]]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"foot", "ic", "tc", "pre_ic"}
    if not rows or not need <= set(rows[0]):
        raise RecordingError(f"{path}: stride events need columns {', '.join(sorted(need))}")
    out: dict[str, list[TruthStride]] = {}
    for row in rows:
        try:
            pre_ic, tc, ic = (float(row[k]) / GAITMAP_RATE_HZ for k in ("pre_ic", "tc", "ic"))
        except ValueError as exc:
            raise RecordingError(f"{path}: stride {row.get('s_id')}: {exc}") from exc
        out.setdefault(row["foot"], []).append(
            TruthStride(
                foot=row["foot"],
                ic_s=pre_ic,
                to_s=tc,
                next_ic_s=ic,
                strike_deg=None,
                strike_class=None,
                stride_len_m=None,
                speed_mps=None,
                running=False,
                gait="walk",
            )
        )
    for strides in out.values():
        strides.sort(key=lambda s: s.ic_s)
    return out


def import_recording(path: Path, *, rate_hz: float = POD_RATE_HZ) -> dict[str, Trace]:
    """Either format, told apart by its header; returns foot -> trace."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            first = f.readline(200).decode("utf-8", errors="replace")
    except OSError as exc:
        raise RecordingError(f"{path}: {exc.strerror}") from exc
    if first.startswith("t_s,"):
        trace = import_pyshoe(path, rate_hz=rate_hz)
        return {trace.header.foot: trace}
    if first.startswith("sensor,"):
        return import_gaitmap(path, rate_hz=rate_hz)
    raise RecordingError(f"{path}: neither a pyshoe trial nor a gaitmap IMU file")


class _Table:
    def __init__(self, header: list[list[str]], values: np.ndarray) -> None:
        self.header = header
        self.values = values


def _read_numeric_csv(path: Path, *, header_rows: int, min_rows: int = 8) -> _Table:
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = [next(reader) for _ in range(header_rows)]
            rows = [row for row in reader if row]
    except (OSError, StopIteration, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: cannot read it as CSV text: {exc}") from exc
    width = len(header[-1])
    for n, row in enumerate(rows, start=header_rows + 1):
        if len(row) != width:
            raise RecordingError(f"{path}: line {n} has {len(row)} fields, expected {width}")
    try:
        values = np.array(rows, dtype=float)
    except ValueError as exc:
        raise RecordingError(f"{path}: non-numeric value: {exc}") from exc
    # float() reads "nan" and "inf"; one of them would spread through the resampling
    missing = np.argwhere(~np.isfinite(values))
    if len(missing):
        bad_row, bad_column = (int(i) for i in missing[0])
        raise RecordingError(
            f"{path}: line {header_rows + 1 + bad_row}, column {header[-1][bad_column]}: "
            f"{rows[bad_row][bad_column]!r} is not a finite number"
        )
    if len(values) < min_rows:
        raise RecordingError(f"{path}: only {len(values)} rows")
    return _Table(header, values.reshape(len(rows), width))
