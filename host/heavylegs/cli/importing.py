"""`heavylegs import`: past runs back into a store from our own CSV or Parquet exports,
and from FIT activities (ours or a watch's) as runs known only by their totals."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console

from heavylegs.cli.errors import date_value, parse_date
from heavylegs.cli.options import DbOption
from heavylegs.errors import HeavylegsError
from heavylegs.export.fit import pod_serial
from heavylegs.export.imports import ImportedRun, read_export
from heavylegs.paths import db_path
from heavylegs.store import RunInfo, Store
from heavylegs.store.models import CLASH_TOLERANCE_S, WholeRecording, local_minute, spans_clash
from heavylegs.watch.summary import FitRun, read_fit_run

console = Console()

# How an imported FIT activity's run is marked: `heavylegs runs` names it.
FIT_SOURCE = "import-fit"


def import_runs(
    files: list[Path] = typer.Argument(
        ...,
        help="CSV or Parquet files written by `heavylegs export`, or FIT activities "
        "(ours or a watch's: imported as the run's totals only)",
        dir_okay=False,
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
    from) is reported and skipped, never stored twice or merged. A FIT activity holds
    per-second averages, not strides: it becomes a run with its date, timer time,
    distance and running-dynamics averages that counts in training load and shoe
    mileage, and has no strides to analyse.
    """
    fits = [read_fit_run(path) for path in files if _is_fit(path)]
    fit_paths = {fit.path for fit in fits}
    runs = [read_export(path) for path in files if path not in fit_paths]
    undated = [run for run in runs if run.started_at is None]
    if undated and at is None:
        raise HeavylegsError(f"{undated[0].path} does not say when the run started; give --at DATE")
    if at is not None and not undated:
        raise HeavylegsError(
            f"{files[0]} says when its run started; --at is for a file that does not"
        )
    if len(undated) > 1:
        raise HeavylegsError("--at dates one file; import undated files one at a time")
    starts = {id(run): run.started_at or parse_date(at or "") for run in runs}
    path = db_path(db)
    with Store(path) as store:
        # read once: nothing is stored until every file has been checked against it
        stored = store.runs()
        plan: list[tuple[ImportedRun, float]] = []
        seen: dict[str, Path] = {}
        for run in runs:
            started_at = starts[id(run)]
            if run.digest in seen:
                console.print(f"{run.path}: the same run as {seen[run.digest]}; skipped")
                continue
            held = _held(store, stored, run, started_at)
            if held is not None:
                console.print(
                    f"{run.path}: already in the store as run {held}; nothing imported",
                    highlight=False,
                )
                continue
            seen[run.digest] = run.path
            plan.append((run, started_at))
        spans = [(run.path, start, start + _span_ms(run) / 1000) for run, start in plan]
        fit_plan = _fit_plan(store, stored, fits, spans)
        for run, started_at in plan:
            run_id = _store(store, run, started_at)
            console.print(
                f"imported {run.path} as run {run_id} ({local_minute(started_at)}, "
                f"{run.strides} strides)",
                highlight=False,
            )
        for fit in fit_plan:
            run_id = store.add_summary_run(
                f"imported {fit.path.stem}", FIT_SOURCE, fit.started_at, fit.summary
            )
            console.print(
                f"imported {fit.path} as run {run_id} ({_fit_totals(fit)}; "
                "summary only: no strides to analyse)",
                highlight=False,
            )


def _is_fit(path: Path) -> bool:
    """By content, as a FIT file's header says: a watch names its files as it likes."""
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError:
        return False  # read_export says why it cannot be read
    return len(head) == 12 and head[8:12] == b".FIT"


