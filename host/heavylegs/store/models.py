"""Plain values that go into and come out of the store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FEET = ("left", "right")
# Runs from different sources agree on their times only to the second: a FIT file
# dates its start and records in whole seconds, so the same run exported and imported
# back starts up to a second off, and a run that ends as the next begins may seem to
# share a fraction of a second with it. Less than this apart is the same moment.
CLASH_TOLERANCE_S = 1.0
# Same order as heavylegs_pod.wire.STRIKE_NAMES; the schema's CHECK constraint repeats it.
STRIKE_CLASSES = ("unknown", "rearfoot", "midfoot", "forefoot")


@dataclass(frozen=True, slots=True)
class Stride:
    """One stride as the pod measured it.

    `seq` is the pod's per-session sequence number. The wire carries it as u16, so a
    session longer than 65,536 strides (about 12 h at 90 strides/min) wraps: whoever
    feeds the store should unwrap it first, since the store deduplicates on it.
    """

    seq: int
    foot: str
    running: bool
    clipped: bool
    strike_class: str
    ic_ms: int
    gct_ms: float
    stride_ms: float
    cadence_spm: float
    strike_deg: float
    impact_g: float
    stride_len_m: float | None
    host_time: float | None = None
    # the foot's roll range through stance, degrees (None: not measured, a pod
    # before protocol 4)
    pronation_deg: float | None = None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any], host_time: float | None = None) -> Stride:
        """Build from the dict `heavylegs_pod.wire.decode_stride` returns."""
        stride_len = d["stride_len_m"]
        return cls(
            seq=int(d["seq"]),
            foot=str(d["foot"]),
            running=bool(d["running"]),
            clipped=bool(d["clipped"]),
            strike_class=str(d["strike_class"]),
            ic_ms=int(d["ic_ms"]),
            gct_ms=float(d["gct_ms"]),
            stride_ms=float(d["stride_ms"]),
            cadence_spm=float(d["cadence_spm"]),
            strike_deg=float(d["strike_deg"]),
            impact_g=float(d["impact_g"]),
            stride_len_m=None if stride_len is None else float(stride_len),
            host_time=host_time,
            pronation_deg=d.get("pronation_deg"),
        )


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    """One pod session within a run, with what the store holds of it."""

    id: int
    run_id: int
    pod_address: str
    pod_name: str
    foot: str
    pod_session: int
    firmware: str
    stride_count: int
    first_ic_ms: int | None
    last_ic_ms: int | None
    # unix seconds at the pod session's start by the pod's clock (None: never set)
    started_at: float | None = None
    # host_time = clock_offset_s + clock_rate * ic_ms / 1000 (None: never fitted)
    clock_offset_s: float | None = None
    clock_rate: float | None = None
    # identity: (pod_address, journal_epoch, pod_session); copy > 0 is a second
    # session the store met under the same identity and kept apart
    journal_epoch: int = 0
    copy: int = 0
    # the start lies in [started_at_min, started_at_max] (None: unbounded that side)
    started_at_min: float | None = None
    started_at_max: float | None = None
    # 'exact' (the pod's clock was set), 'pod clock' (its uptime arithmetic at a
    # sync), 'bounds' (only the interval is known), None (not known)
    date_quality: str | None = None
    header_damaged: bool = False
    note: str | None = None
    # the sensor's full scales the pod recorded at (None: not known, e.g. a pod
    # before protocol 4); an impact at acc_fs_g is clipped there
    acc_fs_g: int | None = None
    gyro_fs_dps: int | None = None

    @property
    def date_known(self) -> bool:
        """Known well enough to say which other sessions it overlapped."""
        return self.date_quality in ("exact", "pod clock")

    @property
    def duration_s(self) -> float:
        """First to last initial contact, on the pod's own clock."""
        if self.first_ic_ms is None or self.last_ic_ms is None:
            return 0.0
        return (self.last_ic_ms - self.first_ic_ms) / 1000

    @property
    def start_spread_s(self) -> float:
        """How much later than `started_at` the session may have started."""
        if self.started_at is None:
            return 0.0
        return (self.started_at_max or self.started_at) - self.started_at

    def start_window(self, fallback: float) -> str:
        """When a session dated only by bounds started, in local time: 'between A and
        B', or 'before B' (B is `fallback` when not even that bound is stored)."""
        if self.started_at_min is not None and self.started_at_max is not None:
            return f"between {local_minute(self.started_at_min)} and {local_minute(self.started_at_max)}"
        return f"before {local_minute(self.started_at_max or fallback)}"


