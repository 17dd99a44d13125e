"""What a FIT activity says about a run, in natural units: records, laps, pauses.

Every stride of both feet, walking included, lands in exactly one record: the one
of the second its initial contact falls in, so a record's running dynamics are the
means of that second's strides, and a lap's are the means of its strides. Distance
is each foot's stride lengths added up (each foot's strides cover the whole way),
averaged over the feet that measured them: the last record's distance is the store's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from heavylegs.analysis.session import Session
from heavylegs.errors import HeavylegsError
from heavylegs.export.fit_codec import FIT_EPOCH_UNIX

# A foot's lengths count for distance when it measured most of them, as in the run
# summary; the few unknown ones are filled from its neighbouring strides.
_LENGTHS_KNOWN_SHARE = 0.8
# No stride for longer than this is a stop: the timer pauses, as a watch's auto-pause.
PAUSE_S = 5.0
AUTO_LAP_M = 1000.0


class FitError(HeavylegsError, ValueError):
    """The session cannot be written as a FIT activity."""


@dataclass(frozen=True, slots=True)
class Dynamics:
    """Means over a set of strides; None where none of them measured it."""

    strides: int
    cadence_strides_min: float | None
    stance_time_ms: float | None
    stance_time_pct: float | None
    stance_time_balance_pct: float | None
    step_length_mm: float | None
    speed_mps: float | None
    strike_deg: float | None
    impact_g: float | None
    pronation_deg: float | None


@dataclass(frozen=True, slots=True)
class FitRecord:
    """One second of a run: the strides whose contact began in it."""

    unix_s: int
    running: bool
    dynamics: Dynamics
    # distance once this second's strides are done
    distance_m: float | None


@dataclass(frozen=True, slots=True)
class LapBounds:
    """A lap someone else marked (a watch's), from this unix time to the next lap's.

    `trigger` is a FIT lap_trigger name ("manual", "distance", "position_lap", ...).
    """

    start_unix: float
    trigger: str = "manual"


@dataclass(frozen=True, slots=True)
class FitLap:
    start_unix: int
    elapsed_s: float
    timer_s: float
    distance_m: float | None
    trigger: str
    records: slice
    dynamics: Dynamics
    max_cadence: float | None
    max_speed_mps: float | None
    cycles: int


@dataclass(frozen=True, slots=True)
class FitActivity:
    records: list[FitRecord]
    laps: list[FitLap]
    session: FitLap
    # (timer stop, timer start) around each stop, unix seconds
    pauses: list[tuple[int, int]]
    sport_running: bool


class FitStrides:
    """Both feet's strides in time order, with what a FIT file needs of each."""

    def __init__(self, session: Session, first_stride_at: float) -> None:
        feet = [(foot, data) for foot, data in session.feet.items() if len(data)]
        if not feet:
            raise FitError(f"run {session.run_id} has no strides to export")
        t = np.concatenate([data.minutes * 60 for _, data in feet])
        order = np.argsort(t, kind="stable")

        def joined(name: str) -> np.ndarray:
            return np.concatenate([getattr(data, name) for _, data in feet])[order]

        self.unix_s = first_stride_at + t[order] - t.min()
        self.left = np.concatenate([np.full(len(d), f == "left") for f, d in feet])[order]
        self.running = joined("running")
        self.gct_ms = joined("gct_ms")
        self.stride_ms = joined("stride_ms")
        self.cadence_spm = joined("cadence_spm")
        self.strike_deg = joined("strike_deg")
        self.impact_g = joined("impact_g")
        self.pronation_deg = np.concatenate(
            [
                d.pronation_deg if len(d.pronation_deg) == len(d) else np.full(len(d), np.nan)
                for _, d in feet
            ]
        )[order]
        self.stride_len_m = joined("stride_len_m")
        self.measured = (self.gct_ms > 0) & (self.stride_ms > 0) & (self.cadence_spm > 0)
        self.feet = len(feet)
        self.distance_m = _distance_after_each(session, t.min(), t[order])

    def __len__(self) -> int:
        return len(self.unix_s)

    def dynamics(self, part: slice) -> Dynamics:
        """Means of the measured strides in `part` (strides in time order)."""
        use = self.measured[part]
        if not use.any():
            return Dynamics(0, *([None] * 9))
        gct, stride = self.gct_ms[part][use], self.stride_ms[part][use]
        length = self.stride_len_m[part][use]
        known = np.isfinite(length)
        on_left = self.left[part][use]
        balance = None
        if on_left.any() and not on_left.all():
            gl, gr = float(gct[on_left].mean()), float(gct[~on_left].mean())
            balance = 100 * gl / (gl + gr)
        return Dynamics(
            strides=int(use.sum()),
            cadence_strides_min=float(self.cadence_spm[part][use].mean()) / 2,
            stance_time_ms=float(gct.mean()),
            # of the whole stride, as Garmin's stance_time_percent (about 39% running)
            stance_time_pct=float((gct / stride).mean() * 100),
            stance_time_balance_pct=balance,
            step_length_mm=float(length[known].mean() * 500) if known.any() else None,
            speed_mps=float((length[known] / stride[known] * 1000).mean()) if known.any() else None,
            strike_deg=float(self.strike_deg[part][use].mean()),
            impact_g=float(self.impact_g[part][use].mean()),
            pronation_deg=_finite_mean(self.pronation_deg[part][use]),
        )


def _finite_mean(values: np.ndarray) -> float | None:
    """The mean of what was measured (NaN: not), None if nothing was."""
    known = values[np.isfinite(values)]
    return float(known.mean()) if len(known) else None


def _distance_after_each(session: Session, t0: float, t: np.ndarray) -> np.ndarray | None:
    """Distance covered once each stride (at times t, seconds) is done; None if unknown."""
    per_foot = []
    for data in session.feet.values():
        known = np.isfinite(data.stride_len_m)
        if not len(data) or known.mean() < _LENGTHS_KNOWN_SHARE:
            continue
        times = data.minutes * 60 - t0
        lengths = data.stride_len_m.copy()
        if not known.all():
            lengths[~known] = np.interp(times[~known], times[known], lengths[known])
        cum = np.concatenate(([0.0], np.cumsum(lengths)))
        per_foot.append(cum[np.searchsorted(times, t - t0 + 1e-9, side="right")])
    if not per_foot:
        return None
    mean: np.ndarray = np.mean(per_foot, axis=0)
    return mean


def build_activity(
    session: Session,
    first_stride_at: float,
    laps: Sequence[LapBounds] | None = None,
) -> FitActivity:
    """Records, laps (a watch's `laps`, else one every km) and pauses of a run."""
    if first_stride_at <= FIT_EPOCH_UNIX:
        raise FitError(
            f"run {session.run_id} has no usable start time ({first_stride_at:.0f}); "
            "FIT timestamps count from 1989-12-31"
        )
    table = FitStrides(session, first_stride_at)
    # whole milliseconds first: a contact on a second's boundary stays in that second
    seconds = np.floor_divide(np.round(table.unix_s * 1000), 1000).astype(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], np.diff(seconds) > 0)))
    ends = np.append(starts[1:], len(table))
    records = [
        FitRecord(
            unix_s=int(seconds[a]),
            running=bool(table.running[a:b].any()),
            dynamics=table.dynamics(slice(a, b)),
            distance_m=None if table.distance_m is None else float(table.distance_m[b - 1]),
        )
        for a, b in zip(starts, ends, strict=True)
    ]
    pauses = [
        (prev.unix_s + 1, rec.unix_s)
        for prev, rec in zip(records, records[1:], strict=False)
        if rec.unix_s - prev.unix_s > PAUSE_S
    ]
    cuts = _watch_cuts(records, laps) if laps else _km_cuts(records)
    bounds = [0, *cuts, len(records)]
    spans = [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    if laps:
        triggers = [laps[i].trigger for i in _watch_lap_index(records, laps, spans)]
    else:
        triggers = ["distance"] * (len(spans) - 1) + ["session_end"]
    fit_laps = [
        _lap(table, records, pauses, a, b, starts, ends, trigger)
        for (a, b), trigger in zip(spans, triggers, strict=True)
    ]
    whole = _lap(table, records, pauses, 0, len(records), starts, ends, "activity_end")
    return FitActivity(records, fit_laps, whole, pauses, bool(table.running.any()))


def _km_cuts(records: list[FitRecord]) -> list[int]:
    """Record indices that start a new lap: each lap ends with the record completing a km."""
    distances = [r.distance_m for r in records]
    if any(d is None for d in distances):
        return []
    done = np.floor(np.array(distances, dtype=np.float64) / AUTO_LAP_M)
    return [int(i) + 2 for i in np.flatnonzero(np.diff(done) > 0)]


def _watch_cuts(records: list[FitRecord], laps: Sequence[LapBounds]) -> list[int]:
    times = np.array([r.unix_s for r in records])
    starts = sorted(lap.start_unix for lap in laps)[1:]
    return [int(np.searchsorted(times, s, side="left")) for s in starts]


def _watch_lap_index(
    records: list[FitRecord], laps: Sequence[LapBounds], spans: list[tuple[int, int]]
) -> list[int]:
    """Which watch lap each non-empty span of records is."""
    ordered = sorted(range(len(laps)), key=lambda i: laps[i].start_unix)
    starts = [laps[i].start_unix for i in ordered]
    out = []
    for a, _ in spans:
        k = int(np.searchsorted(starts, records[a].unix_s, side="right")) - 1
        out.append(ordered[max(k, 0)])
    return out


def _lap(
    table: FitStrides,
    records: list[FitRecord],
    pauses: list[tuple[int, int]],
    a: int,
    b: int,
    starts: np.ndarray,
    ends: np.ndarray,
    trigger: str,
) -> FitLap:
    start = records[a].unix_s
    end = records[b].unix_s if b < len(records) else records[-1].unix_s + 1
    paused = sum(max(0, min(up, end) - max(down, start)) for down, up in pauses)
    before = records[a - 1].distance_m if a > 0 else 0.0
    after = records[b - 1].distance_m
    distance = None if after is None or before is None else after - before
    cadences = [r.dynamics.cadence_strides_min for r in records[a:b]]
    speeds = [r.dynamics.speed_mps for r in records[a:b]]
    part = slice(int(starts[a]), int(ends[b - 1]))
    dyn = table.dynamics(part)
    return FitLap(
        start_unix=start,
        elapsed_s=float(end - start),
        timer_s=float(end - start - paused),
        distance_m=distance,
        trigger=trigger,
        records=slice(a, b),
        dynamics=dyn,
        max_cadence=max((c for c in cadences if c is not None), default=None),
        max_speed_mps=max((s for s in speeds if s is not None), default=None),
        # a stride is one cycle of one foot: the feet's strides shared out
        cycles=round(dyn.strides / table.feet),
    )


def split_cadence(strides_min: float | None) -> tuple[int | None, int | None]:
    """FIT's (whole strides/min, 1/128ths) for a cadence; (None, None) when unknown."""
    if strides_min is None or not math.isfinite(strides_min):
        return None, None
    whole = math.floor(strides_min)
    fraction = round((strides_min - whole) * 128)
    if fraction == 128:
        whole, fraction = whole + 1, 0
    if not 0 <= whole < 255:
        raise FitError(f"cadence {2 * strides_min:.0f} steps/min does not fit a FIT record")
    return whole, fraction
