"""Commands that talk to pods: record (live), and later scan and sync."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from heavylegs.errors import HeavylegsError
from heavylegs.paths import DbOption, db_path
from heavylegs.store import Store

console = Console()


def record_sim_run(db: Path, scenario: str, minutes: float, seed: int, pace: str) -> int:
    """Record a simulated run into `db` with a progress bar; returns the run id."""
    from heavylegs.sim.scenarios import write_scenario
    from heavylegs.sim.session import Progress as SimProgress
    from heavylegs.sim.session import record_simulated

    traces = write_scenario(scenario, db.parent / "traces", minutes=minutes, seed=seed)
    with (
        Store(db) as store,
        Progress(
            TextColumn("[bold]recording simulated pods"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar,
    ):
        task = bar.add_task("record", total=minutes * 60.0, detail="starting pods")

        def show(p: SimProgress) -> None:
            bar.update(
                task, completed=p.sensor_s, detail=f"{p.strides} strides, {p.sensor_s / 60:.1f} min"
            )

        started = time.monotonic()
        run_id = asyncio.run(
            record_simulated(
                store,
                traces,
                duration_s=minutes * 60.0,
                run_name=f"simulated {scenario} run",
                pace=pace,
                on_progress=show,
            )
        )
        bar.update(task, completed=minutes * 60.0)
    console.print(f"recorded run {run_id} in {time.monotonic() - started:.1f} s")
    return run_id


def record(
    sim: bool = typer.Option(False, "--sim", help="record simulated pods instead of real ones"),
    scenario: str = typer.Option("easy", help="with --sim: scenario to run"),
    minutes: float = typer.Option(3.0, help="with --sim: run length"),
    seed: int = typer.Option(1),
    pace: str = typer.Option("fast", help="with --sim: fast (as fast as possible) or realtime"),
    db: Path | None = DbOption,
) -> None:
    """Record a run live from one or two pods."""
    if not sim:
        console.print("[red]live recording from real pods is not wired up yet; use --sim")
        raise typer.Exit(2)
    try:
        record_sim_run(db_path(db), scenario, minutes, seed, pace)
    except HeavylegsError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc


def register(app: typer.Typer) -> None:
    app.command()(record)