@dataclass(frozen=True, slots=True)
class Gap:
    """Records of a session the pod could not read, with the neighbouring strides' times.

    `before_s`/`after_s` are host times of the last stride before and the first after
    (None if there is none, or the recording is not dated)."""

    first_seq: int
    count: int
    before_s: float | None = None
    after_s: float | None = None
    # the same strides' initial contacts on the pod's session clock
    before_ic_ms: int | None = None
    after_ic_ms: int | None = None

    def describe(self) -> str:
        """'12 strides unreadable between 14:02 and 14:03' (local time), or, in a run
        whose time of day is not known, 'between 3:10 and 3:55 into the session'."""
        what = f"{self.count} stride{'s' if self.count != 1 else ''} unreadable"
        if self.before_s is not None and self.after_s is not None:
            return f"{what} between {_clock(self.before_s)} and {_clock(self.after_s)}"
        if self.before_ic_ms is not None and self.after_ic_ms is not None:
            return (
                f"{what} between {_elapsed(self.before_ic_ms)} and "
                f"{_elapsed(self.after_ic_ms)} into the session"
            )
        if self.before_s is not None or self.before_ic_ms is not None:
            return f"{what} at the end of the session"
        if self.after_s is not None or self.after_ic_ms is not None:
            return f"{what} at the start of the session"
        last = self.first_seq + self.count - 1
        return f"{what} (records {self.first_seq} to {last})"


def _elapsed(ms: int) -> str:
    minutes, seconds = divmod(int(ms) // 1000, 60)
    return f"{minutes}:{seconds:02d}"


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at).astimezone().strftime("%H:%M")


def local_minute(at: float) -> str:
    """A host timestamp as local date and minute, for people."""
    return datetime.fromtimestamp(at).astimezone().strftime("%Y-%m-%d %H:%M")


def local_day(at: float) -> str:
    """A host timestamp as its local date, for people (and for comparing days)."""
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class PodContact:
    """A pod's last listing of its journal to this store."""

    listed_at: float
    journal_epoch: int
    last_session: int

    def started_after(self, epoch: int, session: int) -> bool:
        """Whether that session of that journal cannot have been on the pod then."""
        if epoch == self.journal_epoch:
            return session > self.last_session
        # A journal other than the one listed is newer, unless it is the pre-protocol-3
        # sessions' epoch 0, which a pod keeps beside its first epoch.
        return epoch != 0


@dataclass(frozen=True, slots=True)
class StrideWrite:
    """What add_strides did with a batch."""

    recording_id: int  # where the batch went: a copy if it clashed with what was stored
    new: int
    repeated: int
    conflicting: int  # strides that clashed with stored ones (kept in the copy)


