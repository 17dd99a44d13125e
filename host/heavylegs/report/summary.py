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
from heavylegs.report.terms import EXPLAIN, Units
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
    stride_len_median_m: float | None
    impact_median_g: float | None
    strike_deg_median: float | None
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
        stride_len_median_m=_finite_median(data.stride_len_m[use]),
        impact_median_g=_finite_median(data.impact_g[use]),
        strike_deg_median=_finite_median(data.strike_deg[use]),
        flight_approx_ms=flight,
        strike_fraction={name: float(np.mean(classes == name)) for name in STRIKE_ORDER},
        clipped=int(np.count_nonzero(data.clipped)),
        acc_fs_g=data.acc_fs_g,
    )


def _finite_median(values: np.ndarray) -> float | None:
    known = values[np.isfinite(values)]
    return float(np.median(known)) if len(known) else None


@dataclass(frozen=True, slots=True)
class RunFigures:
    """The run as a whole, in the terms a runner uses."""

    duration_s: float
    running_min: float
    distance_km: float | None  # None when too few strides have a length
    gct_median_ms: float | None
    cadence_median_spm: float | None
    balance_pct: float | None  # left share of contact time; both feet needed


def run_figures(feet: dict[str, FootData], duration_s: float | None) -> RunFigures:
    minutes, kms = [], []
    for data in feet.values():
        use = data.running
        # gaps longer than 3 s are stops, not running
        gaps = np.diff(data.minutes[use])
        minutes.append(float(gaps[gaps < 0.05].sum()) if len(gaps) else 0.0)
        lengths = data.stride_len_m[use]
        known = np.isfinite(lengths)
        if known.any() and known.mean() >= 0.8:
            # the unknown few are counted at the known ones' mean
            kms.append(float(lengths[known].mean() * len(lengths) / 1000))
    summaries = {foot: summarise(data) for foot, data in feet.items()}
    balance = None
    if {"left", "right"} <= set(summaries):
        left, right = summaries["left"].gct_median_ms, summaries["right"].gct_median_ms
        balance = 100 * left / (left + right)
    return RunFigures(
        duration_s=duration_s or max((d.duration_s for d in feet.values()), default=0.0),
        running_min=max(minutes, default=0.0),
        distance_km=float(np.mean(kms)) if kms else None,
        gct_median_ms=float(np.mean([s.gct_median_ms for s in summaries.values()]))
        if summaries
        else None,
        cadence_median_spm=float(np.mean([s.cadence_median_spm for s in summaries.values()]))
        if summaries
        else None,
        balance_pct=balance,
    )


def headline(figures: RunFigures, units: Units) -> list[tuple[str, str, str]]:
    """(key, label, value) for the run's headline figures, in the order a runner reads them."""
    f = figures
    return [
        ("distance", "Distance", units.distance(f.distance_km)),
        ("duration", "Duration", format_duration(f.duration_s)),
        ("pace", "Pace", units.pace(f.running_min, f.distance_km)),
        (
            "contact-time",
            "Contact time",
            "—" if f.gct_median_ms is None else f"{f.gct_median_ms:.0f} ms",
        ),
        ("balance", "Balance", "—" if f.balance_pct is None else f"{f.balance_pct:.1f}% left"),
        (
            "cadence",
            "Cadence",
            "—" if f.cadence_median_spm is None else f"{f.cadence_median_spm:.0f} steps/min",
        ),
    ]


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


def table_rows(summaries: dict[str, FootSummary], units: Units | None = None) -> list[Row]:
    """The per-foot table, a value per foot in each row, shared by terminal and HTML.

    `key` names the metric; `term` names its plain-line explanation in terms.EXPLAIN.
    """
    units = units or Units()
    metrics: list[tuple[str, str, Callable[[FootSummary], str]]] = [
        ("gct-median", "Contact time", lambda s: f"{s.gct_median_ms:.0f} ms"),
        ("cadence-median", "Cadence (steps/min)", lambda s: f"{s.cadence_median_spm:.0f}"),
        ("stride-length", "Stride length", lambda s: units.length(s.stride_len_median_m)),
        ("impact", "Impact", lambda s: _maybe(s.impact_median_g, "{:.1f} g")),
        ("strike-angle", "Strike angle", lambda s: _maybe(s.strike_deg_median, "{:+.0f}°")),
    ]
    for name in STRIKE_ORDER:
        # "unknown" only earns a row when some stride has it
        if name != "unknown" or any(s.strike_fraction[name] for s in summaries.values()):
            metrics.append(
                (f"strike-{name}", f"{_STRIKE_LABELS[name]}", _strike_share(name)),
            )
    metrics.append(("flight-approx", "Flight time (approx.)", _format_flight))
    metrics.append(("strides", "Strides", lambda s: f"{s.running_strides} of {s.strides}"))
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


