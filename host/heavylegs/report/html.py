"""The run report: one self-contained HTML file that can be mailed or opened offline.

The page is a list of sections (render_analysis); a new section is one more entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

import numpy as np

from heavylegs.analysis.history import ShoeHistory
from heavylegs.analysis.run import RunAnalysis, analyse_run
from heavylegs.report import history_plots, plots
from heavylegs.report.judged import judged_section, slowdown_section, verdict_section
from heavylegs.report.page import img, page, scroll, section, write_atomic
from heavylegs.report.page import plots as plot_grid
from heavylegs.report.summary import (
    ROW_TERMS,
    FootSummary,
    clipping_line,
    format_started,
    headline,
    run_figures,
    run_notes,
    summarise,
    table_rows,
)
from heavylegs.report.terms import EXPLAIN, Units
from heavylegs.report.watch_plots import watch_section
from heavylegs.store import Store

HISTORY_PAGE = "history.html"


def write_report(
    store: Store,
    run_id: int,
    out_path: Path,
    analysis: RunAnalysis | None = None,
    units: Units | None = None,
    history: bool = True,
) -> Path:
    """Write the report for one run to out_path and return it; with `history`, the
    history page (history.html) is written beside it and linked from it."""
    run = store.run(run_id)
    if analysis is None:
        analysis = analyse_run(store, run)
    units = units or Units()
    out_path = Path(out_path)
    page_text = render_analysis(
        analysis, run_notes(store, run), units, HISTORY_PAGE if history else None
    )
    write_atomic(out_path, page_text)
    if history:
        from heavylegs.report.history import write_history

        write_history(store, analysis, out_path.parent / HISTORY_PAGE, out_path.name, units)
    return out_path


def render_analysis(
    analysis: RunAnalysis,
    notes: list[str] | None = None,
    units: Units | None = None,
    history_href: str | None = None,
) -> str:
    units = units or Units()
    run = analysis.run
    feet = analysis.session.feet
    summaries = {foot: summarise(data) for foot, data in feet.items()}
    sections = [
        verdict_section(analysis),
        _summary_section(analysis, summaries, units),
        slowdown_section(analysis),
        *plot_sections(analysis, summaries),
        _trends_section(analysis),
        judged_section(analysis),
    ]
    nav = f'<nav><a href="{history_href}">All runs and trends</a></nav>\n' if history_href else ""
    header = (
        nav
        + f"<h1>{escape(run.name)}</h1>\n"
        + f'<p class="meta">{escape(format_started(run))}</p>\n'
        + "".join(f'<p class="note run-note">{escape(note)}</p>\n' for note in notes or ())
    )
    return page(run.name, header, [s for s in sections if s], f"run {run.id}")


def _at_earlier_pace(analysis: RunAnalysis, foot: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Per 30 s, the foot's contact time at the baseline's pace; only after a slowdown,
    where it differs from the measured one enough to matter."""
    det = analysis.detector
    pct = det.per_foot_gct_pct_.get(foot)
    if analysis.slowdown is None or det.baseline_ is None or pct is None:
        return None
    known = np.isfinite(pct)
    ms = det.baseline_.gct_ms[foot] * np.exp(pct[known] / 100)
    return det.t_min[known], ms


def plot_sections(analysis: RunAnalysis, summaries: dict[str, FootSummary]) -> list[str]:
    feet = analysis.session.feet
    if not feet:
        return []
    det = analysis.detector
    base = det.baseline_
    window = None if base is None else (base.start_min, base.end_min)

    def marks(*kinds: str) -> plots.Marks:
        return plots.Marks(window, tuple(f for f in det.flags_ if f.kind in kinds))

    ylim = plots.shared_gct_ylim(feet)
    out = [
        section(
            "contact-time",
            "Contact time over the run",
            plot_grid(
                *(
                    img(
                        plots.gct_png(
                            data,
                            marks("contact_time", "asymmetry"),
                            ylim,
                            _at_earlier_pace(analysis, foot),
                        ),
                        f"gct-{foot}",
                        f"{foot.capitalize()} foot contact time per stride over the run, "
                        "with its typical value, the baseline and when flags began",
                    )
                    for foot, data in feet.items()
                )
            ),
            f'<p class="note">{EXPLAIN["contact-time"]} Both feet share one scale. Green: '
            "the baseline, your first settled minutes."
            + (
                " Black dashes: contact time at your earlier pace, which the flag is judged "
                "on; the gap to the coloured line is what slowing down added."
                if analysis.slowdown is not None
                else ""
            )
            + "</p>",
        )
    ]
    if det.balance_pct_ is not None:
        out.append(
            section(
                "balance",
                "Left/right balance",
                plot_grid(
                    img(
                        plots.balance_png(det.t_min, det.balance_pct_, marks("asymmetry")),
                        "balance",
                        "Left foot's share of contact time per 30 s",
                    )
                ),
                '<p class="note">Grey: within 50.7% either way (even); dotted: 52.2% '
                "(uneven). Most runners differ by about 2.6% between legs.</p>",
            )
        )
    if (watch := watch_section(analysis)) is not None:
        out.append(watch)
    out.append(
        section(
            "cadence",
            "Cadence and foot strike",
            plot_grid(
                img(
                    plots.cadence_png(feet, marks("cadence")),
                    "cadence",
                    "Cadence in steps per minute over the run: left solid, right dashed",
                ),
                img(
                    plots.strike_png(summaries),
                    "strike",
                    "Share of heel, flat and ball landings per foot",
                ),
            ),
            f'<p class="note">{EXPLAIN["cadence"]} Left foot solid, right foot dashed. '
            f"{EXPLAIN['strike']}</p>",
        )
    )
    if det.indicators_:
        out.append(
            section(
                "drift",
                "Each sign of tiredness over the run",
                plot_grid(
                    img(
                        plots.drift_png(det.t_min, det.indicators_, det.flags_),
                        "drift",
                        "One panel per sign of tiredness, each against the level that raises a flag",
                    )
                ),
                '<p class="note">Each panel is one sign, smoothed, on one scale: "usual" is '
                'your baseline, "flag" the change that counts (shaded above). Up is always '
                "worse. A flag needs the line to reach the shading and mostly stay near it; "
                "dotted lines mark when a flag began.</p>",
            )
        )
    return out


