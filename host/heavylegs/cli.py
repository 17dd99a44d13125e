"""heavylegs command line. Each area registers its own commands."""

from __future__ import annotations

import signal
import sys


def _interrupted_while_loading(_signum: int, _frame: object) -> None:
    print("interrupted", file=sys.stderr)
    raise SystemExit(130)  # cli_errors.EXIT_INTERRUPTED, not loaded yet


# Loading the toolkit takes about a second; a Ctrl-C in it ends as quietly as one
# later would, not with a traceback of whichever import it hit.
try:
    _sigint_before = signal.signal(signal.SIGINT, _interrupted_while_loading)
except ValueError:  # imported outside the main thread: signals are not ours to set
    _sigint_before = None

import logging
from pathlib import Path

import typer

from heavylegs.cli_errors import MAX_MINUTES, HeavylegsGroup, number_in, output_folder
from heavylegs.deploy import commands as deploy_commands
from heavylegs.link import commands as link_commands
from heavylegs.report import commands as report_commands
from heavylegs.sim import commands as sim_commands
from heavylegs.store import commands as store_commands

if _sigint_before is not None:
    signal.signal(signal.SIGINT, _sigint_before)

app = typer.Typer(
    cls=HeavylegsGroup,
    help="Open running-dynamics pods: record, sync, analyse and explain heavy legs.",
    no_args_is_help=True,
    # A failure is one line on stderr (see cli_errors), never a traceback box.
    pretty_exceptions_enable=False,
)

# bumble's simulated controller logs its own bookkeeping (a packet for a link that
# just closed) as warnings; to a user they are noise around the one line that matters.
logging.getLogger("bumble").setLevel(logging.ERROR)

for area in (sim_commands, link_commands, report_commands, deploy_commands, store_commands):
    area.register(app)


@app.command()
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
    run_id = link_commands.record_sim_run(db, "easy", minutes, 1, "fast")
    path = report_commands.write_run_report(db, run_id, out / "report.html")
    # Last line: the report's path, for scripts and for the person who ran make demo.
    print(path)


if __name__ == "__main__":
    app()