_STRIKE_LABELS = {
    "rearfoot": "Heel strikes (rearfoot)",
    "midfoot": "Flat strikes (midfoot)",
    "forefoot": "Ball strikes (forefoot)",
    "unknown": "Strike not read",
}
# which plain line explains each table row
ROW_TERMS = {
    "stride-length": "stride-length",
    "impact": "impact",
    "strike-angle": "strike-angle",
    "strike-rearfoot": "strike",
    "flight-approx": "flight",
    "strides": "strides",
}


def _maybe(value: float | None, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def _format_flight(summary: FootSummary) -> str:
    flight = summary.flight_approx_ms
    return "—" if flight is None else f"{flight:.0f} ms"


def _strike_share(name: str) -> Callable[[FootSummary], str]:
    return lambda s: f"{s.strike_fraction[name]:.0%}"


def print_summary(
    store: Store,
    run_id: int,
    console: Console,
    feet: dict[str, FootData] | None = None,
    units: Units | None = None,
) -> None:
    """The headline figures, then one table with a column per foot so left and right
    read side by side, then a plain line per term.

    `feet` saves reading the strides again when the caller has them loaded.
    """
    units = units or Units()
    run = store.run(run_id)
    if feet is None:
        feet = load_feet(store, run)
    summaries = {foot: summarise(data) for foot, data in feet.items()}
    heading = f"{run.name} · {format_started(run)}"
    notes = run_notes(store, run)
    if not summaries:
        console.print(f"[bold]{heading}[/]\nNo strides recorded in this run.")
        for note in notes:
            console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
        return
    figures = run_figures(feet, run.duration_s)
    console.print(f"[bold]{heading}[/]", highlight=False)
    console.print(
        "  ".join(f"{label} [bold]{value}[/]" for _, label, value in headline(figures, units)),
        highlight=False,
    )
    table = Table()
    table.add_column("")
    for foot in summaries:
        table.add_column(foot.capitalize(), justify="right")
    for row in table_rows(summaries, units):
        table.add_row(row.label, *row.values.values())
    console.print(table)
    for summary in summaries.values():
        line = clipping_line(summary)
        if line is not None:
            console.print(f"[yellow]note:[/] {line}", highlight=False, soft_wrap=True)
    for term in ("contact-time", "balance", "stride-length", "impact", "strike-angle"):
        console.print(f"[dim]{_TERM_NAMES[term]}: {EXPLAIN[term]}[/]", highlight=False)
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)


_TERM_NAMES = {
    "contact-time": "Contact time",
    "balance": "Balance",
    "stride-length": "Stride length",
    "impact": "Impact",
    "strike-angle": "Strike angle",
}


def print_analysis(analysis: RunAnalysis, console: Console) -> None:
    """Flags, any slowdown and the ranked causes, after the per-foot table."""
    flags = analysis.detector.flags_
    if flags:
        table = Table(title="Signs of tired legs", title_justify="left")
        for column in ("Sign", "From", "Change", "Confidence"):
            table.add_column(column, justify="left" if column == "Sign" else "right")
        for f in flags:
            table.add_row(
                f.title, f"minute {f.onset_min:.0f}", f.size_text, f"{f.confidence_label}"
            )
        console.print(table)
    elif analysis.detector.baseline_ is not None:
        console.print("No lasting signs of tired legs in this run.")
    else:
        why = "; ".join(analysis.detector.notes_)
        console.print(
            "Not enough steady running to judge tired legs in this run"
            + (f" ({why})." if why else "."),
            highlight=False,
        )
    if analysis.slowdown is not None:
        console.print(analysis.slowdown.text + ".", highlight=False)
    console.print("[bold]Why are my legs heavy?[/]")
    if not analysis.causes:
        console.print(f"  {no_cause_text(analysis)}", highlight=False)
    for rank, cause in enumerate(analysis.causes, 1):
        console.print(f"  {rank}. [bold]{cause.title}[/] ({cause.label})")
        for line in cause.evidence:
            console.print(f"     · {line}", highlight=False)
        console.print(f"     [cyan]→ {cause.advice}[/]", highlight=False)
    for unknown in analysis.unknowns:
        console.print(f"  [dim]not checked: {unknown}[/]", highlight=False)


def no_cause_text(analysis: RunAnalysis) -> str:
    if analysis.detector.flags_:
        return (
            "Nothing in your recent training, check-ins or shoes stands out as the reason; "
            "a check-in after the run helps next time."
        )
    return "Nothing in your recent training, check-ins or shoes gives cause for concern."
