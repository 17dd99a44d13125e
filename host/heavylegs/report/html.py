"""The run report: one self-contained HTML file that can be mailed or opened offline."""

from __future__ import annotations

import base64
import os
from html import escape
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from heavylegs.report import plots
from heavylegs.report.summary import (
    FootSummary,
    format_duration,
    format_started,
    load_feet,
    summarise,
    table_rows,
)
from heavylegs.store import RunInfo, Store

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
"""


def write_report(store: Store, run_id: int, out_path: Path) -> Path:
    """Write the report for one run to out_path and return it.

    Written to a temporary file and renamed, so a reader never sees half a report
    and an older report survives a failure.
    """
    run = store.run(run_id)
    page = render_report(store, run)
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
    feet = load_feet(store, run)
    summaries = {foot: summarise(data) for foot, data in feet.items()}
    sections = [_summary_section(summaries)]
    if feet:
        gct_images = [
            _img(
                plots.gct_png(data),
                f"gct-{foot}",
                f"{foot.capitalize()} foot contact time per stride over the run, "
                "with a rolling median",
            )
            for foot, data in feet.items()
        ]
        sections.append(_section("contact-time", "Contact time over time", *gct_images))
        sections.append(
            _section(
                "cadence",
                "Cadence over time",
                _img(
                    plots.cadence_png(feet),
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
        f'<header>\n<h1>{title}</h1>\n<p class="meta">{meta}</p>\n</header>\n'
        + "\n".join(sections)
        + f"\n<footer>heavylegs {escape(_version())} · run {run.id}</footer>\n</body>\n</html>\n"
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
    note = (
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
