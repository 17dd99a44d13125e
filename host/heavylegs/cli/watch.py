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
        None, metavar="RUN", help="run id; default: the run the activity overlaps in time"
    ),
    replace: bool = typer.Option(
        False, "--replace", help="replace a watch activity merged into the run before"
    ),
    db: Path = DbOption,
) -> None:
    """Merge a watch's activity into a run: pace, distance, heart rate, elevation and laps."""
    from heavylegs.cli.runs import open_store, pick_run
    from heavylegs.paths import db_path
    from heavylegs.watch.fit import read_activity
    from heavylegs.watch.merge import merge_activity

    # the file first: a bad file is refused before the store is opened
    activity = read_activity(watch_file)
    if activity.from_heavylegs:
        # merged, the pods' own estimates would be read as the watch's truth
        raise HeavylegsError(
            f"{watch_file.name} was written by `heavylegs export`, not by a watch; "
            "merge the activity file the watch wrote"
        )
    path = db_path(db)
    with open_store(path) as store:
        if run is not None:
            pick_run(store, run, path)  # an unknown run is refused naming the runs there are
        merged = merge_activity(store, activity, run, replace=replace)
    verb = "replaced the watch activity of" if merged.replaced else "merged into"
    typer.echo(
        f"{activity.device} {activity.source} {verb} run {merged.run.id}: "
        f"{merged.samples} samples, {merged.laps} laps"
    )
    typer.echo(merged.alignment.describe())


def register(app: typer.Typer) -> None:
    app.command()(merge)


def follow_watch(
    watch_file: Path,
    out: Path,
    *,
    minutes: float | None,
    seed: int,
    db: Path | None,
    clock_offset_s: float,
) -> None:
    """`heavylegs sim --follow`: a simulated run over the watch activity's course.

    With `db`, the stride-level generator stores the whole run there in seconds (its
    pods' clock `clock_offset_s` off the watch's); otherwise the gait model writes
    sensor traces for the firmware to replay (about real time per simulated minute).
    """
    from heavylegs.cli.runs import refuse_overlap
    from heavylegs.sim.follow import Course, follow_scenario, store_followed_run
    from heavylegs.store import Store
    from heavylegs.watch.fit import read_activity

    activity = read_activity(watch_file)
    course = Course(
        started_at=activity.start_s,
        t_s=activity.t_s - activity.start_s,
        speed_mps=activity.speed_mps,
        grade_pct=activity.grade_pct,
        cadence_spm=activity.cadence_spm,
    )
    if minutes is not None:
        course = course.sliced(minutes)
    name = f"follows {activity.source}"
    if db is not None:
        with Store(db) as store:
            refuse_overlap(
                store, course.started_at + clock_offset_s, course.duration_s, "--follow",
                "another activity, or another store",
            )  # fmt: skip
            try:
                run_id = store_followed_run(
                    store, course, clock_offset_s=clock_offset_s, seed=seed, name=name
                )
            except ValueError as exc:
                raise HeavylegsError(f"cannot follow {activity.source}: {exc}") from exc
        typer.echo(f"run {run_id}: {course.duration_s / 60:.1f} min following {activity.source}")
        return
    scenario = follow_scenario(course, name="follow")
    try:
        traces = scenario.simulate(seed=seed)
    except ValueError as exc:
        raise HeavylegsError(f"cannot follow {activity.source}: {exc}") from exc
    for foot, trace in traces.items():
        # the watch's start time travels with the traces, for a recording to date by
        trace.header.meta["started_at"] = course.started_at
        typer.echo(f"{foot}: {trace.write(out / f'follow-{foot}.hltrace')}")
