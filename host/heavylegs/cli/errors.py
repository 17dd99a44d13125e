"""How the command line refuses input and reports failure: one line on stderr, exit code 2.

Options are checked by the callbacks here while click parses them, so a refused
command has not opened the store or touched a file yet. Everything a command
raises on purpose (HeavylegsError), a file it cannot write (OSError) and click's
own usage errors all end in `HeavylegsGroup.main`, which prints one line
`error: ...` and exits 2, the code click already uses for usage errors. Ctrl-C
exits 130 (128 + SIGINT), as shells report it.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer

# typer carries its own copy of click (typer._click); the lock pins the version.
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from heavylegs.errors import HeavylegsError, Interrupted

T = TypeVar("T")

EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130

NO_BLUETOOTH = "no Bluetooth adapter found; is bluetoothd running?"

# Longest run the simulator or a recording will be asked for: a 10 h ultra.
MAX_MINUTES = 600.0
# Longest wait for a pod to answer or advertise.
MAX_TIMEOUT_S = 600.0
# The IMU's output data rates span 12.5 Hz to 6.66 kHz (LSM6DSOX datasheet).
IMPORT_RATE_HZ = (12.5, 6664.0)
# A shoe that ran 20,000 km has been resoled a few times over.
MAX_SHOE_KM = 20_000.0

_MAC = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
# macOS's CoreBluetooth names a peripheral by a UUID instead of its address.
_UUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def say_error(message: object) -> None:
    typer.echo(f"error: {one_line(message)}", err=True)


def fail(message: object) -> NoReturn:
    """Refuse or give up from inside a command: one line, exit code 2."""
    say_error(message)
    raise typer.Exit(EXIT_REFUSED)


class HeavylegsGroup(TyperGroup):
    """The top-level command group, with one exit path for every failure a user can cause."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except typer.TyperException as exc:
            # typer checks enum choices through pydantic, which prefixes its own words
            message = exc.format_message().replace("Value error, ", "")
            say_error(message + _help_hint(exc))
            sys.exit(EXIT_REFUSED)
        except typer.Abort:
            # Ctrl-C or end of input at a question
            typer.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Interrupted as exc:
            typer.echo(one_line(exc), err=True)
            sys.exit(EXIT_INTERRUPTED)
        except HeavylegsError as exc:
            say_error(exc)
            sys.exit(EXIT_REFUSED)
        except OSError as exc:
            say_error(describe_os_error(exc))
            sys.exit(EXIT_REFUSED)
        if code == EXIT_INTERRUPTED:
            # typer turned a Ctrl-C that no command handled into this exit code
            typer.echo("interrupted", err=True)
        sys.exit(code if isinstance(code, int) else 0)


def _help_hint(exc: typer.TyperException) -> str:
    if isinstance(exc, UsageError) and exc.ctx is not None:
        return f" (see '{exc.ctx.command_path} --help')"
    return ""


def describe_os_error(exc: OSError) -> str:
    what = exc.strerror or exc.__class__.__name__
    # A failed rename names the temporary file first; the user named the second.
    path = exc.filename2 if exc.filename2 is not None else exc.filename
    if path is not None:
        return f"cannot use {path}: {what}"
    return what


# --- option checks ----------------------------------------------------------------


def number_in(
    low: float,
    high: float,
    unit: str,
    *,
    low_allowed: bool = False,
) -> Callable[[float | None], float | None]:
    """A typer callback refusing NaN, infinities and anything outside (low, high],
    or [low, high] with `low_allowed`."""

    def check(value: float | None) -> float | None:
        if value is None:
            return None
        above_low = value >= low if low_allowed else value > low
        if not (math.isfinite(value) and above_low and value <= high):
            span = f"{low:g} to" if low_allowed else f"more than {low:g} and at most"
            raise typer.BadParameter(f"must be {span} {high:g} {unit}, got {_shown(value)}")
        return value

    return check


def _shown(value: float) -> str:
    """Short, but never rounded onto the limit it broke (600.0001 is not 'got 600')."""
    short = f"{value:g}"
    return short if not math.isfinite(value) or float(short) == value else repr(value)


def seed_value(value: int) -> int:
    """A random seed: numpy takes any whole number from 0 up."""
    return zero_or_more(value)


def zero_or_more(value: int) -> int:
    if value < 0:
        raise typer.BadParameter(f"must be 0 or more, got {value}")
    return value


def session_id(value: int) -> int:
    # Pods number sessions from 1; 0 is how the status says "none".
    if value < 1:
        raise typer.BadParameter(f"a pod session id is 1 or more, got {value}")
    return value


