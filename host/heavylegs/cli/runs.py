"""`heavylegs runs`: what the store holds, newest first; and naming a run that exists."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from heavylegs.analysis.history import RunSummary, run_summary
from heavylegs.cli.errors import zero_or_more
from heavylegs.cli.options import DbOption
from heavylegs.errors import HeavylegsError
from heavylegs.paths import db_path
from heavylegs.report.summary import format_duration
from heavylegs.report.terms import Units
from heavylegs.store import RunInfo, Store
from heavylegs.store.diary import Diary
from heavylegs.store.models import local_day, local_minute

console = Console()

# How a run's source reads in the list: simulated runs are always marked.
_SOURCES = {
    "synthetic": "simulated",
    "live": "recorded",
    "import": "imported",
    "import-fit": "imported (FIT summary)",
}


def open_store(db: Path) -> Store:
    if not db.exists():
        raise HeavylegsError(
            f"no store at {db}: record or sync a run first, or point --db at a store "
            "(make demo writes out/demo/heavylegs.db)"
        )
    return Store(db)


def pick_run(store: Store, run: int | None, db: Path) -> RunInfo:
    """The run asked for (default: the latest); an unknown one is refused naming what exists."""
    runs = store.runs()
    if not runs:
        raise HeavylegsError(f"no runs in {db}: record one first")
    # Store.latest_run's order, from the list already read rather than two more queries
    latest = max(runs, key=lambda info: (not info.kept_apart, info.started_at, info.id))
    if run is None:
        return latest
    found = next((info for info in runs if info.id == run), None)
    if found is None:
        raise HeavylegsError(
            f"unknown run {run}; runs are {id_ranges([info.id for info in runs])}, "
            f"latest {latest.id} ({local_day(latest.started_at)}): see `heavylegs runs`"
        )
    return found


def refuse_overlap(
    store: Store, at: float, seconds: float, option: str = "--at", remedy: str = "another time"
) -> None:
    """A run dated `at` for `seconds` may not overlap a stored run: one runner runs one
    run at a time, and a second copy would count its load twice."""
    for info in store.runs():
        if info.clashes(at, at + seconds):
            raise typer.BadParameter(
                f"run {info.id} ({local_minute(info.started_at)} to "
                f"{local_minute(info.end_at)[-5:]}) "
                f"was running then; give {remedy}",
                param_hint=f"'{option}'",
            )


def id_ranges(ids: list[int]) -> str:
    """1, 2, 3, 5, 7, 8 -> '1-3, 5, 7-8'."""
    spans: list[list[int]] = []
    for i in sorted(set(ids)):
        if spans and i == spans[-1][1] + 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def source_label(source: str) -> str:
    if source.startswith("live-sim"):
        return "simulated"
    return _SOURCES.get(source, source)


def runs(
    db: Path | None = DbOption,
    limit: int = typer.Option(
        0, help="show only the newest N runs (0: all)", callback=zero_or_more
    ),
) -> None:
    """List the stored runs, newest first: date, duration, distance, pace and flags."""
    path = db_path(db)
    with open_store(path) as store:
        infos = sorted(store.runs(), key=lambda r: (r.started_at, r.id), reverse=True)
        if limit:
            infos = infos[:limit]
        with Diary(path) as diary:
            summaries = {
                info.id: run_summary(store, diary, info) for info in infos if info.in_history
            }
    table = Table(title=f"Runs in {path}", title_justify="left")
    for column in ("Run", "Date", "Duration", "Distance", "Pace", "Flags", "Source"):
        table.add_column(column, justify="right" if column in ("Run", "Distance") else "left")
    for info in infos:
        summary = summaries.get(info.id)
        table.add_row(
            str(info.id),
            local_minute(info.started_at),
            format_duration(info.duration_s if summary is None else summary.duration_min * 60),
            "—"
            if summary is None or summary.distance_km is None
            else f"{summary.distance_km:.1f} km",
            "—" if summary is None else Units().pace(summary.running_min, summary.distance_km),
            flags_text(summary),
            source_label(info.source),
        )
    console.print(table)
    if not infos:
        console.print("no runs yet: `heavylegs record --sim` records a simulated one")


def flags_text(summary: RunSummary | None) -> str:
    if summary is None or not summary.flags:
        return "none"
    first = min(summary.flags, key=lambda f: f.onset_min)
    kinds = ", ".join(dict.fromkeys(f.kind.replace("_", " ") for f in summary.flags))
    return f"{kinds} (from {first.onset_min:.0f} min)"


def version_callback(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"heavylegs {version('heavylegs')}")
        raise typer.Exit()


def register(app: typer.Typer) -> None:
    app.command()(runs)
