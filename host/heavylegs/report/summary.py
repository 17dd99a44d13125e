"""Per-foot figures for one run, and the terminal summary built from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from rich.console import Console
from rich.table import Table

from heavylegs.analysis.run import RunAnalysis
from heavylegs.analysis.session import FootData, load_session
from heavylegs.store import STRIKE_CLASSES, RunInfo, Store
from heavylegs.store.models import local_minute

# Rear to front, as the strike-angle cut-offs run; unknown last.
STRIKE_ORDER = ("rearfoot", "midfoot", "forefoot", "unknown")
assert set(STRIKE_ORDER) == set(STRIKE_CLASSES)


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
    acc_fs_g: int | None = None  # the sensor's limit a clipped impact hit (None: unknown)


def load_feet(store: Store, run: RunInfo) -> dict[str, FootData]:
    """Strides per foot, feet without strides left out, left first."""
    return load_session(store, run).feet


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
        acc_fs_g=data.acc_fs_g,
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
    when = datetime.fromtimestamp(run.started_at).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f"about {when} (approximate)" if run.approximate else when


def run_notes(store: Store, run: RunInfo) -> list[str]:
    """What the reader must know to trust the run: how it is dated, why it has one
    pod, what the pods could not read, what was kept apart."""
    notes = []
    if run.note:
        notes.append(run.note)
    for rec in run.recordings:
        who = f"{rec.foot} pod, session {rec.pod_session}"
        if rec.date_quality == "pod clock" and rec.started_at is not None:
            notes.append(
                f"{who}: date approximate, from the pod's clock (it had no time of day): "
                f"started about {local_minute(rec.started_at)}, ±{rec.start_spread_s:.0f} s"
            )
        elif rec.date_quality == "bounds":
            when = rec.start_window(run.started_at)
            notes.append(f"{who}: date approximate: the pod had no clock; it started {when}")
        if rec.note and rec.note != run.note:
            notes.append(f"{who}: {rec.note}")
        for gap in store.gaps(rec.id):
            notes.append(f"{who}: {gap.describe()}")
    return notes


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


def clipping_line(summary: FootSummary) -> str | None:
    """What clipped impacts mean, in a runner's words; None when no landing clipped."""
    if not summary.clipped:
        return None
    landings = f"{summary.foot.capitalize()} foot: {summary.clipped:,} of {summary.strides:,}"
    if summary.acc_fs_g is None:
        return (
            f"{landings} landings hit the sensor's limit, so impact on those is at least "
            "what is shown"
        )
    limit = f"{summary.acc_fs_g} g"
    return f"{landings} landings hit the sensor's {limit} limit, so impact on those is at least {limit}"


def _format_flight(summary: FootSummary) -> str:
    flight = summary.flight_approx_ms
    return "—" if flight is None else f"{flight:.0f} ms"


def _strike_share(name: str) -> Callable[[FootSummary], str]:
    return lambda s: f"{s.strike_fraction[name]:.0%}"


def print_summary(
    store: Store, run_id: int, console: Console, feet: dict[str, FootData] | None = None
) -> None:
    """One table, a column per foot, so left and right read side by side.

    `feet` saves reading the strides again when the caller has them loaded.
    """
    run = store.run(run_id)
    if feet is None:
        feet = load_feet(store, run)
    summaries = {foot: summarise(data) for foot, data in feet.items()}
    heading = (
        f"{run.name} · {format_started(run)} · {format_duration(run.duration_s)} · {run.source}"
    )
    notes = run_notes(store, run)
    if not summaries:
        console.print(f"[bold]{heading}[/]\nNo strides recorded in this run.")
        for note in notes:
            console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
        return
    table = Table(title=heading, title_justify="left")
    table.add_column("")
    for foot in summaries:
        table.add_column(foot.capitalize(), justify="right")
    for row in table_rows(summaries):
        table.add_row(row.label, *row.values.values())
    console.print(table)
    for summary in summaries.values():
        line = clipping_line(summary)
        if line is not None:
            console.print(f"[yellow]note:[/] {line}", highlight=False, soft_wrap=True)
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)


def print_analysis(analysis: RunAnalysis, console: Console) -> None:
    """Flags and the ranked causes, after the per-foot table."""
    flags = analysis.detector.flags_
    if flags:
        table = Table(title="Fatigue flags", title_justify="left")
        for column in ("Flag", "Onset", "Size", "Confidence"):
            table.add_column(column, justify="left" if column == "Flag" else "right")
        for f in flags:
            table.add_row(f.title, f"{f.onset_min:.1f} min", f.size_text, f"{f.confidence_label}")
        console.print(table)
    elif analysis.detector.baseline_ is not None:
        console.print("No lasting fatigue signs in this run.")
    if analysis.slowdown is not None:
        console.print(analysis.slowdown.text + ".", highlight=False)
    for note in analysis.detector.notes_:
        console.print(f"[dim]{note}[/]")
    console.print("[bold]Why are my legs heavy?[/]")
    if not analysis.causes:
        console.print("  No contributor has enough evidence behind it.")
    for rank, cause in enumerate(analysis.causes, 1):
        console.print(f"  {rank}. [bold]{cause.title}[/] ({cause.label})")
        for line in cause.evidence:
            console.print(f"     · {line}", highlight=False)
        console.print(f"     [cyan]→ {cause.advice}[/]", highlight=False)
    for unknown in analysis.unknowns:
        console.print(f"  [dim]not checked: {unknown}[/]", highlight=False)
