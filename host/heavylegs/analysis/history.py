"""Across sessions: one summary per run, training load, weekly trends and per-shoe history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from heavylegs.analysis.fatigue import FatigueDetector
from heavylegs.analysis.indicators import usable_strides
from heavylegs.analysis.session import Session, load_session
from heavylegs.store import RunInfo, Store
from heavylegs.store.diary import Diary
from heavylegs.store.shoes import ShoePair, ShoeShelf

# Bump when a summary field or its meaning changes: cached summaries are rebuilt.
ANALYSIS_VERSION = 2
# Contact time across runs is shown at one reference pace: 170 steps/min, and
# 3.0 m/s when speed is known. Pace moves contact time more than weeks of training.
REF_CADENCE_SPM = 170.0
REF_SPEED_MPS = 3.0
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class FlagNote:
    kind: str
    foot: str | None
    onset_min: float
    size: float
    unit: str
    confidence: float


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What later runs need to know about one run."""

    run_id: int
    name: str
    started_at: float
    duration_min: float
    running_min: float
    strides: int
    distance_km: float | None
    pods: dict[str, str]  # foot -> pod address (the shoe)
    pod_minutes: dict[str, float]
    pod_km: dict[str, float | None]
    gct_median_ms: float | None
    cadence_median_spm: float | None
    gct_at_ref_ms: float | None
    impact_at_ref_g: dict[str, float]  # per foot, baseline impact at comparable pace
    strike_deg_median: float | None
    rearfoot_share: float | None
    balance_pct: float | None
    settling_min: float | None
    flags: tuple[FlagNote, ...] = field(default=())
    # what this run alone says about the cadence-speed coupling, (slope, precision):
    # pooled over a runner's runs it replaces the population prior (analysis.run)
    cadence_speed_evidence: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> RunSummary:
        body = dict(body)
        body["flags"] = tuple(FlagNote(**f) for f in body.get("flags", ()))
        if body.get("cadence_speed_evidence") is not None:
            body["cadence_speed_evidence"] = tuple(body["cadence_speed_evidence"])
        return cls(**body)


def summarise_session(session: Session, detector: FatigueDetector) -> RunSummary:
    feet = session.feet
    pods, pod_minutes, pod_km = {}, {}, {}
    strides = 0
    all_gct, all_cad, all_strike, all_rear = [], [], [], []
    for foot, data in feet.items():
        use = usable_strides(data)
        pods[foot] = data.pod_address
        gaps = np.diff(data.minutes[use])
        pod_minutes[foot] = float(gaps[gaps < 0.05].sum()) if len(gaps) else 0.0
        lengths = data.stride_len_m[use]
        known = np.isfinite(lengths)
        pod_km[foot] = (
            float(lengths[known].sum() / 1000) if known.any() and known.mean() >= 0.8 else None
        )
        strides = max(strides, int(use.sum()))
        all_gct.append(data.gct_ms[use])
        all_cad.append(data.cadence_spm[use])
        all_strike.append(data.strike_deg[use])
        all_rear.append(data.strike_class[use] == "rearfoot")
    gct = np.concatenate(all_gct) if all_gct else np.empty(0)
    known_km = [km for km in pod_km.values() if km is not None]
    base = detector.baseline_
    gct_ref = None
    impact_ref: dict[str, float] = {}
    if base is not None:
        b_s = detector.couplings_.get("gct_per_stride_time", 1.0)
        b_v = detector.couplings_.get("gct_per_speed", 0.0)
        i_v = detector.couplings_.get("impact_per_speed", 0.0)
        gct_base = float(np.mean(list(base.gct_ms.values())))
        gct_ref = gct_base * (REF_CADENCE_SPM / base.cadence_spm) ** (-b_s)
        speed_scale = 1.0
        if base.speed_mps:
            gct_ref *= (REF_SPEED_MPS / base.speed_mps) ** b_v
            speed_scale = (REF_SPEED_MPS / base.speed_mps) ** i_v
        bins = detector.bins_
        assert bins is not None
        window = (bins.t_min >= base.start_min) & (bins.t_min < base.end_min)
        for foot, fb in bins.feet.items():
            values = fb.impact_g[window]
            if np.isfinite(values).any():
                impact_ref[foot] = float(np.nanmedian(values) * speed_scale)
    return RunSummary(
        run_id=-1 if session.run_id is None else session.run_id,
        name=session.name,
        started_at=session.started_at,
        duration_min=session.duration_min,
        running_min=max(pod_minutes.values(), default=0.0),
        strides=strides,
        distance_km=float(np.mean(known_km)) if known_km else None,
        pods=pods,
        pod_minutes=pod_minutes,
        pod_km=pod_km,
        gct_median_ms=float(np.median(gct)) if len(gct) else None,
        cadence_median_spm=float(np.median(np.concatenate(all_cad))) if len(gct) else None,
        gct_at_ref_ms=gct_ref,
        impact_at_ref_g=impact_ref,
        strike_deg_median=float(np.median(np.concatenate(all_strike))) if len(gct) else None,
        rearfoot_share=float(np.mean(np.concatenate(all_rear))) if len(gct) else None,
        balance_pct=None if base is None else _usual_balance(detector),
        settling_min=None if base is None else base.settling_min,
        flags=tuple(
            FlagNote(f.kind, f.foot, f.onset_min, f.size, f.unit, f.confidence)
            for f in detector.flags_
        ),
        cadence_speed_evidence=detector.coupling_evidence_.get("cadence_per_speed"),
    )


