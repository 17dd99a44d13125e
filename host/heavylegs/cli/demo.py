"""`heavylegs demo`: a month of simulated history, then a run recorded through the real
firmware and the simulated radio in which the legs get heavy, reported.

Each demo builds a fresh store and puts it in place of the previous demo's, so a
second demo tells the same story again: appending to the old store would add a
second "today" run, double the last week's load and change the story. A store that
holds anything the demo did not write (a user's run, check-in, shoes or watch
activity) is never replaced.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from heavylegs.cli.errors import MAX_MINUTES, number_in, output_folder
from heavylegs.cli.report import write_run_report
from heavylegs.cli.sim_record import record_sim_run
from heavylegs.errors import HeavylegsError
from heavylegs.store import Store
from heavylegs.store.diary import CheckIn, Diary

if TYPE_CHECKING:
    from heavylegs.sim.scenarios import Scenario

# What the demo writes and may replace: sources of simulated runs only.
_SIMULATED_SOURCES = ("synthetic", "live-sim-fast", "live-sim-realtime")
DEMO_SHOES = "Demo trainers"
DEMO_SCENARIO = "demo-fatigue"
# what a runner after a short night and a heavy week would answer
DEMO_CHECKIN = CheckIn(sleep_h=5.5, effort=6, legs=4, note="simulated check-in (demo)")


def demo(
    minutes: float = typer.Option(
        16.0,
        help="length of the run recorded through the firmware",
        callback=number_in(0, MAX_MINUTES, "minutes"),
    ),
    out: Path = typer.Option(
        Path("out/demo"), help="where the store and report go", callback=output_folder
    ),
) -> None:
    """A month of simulated runs, then a run recorded over the simulated radio in which
    the legs get heavy; stored and reported (everything in it is simulated)."""
    db = out / "heavylegs.db"
    _refuse_foreign(db)
    build = out / ".demo-build"
    shutil.rmtree(build, ignore_errors=True)
    fresh = build / "heavylegs.db"
    now = time.time()
    write_history(fresh, now)
    run_id = record_sim_run(fresh, DEMO_SCENARIO, minutes, 1, "fast", model=_demo_scenario(minutes))
    with Diary(fresh) as diary:
        diary.record_checkin(run_id, DEMO_CHECKIN)
    _put_in_place(build, out)
    path = write_run_report(db, run_id, out / "report.html")
    # Last line: the report's path, for scripts and for the person who ran make demo.
    print(path)


def _refuse_foreign(db: Path) -> None:
    """Only a store exactly as a demo left it may be replaced: anything a user added to
    it (a run, a check-in, shoes, a watch activity) would be lost."""
    if not db.exists():
        return
    with Store(db) as store:
        runs = store.runs()
        merged = [run.id for run in runs if store.watch_merge(run.id) is not None]
    foreign = [run for run in runs if run.source not in _SIMULATED_SOURCES]
    # the demo records one run; the first is its own
    recorded = [run.id for run in runs if run.source != "synthetic"]
    users = [
        *(f"runs that are not simulated (run {run.id}, {run.source})" for run in foreign[:1]),
        *(f"a run it did not record (run {run_id})" for run_id in recorded[1:2]),
        *(f"a watch activity merged into run {run_id}" for run_id in merged[:1]),
    ]
    # the diary is opened only for a store of the demo's runs: opening adds its tables
    if not users:
        with Diary(db) as diary:
            checkins = diary.checkins()
            shelf = diary.shoe_shelf()
        demo_shoes = [pair for pair in shelf.pairs if pair.name == DEMO_SHOES]
        users += [
            *(
                f"a check-in on run {run_id}"
                for run_id, checkin in sorted(checkins.items())
                if run_id not in recorded[:1] or checkin != DEMO_CHECKIN
            ),
            *(f"shoes it did not add ({p.name})" for p in shelf.pairs if p.name != DEMO_SHOES),
            *(
                f"changes to {pair.name}"
                for pair in demo_shoes
                if pair.retired_at is not None or sum(map(len, shelf.assignments.values())) != 2
            ),
        ]
    if users:
        raise HeavylegsError(
            f"{db} holds {users[0]}; the demo will not replace it: give another --out"
        )


def write_history(db: Path, now: float) -> None:
    from heavylegs.cli.simulated import POD_ADDRESSES
    from heavylegs.sim.history import build_up
    from heavylegs.sim.strides import store_run

    plan = build_up(now)
    with Store(db) as store:
        for planned in plan:
            store_run(
                store, planned.run, started_at=planned.started_at, name=planned.name,
                pods=POD_ADDRESSES,
            )  # fmt: skip
    with Diary(db) as diary:
        # a pair bought before the month began, already well run in
        diary.add_pair(
            DEMO_SHOES,
            (POD_ADDRESSES["left"], POD_ADDRESSES["right"]),
            start_km=600.0,
            in_service_at=plan[0].started_at - 30 * 86_400,
            alert_km=700.0,
        )


def _demo_scenario(minutes: float) -> Scenario:
    """The library's fatigue run, its fatigue brought forward to fit a short run:
    from 40% of the run, fully there by 70%."""
    from heavylegs.sim.scenarios import scenario

    base = scenario("fatigue")
    (fatigue,) = base.params.fatigue
    seconds = minutes * 60.0
    params = replace(
        base.params, fatigue=(replace(fatigue, onset_s=0.4 * seconds, ramp_s=0.3 * seconds),)
    )
    return replace(
        base,
        name=DEMO_SCENARIO,
        description="steady 3.1 m/s; legs getting heavy from 40% of the run",
        minutes=minutes,
        params=params,
        # the reference pod's ±32 g part: at ±16 g about half the landings clip, and
        # the report's impact and shoe causes would be read from clipped impacts
        part="LSM6DSO32",
    )


def _put_in_place(build: Path, out: Path) -> None:
    """The fresh store replaces the old one in one rename; a stale write-ahead log of
    the old one must go first, or SQLite would apply it to the new file."""
    db = out / "heavylegs.db"
    for leftover in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    os.replace(build / "heavylegs.db", db)
    if (build / "traces").exists():
        shutil.rmtree(out / "traces", ignore_errors=True)
        os.replace(build / "traces", out / "traces")
    shutil.rmtree(out / "reports", ignore_errors=True)
    shutil.rmtree(build, ignore_errors=True)


def register(app: typer.Typer) -> None:
    app.command()(demo)
