"""Read a watch's FIT activity with Garmin's own SDK: its 1 s records, laps and device.

Only what the analysis uses is kept: GPS speed and distance, elevation, heart rate
and cadence, on the watch's clock (unix seconds). Everything a runner might feed in
by mistake (another kind of FIT file, a cut-off download, a damaged copy) raises
WatchFileError with one sentence saying which it is.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from heavylegs.errors import HeavylegsError

# Elevation noise (1 m steps of a barometric altimeter) makes the grade over a few
# metres meaningless: it is taken over at least this much distance.
_GRADE_DISTANCE_M = 60.0
# Grades beyond this are GPS or altimeter glitches, not a road.
_GRADE_LIMIT_PCT = 30.0


# What a `heavylegs export` FIT names its developer fields by (export/fit.py's
# APPLICATION_ID; the merge-own-export case of tests/test_cli_errors.py keeps them one).
HEAVYLEGS_APPLICATION_ID = uuid.uuid5(
    uuid.NAMESPACE_URL, "https://heavylegs/fit/developer-fields"
).bytes


class WatchFileError(HeavylegsError):
    """The file is not a readable watch activity."""


@dataclass(frozen=True, slots=True)
class Lap:
    """A lap as the watch recorded it (its button or its auto-lap), on the watch's clock."""

    start_s: float
    end_s: float
    distance_m: float | None
    ascent_m: float | None


@dataclass(frozen=True, slots=True)
class WatchActivity:
    """The records of one activity, arrays of equal length in time order.

    Times are unix seconds by the watch's clock; a field the watch did not record is
    NaN. Cadence is in steps per minute (FIT's running cadence counts strides).
    """

    source: str
    device: str
    t_s: np.ndarray
    speed_mps: np.ndarray
    distance_m: np.ndarray
    altitude_m: np.ndarray
    heart_rate_bpm: np.ndarray
    cadence_spm: np.ndarray
    laps: tuple[Lap, ...]
    # written by `heavylegs export`: its pace and distance are a pod's estimates
    from_heavylegs: bool = False

    @property
    def start_s(self) -> float:
        return float(self.t_s[0])

    @property
    def end_s(self) -> float:
        return float(self.t_s[-1])

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def grade_pct(self) -> np.ndarray:
        """Slope of the ground, uphill positive, from elevation over distance travelled.

        Each record's grade is the elevation change across the stretch of at least
        _GRADE_DISTANCE_M centred on it; NaN where elevation or distance is missing
        or the runner stood still.
        """
        grade = np.full(len(self), np.nan)
        ok = np.isfinite(self.altitude_m) & np.isfinite(self.distance_m)
        if ok.sum() < 2:
            return grade
        idx = np.flatnonzero(ok)
        dist, alt = self.distance_m[idx], self.altitude_m[idx]
        half = _GRADE_DISTANCE_M / 2
        lo = np.searchsorted(dist, dist - half, side="right") - 1
        hi = np.searchsorted(dist, dist + half, side="left")
        lo, hi = np.clip(lo, 0, len(idx) - 1), np.clip(hi, 0, len(idx) - 1)
        run = dist[hi] - dist[lo]
        with np.errstate(divide="ignore", invalid="ignore"):
            g = 100 * (alt[hi] - alt[lo]) / run
        g[(run < _GRADE_DISTANCE_M * 0.75) | (np.abs(g) > _GRADE_LIMIT_PCT)] = np.nan
        grade[idx] = g
        return grade


def read_activity(path: str | Path) -> WatchActivity:
    """The activity in a FIT file, or WatchFileError saying why it is not one."""
    path = Path(path)
    return _activity(path.name, activity_messages(path))


def activity_messages(path: Path, data: bytes | None = None) -> Mapping[str, Any]:
    """The decoded messages of a FIT activity file (`data`: its bytes, if read already),
    or WatchFileError saying why it is not one."""
    from garmin_fit_sdk import Decoder, Stream

    if data is None:
        try:
            data = path.read_bytes()
        except OSError as err:
            raise WatchFileError(f"cannot read {path}: {err.strerror or err}") from err
    if not Decoder(Stream.from_byte_array(bytearray(data))).is_fit():
        raise WatchFileError(f"{path.name} is not a FIT file")
    if not Decoder(Stream.from_byte_array(bytearray(data))).check_integrity():
        raise WatchFileError(
            f"{path.name} is damaged: its size or checksum does not match "
            "(cut off in a download, or corrupt); copy it from the watch again"
        )
    try:
        messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read(
            convert_datetimes_to_dates=True
        )
    except Exception as err:  # the SDK raises bare Exceptions on bad structure
        raise WatchFileError(f"{path.name} cannot be decoded: {err}") from err
    if errors:
        raise WatchFileError(f"{path.name} cannot be decoded: {errors[0]}")
    file_ids = messages.get("file_id_mesgs", [])
    kind = file_ids[0].get("type") if file_ids else None
    if kind != "activity":
        raise WatchFileError(
            f"{path.name} is a FIT {kind or 'file without a file_id'}, not an activity: "
            "export the run itself from the watch"
        )
    return messages


def _activity(name: str, messages: Mapping[str, Any]) -> WatchActivity:
    file_ids = messages["file_id_mesgs"]
    records = [
        r for r in messages.get("record_mesgs", []) if isinstance(r.get("timestamp"), datetime)
    ]
    if len(records) < 2:
        raise WatchFileError(f"{name} is an activity without timed records: nothing to merge")
    records.sort(key=lambda r: r["timestamp"])
    t = np.array([r["timestamp"].timestamp() for r in records])

    def column(*names: str, scale: float = 1.0) -> np.ndarray:
        out = np.full(len(records), np.nan)
        for k, r in enumerate(records):
            for field in names:
                value = r.get(field)
                if isinstance(value, int | float) and math.isfinite(value):
                    out[k] = float(value) * scale
                    break
        return out

    cadence = column("cadence", scale=2.0) + np.nan_to_num(column("fractional_cadence") * 2.0)
    laps = tuple(
        Lap(
            start_s=lap["start_time"].timestamp(),
            end_s=lap["timestamp"].timestamp(),
            distance_m=finite_number(lap.get("total_distance")),
            ascent_m=finite_number(lap.get("total_ascent")),
        )
        for lap in messages.get("lap_mesgs", [])
        if isinstance(lap.get("start_time"), datetime)
        and isinstance(lap.get("timestamp"), datetime)
    )
    return WatchActivity(
        source=name,
        device=device_name(file_ids[0]),
        t_s=t,
        speed_mps=column("enhanced_speed", "speed"),
        distance_m=column("distance"),
        altitude_m=column("enhanced_altitude", "altitude"),
        heart_rate_bpm=column("heart_rate"),
        # a cadence of 0 is the watch's "no reading", not a standing runner's
        cadence_spm=np.where(cadence > 0, cadence, np.nan),
        laps=laps,
        from_heavylegs=any(
            bytes(d.get("application_id") or ()) == HEAVYLEGS_APPLICATION_ID
            for d in messages.get("developer_data_id_mesgs", [])
        ),
    )


def finite_number(value: object) -> float | None:
    """A FIT field's value as a float; None when the field is absent or invalid."""
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def device_name(file_id: Mapping[str, Any]) -> str:
    product = file_id.get("garmin_product") or file_id.get("product") or "device"
    return f"{file_id.get('manufacturer', 'unknown')} {product}"
