"""heavylegs command line. Each area registers its own commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from heavylegs.deploy import commands as deploy_commands
from heavylegs.errors import HeavylegsError
from heavylegs.link import commands as link_commands
from heavylegs.report import commands as report_commands
from heavylegs.sim import commands as sim_commands
from heavylegs.store import commands as store_commands

app = typer.Typer(
    help="Open running-dynamics pods: record, sync, analyse and explain heavy legs.",
    no_args_is_help=True,
)
console = Console()

for area in (sim_commands, link_commands, report_commands, deploy_commands, store_commands):
    area.register(app)


@app.command()
def demo(
    minutes: float = typer.Option(20.0, help="length of the simulated run"),
    out: Path = typer.Option(Path("out/demo"), help="where the store and report go"),
) -> None:
    """Two simulated pods, a run recorded over the simulated radio, stored, reported."""
    db = out / "heavylegs.db"
    try:
        run_id = link_commands.record_sim_run(db, "easy", minutes, 1, "fast")
        path = report_commands.write_run_report(db, run_id, out / "report.html")
    except HeavylegsError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    # Last line: the report's path, for scripts and for the person who ran make demo.
    print(path)


if __name__ == "__main__":
    app()
