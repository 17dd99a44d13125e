"""heavylegs command line: every command, one module per area, over the host's layers.

Only this package imports across areas (a simulated pod met through the link
layer, a report beside its export); tests/test_layers.py keeps it that way.
"""

from __future__ import annotations

import signal
import sys


def _interrupted_while_loading(_signum: int, _frame: object) -> None:
    print("interrupted", file=sys.stderr)
    raise SystemExit(130)  # cli.errors.EXIT_INTERRUPTED, not loaded yet


# Loading the toolkit takes about a second; a Ctrl-C in it ends as quietly as one
# later would, not with a traceback of whichever import it hit.
try:
    _sigint_before = signal.signal(signal.SIGINT, _interrupted_while_loading)
except ValueError:  # imported outside the main thread: signals are not ours to set
    _sigint_before = None

import logging

import typer

from heavylegs.cli import db, demo, deploy, export, importing, pods, report, runs, shoes, sim
from heavylegs.cli import watch as watch_cli
from heavylegs.cli.errors import HeavylegsGroup

if _sigint_before is not None:
    signal.signal(signal.SIGINT, _sigint_before)

app = typer.Typer(
    cls=HeavylegsGroup,
    help="Open running-dynamics pods: record, sync, analyse and explain heavy legs.",
    no_args_is_help=True,
    # A failure is one line on stderr (see cli.errors), never a traceback box.
    pretty_exceptions_enable=False,
)

# bumble's simulated controller logs its own bookkeeping (a packet for a link that
# just closed) as warnings; to a user they are noise around the one line that matters.
logging.getLogger("bumble").setLevel(logging.ERROR)

for area in (sim, pods, report, export, deploy, db, demo):
    area.register(app)
watch_cli.register(app)
for area in (runs, importing, shoes):
    area.register(app)


@app.callback()
def _version(
    version: bool = typer.Option(
        False,
        "--version",
        help="print the version and exit",
        callback=runs.version_callback,
        is_eager=True,
    ),
) -> None:
    """Open running-dynamics pods: record, sync, analyse and explain heavy legs."""


def main() -> None:
    app()
