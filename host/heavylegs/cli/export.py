"""`heavylegs export`: a run as a FIT activity, or its strides as CSV or Parquet."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from heavylegs.analysis.session import load_session
from heavylegs.cli.errors import output_file
from heavylegs.cli.options import DbOption
from heavylegs.cli.runs import open_store, pick_run
from heavylegs.errors import HeavylegsError
from heavylegs.export.fit import FitError, LapBounds, encode_activity
from heavylegs.export.tables import to_csv, to_parquet, write_atomically
from heavylegs.paths import db_path


class Format(StrEnum):
    fit = "fit"
    csv = "csv"
    parquet = "parquet"


def export_run(db: Path, run: int | None, fmt: Format, out: Path | None) -> Path:
    with open_store(db) as store:
        info = pick_run(store, run, db)
        if info.imported is not None:
            raise HeavylegsError(
                f"run {info.id} was imported from {info.imported.file_name} as a summary "
                "only: it has no strides to export (the FIT file itself is its record)"
            )
        session = load_session(store, info)
        if not session.feet:
            raise HeavylegsError(f"run {info.id} has no strides to export")
        # a merged watch's laps replace the km laps: the runner pressed those
        laps = [LapBounds(lap.start_s) for lap in store.watch_laps(info.id)]
    try:
        if fmt is Format.fit:
            data = encode_activity(session, laps=laps or None)
        else:
            data = to_csv(session) if fmt is Format.csv else to_parquet(session)
    except FitError as err:
        raise HeavylegsError(str(err)) from err
    target = out if out is not None else db.parent / "exports" / f"run-{info.id}.{fmt.value}"
    return write_atomically(target, data).resolve()


def export(
    run: int | None = typer.Argument(None, help="run id (default: the latest)"),
    fmt: Format | None = typer.Option(
        None, "--format", help="fit, csv or parquet (default: what --out ends in, else fit)"
    ),
    out: Path | None = typer.Option(None, help="file to write", callback=output_file),
    db: Path | None = DbOption,
) -> None:
    """Export a run: a FIT activity with running dynamics, or its strides as CSV or Parquet."""
    print(export_run(db_path(db), run, _format(fmt, out), out))


def _format(fmt: Format | None, out: Path | None) -> Format:
    """The format asked for, or the one --out's name says; a file named for one format
    never holds another, which every reader of it would then misread."""
    named = None if out is None else Format.__members__.get(out.suffix.lower().lstrip("."))
    if fmt is not None and named is not None and fmt is not named:
        raise typer.BadParameter(
            f"{out} is named for {named.value}, but --format is {fmt.value}; "
            f"name it .{fmt.value} or leave out --format",
            param_hint="'--out'",
        )
    return fmt or named or Format.fit


def register(app: typer.Typer) -> None:
    app.command()(export)
