"""Commands that talk to pods: scan, record (live), sync (journal), drop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from heavylegs.cli.errors import (
    MAX_MINUTES,
    MAX_TIMEOUT_S,
    bluetooth_failure,
    date_value,
    number_in,
    one_of,
    parse_date,
    pod_folder,
    run_interruptible,
    scenario_name,
    seed_value,
    session_id,
)
from heavylegs.cli.options import DbOption
from heavylegs.cli.sim_record import record_sim_run
from heavylegs.errors import HeavylegsError, Interrupted
from heavylegs.link.client import Backends
from heavylegs.link.describe import describe_dates, describe_gaps
from heavylegs.link.ingest import SyncProgress
from heavylegs.link.keys import KeyStore
from heavylegs.link.pods import Recorder, find_pods
from heavylegs.link.pods import scan as scan_pods
from heavylegs.link.sync import Syncer
from heavylegs.paths import db_path
from heavylegs.store import Store
from heavylegs.store.backup import backup_store

console = Console()

PodDirOption = typer.Option(
    None,
    "--pod-dir",
    parser=pod_folder,
    help="with --sim: keep the simulated pods' flash (journal, key) in this folder, "
    "so record --sim and sync --sim meet the same pods",
)


# Any, as typer.Option itself returns: typer reads the option from the default.
def _timeout_option(default: float, help: str) -> Any:
    return typer.Option(default, help=help, callback=number_in(0, MAX_TIMEOUT_S, "seconds"))


class Pace(StrEnum):
    fast = "fast"
    realtime = "realtime"


@contextlib.asynccontextmanager
async def _radio(sim: bool, pod_dir: Path | None) -> AsyncIterator[tuple[Backends, KeyStore]]:
    """The real radio and this host's keys, or simulated pods booted from pod_dir."""
    if not sim:
        yield Backends(), KeyStore()
        return
    # Loaded only here: the simulator (bumble) takes a second a real pod need not wait.
    from heavylegs.cli.simulated import sim_environment

    async with sim_environment(pod_dir) as radio:
        yield radio


def scan(
    sim: bool = typer.Option(False, "--sim", help="scan simulated pods instead of the radio"),
    timeout: float = _timeout_option(5.0, "seconds to listen"),
    pod_dir: Path | None = PodDirOption,
) -> None:
    """List the heavylegs pods in range."""

    async def go() -> None:
        async with _radio(sim, pod_dir) as (backends, _keys):
            found = await scan_pods(timeout, backends, want=2 if sim else None)
        table = Table("name", "address", "RSSI")
        for result in found:
            table.add_row(result.name, result.device.address, str(result.rssi))
        console.print(table)
        console.print(f"{len(found)} pod(s)")

    _run(go)


def record(
    sim: bool = typer.Option(False, "--sim", help="record simulated pods instead of real ones"),
    pods: int = typer.Option(2, help="how many pods to record (1 or 2)", callback=one_of(1, 2)),
    scenario: str = typer.Option(
        "easy",
        help="with --sim: scenario to run (see heavylegs sim --list)",
        callback=scenario_name,
    ),
    minutes: float = typer.Option(
        3.0, help="with --sim: run length", callback=number_in(0, MAX_MINUTES, "minutes")
    ),
    seed: int = typer.Option(1, help="random seed of the simulation", callback=seed_value),
    pace: Pace = typer.Option(Pace.fast, help="with --sim: fast (as fast as possible) or realtime"),
    pod_dir: Path | None = PodDirOption,
    timeout: float = _timeout_option(20.0, "seconds to look for the pods"),
    at: str | None = typer.Option(
        None,
        "--at",
        help="with --sim: the run's start, e.g. 2026-11-20 or 2026-11-20T07:30 (default: now)",
        callback=date_value,
    ),
    db: Path | None = DbOption,
) -> None:
    """Record a run live from one or two pods (Ctrl-C ends a real recording)."""
    if sim:
        when = None if at is None else parse_date(at)
        record_sim_run(
            db_path(db),
            scenario,
            minutes,
            seed,
            pace.value,
            pod_dir,
            pods=pods,
            at=when,
            timeout_s=timeout,
        )
        return
    if at is not None:
        raise typer.BadParameter("only a simulated run (--sim) can be dated", param_hint="'--at'")

    async def go() -> None:
        backends = Backends()
        devices = await find_pods(pods, timeout, backends)
        with Store(db_path(db)) as store:
            recorder = Recorder(
                store, backends, run_name="live run", source="live", keys=KeyStore()
            )
            try:
                await recorder.connect(devices)
                stop = asyncio.Event()
                flusher = asyncio.create_task(recorder.run_until(stop))
                with Live(_live_table(recorder), console=console, refresh_per_second=2) as live:
                    try:
                        while True:
                            await asyncio.sleep(0.5)
                            live.update(_live_table(recorder))
                    except asyncio.CancelledError:
                        pass
                stop.set()
                await flusher
            finally:
                await recorder.close()
            if recorder.run_id is None or store.drop_run_if_empty(recorder.run_id):
                console.print("nothing recorded")
                return
            console.print(f"recorded run {recorder.run_id}")
            for line in recorder.warnings:
                console.print(f"  [yellow]{line}[/]", soft_wrap=True)

    _run(go)


