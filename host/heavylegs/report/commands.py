"""Commands that turn stored runs into something to look at."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from heavylegs.errors import HeavylegsError
from heavylegs.paths import DbOption, db_path
from heavylegs.report import print_summary, write_report
from heavylegs.store import Store

console = Console()


def write_run_report(db: Path, run: int | None, out: Path | None) -> Path:
    """Write the report of `run` (default: latest) and print its summary; returns the path."""
    with Store(db) as store:
        info = store.run(run) if run is not None else store.latest_run()
        if info is None:
            raise HeavylegsError(f"no runs in {db}: record one first")
        target = out if out is not None else db.parent / "reports" / f"run-{info.id}.html"
        write_report(store, info.id, target)
        print_summary(store, info.id, console)
    return target.resolve()


def report(
    run: int | None = typer.Argument(None, help="run id (default: the latest)"),
    db: Path | None = DbOption,
    out: Path | None = typer.Option(None, help="HTML file to write"),
) -> None:
    """Write the HTML report of a run and print its summary."""
    try:
        path = write_run_report(db_path(db), run, out)
    except HeavylegsError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    print(path)


def register(app: typer.Typer) -> None:
    app.command()(report)