@dataclass(frozen=True, slots=True)
class ImportedSummary:
    """A run known only as a whole, from a FIT activity: no strides, so nothing in it
    can be analysed; its time and distance count in training load and shoe mileage.

    Averages are what the file says (None: it does not say). Cadence is in steps per
    minute, balance the left foot's share of stance time.
    """

    file_name: str
    device: str
    digest: str  # of the file's bytes: the same file again is a repeat
    timer_s: float  # the watch's timer time: pauses left out
    elapsed_s: float
    distance_m: float | None
    cadence_spm: float | None = None
    stance_ms: float | None = None
    balance_pct: float | None = None
    step_length_m: float | None = None
    strike_deg: float | None = None
    impact_g: float | None = None
    pronation_deg: float | None = None
    # foot -> address of a pod the file names that the store knows (empty: not known)
    pods: Mapping[str, str] = field(default_factory=dict)
    origin: str = "fit"


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One recording session on the host: one or two pods, or more after reconnects."""

    id: int
    name: str
    source: str
    started_at: float
    ended_at: float | None
    recordings: tuple[RecordingInfo, ...]
    # why the run is as it is (one pod only, a kept-apart session), for the report
    note: str | None = None
    # a run imported as a summary only (a FIT activity); None for a run of strides
    imported: ImportedSummary | None = None

    @property
    def summary_only(self) -> bool:
        """No strides, only a FIT file's totals and averages: nothing to analyse."""
        return self.imported is not None

    @property
    def kept_apart(self) -> bool:
        """Only copies of sessions the store met twice under one identity (see
        store_strides): kept to be looked at, never taken for the latest run."""
        return bool(self.recordings) and all(rec.copy > 0 for rec in self.recordings)

    @property
    def in_history(self) -> bool:
        """Counts in training load, the weeks and shoe mileage."""
        return self.stride_count > 0 or self.imported is not None

    @property
    def approximate(self) -> bool:
        """Its date is not from a set clock: the report says so."""
        return any(rec.date_quality not in (None, "exact") for rec in self.recordings)

    @property
    def stride_count(self) -> int:
        return sum(rec.stride_count for rec in self.recordings)

    @property
    def duration_s(self) -> float | None:
        """How long the runner ran: the longest pod span on the pods' own clocks.

        The host's wall clock is only a fallback: a simulated run replays faster
        than real time, and a synced run was recorded long before it arrived.
        """
        if self.imported is not None:
            return self.imported.timer_s
        spans = [rec.duration_s for rec in self.recordings if rec.stride_count]
        if spans:
            return max(spans)
        if self.ended_at is not None:
            return self.ended_at - self.started_at
        return None

    @property
    def end_at(self) -> float:
        """When the runner was back (unix s): a FIT summary's elapsed time counts its
        pauses, since the runner was still out; a run of no known length ends as it starts."""
        if self.imported is not None:
            return self.started_at + self.imported.elapsed_s
        return self.started_at + (self.duration_s or 0.0)

    def clashes(self, start: float, end: float) -> bool:
        """Whether a run from `start` to `end` (unix s) was at the same time as this one."""
        return spans_clash(self.started_at, self.end_at, start, end)

    def feet(self) -> tuple[str, ...]:
        """Feet with at least one recording, left first."""
        present = {rec.foot for rec in self.recordings}
        return tuple(foot for foot in FEET if foot in present)


def spans_clash(start: float, end: float, other_start: float, other_end: float) -> bool:
    """Two runs from `start` to `end` and `other_start` to `other_end` (unix s) are the
    same time, which one runner cannot run twice: they share a second or more, or start
    within a second of each other (which also catches a run too short to have a span).
    Touching end to start, or sharing less than a second, they are two runs. A run with
    no length yet (a live run before its first stride) shares nothing, so it clashes
    when it lies inside the other: that runner was out on the other run then."""
    shared = min(end, other_end) - max(start, other_start)
    return (
        abs(start - other_start) < CLASH_TOLERANCE_S
        or shared >= CLASH_TOLERANCE_S
        or (start == end and _inside(start, other_start, other_end))
        or (other_start == other_end and _inside(other_start, start, end))
    )


def _inside(moment: float, start: float, end: float) -> bool:
    return start < moment < end - CLASH_TOLERANCE_S


@dataclass(frozen=True, slots=True)
class WholeRecording:
    """A pod session given whole (an import): its identity and every stride."""

    pod_address: str
    pod_name: str
    foot: str
    pod_session: int
    firmware: str
    epoch: int
    strides: tuple[Stride, ...]
    acc_fs_g: int | None = None  # the accelerometer's full scale, g (None: not known)
