"""What every report page shares: the stylesheet, sections, embedded plots, an atomic write."""

from __future__ import annotations

import base64
import os
from html import escape
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from heavylegs.report.figure import text_px

# Phone first: one column, and plots in a grid that becomes two columns when there is
# room. Wide tables scroll inside their own box, never the page.
CSS = """
*, *::before, *::after { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1rem auto;
       max-width: 1000px; padding: 0 1rem; color: #1d1d1f; line-height: 1.45;
       overflow-wrap: break-word; }
h1 { margin-bottom: 0.2rem; font-size: 1.6rem; }
h2 { margin-top: 2rem; font-size: 1.3rem; }
nav a { margin-right: 1rem; }
.meta { color: #555; margin-top: 0; }
.scroll { overflow-x: auto; max-width: 100%; }
.scroll th, .scroll td { white-space: nowrap; }
table.summary tr.explain-row td { text-align: left; white-space: normal; color: #666; font-size: 0.85rem;
  border-bottom: 1px solid #ddd; padding-top: 0; }
tr.has-explain th, tr.has-explain td { border-bottom: none; }
table.per-foot th[scope=row] { white-space: normal; min-width: 7rem; }
.checkin table.summary td { white-space: normal; text-align: left; }
/* any table, whoever adds it, scrolls in its own box rather than widening the page */
table.summary { border-collapse: collapse; margin: 0.5rem 0; display: block; max-width: 100%;
  overflow-x: auto; }
table.summary th, table.summary td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #ddd;
  vertical-align: top; }
table.summary td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.summary th[scope=row] { text-align: left; font-weight: normal; color: #222; }
.explain { display: block; color: #666; font-size: 0.85rem; font-weight: normal; }
dl.headline { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr));
  gap: 0.6rem; margin: 0.5rem 0; }
dl.headline div { background: #f4f6f8; border-radius: 0.4rem; padding: 0.5rem 0.6rem; }
dl.headline dt { color: #444; font-size: 0.9rem; }
dl.headline dd { margin: 0; font-size: 1.25rem; font-weight: 600; }
.note { color: #666; font-size: 0.9rem; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr));
  gap: 0.5rem 1rem; }
figure { margin: 0; min-width: 0; }
figcaption { color: #555; font-size: 0.9rem; }
img { display: block; width: 100%; height: auto; margin: 0.3rem 0; }
footer { color: #888; font-size: 0.8rem; margin-top: 2rem; }
ol.causes li.cause { margin-bottom: 0.8rem; }
.label { background: #eee; border-radius: 0.3rem; padding: 0 0.4rem; font-size: 0.8rem; }
.advice { margin: 0.2rem 0; color: #0b5394; }
details.flag, details.judged { margin: 0.4rem 0; }
.meter { display: inline-block; width: 5rem; height: 0.6rem; background: #e5e5e5;
  border-radius: 0.3rem; vertical-align: middle; margin-right: 0.4rem; }
.meter span { display: block; height: 100%; background: #d6604d; border-radius: 0.3rem; }
table.shoes td, table.shoes th { text-align: left; }
table.calendar td { text-align: center; min-width: 2.2rem; }
table.calendar td.ran { background: #c6dbef; }
table.calendar td.flagged { background: #fdd0a2; }
"""


def section(section_id: str, heading: str, *parts: str) -> str:
    return (
        f'<section id="{section_id}">\n<h2>{escape(heading)}</h2>\n'
        + "\n".join(p for p in parts if p)
        + "\n</section>"
    )


def img(png: bytes, plot_id: str, alt: str, caption: str = "") -> str:
    """A plot embedded as a PNG, with its smallest text as a share of its width
    (data-text) so a browser can check the text size at any page width."""
    data = base64.b64encode(png).decode("ascii")
    tag = (
        f'<img data-plot="{plot_id}" data-text="{text_px(png):.5f}" alt="{escape(alt)}" '
        f'src="data:image/png;base64,{data}">'
    )
    figcaption = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{tag}{figcaption}</figure>"


def plots(*figures: str) -> str:
    return '<div class="plots">' + "".join(figures) + "</div>"


def scroll(table: str) -> str:
    return f'<div class="scroll">{table}</div>'


def page(title: str, header: str, sections: list[str], footer: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>heavylegs · {escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header>\n{header}</header>\n"
        + "\n".join(sections)
        + f"\n<footer>heavylegs {escape(package_version())} · {escape(footer)}</footer>\n"
        "</body>\n</html>\n"
    )


def write_atomic(out_path: Path, text: str) -> Path:
    """Written to a temporary file and renamed, so a reader never sees half a page
    and an older page survives a failure."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return out_path


def package_version() -> str:
    try:
        return version("heavylegs")
    except PackageNotFoundError:
        return "(not installed)"