def _usual_balance(detector: FatigueDetector) -> float | None:
    """The run's left share before any asymmetry drift: all of it, not just the baseline
    window, so a normal 50.6% does not read as borderline by chance."""
    balance, base = detector.balance_pct_, detector.baseline_
    if balance is None or base is None:
        return None
    t = detector.t_min
    onset = min((f.onset_min for f in detector.flags_ if f.kind == "asymmetry"), default=np.inf)
    before = (t >= base.start_min) & (t < onset) & np.isfinite(balance)
    return float(np.median(balance[before])) if before.any() else base.balance_pct


def run_summary(store: Store, diary: Diary, run: RunInfo) -> RunSummary:
    """A run's summary, from the cache while the run's strides are unchanged."""
    if run.imported is not None:
        return imported_summary(run)
    cached = diary.cached_summary(run.id, ANALYSIS_VERSION, run.stride_count)
    if cached is not None:
        return RunSummary.from_json(cached)
    session = load_session(store, run)
    summary = summarise_session(session, FatigueDetector().detect(session))
    diary.cache_summary(run.id, ANALYSIS_VERSION, run.stride_count, summary.to_json())
    return summary


def imported_summary(run: RunInfo) -> RunSummary:
    """A run imported from a FIT file as a summary only: its time and distance count
    in load, weeks and (its pods known) shoe mileage; nothing measured per stride is
    claimed, since a file's averages are not the medians and baselines a run of
    strides gives."""
    s = run.imported
    assert s is not None
    minutes = s.timer_s / 60
    km = None if s.distance_m is None else s.distance_m / 1000
    return RunSummary(
        run_id=run.id,
        name=run.name,
        started_at=run.started_at,
        duration_min=minutes,
        running_min=minutes,
        strides=0,
        distance_km=km,
        pods=dict(s.pods),
        pod_minutes={foot: minutes for foot in s.pods},
        pod_km={foot: km for foot in s.pods},
        gct_median_ms=None,
        cadence_median_spm=None,
        gct_at_ref_ms=None,
        impact_at_ref_g={},
        strike_deg_median=None,
        rearfoot_share=None,
        balance_pct=None,
        settling_min=None,
    )


def history_until(store: Store, diary: Diary, run: RunInfo) -> list[RunSummary]:
    """Summaries of every run that started no later than `run`, oldest first."""
    return [
        run_summary(store, diary, other)
        for other in store.runs()
        if other.in_history and (other.started_at, other.id) <= (run.started_at, run.id)
    ]


# --- training load ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadStatus:
    """Training load on the day of a run, from running time (distance is often unknown)."""

    acute_min: float  # the last 7 days
    chronic_weekly_min: float  # weekly mean over the last 28 days
    acwr: float | None  # None until there are 21 days of history
    history_days: float
    consecutive_days: int  # days in a row with a run, ending with this run's day
    hours_since_previous: float | None
    week_km: float | None


def load_status(history: Sequence[RunSummary]) -> LoadStatus:
    if not history:
        return LoadStatus(0.0, 0.0, None, 0.0, 0, None, None)
    now = history[-1].started_at
    acute = [r for r in history if now - r.started_at < 7 * DAY_S]
    chronic = [r for r in history if now - r.started_at < 28 * DAY_S]
    acute_min = sum(r.running_min for r in acute)
    chronic_weekly = sum(r.running_min for r in chronic) / 4
    history_days = (now - history[0].started_at) / DAY_S
    acwr = acute_min / chronic_weekly if history_days >= 21 and chronic_weekly > 0 else None
    days = {_day(r.started_at) for r in history}
    streak, day = 0, _day(now)
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    previous = history[-2] if len(history) > 1 else None
    since = None
    if previous is not None:
        since = (now - (previous.started_at + previous.duration_min * 60)) / 3600
    week_km = None
    if acute and all(r.distance_km is not None for r in acute):
        week_km = sum(r.distance_km or 0.0 for r in acute)
    return LoadStatus(acute_min, chronic_weekly, acwr, history_days, streak, since, week_km)


@dataclass(frozen=True, slots=True)
class Week:
    start: date
    runs: int
    minutes: float
    km: float | None
    strides: int
    gct_at_ref_ms: float | None


