"""Run reports: a self-contained HTML file with plots, and a terminal summary."""

from heavylegs.report.html import render_report, write_report
from heavylegs.report.summary import FootSummary, print_summary, summarise_run

__all__ = ["FootSummary", "print_summary", "render_report", "summarise_run", "write_report"]
