"""Commands for pods on USB: flash, pull, doctor (issue 7).

The port is always given: `--port /dev/ttyACM0` (Linux), `/dev/cu.usbmodem…`
(macOS), `COM5` (Windows). Each command soft-resets the pod, does its work in
the raw REPL and starts the firmware again.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from heavylegs.cli.errors import MAX_TIMEOUT_S, number_in
from heavylegs.cli.options import DbOption
from heavylegs.deploy.boards import board_names
from heavylegs.paths import db_path

# No wrapping: a path or an error message stays on one line, whole, for people and scripts.
console = Console(soft_wrap=True)

PortOption = typer.Option(..., "--port", help="the pod's serial port, e.g. /dev/ttyACM0 or COM5")
TimeoutOption = typer.Option(
    10.0,
    "--timeout",
    help="seconds to wait for the pod to answer",
    callback=number_in(0, MAX_TIMEOUT_S, "seconds"),
)


class Foot(StrEnum):
    left = "left"
    right = "right"


def _ble_name(value: str | None) -> str | None:
    # refused before the port is opened: an empty name would quietly become the default
    if value is not None and not value.strip():
        raise typer.BadParameter(
            "must not be empty: give the pod a BLE name, or leave --name out for heavylegs-L/-R"
        )
    return value


def flash(
    board: str = typer.Option(
        ...,
        "--board",
        help="board file name in hardware/boards/ ("
        + ", ".join(board_names())
        + ") or a path to one",
    ),
    port: str = PortOption,
    foot: Foot | None = typer.Option(
        None, "--foot", help="left or right (default: as before, else left)"
    ),
    name: str | None = typer.Option(
        None, "--name", help="BLE name (default: heavylegs-L/-R)", callback=_ble_name
    ),
    new_key: bool = typer.Option(
        False, "--new-key", help="give the pod a new owner key; the old one stops working"
    ),
    watch: float = typer.Option(
        2.0,
        "--watch",
        help="seconds to watch the firmware start",
        callback=number_in(0, MAX_TIMEOUT_S, "seconds", low_allowed=True),
    ),
    timeout: float = TimeoutOption,
) -> None:
    """Compile and install the firmware, board file, settings and owner key; check it starts."""
    from heavylegs.deploy.flash import flash as run_flash

    result = run_flash(
        port,
        board,
        None if foot is None else foot.value,
        name,
        rotate_key=new_key,
        timeout_s=timeout,
        watch_s=watch,
        progress=lambda message: console.print(f"[dim]{message}[/]"),
    )
    console.print(
        f"flashed heavylegs {result.version} for {result.board} onto pod {result.pod_id} "
        f"(MicroPython {result.micropython}): {len(result.written)} files written, "
        f"{result.unchanged} unchanged, {len(result.removed)} removed"
    )
    console.print(f"{result.name}, {result.foot} foot, BLE address {result.address}")
    console.print(f"owner key: {result.key_action} ({result.key_path})")
    console.print(f"sensor WHO_AM_I 0x{result.who_am_i:02X}; the firmware is running")


def pull(
    port: str = PortOption,
    db: Path | None = DbOption,
    erase_synced: bool = typer.Option(
        False, "--erase-synced", help="then erase sessions the store holds in full from the pod"
    ),
    timeout: float = TimeoutOption,
) -> None:
    """Copy the pod's journal sessions into the store over USB (as `sync` does over BLE)."""
    from heavylegs.deploy.pull import pull as run_pull

    report = run_pull(
        port,
        db_path(db),
        erase_synced=erase_synced,
        timeout_s=timeout,
        on_progress=lambda p: console.print(
            f"[dim]session {p.session}: {p.done}/{p.total} records[/]"
        ),
    )
    console.print(
        f"{report.pod} ({report.address}): {len(report.sessions)} sessions on the pod, "
        f"{report.received} records read, {report.new_strides} new strides stored"
        + (f", {len(report.erased)} synced sessions erased" if erase_synced else "")
    )
    from heavylegs.link.describe import describe_dates, describe_gaps
    from heavylegs.store import Store

    with Store(db_path(db)) as store:
        notes = describe_gaps(store, report) + describe_dates(store, report)
    for line in notes + report.warnings:
        console.print(f"  [yellow]{line}[/]")


def doctor(
    port: str = PortOption,
    board: str | None = typer.Option(
        None, "--board", help="check against this board file instead of the pod's board.json"
    ),
    timeout: float = TimeoutOption,
) -> None:
    """Report MicroPython version, free flash and RAM, sensor, FIFO overruns and battery."""
    from heavylegs.deploy.doctor import doctor as run_doctor

    report = run_doctor(port, board, timeout_s=timeout)
    marks = {True: "[green]ok[/]  ", False: "[red]FAIL[/]", None: "[yellow]--[/]  "}
    for check in report.checks:
        console.print(f"{marks[check.ok]} {check.name:<11} {check.detail}")
    if not report.healthy:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(flash)
    app.command()(pull)
    app.command()(doctor)