def _trends_section(analysis: RunAnalysis) -> str:
    load = analysis.load
    parts = []
    load_rows = [("Running, last 7 days", "acute", f"{load.acute_min:.0f} min")]
    if load.acwr is not None:
        # only once there are weeks to average: after one run it would be a made-up figure
        load_rows += [
            ("Usual week (last 4 weeks)", "chronic", f"{load.chronic_weekly_min:.0f} min"),
            ("This week against your usual week", "acwr", f"{load.acwr:.2f} ×"),
        ]
    else:
        days = load.history_days
        load_rows.append(
            ("Usual week", "chronic", f"known after 3 weeks of runs (so far {days:.0f} days)")
        )
    load_rows.append(("Days in a row with a run", "streak", f"{load.consecutive_days}"))
    parts.append(
        '<table class="summary"><tbody>'
        + "".join(
            f'<tr><th scope="row">{escape(k)}</th><td data-metric="{m}">{escape(v)}</td></tr>'
            for k, m, v in load_rows
        )
        + "</tbody></table>"
    )
    if load.acwr is not None:
        parts.append(
            '<p class="note">This week against your usual week: 0.8 to 1.3 × is a steady '
            "build; above 1.5 × the load jumped, which often comes before heavy legs.</p>"
        )
    if len(analysis.weeks) >= 2:
        parts.append(
            plot_grid(
                img(
                    history_plots.trends_png(analysis.weeks),
                    "trends",
                    "Running time per week and contact time at a comparable pace over the weeks",
                    "* contact time at 170 steps/min (and 3 m/s when speed is known), so "
                    "weeks at different paces compare.",
                )
            )
        )
    if analysis.shoes:
        parts.append(scroll(shoe_table(analysis.shoes)))
    return section("trends", "Across sessions", *parts)


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


def _summary_section(analysis: RunAnalysis, summaries: dict[str, FootSummary], units: Units) -> str:
    if not summaries:
        return section("summary", "Your run", "<p>No strides recorded in this run.</p>")
    figures = run_figures(analysis.session.feet, analysis.run.duration_s)
    cards = "".join(
        f'<div data-metric="{key}"><dt>{escape(label)}</dt><dd>{escape(value)}</dd>'
        f'<span class="explain">{escape(EXPLAIN[key])}</span></div>'
        for key, label, value in headline(figures, units)
    )
    head = "".join(
        f'<th scope="col" data-foot="{foot}">{foot.capitalize()}</th>' for foot in summaries
    )
    body = []
    for row in table_rows(summaries, units):
        cells = "".join(
            f'<td data-foot="{foot}" data-metric="{row.key}">{escape(value)}</td>'
            for foot, value in row.values.items()
        )
        term = ROW_TERMS.get(row.key)
        if term is None:
            body.append(f'<tr><th scope="row">{escape(row.label)}</th>{cells}</tr>')
            continue
        body.append(
            f'<tr class="has-explain"><th scope="row">{escape(row.label)}</th>{cells}</tr>'
            f'<tr class="explain-row"><td colspan="{len(summaries) + 1}">'
            f"{escape(EXPLAIN[term])}</td></tr>"
        )
    table = (
        f'<table class="summary per-foot">\n<thead><tr><th></th>{head}</tr></thead>\n'
        "<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"
    )
    clipping = "".join(
        f'<p class="note clipping" data-foot="{foot}">{escape(line)}</p>'
        for foot, line in ((f, clipping_line(s)) for f, s in summaries.items())
        if line is not None
    )
    note = clipping + (
        '<p class="note">Figures are typical values (medians) over running strides, '
        "walking left out. Flight time is approximate: half the stride time minus "
        "contact time.</p>"
    )
    return section("summary", "Your run", f'<dl class="headline">{cards}</dl>', scroll(table), note)