def _live_table(recorder: Recorder) -> Table:
    summary = recorder.live_summary()
    table = Table("foot", "cadence (steps/min)", "contact (ms)", "strides", "link")
    for foot in ("left", "right"):
        if foot in summary:
            s = summary[foot]
            table.add_row(
                foot,
                f"{s['cadence_spm']:.0f}",
                f"{s['gct_ms']:.0f}",
                str(s["strides"]),
                "up" if s["connected"] else "reconnecting",
            )
    if summary.get("balance_pct") is not None:
        table.caption = f"contact-time balance L {summary['balance_pct']:.1f} %"
    return table


def sync(
    sim: bool = typer.Option(False, "--sim", help="sync simulated pods instead of real ones"),
    pods: int = typer.Option(
        0, help="how many pods to wait for (0: every pod heard)", callback=one_of(0, 1, 2)
    ),
    pod_dir: Path | None = PodDirOption,
    erase: bool = typer.Option(False, help="erase the sessions on the pods once synced"),
    timeout: float = _timeout_option(5.0, "seconds to look for pods"),
    db: Path | None = DbOption,
) -> None:
    """Pull every unsynced session from the pods' journals into the store."""
    failed: list[str] = []

    async def go() -> None:
        async with _radio(sim, pod_dir) as (backends, keys):
            found = await scan_pods(timeout, backends, want=pods or None)
            if pods and len(found) < pods:
                raise HeavylegsError(f"found {len(found)} pod(s), wanted {pods}")
            # Before anything writes: a damaged store stops here, and a sync gone
            # wrong can be undone from the copy.
            backup_store(db_path(db), "erase" if erase else "sync")
            with (
                Store(db_path(db)) as store,
                Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    TextColumn("{task.completed}/{task.total} strides"),
                    TimeElapsedColumn(),
                    console=console,
                ) as bar,
            ):
                tasks: dict[tuple[str, int], TaskID] = {}

                def show(p: SyncProgress) -> None:
                    key = (p.pod, p.session)
                    if key not in tasks:
                        tasks[key] = bar.add_task(f"{p.pod} session {p.session}", total=p.total)
                    bar.update(tasks[key], completed=p.done, total=max(p.total, p.done))

                syncer = Syncer(store, backends, keys, on_progress=show, erase_synced=erase)
                for result in found:
                    # One pod's failure is its own: the next pod is synced all the same.
                    try:
                        report = await syncer.sync(result.device)
                    except HeavylegsError as exc:
                        failed.append(result.name)
                        console.print(f"[red]error:[/] {exc}", soft_wrap=True)
                        continue
                    console.print(report.summary(), soft_wrap=True)
                    for line in (
                        describe_gaps(store, report)
                        + describe_dates(store, report)
                        + report.warnings
                    ):
                        console.print(f"  [yellow]{line}[/]", soft_wrap=True)
                    if erase:
                        console.print(
                            f"  erased {len(report.erased)} session(s) the store holds in full",
                            soft_wrap=True,
                        )

    _run(go)
    if failed:
        console.print(
            f"[red]sync incomplete:[/] {', '.join(failed)} failed; the other pods are synced",
            soft_wrap=True,
        )
        raise typer.Exit(2)


def drop(
    session: int = typer.Argument(
        ..., help="the pod's session id (as sync lists it)", callback=session_id
    ),
    pod: str = typer.Option(..., "--pod", help="the pod's name or BLE address"),
    force: bool = typer.Option(
        False, "--force", help="erase it even if the store does not hold all of it"
    ),
    sim: bool = typer.Option(False, "--sim", help="a simulated pod instead of a real one"),
    pod_dir: Path | None = PodDirOption,
    timeout: float = _timeout_option(5.0, "seconds to look for the pod"),
    db: Path | None = DbOption,
) -> None:
    """Erase one session from a pod's journal (a damaged one sync cannot finish)."""
    failed: list[str] = []

    async def go() -> None:
        async with _radio(sim, pod_dir) as (backends, keys):
            found = await scan_pods(timeout, backends)
            wanted = pod.casefold()
            matches = [
                r for r in found if wanted in (r.name.casefold(), r.device.address.casefold())
            ]
            if not matches:
                heard = ", ".join(f"{r.name} ({r.device.address})" for r in found) or "none"
                failed.append(f"no pod named {pod} in range (heard: {heard})")
                return
            backup_store(db_path(db), "drop")
            with Store(db_path(db)) as store:
                syncer = Syncer(store, backends, keys)
                try:
                    console.print(
                        await syncer.drop(matches[0].device, session, force=force),
                        soft_wrap=True,
                    )
                except HeavylegsError as exc:
                    failed.append(str(exc))

    _run(go)
    if failed:
        console.print(f"[red]error:[/] {failed[0]}", soft_wrap=True)
        raise typer.Exit(2)


def _run(go: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a command's coroutine; a missing radio or a Ctrl-C becomes one line."""
    try:
        run_interruptible(go())
    except KeyboardInterrupt as exc:
        raise Interrupted("interrupted; what was stored before stays in the store") from exc
    except Exception as exc:
        if (message := bluetooth_failure(exc)) is not None:
            raise HeavylegsError(message) from exc
        raise


def register(app: typer.Typer) -> None:
    app.command()(scan)
    app.command()(record)
    app.command()(sync)
    app.command()(drop)