def one_of(*allowed: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value not in allowed:
            choices = ", ".join(str(a) for a in allowed)
            raise typer.BadParameter(f"must be one of {choices}, got {value}")
        return value

    return check


def scenario_name(value: str | None) -> str | None:
    """A scenario from the library; the error lists them all."""
    if value is None:
        return None
    from heavylegs.sim.scenarios import SCENARIOS

    if value not in SCENARIOS:
        raise typer.BadParameter(f"unknown scenario {value!r}; choose from {', '.join(SCENARIOS)}")
    return value


def pod_address(value: str | None) -> str | None:
    """A pod's BLE address as bleak reports it: six hex pairs in capitals, or a macOS UUID."""
    if value is None:
        return None
    address = value.strip().upper()
    if not (_MAC.match(address) or _UUID.match(address)):
        raise typer.BadParameter(
            f"{value!r} is not a pod address (six hex pairs such as F0:00:00:00:00:01, "
            "or the UUID macOS shows)"
        )
    return address


# Dates a run or a pair of shoes can have: none before 2000 (a typo, not a run),
# none in the future.
EARLIEST_DATE = datetime(2000, 1, 1)
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")


def parse_date(value: str) -> float:
    """A local date (and time) as unix seconds; ValueError says what is wrong with it."""
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            when = datetime.strptime(text, fmt)
        except ValueError:
            continue
        break
    else:
        raise ValueError(f"{value!r} is not a date such as 2026-11-20 or 2026-11-20T07:30")
    if when < EARLIEST_DATE:
        raise ValueError(f"{value!r} is before {EARLIEST_DATE:%Y}; give the date of the run")
    at = when.astimezone().timestamp()
    if at > time.time() + 60:
        raise ValueError(f"{value!r} is in the future")
    return at


def date_value(value: str | None) -> str | None:
    """A typer callback: the date must parse (see parse_date); the command converts it."""
    if value is None:
        return None
    try:
        parse_date(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return value


def output_file(value: Path | None) -> Path | None:
    """A file to write: refused if it names a folder or its folder cannot be written."""
    if value is None:
        return None
    if value.is_dir():
        raise typer.BadParameter(f"{value} is a folder; give the name of the file to write")
    if value.exists() and not value.is_file():
        # the file is replaced by a rename: a device or a pipe would be replaced with it
        raise typer.BadParameter(f"{value} is not a regular file")
    _check_writable_folder(value.parent)
    return value


def pod_folder(value: str) -> Path:
    """A simulated pods' flash folder, made absolute: the pods run in folders of their own.

    An empty name would silently mean the current folder, so it is refused."""
    if not value.strip():
        raise typer.BadParameter("give the folder to keep the simulated pods' flash in")
    return Path(value).expanduser().resolve()


def output_folder(value: Path | None) -> Path | None:
    """A folder to write files into: refused if it is a file or cannot be written."""
    if value is None:
        return None
    if value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file, not a folder")
    _check_writable_folder(value)
    return value


def _check_writable_folder(folder: Path) -> None:
    """The folder, or the nearest part of it that exists, takes a new file.

    Tried with a real file rather than os.access, which says yes to root on
    read-only mounts and on /proc. Nothing is created for a folder that does not
    exist yet: the command creates it when it writes.
    """
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise typer.BadParameter(f"{existing} is a file, so {folder} cannot be a folder")
    try:
        handle, probe = tempfile.mkstemp(dir=existing, prefix=".heavylegs-probe-")
    except OSError as exc:
        raise typer.BadParameter(f"cannot write in {existing}: {exc.strerror}") from exc
    os.close(handle)
    os.unlink(probe)


# --- running a command's coroutine --------------------------------------------------


def run_interruptible(main: Coroutine[Any, Any, T], *, terminate_too: bool = False) -> T:
    """asyncio.run, but once Ctrl-C has cancelled the command, what the radio stack's
    callbacks trip over while it is torn down (a reply to a request just cancelled)
    is not news to the user: the one line saying what was kept is.

    With `terminate_too`, SIGTERM (kill, a closing session) stops the command as
    Ctrl-C does, KeyboardInterrupt included, so what it keeps or removes is settled
    the same way instead of the process dying half way through. It reaches the
    command's task directly, so it works where SIGINT is ignored (a script's
    background job) and asyncio's Ctrl-C handling is not installed."""
    interrupted = False
    task: asyncio.Task[Any] | None = None

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if interrupted or (task is not None and task.cancelling()):
            return
        loop.default_exception_handler(context)

    def terminate() -> None:
        nonlocal interrupted
        if task is not None and not interrupted:
            interrupted = True
            task.cancel()

    async def watched() -> T:
        nonlocal task
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(handle)
        if terminate_too:
            loop.add_signal_handler(signal.SIGTERM, terminate)
        return await main

    with asyncio.Runner() as runner:
        try:
            return runner.run(watched())
        except KeyboardInterrupt:
            interrupted = True
            raise
        except asyncio.CancelledError:
            if not interrupted:
                raise
            raise KeyboardInterrupt from None


# --- Bluetooth --------------------------------------------------------------------


def bluetooth_failure(exc: BaseException) -> str | None:
    """What to tell the user when bleak could not reach a radio; None if `exc` is not that.

    Without BlueZ, bleak's D-Bus connection fails on the system bus socket with a
    plain OSError raised inside dbus-fast: only the frames it came through say so.
    """
    from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakError

    if isinstance(exc, BleakBluetoothNotAvailableError):
        return NO_BLUETOOTH
    if isinstance(exc, BleakDBusError) and "ServiceUnknown" in exc.dbus_error:
        return NO_BLUETOOTH
    if isinstance(exc, BleakError):
        if "adapter" in str(exc).lower():
            return NO_BLUETOOTH
        return f"Bluetooth: {one_line(exc) or exc.__class__.__name__}"
    if isinstance(exc, OSError) and _raised_inside(exc, ("dbus_fast", "bleak")):
        return NO_BLUETOOTH
    return None


def _raised_inside(exc: BaseException, packages: tuple[str, ...]) -> bool:
    for frame in traceback.extract_tb(exc.__traceback__):
        parts = Path(frame.filename).parts
        if any(package in parts for package in packages):
            return True
    return False
