"""A run's strides per foot on one time axis, as arrays: what every analysis reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from heavylegs.analysis.watch_track import WatchTrack, load_watch_track
from heavylegs.store import FEET, STRIDE_COLUMNS, RecordingInfo, RunInfo, Store, Stride

# What a stride measured, beyond its identity (seq, foot) and its timing (read apart).
COLUMNS = tuple(c for c in STRIDE_COLUMNS if c not in ("seq", "foot", "ic_ms", "host_time"))


@dataclass(frozen=True, slots=True)
class FootData:
    """All strides of one foot in a run, in time order; unknown stride lengths are NaN."""

    foot: str
    minutes: np.ndarray
    running: np.ndarray
    gct_ms: np.ndarray
    stride_ms: np.ndarray
    cadence_spm: np.ndarray
    strike_class: np.ndarray
    strike_deg: np.ndarray
    impact_g: np.ndarray
    stride_len_m: np.ndarray
    clipped: np.ndarray
    duration_s: float
    # degrees of roll through stance; NaN where the pod did not measure it
    pronation_deg: np.ndarray = field(default_factory=lambda: np.empty(0))
    # The pod that recorded most of these strides: each pod lives on one shoe.
    pod_address: str = ""
    # From a merged watch activity, at each stride (NaN where the watch had nothing);
    # None without one.
    gps_speed_mps: np.ndarray | None = None
    grade_pct: np.ndarray | None = None
    heart_rate_bpm: np.ndarray | None = None
    # The accelerometer's full scale, g: a clipped impact is at least this (None: not
    # known; with several recordings, the smallest, where clipping starts first).
    acc_fs_g: int | None = None

    def __len__(self) -> int:
        return len(self.minutes)

    @property
    def speed_mps(self) -> np.ndarray:
        """Per-stride speed: the watch's GPS speed where it has one, else the pod's
        stride length over stride time, else NaN."""
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = self.stride_len_m / (self.stride_ms / 1000.0)
        speed[~np.isfinite(speed) | (self.stride_ms <= 0)] = np.nan
        if self.gps_speed_mps is not None:
            gps = np.isfinite(self.gps_speed_mps) & (self.gps_speed_mps > 0)
            speed[gps] = self.gps_speed_mps[gps]
        return speed


@dataclass(frozen=True, slots=True)
class Session:
    """One run: its feet (left first, feet without strides left out) and when it started."""

    run_id: int | None
    name: str
    started_at: float
    feet: dict[str, FootData]
    # a merged watch activity on this session's minutes
    watch: WatchTrack | None = None
    # when the first stride landed (unix s), which a live run's start precedes;
    # None: not known apart from `started_at`
    first_stride_at: float | None = None

    @property
    def duration_min(self) -> float:
        ends = [float(d.minutes[-1]) for d in self.feet.values() if len(d)]
        return max(ends, default=0.0)


def load_session(store: Store, run: RunInfo) -> Session:
    """A stored run's strides, with each pod placed on one time axis."""
    tables = [
        (rec, store.stride_table(rec.id, COLUMNS + ("ic_ms", "host_time")))
        for rec in run.recordings
        if rec.stride_count
    ]
    offsets, zero_at = _recording_offsets_min(tables)
    feet: dict[str, FootData] = {}
    for foot in FEET:
        mine = [(rec, table) for rec, table in tables if rec.foot == foot]
        if not mine:
            continue
        minutes = np.concatenate(
            [(table["ic_ms"] - table["ic_ms"][0]) / 60_000 + offsets[rec.id] for rec, table in mine]
        )
        order = np.argsort(minutes, kind="stable")
        joined = {
            name: np.concatenate([table[name] for _, table in mine])[order] for name in COLUMNS
        }
        main_pod = max(mine, key=lambda pair: pair[0].stride_count)[0].pod_address
        ranges = [rec.acc_fs_g for rec, _ in mine if rec.acc_fs_g]
        feet[foot] = _foot(
            foot,
            minutes[order],
            joined,
            duration_s=sum(rec.duration_s for rec, _ in mine),
            pod_address=main_pod,
            acc_fs_g=min(ranges) if ranges else None,
        )
    session = Session(
        run_id=run.id,
        name=run.name,
        started_at=run.started_at,
        feet=feet,
        first_stride_at=_first_stride_at(tables, run.started_at),
    )
    track = load_watch_track(store, run.id, run.started_at if zero_at is None else zero_at)
    return session if track is None else with_watch(session, track)


