"""`heavylegs demo`: two simulated pods, a run recorded, stored and reported."""

from __future__ import annotations

from pathlib import Path

import typer

from heavylegs.cli.errors import MAX_MINUTES, number_in, output_folder
from heavylegs.cli.pods import record_sim_run
from heavylegs.cli.report import write_run_report


def demo(
    minutes: float = typer.Option(
        20.0, help="length of the simulated run", callback=number_in(0, MAX_MINUTES, "minutes")
    ),
    out: Path = typer.Option(
        Path("out/demo"), help="where the store and report go", callback=output_folder
    ),
) -> None:
    """Two simulated pods, a run recorded over the simulated radio, stored, reported."""
    db = out / "heavylegs.db"
    run_id = record_sim_run(db, "easy", minutes, 1, "fast")
    path = write_run_report(db, run_id, out / "report.html")
    # Last line: the report's path, for scripts and for the person who ran make demo.
    print(path)


def register(app: typer.Typer) -> None:
    app.command()(demo)
