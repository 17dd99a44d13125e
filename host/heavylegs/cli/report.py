"""Commands that turn stored runs into something to look at, and the after-run check-in."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from heavylegs.analysis import Diary, analyse_run
from heavylegs.cli.errors import fail, output_file
from heavylegs.cli.options import DbOption
from heavylegs.cli.runs import open_store, pick_run
from heavylegs.errors import HeavylegsError
from heavylegs.paths import db_path
from heavylegs.report.html import HISTORY_PAGE, write_report
from heavylegs.report.summary import print_analysis, print_summary
from heavylegs.report.terms import UNITS, Units, checkin_sentence
from heavylegs.store.diary import SCALES, CheckIn

console = Console()


def write_run_report(
    db: Path, run: int | None, out: Path | None, units: Units | None = None
) -> Path:
    """Write the report of `run` (default: latest), the history page beside it, and print
    its summary; returns the report's path."""
    with open_store(db) as store:
        info = pick_run(store, run, db)
        target = out if out is not None else db.parent / "reports" / f"run-{info.id}.html"
        analysis = analyse_run(store, info)
        write_report(store, info.id, target, analysis=analysis, units=units)
        print_summary(store, info.id, console, analysis.session.feet, units)
        print_analysis(analysis, console)
    console.print(f"all runs: {(target.parent / HISTORY_PAGE).resolve()}", highlight=False)
    return target.resolve()


def units_name(value: str) -> str:
    if value not in UNITS:
        raise typer.BadParameter(f"choose metric or imperial, got {value!r}")
    return value


def report(
    run: int | None = typer.Argument(None, help="run id (default: the latest)"),
    db: Path | None = DbOption,
    out: Path | None = typer.Option(None, help="HTML file to write", callback=output_file),
    units: str = typer.Option(
        "metric", help="metric (km, min/km) or imperial (mi, min/mi)", callback=units_name
    ),
) -> None:
    """Write the HTML report of a run (and the history page beside it) and print its
    summary, flags and likely causes."""
    print(write_run_report(db_path(db), run, out, Units(units)))


def checkin(
    run: int | None = typer.Argument(None, help="run id (default: the latest)"),
    sleep: float | None = typer.Option(None, help="hours slept last night"),
    effort: int | None = typer.Option(None, help=SCALES["effort"][2]),
    legs: int | None = typer.Option(None, help=SCALES["legs"][2]),
    strength: bool | None = typer.Option(
        None, "--strength/--no-strength", help="strength work for the legs the day before"
    ),
    fuelling: int | None = typer.Option(None, help=SCALES["fuelling"][2]),
    hydration: int | None = typer.Option(None, help=SCALES["hydration"][2]),
    note: str | None = typer.Option(None, help="anything else worth remembering"),
    db: Path | None = DbOption,
) -> None:
    """Quick self-report after a run; without options it asks (Enter skips a question)."""
    path = db_path(db)
    given = CheckIn()
    try:
        # a blank note is no answer, as Enter is when asked
        note = (note or "").strip() or None
        given = CheckIn(sleep, effort, legs, strength, fuelling, hydration, note)
        if given.is_empty():
            if not _interactive():
                raise HeavylegsError(
                    "give at least one answer, e.g. --legs 4 --sleep 6.5 (see --help)"
                )
            given = _ask()
        with open_store(path) as store:
            info = pick_run(store, run, path)
        with Diary(path) as diary:
            saved = diary.record_checkin(info.id, given)
    except ValueError as exc:
        fail(exc)
    console.print(f"check-in for run {info.id}: {checkin_sentence(saved)}", highlight=False)


def _interactive() -> bool:
    return sys.stdin.isatty()


def _ask() -> CheckIn:
    """The questions in the order a runner thinks of them; a bad answer asks again."""

    def number(question: str, cast: type[float], low: float, high: float) -> float | None:
        while True:
            answer = typer.prompt(question, default="", show_default=False).strip()
            if not answer:
                return None
            try:
                value = cast(answer)
            except ValueError:
                value = None
            if value is not None and low <= value <= high:
                return value
            console.print(f"  answer {low:g} to {high:g}, or press Enter to skip")

    def scale(name: str) -> int | None:
        low, high, meaning = SCALES[name]
        value = number(meaning[0].upper() + meaning[1:], int, low, high)
        return None if value is None else int(value)

    sleep_h = number("Hours slept last night", float, 0, 24)
    effort = scale("effort")
    legs = scale("legs")
    strength = typer.prompt(
        "Leg strength work the day before? (y/n)", default="", show_default=False
    ).strip()
    fuelling = scale("fuelling")
    hydration = scale("hydration")
    note = typer.prompt("Note", default="", show_default=False).strip() or None
    return CheckIn(
        sleep_h=sleep_h,
        effort=effort,
        legs=legs,
        strength_before=None if not strength else strength.lower().startswith("y"),
        fuelling=fuelling,
        hydration=hydration,
        note=note,
    )


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(checkin)
