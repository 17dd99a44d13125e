"""The history page: every run, a calendar, weekly trends at a comparable pace, this run
against earlier ones, and load over the weeks. Written beside the run reports."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path

import numpy as np

from heavylegs.analysis.history import RunSummary, history_until
from heavylegs.analysis.run import RunAnalysis
from heavylegs.report import history_plots
from heavylegs.report.history_plots import WeekFigures
from heavylegs.report.page import img, page, plots, scroll, section, write_atomic
from heavylegs.report.summary import format_duration
from heavylegs.report.terms import Units
from heavylegs.store import Store
from heavylegs.store.diary import Diary

# the calendar shows this many weeks at most: older runs stay in the list
CALENDAR_WEEKS = 12
DAY_S = 86_400.0


def write_history(
    store: Store, analysis: RunAnalysis, out_path: Path, current_href: str, units: Units
) -> Path:
    """Write the history page for every run up to the store's latest one."""
    latest = store.latest_run()
    history: Sequence[RunSummary] = analysis.history
    if latest is not None and latest.id != analysis.run.id:
        with Diary(store.path) as diary:
            history = history_until(store, diary, latest)
    links = {}
    for r in history:
        name = f"run-{r.run_id}.html"
        if r.run_id == analysis.run.id:
            links[r.run_id] = current_href
        elif (out_path.parent / name).exists():
            links[r.run_id] = name
    return write_atomic(
        out_path, render_history(history, links, units, analysis.run.id, current_href)
    )


def render_history(
    history: Sequence[RunSummary],
    links: dict[int, str],
    units: Units,
    current_id: int | None = None,
    current_href: str | None = None,
) -> str:
    weeks = week_figures(history)
    total_km = [r.distance_km for r in history if r.distance_km is not None]
    span = (history[-1].started_at - history[0].started_at) / DAY_S if history else 0.0
    meta = f"{len(history)} run{'s' if len(history) != 1 else ''}"
    if history:
        meta += f" over {span:.0f} days since {_day(history[0].started_at):%d %b %Y}"
    if total_km:
        meta += f", {units.distance(sum(total_km))} measured"
    nav = (
        f'<nav><a href="{current_href}">Back to run {current_id}</a></nav>\n'
        if current_href
        else ""
    )
    header = f'{nav}<h1>Your runs</h1>\n<p class="meta">{escape(meta)}</p>\n'
    sections = [
        _runs_section(history, links, units),
        _calendar_section(history),
        _compare_section(history, units),
        _trends_section(weeks),
        _load_section(weeks),
    ]
    return page("all runs", header, sections, "history")


def week_figures(history: Sequence[RunSummary]) -> list[WeekFigures]:
    """Every week from the first run's to the last run's, empty weeks included."""
    if not history:
        return []
    first = _monday(history[0].started_at)
    last = _monday(history[-1].started_at)
    by_week: dict[date, list[RunSummary]] = {}
    for r in history:
        by_week.setdefault(_monday(r.started_at), []).append(r)
    out: list[WeekFigures] = []
    start = first
    while start <= last:
        runs = by_week.get(start, [])
        minutes = sum(r.running_min for r in runs)
        recent = [w.minutes for w in out[-3:]] + [minutes]
        # the ratio needs three earlier weeks to stand for "usual"
        ratio = None
        if (start - first).days >= 21 and sum(recent) > 0:
            ratio = minutes / (sum(recent) / len(recent))
        kms = [r.distance_km for r in runs]
        impacts = [
            float(np.mean(list(r.impact_at_ref_g.values()))) for r in runs if r.impact_at_ref_g
        ]
        out.append(
            WeekFigures(
                start=start,
                runs=len(runs),
                minutes=minutes,
                km=None if not runs or None in kms else sum(k or 0.0 for k in kms),
                load_ratio=ratio,
                values={
                    "gct": _median(r.gct_at_ref_ms for r in runs),
                    "cadence": _median(r.cadence_median_spm for r in runs),
                    "balance": _median(r.balance_pct for r in runs),
                    "strike": _median(r.strike_deg_median for r in runs),
                    "impact": _median(impacts),
                },
            )
        )
        start += timedelta(days=7)
    return out


def _runs_section(history: Sequence[RunSummary], links: dict[int, str], units: Units) -> str:
    rows = []
    for r in reversed(history):
        name = escape(r.name)
        if r.run_id in links:
            name = f'<a href="{escape(links[r.run_id])}">{name}</a>'
        flags = ", ".join(sorted({f.kind.replace("_", " ") for f in r.flags})) or "—"
        cells = (
            f"{datetime.fromtimestamp(r.started_at):%d %b %Y}",
            units.distance(r.distance_km),
            units.pace(r.running_min, r.distance_km),
            format_duration(r.running_min * 60),
            _fmt(r.gct_at_ref_ms, "{:.0f} ms"),
            _fmt(r.cadence_median_spm, "{:.0f}"),
        )
        rows.append(
            f'<tr data-run="{r.run_id}"><td style="text-align:left">{cells[0]}</td>'
            f'<th scope="row">{name}</th>'
            + "".join(f"<td>{escape(c)}</td>" for c in cells[1:])
            + f'<td style="text-align:left">{escape(flags)}</td></tr>'
        )
    head = (
        "<thead><tr><th>Date</th><th>Run</th><th>Distance</th><th>Pace</th><th>Running</th>"
        "<th>Contact time*</th><th>Cadence</th><th>Signs of tired legs</th></tr></thead>"
    )
    table = f'<table class="summary runs">{head}<tbody>{"".join(rows)}</tbody></table>'
    return section(
        "runs",
        "Runs, newest first",
        scroll(table),
        '<p class="note">* contact time at a comparable pace (170 steps/min, and 3 m/s '
        "when speed is known), so runs at different paces compare. Runs link to their "
        "report when it has been written here.</p>",
    )