def with_watch(session: Session, track: WatchTrack | None) -> Session:
    """The session with a watch activity's speed, grade and heart rate at every stride."""
    feet = {
        foot: replace(
            data,
            gps_speed_mps=None if track is None else track.at("speed_mps", data.minutes),
            grade_pct=None if track is None else track.at("grade_pct", data.minutes),
            heart_rate_bpm=None if track is None else track.at("heart_rate_bpm", data.minutes),
        )
        for foot, data in session.feet.items()
    }
    return replace(session, feet=feet, watch=track)


def session_from_strides(
    strides: Mapping[str, Iterable[Stride]] | Iterable[Stride],
    *,
    name: str = "strides",
    started_at: float = 0.0,
    run_id: int | None = None,
    pod_addresses: Mapping[str, str] | None = None,
    acc_fs_g: Mapping[str, int] | None = None,
) -> Session:
    """A session from strides whose ic_ms share one clock (a simulator's or a test's)."""
    if isinstance(strides, Mapping):
        flat = [s for foot_strides in strides.values() for s in foot_strides]
    else:
        flat = list(strides)
    if not flat:
        return Session(run_id, name, started_at, {})
    first_ms = min(s.ic_ms for s in flat)
    feet: dict[str, FootData] = {}
    for foot in FEET:
        mine = sorted((s for s in flat if s.foot == foot), key=lambda s: (s.ic_ms, s.seq))
        if not mine:
            continue
        minutes = (np.array([s.ic_ms for s in mine], dtype=np.float64) - first_ms) / 60_000
        columns = {
            "running": np.array([s.running for s in mine], dtype=np.bool_),
            "clipped": np.array([s.clipped for s in mine], dtype=np.bool_),
            "strike_class": np.array([s.strike_class for s in mine], dtype=np.str_),
            "gct_ms": np.array([s.gct_ms for s in mine], dtype=np.float64),
            "stride_ms": np.array([s.stride_ms for s in mine], dtype=np.float64),
            "cadence_spm": np.array([s.cadence_spm for s in mine], dtype=np.float64),
            "strike_deg": np.array([s.strike_deg for s in mine], dtype=np.float64),
            "impact_g": np.array([s.impact_g for s in mine], dtype=np.float64),
            "stride_len_m": np.array(
                [np.nan if s.stride_len_m is None else s.stride_len_m for s in mine],
                dtype=np.float64,
            ),
            "pronation_deg": np.array(
                [np.nan if s.pronation_deg is None else s.pronation_deg for s in mine],
                dtype=np.float64,
            ),
        }
        address = (pod_addresses or {}).get(foot, f"sim-{foot}")
        feet[foot] = _foot(
            foot,
            minutes,
            columns,
            duration_s=(mine[-1].ic_ms - mine[0].ic_ms) / 1000,
            pod_address=address,
            acc_fs_g=(acc_fs_g or {}).get(foot),
        )
    return Session(run_id, name, started_at, feet)


