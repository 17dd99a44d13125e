"""Per-foot figures for one run, and the terminal summary built from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from rich.console import Console
from rich.table import Table

from heavylegs.store import FEET, STRIKE_CLASSES, RecordingInfo, RunInfo, Store

# Rear to front, as the strike-angle cut-offs run; unknown last.
STRIKE_ORDER = ("rearfoot", "midfoot", "forefoot", "unknown")
assert set(STRIKE_ORDER) == set(STRIKE_CLASSES)
_COLUMNS = ("running", "gct_ms", "stride_ms", "cadence_spm", "strike_class", "clipped")


@dataclass(frozen=True, slots=True)
class FootData:
    """All strides of one foot in a run, on one time axis, in time order."""

    foot: str
    minutes: np.ndarray
    running: np.ndarray
    gct_ms: np.ndarray
    stride_ms: np.ndarray
    cadence_spm: np.ndarray
    strike_class: np.ndarray
    clipped: np.ndarray
    duration_s: float


@dataclass(frozen=True, slots=True)
class FootSummary:
    """What the report and terminal say about one foot.

    Medians use running strides only (all strides when there are none), because a
    walking break would otherwise drag contact time and cadence far off.
    """

    foot: str
    strides: int
    running_strides: int
    duration_s: float
    gct_median_ms: float
    gct_q1_ms: float
    gct_q3_ms: float
    cadence_median_spm: float
    # stride_ms / 2 stands in for step time, which needs the other foot to measure
    flight_approx_ms: float | None
    strike_fraction: dict[str, float]
    clipped: int


def load_feet(store: Store, run: RunInfo) -> dict[str, FootData]:
    """Strides per foot, feet without strides left out, left first."""
    tables = [
        (rec, store.stride_table(rec.id, _COLUMNS + ("ic_ms", "host_time")))
        for rec in run.recordings
        if rec.stride_count
    ]
    offsets = _recording_offsets_min(tables)
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
            name: np.concatenate([table[name] for _, table in mine])[order] for name in _COLUMNS
        }
        feet[foot] = FootData(
            foot=foot,
            minutes=minutes[order],
            running=joined["running"],
            gct_ms=joined["gct_ms"],
            stride_ms=joined["stride_ms"],
            cadence_spm=joined["cadence_spm"],
            strike_class=joined["strike_class"],
            clipped=joined["clipped"],
            duration_s=sum(rec.duration_s for rec, _ in mine),
        )
    return feet


def _recording_offsets_min(
    tables: list[tuple[RecordingInfo, dict[str, np.ndarray]]],
) -> dict[int, float]:
    """Minutes from the run's first stride to each recording's first stride.

    Each pod counts time from its own session start, so pods are placed on one axis
    through the host receive times. Without them (a journal sync) every recording
    starts at zero.
    """
    starts: dict[int, float] = {}
    for rec, table in tables:
        known = ~np.isnan(table["host_time"])
        if not known.any():
            return {rec.id: 0.0 for rec, _ in tables}
        # A stride reaches the host only after the pod has finished it, so every
        # receive time is late; the least late one dates the pod's clock best.
        pod_zero = np.min(table["host_time"][known] - table["ic_ms"][known] / 1000)
        starts[rec.id] = float(pod_zero + table["ic_ms"][0] / 1000)
    first = min(starts.values(), default=0.0)
    return {rec_id: (start - first) / 60 for rec_id, start in starts.items()}


def summarise(data: FootData) -> FootSummary:
    use = data.running if data.running.any() else np.ones_like(data.running)
    gct = data.gct_ms[use]
    q1, median, q3 = np.percentile(gct, [25, 50, 75])
    flight: float | None = None
    # A stride time of 0 is a stride whose next contact never came (end of a bout).
    timed = data.running & (data.stride_ms > 0)
    if timed.any():
        flight = float(np.median(data.stride_ms[timed] / 2 - data.gct_ms[timed]))
    classes = data.strike_class[use]
    return FootSummary(
        foot=data.foot,
        strides=len(data.minutes),
        running_strides=int(np.count_nonzero(data.running)),
        duration_s=data.duration_s,
        gct_median_ms=float(median),
        gct_q1_ms=float(q1),
        gct_q3_ms=float(q3),
        cadence_median_spm=float(np.median(data.cadence_spm[use])),
        flight_approx_ms=flight,
        strike_fraction={name: float(np.mean(classes == name)) for name in STRIKE_ORDER},
        clipped=int(np.count_nonzero(data.clipped)),
    )


def summarise_run(store: Store, run: RunInfo) -> dict[str, FootSummary]:
    return {foot: summarise(data) for foot, data in load_feet(store, run).items()}


# --- formatting shared with the HTML report -------------------------------------------


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def format_started(run: RunInfo) -> str:
    return datetime.fromtimestamp(run.started_at).astimezone().strftime("%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the summary table: `key` names the metric for tests and CSS."""

    key: str
    label: str
    values: dict[str, str]


def table_rows(summaries: dict[str, FootSummary]) -> list[Row]:
    """The summary table, a value per foot in each row, shared by terminal and HTML."""
    metrics: list[tuple[str, str, Callable[[FootSummary], str]]] = [
        ("strides", "Strides", lambda s: f"{s.strides}"),
        ("running-strides", "Running strides", lambda s: f"{s.running_strides}"),
        ("duration", "Duration", lambda s: format_duration(s.duration_s)),
        ("gct-median", "Contact time, median", lambda s: f"{s.gct_median_ms:.0f} ms"),
        ("gct-iqr", "Contact time, IQR", lambda s: f"{s.gct_q1_ms:.0f}–{s.gct_q3_ms:.0f} ms"),
        ("cadence-median", "Cadence, median", lambda s: f"{s.cadence_median_spm:.0f} spm"),
        ("flight-approx", "Flight time (approx.)", _format_flight),
    ]
    for name in STRIKE_ORDER:
        # "unknown" only earns a row when some stride has it
        if name != "unknown" or any(s.strike_fraction[name] for s in summaries.values()):
            metrics.append(
                (f"strike-{name}", f"Strike {name}", _strike_share(name)),
            )
    metrics.append(("clipped", "Clipped impacts", lambda s: f"{s.clipped}"))
    return [
        Row(key, label, {foot: fmt(s) for foot, s in summaries.items()})
        for key, label, fmt in metrics
    ]


def _format_flight(summary: FootSummary) -> str:
    flight = summary.flight_approx_ms
    return "—" if flight is None else f"{flight:.0f} ms"


def _strike_share(name: str) -> Callable[[FootSummary], str]:
    return lambda s: f"{s.strike_fraction[name]:.0%}"


def print_summary(store: Store, run_id: int, console: Console) -> None:
    """One table, a column per foot, so left and right read side by side."""
    run = store.run(run_id)
    summaries = summarise_run(store, run)
    heading = (
        f"{run.name} · {format_started(run)} · {format_duration(run.duration_s)} · {run.source}"
    )
    if not summaries:
        console.print(f"[bold]{heading}[/]\nNo strides recorded in this run.")
        return
    table = Table(title=heading, title_justify="left")
    table.add_column("")
    for foot in summaries:
        table.add_column(foot.capitalize(), justify="right")
    for row in table_rows(summaries):
        table.add_row(row.label, *row.values.values())
    console.print(table)
