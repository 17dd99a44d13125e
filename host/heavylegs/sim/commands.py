"""Commands for the simulator."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()


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


def register(app: typer.Typer) -> None:
    app.command()(sim)
