"""`heavylegs merge`: a runner's watch activity (FIT) merged into a run."""

from __future__ import annotations

from pathlib import Path

import typer

from heavylegs.cli.options import DbOption
from heavylegs.errors import HeavylegsError


def merge(
    watch_file: Path = typer.Argument(
        ..., metavar="WATCH.fit", help="the activity as the watch wrote it (a .fit file)"
    ),
    run: int = typer.Argument(
        None, metavar="[RUN]", help="run id; default: the run the activity overlaps in time"
    ),
    replace: bool = typer.Option(
        False, "--replace", help="replace a watch activity merged into the run before"
    ),
    db: Path = DbOption,
) -> None:
    """Merge a watch's activity into a run: pace, distance, heart rate, elevation and laps."""
    from heavylegs.paths import db_path
    from heavylegs.store import Store
    from heavylegs.watch.fit import read_activity
    from heavylegs.watch.merge import merge_activity

    # the file first: a bad file is refused before the store is opened
    activity = read_activity(watch_file)
    path = db_path(db)
    if not path.exists():
        raise HeavylegsError(f"no store at {path}: record or sync a run first")
    with Store(path) as store:
        merged = merge_activity(store, activity, run, replace=replace)
    verb = "replaced the watch activity of" if merged.replaced else "merged into"
    typer.echo(
        f"{activity.device} {activity.source} {verb} run {merged.run.id}: "
        f"{merged.samples} samples, {merged.laps} laps"
    )
    typer.echo(merged.alignment.describe())


def register(app: typer.Typer) -> None:
    app.command()(merge)