def _calendar_section(history: Sequence[RunSummary]) -> str:
    if not history:
        return section("calendar", "Calendar", "<p>No runs yet.</p>")
    last = _monday(history[-1].started_at)
    first = max(_monday(history[0].started_at), last - timedelta(weeks=CALENDAR_WEEKS - 1))
    minutes: dict[date, float] = {}
    flagged: set[date] = set()
    for r in history:
        day = _day(r.started_at)
        minutes[day] = minutes.get(day, 0.0) + r.running_min
        if r.flags:
            flagged.add(day)
    rows = []
    week = first
    while week <= last:
        cells = []
        for offset in range(7):
            day = week + timedelta(days=offset)
            if day in minutes:
                kind = "flagged" if day in flagged else "ran"
                cells.append(
                    f'<td class="{kind}" data-day="{day.isoformat()}">{minutes[day]:.0f}</td>'
                )
            else:
                cells.append("<td></td>")
        rows.append(f'<tr><th scope="row">{week:%d %b}</th>{"".join(cells)}</tr>')
        week += timedelta(days=7)
    head = "".join(f"<th>{d}</th>" for d in ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"))
    table = (
        f'<table class="summary calendar"><thead><tr><th>Week</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return section(
        "calendar",
        "Calendar",
        scroll(table),
        '<p class="note">Minutes run each day; orange days showed signs of tired legs.</p>',
    )


def _compare_section(history: Sequence[RunSummary], units: Units) -> str:
    if len(history) < 2:
        return section(
            "compare",
            "Compared with earlier runs",
            "<p>This is the first run: later runs will be compared with it.</p>",
        )
    this, previous = history[-1], history[-2]
    month = [r for r in history[:-1] if this.started_at - r.started_at < 28 * DAY_S]

    def usual(get: Callable[[RunSummary], float | None]) -> float | None:
        return _median(get(r) for r in month)

    measures = (
        ("Contact time*", "ms", "{:.0f}", lambda r: r.gct_at_ref_ms),
        ("Cadence", "steps/min", "{:.0f}", lambda r: r.cadence_median_spm),
        ("Balance", "% left", "{:.1f}", lambda r: r.balance_pct),
        ("Strike angle", "°", "{:+.1f}", lambda r: r.strike_deg_median),
        ("Running time", "min", "{:.0f}", lambda r: r.running_min),
    )
    rows = []
    for label, unit, pattern, get in measures:
        values = (get(this), get(previous), usual(get))
        if values[0] is None:
            continue
        cells = "".join(f"<td>{_fmt(v, pattern + ' ' + unit)}</td>" for v in values)
        rows.append(f'<tr><th scope="row">{label}</th>{cells}</tr>')
    table = (
        '<table class="summary compare"><thead><tr><th></th><th>This run</th>'
        "<th>Previous run</th><th>Usual (4 weeks)</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return section("compare", "Compared with earlier runs", scroll(table))


def _trends_section(weeks: Sequence[WeekFigures]) -> str:
    if len(weeks) < 2:
        return section(
            "weekly",
            "Week by week",
            "<p>Weekly trends appear once you have runs in two different weeks.</p>",
        )
    return section(
        "weekly",
        "Week by week",
        plots(
            img(
                history_plots.indicators_png(weeks),
                "weekly",
                "Each indicator's weekly median, one panel per indicator",
            )
        ),
        '<p class="note">A point per week with runs. * Contact time and impact at a '
        "comparable pace, so faster or slower weeks do not move them. A slow rise in "
        "contact time over weeks, with no change in pace, is a sign of accumulating "
        "fatigue.</p>",
    )


def _load_section(weeks: Sequence[WeekFigures]) -> str:
    if len(weeks) < 2:
        return section(
            "load", "Load over the weeks", "<p>Weekly load appears after a second week.</p>"
        )
    return section(
        "load",
        "Load over the weeks",
        plots(
            img(
                history_plots.load_png(weeks),
                "load",
                "Minutes run per week, and each week against the four weeks to it",
            )
        ),
        '<p class="note">Red squares: a week\'s running against your usual week (the four '
        "weeks to it), from the fourth week on. Green: 0.8 to 1.3 ×, a steady build; "
        "well above it, a jump that often comes before tired legs and injuries.</p>",
    )


def _median(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.median(known)) if known else None


def _fmt(value: float | None, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def _day(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp).date()


def _monday(timestamp: float) -> date:
    day = _day(timestamp)
    return day - timedelta(days=day.weekday())
