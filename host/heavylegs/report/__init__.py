"""Run reports: a self-contained HTML file with plots, and a terminal summary."""

from heavylegs.report.html import write_report
from heavylegs.report.summary import FootSummary, print_summary

__all__ = ["FootSummary", "print_summary", "write_report"]