def _foot(
    foot: str,
    minutes: np.ndarray,
    columns: Mapping[str, np.ndarray],
    *,
    duration_s: float,
    pod_address: str,
    acc_fs_g: int | None = None,
) -> FootData:
    return FootData(
        foot=foot,
        minutes=minutes,
        running=columns["running"].astype(np.bool_),
        gct_ms=columns["gct_ms"],
        stride_ms=columns["stride_ms"],
        cadence_spm=columns["cadence_spm"],
        strike_class=columns["strike_class"],
        strike_deg=columns["strike_deg"],
        impact_g=columns["impact_g"],
        stride_len_m=columns["stride_len_m"],
        clipped=columns["clipped"].astype(np.bool_),
        duration_s=duration_s,
        pronation_deg=columns["pronation_deg"],
        pod_address=pod_address,
        acc_fs_g=acc_fs_g,
    )


def pod_clock_zero(table: Mapping[str, np.ndarray]) -> float | None:
    """The host time (unix s) of the pod clock's zero; None without receive times."""
    known = np.isfinite(table["host_time"])
    if not known.any():
        return None
    # A stride reaches the host only after the pod has finished it, so every
    # receive time is late; the least late one dates the pod's clock best.
    return float(np.min(table["host_time"][known] - table["ic_ms"][known] / 1000))


# Receive times date a pod's clock only while they advance at its rate: a crystal is
# off by tens of ppm, a simulated pod's sensor time runs many times faster than the host's.
_POD_RATE_TOLERANCE = 0.01


def _receive_times_keep_pod_rate(table: Mapping[str, np.ndarray]) -> bool:
    known = np.isfinite(table["host_time"])
    pod_s = table["ic_ms"][known] / 1000
    if len(pod_s) < 2 or np.ptp(pod_s) <= 0:
        return True
    rate = float(np.polyfit(pod_s, table["host_time"][known], 1)[0])
    return abs(rate - 1.0) <= _POD_RATE_TOLERANCE


def _host_time_of(
    rec: RecordingInfo, table: Mapping[str, np.ndarray], pod_s: float
) -> float | None:
    """The host time (unix s) of pod time `pod_s` by the best clock the recording has:
    the pod clock fitted while recording (the receive times were rewritten from it),
    else the host's receive times (the least late one) if they kept the pod's rate."""
    if rec.clock_offset_s is not None and rec.clock_rate is not None:
        return rec.clock_offset_s + rec.clock_rate * pod_s
    pod_zero = pod_clock_zero(table)
    if pod_zero is not None and _receive_times_keep_pod_rate(table):
        return pod_zero + pod_s
    return None


def _first_stride_at(
    tables: list[tuple[RecordingInfo, dict[str, np.ndarray]]], run_start: float
) -> float:
    """When the run's first stride landed (unix s): a live run starts before the runner does.

    Each recording dates its first stride by the best clock it has (`_host_time_of`),
    else by the pod session's start. No stride lands before the run started.
    """
    candidates = []
    for rec, table in tables:
        if rec.first_ic_ms is None:
            continue
        first_s = rec.first_ic_ms / 1000
        at = _host_time_of(rec, table, first_s)
        if at is None and rec.started_at is not None:
            at = rec.started_at + first_s
        if at is not None:
            candidates.append(at)
    return max(min(candidates, default=run_start), run_start)


def _recording_offsets_min(
    tables: list[tuple[RecordingInfo, dict[str, np.ndarray]]],
) -> tuple[dict[int, float], float | None]:
    """Minutes from the run's first stride to each recording's first stride, and that
    first stride's host time (None when not known).

    Each pod counts time from its own session start, so pods are placed on one axis
    through a host clock (`_host_time_of`). Without one for every recording (a journal
    sync, or receive times that did not keep the pod's rate) every recording starts
    at zero.
    """
    starts: dict[int, float] = {}
    for rec, table in tables:
        at = _host_time_of(rec, table, float(table["ic_ms"][0]) / 1000)
        if at is None:
            return {rec.id: 0.0 for rec, _ in tables}, None
        starts[rec.id] = at
    first = min(starts.values(), default=0.0)
    return {rec_id: (start - first) / 60 for rec_id, start in starts.items()}, (
        first if starts else None
    )
