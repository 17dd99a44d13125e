"""The run report: one self-contained HTML file that can be mailed or opened offline."""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from html import escape
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from heavylegs.analysis.history import ShoeHistory
from heavylegs.analysis.run import RunAnalysis, analyse_run
from heavylegs.report import plots
from heavylegs.report.summary import (
    FootSummary,
    clipping_line,
    format_duration,
    format_started,
    run_notes,
    summarise,
    table_rows,
)
from heavylegs.report.watch_plots import watch_section
from heavylegs.store import RunInfo, Store
from heavylegs.store.diary import checkin_dict

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 960px; padding: 0 1rem; color: #1d1d1f; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; }
.meta { color: #555; margin-top: 0; }
table.summary { border-collapse: collapse; margin: 0.5rem 0; }
table.summary th, table.summary td { padding: 0.3rem 0.9rem; border-bottom: 1px solid #ddd; }
table.summary td { text-align: right; font-variant-numeric: tabular-nums; }
table.summary th[scope=row] { text-align: left; font-weight: normal; color: #444; }
.note { color: #666; font-size: 0.9rem; }
img { display: block; max-width: 100%; height: auto; margin: 0.5rem 0 1rem; }
footer { color: #888; font-size: 0.8rem; margin-top: 2rem; }
ol.causes li.cause { margin-bottom: 0.8rem; }
.label { background: #eee; border-radius: 0.3rem; padding: 0 0.4rem; font-size: 0.8rem; }
.advice { margin: 0.2rem 0; color: #0b5394; }
details.flag { margin: 0.4rem 0; }
table.shoes td, table.shoes th { text-align: left; }
"""


def write_report(
    store: Store, run_id: int, out_path: Path, analysis: RunAnalysis | None = None
) -> Path:
    """Write the report for one run to out_path and return it.

    Written to a temporary file and renamed, so a reader never sees half a report
    and an older report survives a failure.
    """
    run = store.run(run_id)
    page = render_analysis(
        analysis if analysis is not None else analyse_run(store, run), run_notes(store, run)
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return out_path


def render_report(store: Store, run: RunInfo) -> str:
    return render_analysis(analyse_run(store, run), run_notes(store, run))


def render_analysis(analysis: RunAnalysis, notes: list[str] | None = None) -> str:
    run = analysis.run
    feet = analysis.session.feet
    det = analysis.detector
    summaries = {foot: summarise(data) for foot, data in feet.items()}
    base = det.baseline_
    window = None if base is None else (base.start_min, base.end_min)

    def marks(*kinds: str) -> plots.Marks:
        return plots.Marks(window, tuple(f for f in det.flags_ if f.kind in kinds))

    sections = [_verdict_section(analysis), _summary_section(summaries)]
    if feet:
        sections.append(_flags_section(analysis))
        gct_images = [
            _img(
                plots.gct_png(data, marks("contact_time", "asymmetry")),
                f"gct-{foot}",
                f"{foot.capitalize()} foot contact time per stride over the run, "
                "with a rolling median, the baseline window and flag onsets",
            )
            for foot, data in feet.items()
        ]
        sections.append(_section("contact-time", "Contact time over time", *gct_images))
        if det.balance_pct_ is not None:
            sections.append(
                _section(
                    "balance",
                    "Left/right balance",
                    _img(
                        plots.balance_png(det.t_min, det.balance_pct_, marks("asymmetry")),
                        "balance",
                        "Left foot's share of contact time per 30 s, with Garmin's bands",
                    ),
                    '<p class="note">Grey: within 50.7% either way (normal); dotted: 52.2% '
                    "(poor). Normal runners differ by about 2.6% between legs.</p>",
                )
            )
        if (watch := watch_section(analysis)) is not None:
            sections.append(watch)
        sections.append(
            _section(
                "cadence",
                "Cadence over time",
                _img(
                    plots.cadence_png(feet, marks("cadence")),
                    "cadence",
                    "Cadence in steps per minute over the run, per foot",
                ),
            )
        )
        sections.append(
            _section(
                "strike",
                "Foot strike",
                _img(
                    plots.strike_png(summaries),
                    "strike",
                    "Share of rearfoot, midfoot and forefoot strikes per foot",
                ),
            )
        )
        if det.indicators_:
            sections.append(
                _section(
                    "drift",
                    "Drift of each indicator from its baseline",
                    _img(
                        plots.drift_png(det.t_min, det.indicators_, det.flags_),
                        "drift",
                        "Each indicator's smoothed drift from its baseline, in multiples "
                        "of its threshold",
                    ),
                    '<p class="note">Up is worse for every line (a cadence drop, a strike '
                    "moving to the heel). A flag needs the smoothed drift above its "
                    "threshold (dashed) and then above half of it (dotted) for most of the "
                    "rest of the run; dashed verticals mark onsets.</p>",
                )
            )
    sections.append(_trends_section(analysis))
    title = escape(run.name)
    meta = " · ".join(
        escape(part)
        for part in (
            format_started(run),
            f"duration {format_duration(run.duration_s)}",
            f"source {run.source}",
        )
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>heavylegs · {title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<header>\n<h1>{title}</h1>\n<p class="meta">{meta}</p>\n'
        + "".join(f'<p class="note run-note">{escape(note)}</p>\n' for note in notes or ())
        + "</header>\n"
        + "\n".join(sections)
        + f"\n<footer>heavylegs {escape(_version())} · run {run.id}</footer>\n</body>\n</html>\n"
    )


def _verdict_section(analysis: RunAnalysis) -> str:
    flags = analysis.detector.flags_
    if flags:
        items = "".join(
            f'<li data-flag="{f.kind}">{escape(f.title)} from minute {f.onset_min:.1f} '
            f"({escape(f.size_text)}, {f.confidence_label} confidence)</li>"
            for f in flags
        )
        verdict = f"<p>This run shows signs of fatigue:</p>\n<ul>{items}</ul>"
    elif analysis.detector.baseline_ is None:
        verdict = "<p>Not enough steady running to judge fatigue in this run.</p>"
    else:
        verdict = "<p>No lasting fatigue signs in this run.</p>"
    causes = []
    for cause in analysis.causes:
        evidence = "".join(f"<li>{escape(e)}</li>" for e in cause.evidence)
        causes.append(
            f'<li class="cause" data-cause="{cause.key}"><strong>{escape(cause.title)}</strong> '
            f'<span class="label">{cause.label}</span>'
            f'<ul class="evidence">{evidence}</ul>'
            f'<p class="advice">{escape(cause.advice)}</p></li>'
        )
    if causes:
        body = '<ol class="causes">' + "\n".join(causes) + "</ol>"
    else:
        body = "<p>No contributor has enough evidence behind it.</p>"
    unknowns = "".join(f"<li>{escape(u)}</li>" for u in analysis.unknowns)
    notes = "".join(f"<li>{escape(n)}</li>" for n in analysis.detector.notes_)
    extra = (
        f'<p class="note">Not checked:</p><ul class="note unknowns">{unknowns}</ul>'
        if unknowns
        else ""
    ) + (f'<ul class="note">{notes}</ul>' if notes else "")
    return _section(
        "heavy-legs",
        "Why are my legs heavy?",
        verdict,
        body,
        extra,
        '<p class="note">Ranked by the weight of evidence. The pods measure how you run, '
        "not why: these are leads to check, not diagnoses.</p>",
    )


def _flags_section(analysis: RunAnalysis) -> str:
    det = analysis.detector
    base = det.baseline_
    if base is None:
        return _section("flags", "Fatigue flags", "<p>No baseline: nothing to compare.</p>")
    moved = (
        f" (moved {base.settling_min:.1f} min later: you were still settling in)"
        if base.settling_min > 0
        else ""
    )
    lines = [
        f"<p>Baseline: minutes {base.start_min:.1f} to {base.end_min:.1f}{escape(moved)}. "
        + (
            f"Speed known ({base.speed_mps:.2f} m/s in the baseline)."
            if base.speed_mps
            else "Speed unknown: contact time normalised for cadence only."
        )
        + "</p>"
    ]
    if not det.flags_:
        lines.append("<p>No flags.</p>")
    for f in det.flags_:
        evidence = "".join(f"<li>{escape(e)}</li>" for e in f.evidence)
        lines.append(
            f'<details class="flag" data-flag="{f.kind}" open><summary>'
            f"<strong>{escape(f.title)}</strong>: onset {f.onset_min:.1f} min, "
            f"{escape(f.size_text)}, confidence {f.confidence:.2f} ({f.confidence_label})"
            f"</summary><ul>{evidence}</ul></details>"
        )
    return _section("flags", "Fatigue flags", *lines)


def _trends_section(analysis: RunAnalysis) -> str:
    load = analysis.load
    parts = []
    ratio = "—" if load.acwr is None else f"{load.acwr:.2f}"
    parts.append(
        '<table class="summary"><tbody>'
        + "".join(
            f'<tr><th scope="row">{escape(k)}</th><td data-metric="{m}">{escape(v)}</td></tr>'
            for k, m, v in (
                ("Running, last 7 days", "acute", f"{load.acute_min:.0f} min"),
                ("Weekly average, 4 weeks", "chronic", f"{load.chronic_weekly_min:.0f} min"),
                ("Acute:chronic ratio", "acwr", ratio),
                ("Days in a row with a run", "streak", f"{load.consecutive_days}"),
            )
        )
        + "</tbody></table>"
    )
    if analysis.weeks:
        parts.append(
            _img(
                plots.trends_png(analysis.weeks),
                "trends",
                "Running time per week and contact time at a comparable pace over the weeks",
            )
        )
    if analysis.shoes:
        parts.append(shoe_table(analysis.shoes))
    if analysis.checkin is not None:
        answers = ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in checkin_dict(analysis.checkin).items()
        )
        parts.append(f"<p>Your check-in: {escape(answers)}.</p>")
    return _section("trends", "Across sessions", *parts)


def shoe_table(shoes: Sequence[ShoeHistory]) -> str:
    """One row per pair of shoes (its pods ran together), with its mileage alert."""
    rows = []
    for s in shoes:
        distance = "—" if s.total_km is None else f"{s.total_km:.0f} km"
        if s.past_alert:
            distance += f" (past the {s.alert_km:.0f} km alert)"
        name = s.name if s.named else f"unnamed shoes ({len(s.pods)} pods)"
        rows.append(
            f'<tr><th scope="row">{escape(name)}</th><td>{s.runs}</td>'
            f"<td>{s.minutes / 60:.1f} h</td>"
            f'<td data-metric="shoe-km">{escape(distance)}</td>'
            f"<td>{'—' if s.impact_trend_pct is None else f'{s.impact_trend_pct:+.0f}%'}</td></tr>"
        )
    return (
        '<table class="summary shoes"><thead><tr><th>Shoes</th><th>Runs</th>'
        "<th>Time</th><th>Distance</th><th>Impact trend</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _summary_section(summaries: dict[str, FootSummary]) -> str:
    if not summaries:
        return _section("summary", "Summary", "<p>No strides recorded in this run.</p>")
    head = "".join(
        f'<th scope="col" data-foot="{foot}">{foot.capitalize()}</th>' for foot in summaries
    )
    body = []
    for row in table_rows(summaries):
        cells = "".join(
            f'<td data-foot="{foot}" data-metric="{row.key}">{escape(value)}</td>'
            for foot, value in row.values.items()
        )
        body.append(f'<tr><th scope="row">{escape(row.label)}</th>{cells}</tr>')
    table = (
        f'<table class="summary">\n<thead><tr><th></th>{head}</tr></thead>\n'
        f"<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"
    )
    clipping = "".join(
        f'<p class="note clipping" data-foot="{foot}">{escape(line)}</p>'
        for foot, line in ((f, clipping_line(s)) for f, s in summaries.items())
        if line is not None
    )
    note = clipping + (
        '<p class="note">Medians and strike shares are over running strides '
        "(over all strides if the run has none). "
        "Flight time is approximate: half the stride time minus contact time, "
        "since step time needs both feet aligned.</p>"
    )
    return _section("summary", "Summary", table, note)


def _section(section_id: str, heading: str, *parts: str) -> str:
    return (
        f'<section id="{section_id}">\n<h2>{escape(heading)}</h2>\n'
        + "\n".join(parts)
        + ("\n</section>")
    )


def _img(png: bytes, plot_id: str, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img data-plot="{plot_id}" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _version() -> str:
    try:
        return version("heavylegs")
    except PackageNotFoundError:
        return "(not installed)"