def _fit_plan(
    store: Store,
    stored: list[RunInfo],
    fits: list[FitRun],
    spans: list[tuple[Path, float, float]],
) -> list[FitRun]:
    """The FIT runs to store, with the pods the store knows; a file imported before,
    or a run the store holds or this import brings (`spans`) at the same time, is
    reported and skipped."""
    known: dict[int, set[str]] = {}
    for info in stored:
        for rec in info.recordings:
            known.setdefault(pod_serial(rec.pod_address), set()).add(rec.pod_address)
    plan: list[FitRun] = []
    for fit in fits:
        held = store.summary_run_of(fit.summary.digest)
        if held is not None:
            console.print(
                f"{fit.path}: already in the store as run {held}; nothing imported",
                highlight=False,
            )
            continue
        same = next((p for p in plan if p.summary.digest == fit.summary.digest), None)
        if same is not None:
            console.print(f"{fit.path}: the same file as {same.path}; skipped", highlight=False)
            continue
        end = fit.started_at + fit.summary.elapsed_s
        clash = next((o for o in stored if o.clashes(fit.started_at, end)), None)
        if clash is not None:
            console.print(
                f"{fit.path}: run {clash.id} in the store covers the same time "
                f"({local_minute(clash.started_at)}); nothing imported",
                highlight=False,
            )
            continue
        taken = [(p.path, p.started_at, p.started_at + p.summary.elapsed_s) for p in plan]
        twin = next(
            (path for path, a, b in spans + taken if spans_clash(a, b, fit.started_at, end)), None
        )
        if twin is not None:
            console.print(f"{fit.path}: the same time as {twin}; skipped", highlight=False)
            continue
        pods = {
            foot: next(iter(known[serial]))
            for foot, serial in fit.pod_serials.items()
            if len(known.get(serial, ())) == 1
        }
        plan.append(replace(fit, summary=replace(fit.summary, pods=pods)))
    return plan


def _fit_totals(fit: FitRun) -> str:
    s = fit.summary
    parts = [local_minute(fit.started_at), f"{s.timer_s / 60:.0f} min"]
    if s.distance_m is not None:
        parts.append(f"{s.distance_m / 1000:.2f} km")
    return ", ".join(parts)


def _held(store: Store, stored: list[RunInfo], run: ImportedRun, started_at: float) -> int | None:
    """The run id if the store holds this run already; a different run over its time
    is refused (merging the two would mix two runs' strides)."""
    for pod, _ in run.feet.values():
        found = store.pod_recordings(pod, run.epoch())
        if found:
            return found[0].run_id
    # The run itself first: a store made before simulated runs were kept apart can
    # hold runs overlapping the one exported, and meeting those first is no reason
    # to call the run's own export another run.
    counts = {foot: len(strides) for foot, (_, strides) in run.feet.items()}
    for other in stored:
        if abs(other.started_at - started_at) < CLASH_TOLERANCE_S and counts == {
            rec.foot: rec.stride_count for rec in other.recordings
        }:
            return other.id
    end = started_at + _span_ms(run) / 1000
    for other in stored:
        if other.imported is not None and other.clashes(started_at, end):
            # its FIT file's totals: storing the strides too would count the run twice
            raise HeavylegsError(
                f"{run.path} covers the time of run {other.id} ({local_minute(other.started_at)}), "
                f"imported from {other.imported.file_name} as a summary only; nothing imported"
            )
        if abs(other.started_at - started_at) >= CLASH_TOLERANCE_S:
            if other.clashes(started_at, end):
                # two runs at once would count the same kilometres twice
                raise HeavylegsError(
                    f"{run.path} overlaps run {other.id} ({local_minute(other.started_at)}), "
                    "which holds other strides; nothing imported"
                )
            continue
        raise HeavylegsError(
            f"{run.path} starts when run {other.id} does ({local_minute(started_at)}) but "
            "holds other strides; nothing imported"
        )
    return None


def _span_ms(run: ImportedRun) -> int:
    """From the run's start to its last stride's end."""
    return max(s[-1].ic_ms + int(s[-1].stride_ms) for _, s in run.feet.values())


def _store(store: Store, run: ImportedRun, started_at: float) -> int:
    recordings = []
    end_ms = _span_ms(run)
    for foot, (pod, strides) in run.feet.items():
        dated = tuple(replace(s, host_time=started_at + s.ic_ms / 1000) for s in strides)
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
