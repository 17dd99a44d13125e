"""`record --sim` and the demo: a simulated run recorded into the store, with a progress bar."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from heavylegs.cli.errors import run_interruptible
from heavylegs.cli.runs import id_ranges, refuse_overlap
from heavylegs.errors import HeavylegsError, Interrupted
from heavylegs.store import Store
from heavylegs.store.models import local_minute

if TYPE_CHECKING:
    from heavylegs.sim.scenarios import Scenario
    from heavylegs.trace import Trace

console = Console()

FEET = ("left", "right")


def record_sim_run(
    db: Path,
    scenario: str,
    minutes: float,
    seed: int,
    pace: str,
    pod_dir: Path | None = None,
    mtu: int = 247,
    pods: int = 2,
    at: float | None = None,
    model: Scenario | None = None,
    timeout_s: float = 20.0,
) -> int:
    """Record a simulated run into `db` with a progress bar; returns the run id.

    With `at` (unix seconds), the run is dated then instead of now: how a history
    of simulated runs is built. `model` replaces the named scenario with one made
    for the occasion (the demo's).

    With one pod, only the left foot's pod is booted. Stopped part way (Ctrl-C)
    or failed, the strides stored so far stay as their run, and a run without a
    stride is removed: an empty run must never become the latest one. SIGTERM
    stops it as Ctrl-C does. `timeout_s` bounds the wait for the pods to show up
    and, once running, to send their next stride.
    """
    from heavylegs.cli.simulated import Progress as SimProgress
    from heavylegs.cli.simulated import record_simulated

    # Absolute: the pods run in folders of their own (see SimPod).
    pod_dir = pod_dir.resolve() if pod_dir is not None else None
    traces_dir = (pod_dir / "traces") if pod_dir is not None else db.parent / "traces"
    started_runs: list[int] = []
    # Simulated in memory, then the store is opened, then the traces are written:
    # a run the model refuses creates no store, a damaged store gets no traces.
    simulated = _simulate(model or scenario, minutes, seed, FEET[:pods])
    with Store(db) as store:
        if at is not None:
            refuse_overlap(store, at, minutes * 60.0)
        else:
            at = _after_unfinished(store, minutes * 60.0)
        traces = {
            foot: trace.write(traces_dir / f"{scenario}-{foot}.hltrace")
            for foot, trace in simulated.items()
        }
        with Progress(
            TextColumn("[bold]recording simulated pods"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("record", total=minutes * 60.0, detail="starting pods")

            def show(p: SimProgress) -> None:
                detail = f"{p.strides} strides, {p.sensor_s / 60:.1f} min"
                bar.update(task, completed=p.sensor_s, detail=detail)

            started = time.monotonic()
            try:
                run_id = run_interruptible(
                    record_simulated(
                        store,
                        traces,
                        duration_s=minutes * 60.0,
                        run_name=f"simulated {scenario} run",
                        pace=pace,
                        on_progress=show,
                        pod_dir=pod_dir,
                        central_mtu=mtu,
                        on_run=started_runs.append,
                        scan_timeout_s=timeout_s,
                        silence_s=timeout_s,
                    ),
                    terminate_too=True,
                )
            except KeyboardInterrupt as exc:
                bar.stop()
                kept = _keep_or_drop(store, started_runs, at)
                raise Interrupted(f"interrupted; {kept}") from exc
            except HeavylegsError as exc:
                bar.stop()
                raise HeavylegsError(f"{exc}; {_keep_or_drop(store, started_runs, at)}") from exc
            except BaseException:
                _keep_or_drop(store, started_runs, at)
                raise
            if store.drop_run_if_empty(run_id):
                raise HeavylegsError(f"the simulated pods sent no stride in {minutes:g} min")
            if at is not None:
                store.shift_run(run_id, at - store.run(run_id).started_at)
            apart = _kept_apart(store, run_id)
            bar.update(task, completed=minutes * 60.0)
    console.print(f"recorded run {run_id} in {time.monotonic() - started:.1f} s{apart}")
    return run_id


def _simulate(
    scenario: str | Scenario, minutes: float, seed: int, feet: tuple[str, ...]
) -> dict[str, Trace]:
    """The scenario's trace for each foot that has a pod."""
    from heavylegs.sim.scenarios import scenario as find_scenario

    try:
        model = find_scenario(scenario) if isinstance(scenario, str) else scenario
        traces = model.simulate(minutes=minutes, seed=seed)
    except KeyError as exc:
        raise HeavylegsError(str(exc.args[0])) from exc
    except ValueError as exc:
        raise HeavylegsError(f"cannot simulate {minutes:g} min of {scenario}: {exc}") from exc
    return {foot: trace for foot, trace in traces.items() if foot in feet}


def _keep_or_drop(store: Store, run_ids: list[int], at: float | None) -> str:
    """Keep a stopped recording's run if it holds strides, else remove it; says which.

    A kept run is dated `at` as a finished one would be: its strides are no less
    that run's for having been cut short."""
    if not run_ids or store.drop_run_if_empty(run_ids[0]):
        return "nothing recorded" + _kept_apart(store, run_ids[0] if run_ids else None)
    run = store.run(run_ids[0])
    if at is not None:
        store.shift_run(run.id, at - run.started_at)
    return f"run {run.id} keeps {run.stride_count} strides" + _kept_apart(store, run.id)


def _kept_apart(store: Store, run_id: int | None) -> str:
    """Says which runs of kept-apart strides this recording made (see
    RunInfo.kept_apart): none of them is the latest run, so they must be told."""
    if run_id is None:
        return ""
    made = [r.id for r in store.runs() if r.id > run_id and r.kept_apart]
    if not made:
        return ""
    return f"; strides that differ from the stored ones are kept apart in run {id_ranges(made)}"


def _after_unfinished(store: Store, seconds: float) -> float | None:
    """When a simulated run starting now must start instead; None for now.

    At fast pace a simulated hour is recorded in a minute, so a run started now
    can fall inside the simulated time of one just recorded. The runner cannot
    run two runs at once (one would count the other's load twice), and refusing
    would make the user wait out simulated time for nothing: the new run starts
    where the last run it would overlap ends."""
    start = time.time()
    moved = False
    while clash := [r for r in store.runs() if r.clashes(start, start + seconds)]:
        start = max(r.end_at for r in clash)
        moved = True
    if moved:
        console.print(f"dated {local_minute(start)}, after the simulated time of the runs before")
    return start if moved else None
