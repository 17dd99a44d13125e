"""heavylegs command line: record, report, simulate, demo."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from heavylegs.errors import HeavylegsError
from heavylegs.report import print_summary, write_report
from heavylegs.store import Store

app = typer.Typer(help="Open running-dynamics pods: record, sync, analyse and explain heavy legs.")
console = Console()


def default_home() -> Path:
    return Path(os.environ.get("HEAVYLEGS_HOME", Path.home() / ".local/share/heavylegs"))


DbOption = typer.Option(None, "--db", help="SQLite store (default: $HEAVYLEGS_HOME/heavylegs.db)")


def _db_path(db: Path | None) -> Path:
    return db if db is not None else default_home() / "heavylegs.db"


@app.command()
def sim(
    scenario: str = typer.Argument("easy", help="scenario name"),
    minutes: float = typer.Option(3.0, help="run length"),
    seed: int = typer.Option(1),
    out: Path = typer.Option(Path("out/traces"), help="directory for the trace files"),
) -> None:
    """Write the sensor traces (left and right pod) of a simulated run."""
    from heavylegs.sim.scenarios import write_scenario

    try:
        written = write_scenario(scenario, out, minutes=minutes, seed=seed)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from exc
    for foot, path in written.items():
        console.print(f"{foot}: {path}")


def _record_sim(db: Path, scenario: str, minutes: float, seed: int, pace: str) -> int:
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
            transient=False,
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


@app.command()
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
        console.print(
            "[red]live recording from real pods arrives with the link work (issue 5); use --sim"
        )
        raise typer.Exit(2)
    try:
        _record_sim(_db_path(db), scenario, minutes, seed, pace)
    except HeavylegsError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc


def _report(db: Path, run: int | None, out: Path | None) -> Path:
    with Store(db) as store:
        info = store.run(run) if run is not None else store.latest_run()
        if info is None:
            raise HeavylegsError(f"no runs in {db}: record one first")
        target = out if out is not None else db.parent / "reports" / f"run-{info.id}.html"
        write_report(store, info.id, target)
        print_summary(store, info.id, console)
    return target.resolve()


@app.command()
def report(
    run: int | None = typer.Argument(None, help="run id (default: the latest)"),
    db: Path | None = DbOption,
    out: Path | None = typer.Option(None, help="HTML file to write"),
) -> None:
    """Write the HTML report of a run and print its summary."""
    try:
        path = _report(_db_path(db), run, out)
    except HeavylegsError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    print(path)


@app.command()
def demo(
    minutes: float = typer.Option(20.0, help="length of the simulated run"),
    out: Path = typer.Option(Path("out/demo"), help="where the store and report go"),
) -> None:
    """Two simulated pods, a run recorded over the simulated radio, stored, reported."""
    db = out / "heavylegs.db"
    try:
        run_id = _record_sim(db, "easy", minutes, 1, "fast")
        path = _report(db, run_id, out / "report.html")
    except HeavylegsError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    # Last line: the report's path, for scripts and for the person who ran make demo.
    print(path)


if __name__ == "__main__":
    app()