def weekly(history: Sequence[RunSummary]) -> list[Week]:
    """Monday-based weeks with at least one run, oldest first."""
    weeks: dict[date, list[RunSummary]] = {}
    for r in history:
        if r.running_min <= 0:
            continue
        day = _day(r.started_at)
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(r)
    out = []
    for start in sorted(weeks):
        runs = weeks[start]
        gct = [r.gct_at_ref_ms for r in runs if r.gct_at_ref_ms is not None]
        km = [r.distance_km for r in runs]
        out.append(
            Week(
                start=start,
                runs=len(runs),
                minutes=sum(r.running_min for r in runs),
                km=None if any(k is None for k in km) else sum(k or 0.0 for k in km),
                strides=sum(r.strides for r in runs),
                gct_at_ref_ms=float(np.median(gct)) if gct else None,
            )
        )
    return out


def baseline_drift_pct(history: Sequence[RunSummary], days: float = 14.0) -> float | None:
    """Contact time at reference pace: the last `days` against the four weeks before, in %.

    None without at least two runs in each part: a single run is too noisy to compare.
    """
    if not history:
        return None
    now = history[-1].started_at
    recent = [
        r.gct_at_ref_ms
        for r in history
        if now - r.started_at < days * DAY_S and r.gct_at_ref_ms is not None
    ]
    before = [
        r.gct_at_ref_ms
        for r in history
        if days * DAY_S <= now - r.started_at < (days + 28) * DAY_S and r.gct_at_ref_ms is not None
    ]
    if len(recent) < 2 or len(before) < 2:
        return None
    return 100 * (float(np.median(recent)) / float(np.median(before)) - 1)


# --- shoes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShoeHistory:
    """One pair of shoes (or pods no pair was named for) across the runs made in it."""

    name: str
    pods: tuple[str, ...]
    runs: int
    minutes: float
    recorded_km: float | None  # None when some run lacked stride lengths
    prior_km: float
    impacts: tuple[tuple[float, float], ...]  # (started_at, impact at comparable pace)
    impact_trend_pct: float | None  # last three runs against the first three
    named: bool = True
    alert_km: float | None = None
    retired_at: float | None = None
    run_ids: tuple[int, ...] = ()  # the runs made in these shoes
    known_km: float = 0.0  # recorded in the runs whose distance is known

    @property
    def total_km(self) -> float | None:
        return None if self.recorded_km is None else self.prior_km + self.recorded_km

    @property
    def past_alert(self) -> bool:
        """Past its mileage alert, on the distance known (a run without stride
        lengths adds nothing, so the alert is never early)."""
        total = self.prior_km + self.known_km
        return self.alert_km is not None and self.retired_at is None and total >= self.alert_km


def shoe_histories(history: Sequence[RunSummary], shelf: ShoeShelf) -> list[ShoeHistory]:
    """Per pair: each run counts once for the pair its pods were on that day."""
    # a pair by its name; pods no pair was named for by the pods that ran together
    by_key: dict[tuple[str, ...], list[tuple[RunSummary, list[str]]]] = {}
    pairs: dict[str, ShoePair] = {}
    for r in history:
        feet_by_key: dict[tuple[str, ...], list[str]] = {}
        for foot, address in r.pods.items():
            pair = shelf.pair_of(address, r.started_at)
            key = ("pair", pair.name) if pair is not None else tuple(sorted(r.pods.values()))
            if pair is not None:
                pairs[pair.name] = pair
            feet_by_key.setdefault(key, []).append(foot)
        for key, feet in feet_by_key.items():
            by_key.setdefault(key, []).append((r, feet))
    out = []
    for key, runs in by_key.items():
        pair = pairs.get(key[1]) if key[0] == "pair" else None
        kms: list[float | None] = []
        impacts = []
        for r, feet in runs:
            known = [r.pod_km.get(f) for f in feet]
            lengths = [k for k in known if k is not None]
            kms.append(float(np.mean(lengths)) if len(lengths) == len(known) else None)
            at_ref = [r.impact_at_ref_g[f] for f in feet if f in r.impact_at_ref_g]
            if at_ref:
                impacts.append((r.started_at, float(np.mean(at_ref))))
        trend = None
        if len(impacts) >= 6:
            first = float(np.median([i for _, i in impacts[:3]]))
            last = float(np.median([i for _, i in impacts[-3:]]))
            trend = 100 * (last / first - 1)
        pods = (
            shelf.pods_of(pair.id)
            if pair is not None
            else tuple(sorted({r.pods[f] for r, feet in runs for f in feet}))
        )
        out.append(
            ShoeHistory(
                name=pair.name if pair is not None else "unnamed shoes",
                pods=pods,
                runs=len(runs),
                minutes=sum(max(r.pod_minutes.get(f, 0.0) for f in feet) for r, feet in runs),
                recorded_km=None if any(k is None for k in kms) else sum(k or 0.0 for k in kms),
                prior_km=pair.start_km if pair is not None else 0.0,
                impacts=tuple(impacts),
                impact_trend_pct=trend,
                named=pair is not None,
                alert_km=pair.alert_km if pair is not None else None,
                retired_at=pair.retired_at if pair is not None else None,
                run_ids=tuple(r.run_id for r, _ in runs),
                known_km=sum(k for k in kms if k is not None),
            )
        )
    return out


def _day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp).date()
