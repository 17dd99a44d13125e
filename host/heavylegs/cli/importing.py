"""`heavylegs import`: past runs back into a store from our own CSV or Parquet exports."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console

from heavylegs.cli.errors import date_value, parse_date
from heavylegs.cli.options import DbOption
from heavylegs.errors import HeavylegsError
from heavylegs.export.imports import ImportedRun, read_export
from heavylegs.paths import db_path
from heavylegs.store import Store
from heavylegs.store.models import WholeRecording, local_minute

console = Console()

# Two runs starting within this of each other are the same run, or a clash.
SAME_START_S = 1.0


def import_runs(
    files: list[Path] = typer.Argument(
        ..., help="CSV or Parquet files written by `heavylegs export`", dir_okay=False
    ),
    at: str | None = typer.Option(
        None,
        "--at",
        help="start of the run, for a file that does not say (e.g. 2026-11-20T07:30)",
        callback=date_value,
    ),
    db: Path | None = DbOption,
) -> None:
    """Import past runs; every file is checked before anything is stored.

    A run the store already holds (the same file again, or the run it was exported
    from) is reported and skipped, never stored twice or merged.
    """
    runs = [read_export(path) for path in files]
    undated = [run for run in runs if run.started_at is None]
    if undated and at is None:
        raise HeavylegsError(f"{undated[0].path} does not say when the run started; give --at DATE")
    if at is not None and not undated:
        raise HeavylegsError(
            f"{runs[0].path} says when its run started; --at is for a file that does not"
        )
    if len(undated) > 1:
        raise HeavylegsError("--at dates one file; import undated files one at a time")
    starts = {id(run): run.started_at or parse_date(at or "") for run in runs}
    path = db_path(db)
    with Store(path) as store:
        plan: list[tuple[ImportedRun, float]] = []
        seen: dict[str, Path] = {}
        for run in runs:
            started_at = starts[id(run)]
            if run.digest in seen:
                console.print(f"{run.path}: the same run as {seen[run.digest]}; skipped")
                continue
            held = _held(store, run, started_at)
            if held is not None:
                console.print(
                    f"{run.path}: already in the store as run {held}; nothing imported",
                    highlight=False,
                )
                continue
            seen[run.digest] = run.path
            plan.append((run, started_at))
        for run, started_at in plan:
            run_id = _store(store, run, started_at)
            console.print(
                f"imported {run.path} as run {run_id} ({local_minute(started_at)}, "
                f"{run.strides} strides)",
                highlight=False,
            )


def _held(store: Store, run: ImportedRun, started_at: float) -> int | None:
    """The run id if the store holds this run already; a different run at the same
    start is refused (merging the two would mix two runs' strides)."""
    for pod, _ in run.feet.values():
        found = store.pod_recordings(pod, run.epoch())
        if found:
            return found[0].run_id
    for other in store.runs():
        if abs(other.started_at - started_at) >= SAME_START_S:
            continue
        counts = {rec.foot: rec.stride_count for rec in other.recordings}
        if counts == {foot: len(strides) for foot, (_, strides) in run.feet.items()}:
            return other.id
        raise HeavylegsError(
            f"{run.path} starts when run {other.id} does ({local_minute(started_at)}) but "
            "holds other strides; nothing imported"
        )
    return None


def _store(store: Store, run: ImportedRun, started_at: float) -> int:
    recordings = []
    end_ms = 0
    for foot, (pod, strides) in run.feet.items():
        dated = tuple(replace(s, host_time=started_at + s.ic_ms / 1000) for s in strides)
        end_ms = max(end_ms, strides[-1].ic_ms + int(strides[-1].stride_ms))
        recordings.append(
            WholeRecording(
                pod_address=pod,
                pod_name=f"pod-{foot}",
                foot=foot,
                pod_session=1,
                firmware="import",
                epoch=run.epoch(),
                strides=dated,
                acc_fs_g=run.impact_limit_g.get(foot),
            )
        )
    return store.add_whole_run(
        run.name, "import", started_at, started_at + end_ms / 1000, recordings
    )


def register(app: typer.Typer) -> None:
    app.command("import")(import_runs)
