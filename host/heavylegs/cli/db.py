"""`heavylegs db check | recover | backup`: look after the store file itself."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from heavylegs.cli.options import DbOption
from heavylegs.errors import HeavylegsError
from heavylegs.paths import db_path
from heavylegs.store.backup import DEFAULT_KEEP, backup_store, backups_dir, list_backups
from heavylegs.store.recover import (
    MAIN_TABLES,
    HealthReport,
    RecoveryReport,
    check_store,
    recover_store,
    replace_with_recovered,
)
from heavylegs.store.salvage import TableScan

# Same as a usage error: the command could not do what was asked with what it was given.
_EXIT_BAD = 2

db_app = typer.Typer(
    help=(
        "Check, back up and recover the store. A store that SQLite finds damaged is "
        "never changed here: `check` reads a copy, `recover` writes a new file."
    ),
    no_args_is_help=True,
)


@db_app.command()
def check(db: Path | None = DbOption) -> None:
    """Run SQLite's integrity check and count what every table can still give.

    Exit code 0 when the store is sound, 2 when it is damaged or cannot be read.
    """
    path = db_path(db)
    try:
        report = check_store(path)
    except HeavylegsError as exc:
        _fail(exc)
    for line in _health_lines(report):
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(_EXIT_BAD)


@db_app.command()
def recover(
    db: Path | None = DbOption,
    out: Path | None = typer.Option(
        None, "--out", help="new file for the recovered store (default: beside the store)"
    ),
    replace: bool = typer.Option(
        False,
        "--replace",
        help="then move the damaged file aside (<name>.damaged-<time>) and put the "
        "recovered store in its place",
    ),
) -> None:
    """Copy everything readable from a damaged store into a new store file.

    The damaged file is never changed. Runs, recordings and strides on readable
    pages are kept; each table's rows kept and lost are printed.
    """
    path = db_path(db)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target = out if out is not None else path.with_name(f"{path.stem}-recovered-{stamp}.db")
    try:
        report = recover_store(path, target)
        for line in _recovery_lines(report):
            typer.echo(line)
        if replace:
            aside = replace_with_recovered(path, target)
            typer.echo(f"{path} is now the recovered store; the damaged file is {aside}")
        else:
            typer.echo(
                f"{path} was not changed. To use the recovered store, stop any running "
                f"heavylegs command, move {path} (and {path.name}-wal if present) aside "
                f"and rename {target} to {path.name}, or run again with --replace."
            )
    except (HeavylegsError, OSError) as exc:
        _fail(exc)


@db_app.command()
def backup(
    db: Path | None = DbOption,
    keep: int = typer.Option(DEFAULT_KEEP, help="how many backups to keep (oldest go first)"),
) -> None:
    """Back up the store now (sync and erase do this themselves before they write)."""
    path = db_path(db)
    try:
        if keep < 1:
            raise ValueError(f"--keep must be 1 or more, got {keep}")
        made = backup_store(path, "manual", keep)
        if made is None:
            raise HeavylegsError(f"no store at {path}: nothing to back up")
    except (HeavylegsError, ValueError) as exc:
        _fail(exc)
    typer.echo(f"backed up {path} to {made} (keeping the last {keep} in {backups_dir(path)})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


def _fail(exc: BaseException) -> None:
    message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(_EXIT_BAD) from exc


def _health_lines(report: HealthReport) -> list[str]:
    verdict = "ok" if report.ok else "DAMAGED"
    lines = [f"{report.path}: {verdict}"]
    if report.problems:
        # not all are SQLite's own: "no heavylegs tables" is ours
        lines.append(f"  the check found {len(report.problems)} problem(s):")
        lines.extend(f"    {problem}" for problem in report.problems[:10])
        if len(report.problems) > 10:
            lines.append(f"    … and {len(report.problems) - 10} more")
    else:
        lines.append("  SQLite's integrity check: no problems")
    lines.extend(f"  note: {note}" for note in report.notes)
    lines.append("  readable:" if report.tables else "  readable: nothing")
    lines.extend(f"    {_table_line(scan, 'readable')}" for scan in _ordered(report.tables))
    if not report.ok and report.tables:
        lines.append(
            f"  to copy what is readable into a new file: heavylegs db recover --db {report.path}"
        )
        saved = list_backups(report.path)
        if saved:
            lines.append(
                f"  {len(saved)} backup(s) of this store are in "
                f"{saved[-1].parent}; the newest is {saved[-1].name}"
            )
    return lines


def _recovery_lines(report: RecoveryReport) -> list[str]:
    lines = [f"recovered {report.source} into {report.out}"]
    lines.extend(f"  note: {note}" for note in report.notes)
    lines.extend(f"  {_table_line(scan, 'kept')}" for scan in _ordered(report.tables))
    return lines


def _ordered(tables: list[TableScan]) -> list[TableScan]:
    rank = {name: i for i, name in enumerate(MAIN_TABLES)}
    return sorted(tables, key=lambda scan: rank.get(scan.table, len(rank)))


def _table_line(scan: TableScan, verb: str) -> str:
    if scan.unreadable is not None:
        return f"{scan.table}: unreadable ({scan.unreadable})"
    if scan.counted is None:
        text = f"{scan.table}: {scan.kept} {verb}, how many were lost is unknown"
    elif scan.lost:
        text = f"{scan.table}: {scan.kept} of {scan.counted} {verb}, {scan.lost} lost"
    else:
        text = f"{scan.table}: {scan.kept} {verb}, none lost"
    details = []
    if scan.skipped:
        details.append("unreadable from " + "; from ".join(scan.skipped))
    if scan.from_orphan_pages:
        details.append(f"{scan.from_orphan_pages} of them found on pages cut off from the table")
    if scan.rejected:
        details.append(f"{scan.rejected} read but damaged or orphaned, not kept")
    return text + (f" ({'; '.join(details)})" if details else "")
