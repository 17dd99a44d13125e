"""Finding runs, building history and shoes as pairs, through the real CLI as a subprocess
against real SQLite stores: `runs`, `--version`, `record --sim --at`, `import`, `shoe`,
and `demo` run twice."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from cli_run import DAY, POD_L, POD_R, PODS, T0, daily_runs, digest, heavylegs, ok, refused

from heavylegs.analysis.session import load_session
from heavylegs.cli.demo import DEMO_SHOES
from heavylegs.sim.history import build_up
from heavylegs.sim.strides import scenario, store_run
from heavylegs.store import Store
from heavylegs.store.diary import Diary
from heavylegs.store.shoes import DIARY_V2


def _day(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d")


# --- runs and --version -------------------------------------------------------------


def test_runs_lists_newest_first_with_distance_pace_and_flags(tmp_path: Path) -> None:
    db = tmp_path / "mine.db"
    with Store(db) as store:
        easy = store_run(
            store, scenario("steady", minutes=20, speed_known=True), started_at=T0, pods=PODS
        )
        heavy = store_run(
            store, scenario("fatigue_speed"), started_at=T0 + 2 * DAY, pods=PODS, name="heavy"
        )
        mid = store_run(
            store, scenario("steady", minutes=30, speed_known=True), started_at=T0 + DAY, pods=PODS
        )
    out = ok(heavylegs(tmp_path, "runs", "--db", str(db)))
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert [int(row.split("│")[1]) for row in rows] == [heavy, mid, easy]
    cells = {int(row.split("│")[1]): [c.strip() for c in row.split("│")[2:-1]] for row in rows}
    date, duration, distance, pace, flags, source = cells[easy]
    assert date == datetime.fromtimestamp(T0).strftime("%Y-%m-%d %H:%M")
    # h:mm:ss, as the report writes it
    assert duration == "0:20:00" and source == "simulated" and flags == "none"
    # 20 minutes at 3.0 m/s: 3.6 km at 5:33 per km
    assert distance == "3.6 km" and pace == "5:33 /km"
    assert cells[heavy][4].startswith("contact time") and "from 2" in cells[heavy][4]
    # without --db the (empty) home is used, and says so
    refused(heavylegs(tmp_path, "runs"), f"no store at {tmp_path / 'empty-home'}")


def test_version_is_the_installed_one(tmp_path: Path) -> None:
    assert ok(heavylegs(tmp_path, "--version")).strip() == f"heavylegs {version('heavylegs')}"


def test_unknown_run_names_the_runs_there_are(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with Store(db) as store:
        for day in (0, 1, 2, 4):
            store_run(store, scenario("steady", minutes=3), started_at=T0 + day * DAY)
    with Store(db) as store:
        store.drop_run_if_empty(store.start_run("empty", "synthetic", T0))  # ids 1-4 only
    proc = heavylegs(tmp_path, "report", "7", "--db", str(db))
    refused(
        proc, f"unknown run 7; runs are 1-4, latest 4 ({_day(T0 + 4 * DAY)}): see `heavylegs runs`"
    )


# --- record --sim --at ------------------------------------------------------------------


def test_record_at_dates_the_simulated_run(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    ok(heavylegs(tmp_path, "record", "--sim", "--minutes", "0.3", "--at", "2026-11-20T07:30",
                 "--db", str(db)))  # fmt: skip
    at = datetime(2026, 11, 20, 7, 30).astimezone().timestamp()
    with Store(db) as store:
        (run,) = store.runs()
        assert run.started_at == pytest.approx(at, abs=1e-6)
        assert run.ended_at is not None and at < run.ended_at < at + 600
        for rec in run.recordings:
            times = [s.host_time for s in store.strides(rec.id)]
            # every stride moved with its run: within the run's minutes, not today
            assert all(at <= t <= run.ended_at + 5 for t in times if t is not None)
    assert "2026-11-20 07:30" in ok(heavylegs(tmp_path, "runs", "--db", str(db)))


# --- import -----------------------------------------------------------------------------


def _seed_runs(db: Path) -> list[int]:
    with Store(db) as store:
        one = scenario("steady", minutes=6, speed_known=True)
        ids = [store_run(store, one, started_at=T0, pods=PODS, name="first")]
        ids.append(
            store_run(
                store,
                scenario("fatigue_one_pod", minutes=5),
                started_at=T0 + DAY,
                pods={"right": POD_R},
                name="one pod, no stride lengths",
            )
        )
    return ids


def _same_run(a_db: Path, a_id: int, b_db: Path, b_id: int) -> None:
    with Store(a_db) as a_store, Store(b_db) as b_store:
        a_info, b_info = a_store.run(a_id), b_store.run(b_id)
        a, b = load_session(a_store, a_info), load_session(b_store, b_info)
    assert b.name == a.name and b.started_at == pytest.approx(a.started_at, abs=1e-5)
    assert b_info.source == "import" and b_info.stride_count == a_info.stride_count
    assert set(b.feet) == set(a.feet)
    for foot, fa in a.feet.items():
        fb = b.feet[foot]
        assert fb.pod_address == fa.pod_address
        # the files keep minutes to the millisecond of the pods' clock
        np.testing.assert_allclose(fb.minutes, fa.minutes, atol=1e-3 / 60, rtol=0)
        for column in ("gct_ms", "stride_ms", "cadence_spm", "strike_deg", "impact_g"):
            np.testing.assert_array_equal(getattr(fb, column), getattr(fa, column))
        np.testing.assert_array_equal(fb.stride_len_m, fa.stride_len_m)  # NaN where unknown
        for column in ("running", "clipped", "strike_class"):
            assert getattr(fb, column).tolist() == getattr(fa, column).tolist()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_then_import_gives_back_the_stored_runs(tmp_path: Path, fmt: str) -> None:
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    ids = _seed_runs(source)
    files = [
        Path(
            ok(heavylegs(tmp_path, "export", str(i), "--format", fmt, "--db", str(source))).strip()
        )
        for i in ids
    ]
    out = ok(heavylegs(tmp_path, "import", *map(str, files), "--db", str(target)))
    assert out.count("imported ") == 2, out
    with Store(target) as store:
        imported = [run.id for run in store.runs()]
    for a_id, b_id in zip(ids, imported, strict=True):
        _same_run(source, a_id, target, b_id)
    before = digest(target)

    # the same files again, and the other format of the same runs: told, nothing stored
    again = ok(heavylegs(tmp_path, "import", *map(str, files), "--db", str(target)))
    assert again.count("already in the store as run") == 2, again
    other = "parquet" if fmt == "csv" else "csv"
    twin = ok(heavylegs(tmp_path, "export", str(ids[0]), "--format", other, "--db", str(source)))
    said = ok(heavylegs(tmp_path, "import", twin.strip(), "--db", str(target)))
    assert f"already in the store as run {imported[0]}" in said
    assert digest(target) == before
    # back into the store it came from: that run is there already
    home = ok(heavylegs(tmp_path, "import", str(files[0]), "--db", str(source)))
    assert f"already in the store as run {ids[0]}" in home


def test_import_of_a_bad_file_among_good_ones_stores_nothing(tmp_path: Path) -> None:
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    (first, _) = _seed_runs(source)
    good = Path(ok(heavylegs(tmp_path, "export", str(first), "--format", "csv", "--db",
                             str(source))).strip())  # fmt: skip
    lines = good.read_text().splitlines()
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join([lines[0], *lines[1:40], lines[40][:25]]) + "\n")
    fit = Path(ok(heavylegs(tmp_path, "export", "--format", "fit", "--db", str(source))).strip())
    cut_fit = tmp_path / "cut.fit"
    cut_fit.write_bytes(fit.read_bytes()[:-300])
    for bad, says in ((cut, "cut.csv is cut short at line 41"), (cut_fit, "cut.fit is damaged")):
        refused(heavylegs(tmp_path, "import", str(good), str(bad), "--db", str(target)), says)
        assert not target.exists()


# --- shoes --------------------------------------------------------------------------------


def _six_days(db: Path) -> list[int]:
    return daily_runs(db, 6, minutes=10)


def _shoe_rows(out: str) -> dict[str, list[str]]:
    rows = [line for line in out.splitlines() if line.startswith("│ ")]
    cells = [[c.strip() for c in row.split("│")[1:-1]] for row in rows]
    return {c[0]: c for c in cells}


def test_new_shoes_for_the_same_pods_leave_past_runs_on_the_old_pair(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _six_days(db)
    # lowercase addresses are the same pods
    ok(heavylegs(tmp_path, "shoe", "add", "Old pair", "--pod", POD_L.lower(), "--pod", POD_R,
                 "--km", "100", "--from", _day(T0 - DAY), "--db", str(db)))  # fmt: skip
    out = ok(heavylegs(tmp_path, "shoe", "add", "New pair", "--pod", POD_L, "--pod", POD_R,
                       "--db", str(db)))  # fmt: skip
    rows = _shoe_rows(out)
    # named today, the new pair takes none of the six past runs, and a pair is one row
    assert rows["Old pair"][3] == "6" and rows["Old pair"][1] == f"{POD_L}, {POD_R}"
    assert rows["New pair"][3] == "0"
    # the pods moved to the new pair from day 3: runs from then on are its
    out = ok(heavylegs(tmp_path, "shoe", "assign", "new PAIR", "--pod", POD_L, "--pod", POD_R,
                       "--from", _day(T0 + 3 * DAY), "--db", str(db)))  # fmt: skip
    rows = _shoe_rows(out)
    assert rows["Old pair"][3] == "3" and rows["New pair"][3] == "3"
    with Diary(db) as diary:
        shelf = diary.shoe_shelf()
    assert set(shelf.assignments) == {POD_L, POD_R}  # stored as bleak spells them
    # each run's report names the shoes it was run in
    for run, pair in ((1, "Old pair"), (6, "New pair")):
        report = tmp_path / f"r{run}.html"
        ok(heavylegs(tmp_path, "report", str(run), "--db", str(db), "--out", str(report)))
        shoes = report.read_text().split('class="summary shoes"')[1].split("</table>")[0]
        assert pair in shoes and ({"Old pair", "New pair"} - {pair}).pop() not in shoes


def test_shoe_dates_are_days_and_a_pair_is_retired_once(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _six_days(db)
    today = datetime.now().strftime("%Y-%m-%d")
    ok(heavylegs(tmp_path, "shoe", "add", "Brief", "--pod", POD_L, "--db", str(db)))
    # in service since a moment ago, retired on the same day
    out = ok(heavylegs(tmp_path, "shoe", "retire", "Brief", "--on", today, "--db", str(db)))
    assert _shoe_rows(out)["Brief"][2] == f"{today} to {today}"
    refused(
        heavylegs(tmp_path, "shoe", "retire", "Brief", "--db", str(db)),
        f"Brief were retired on {today} already",
    )
    # pods on a pair from before its in-service day: it was in service then, and says so
    ok(heavylegs(tmp_path, "shoe", "add", "Late", "--pod", POD_R, "--db", str(db)))
    out = ok(heavylegs(tmp_path, "shoe", "assign", "Late", "--pod", POD_R,
                       "--from", _day(T0 + 3 * DAY), "--db", str(db)))  # fmt: skip
    assert f"Late: in service from {_day(T0 + 3 * DAY)} now (was {today})" in out
    assert _shoe_rows(out)["Late"][2] == f"since {_day(T0 + 3 * DAY)}"
    with Diary(db) as diary:
        late = diary.shoe_shelf().by_name("Late")
    assert late is not None and late.in_service_at == pytest.approx(
        datetime.strptime(_day(T0 + 3 * DAY), "%Y-%m-%d").timestamp()
    )


# The CLI with an audit hook that lists every SQLite file it connects to.
_COUNT_CONNECTS = """
import sys
from heavylegs.cli import main
opened = []
sys.addaudithook(lambda event, args: opened.append(args[0]) if event == "sqlite3.connect" else None)
sys.argv = ["heavylegs", *sys.argv[1:]]
try:
    main()
finally:
    print("connects:", len(opened), file=sys.stderr)
"""


def test_a_shoe_command_opens_the_store_and_the_diary_once(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _six_days(db)
    for args in (
        ("add", "Pair", "--pod", POD_L, "--from", _day(T0 - DAY)),
        ("assign", "Pair", "--pod", POD_L, "--from", _day(T0)),
        ("retire", "Pair"),
    ):
        proc = subprocess.run(
            [sys.executable, "-c", _COUNT_CONNECTS, "shoe", *args, "--db", str(db)],
            cwd=tmp_path,
            env=dict(os.environ, HEAVYLEGS_HOME=str(tmp_path / "empty-home"), COLUMNS="200"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        # one connection for the store, one for the diary beside it; the table after
        # the change is read through them
        assert proc.stderr.strip().splitlines()[-1] == "connects: 2", (args, proc.stderr)
        assert "Pair" in _shoe_rows(proc.stdout)


def test_mileage_alert_at_the_set_distance(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _six_days(db)  # about 10.8 km
    out = ok(heavylegs(tmp_path, "shoe", "add", "Racers", "--pod", POD_L, "--pod", POD_R,
                       "--km", "395", "--alert-km", "400", "--from", _day(T0 - DAY),
                       "--db", str(db)))  # fmt: skip
    assert _shoe_rows(out)["Racers"][5] == "406 km ⚠"
    assert "Racers: 406 km, past the 400 km alert" in out
    ok(heavylegs(tmp_path, "shoe", "retire", "racers", "--on", _day(T0 + 10 * DAY),
                 "--db", str(db)))  # fmt: skip
    assert "past the" not in ok(heavylegs(tmp_path, "shoe", "--db", str(db)))


def test_old_per_pod_shoes_become_pairs(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    _six_days(db)
    conn = sqlite3.connect(db)
    # the diary as version 1 left it: one shoe row per pod
    conn.executescript(
        """
        CREATE TABLE analysis_schema (version INTEGER NOT NULL);
        INSERT INTO analysis_schema VALUES (1);
        CREATE TABLE checkins (run_id INTEGER PRIMARY KEY, recorded_at REAL NOT NULL,
            sleep_h REAL, effort INTEGER, legs INTEGER, strength_before INTEGER,
            fuelling INTEGER, hydration INTEGER, note TEXT);
        CREATE TABLE shoes (pod_address TEXT PRIMARY KEY, name TEXT NOT NULL,
            prior_km REAL NOT NULL DEFAULT 0, added_at REAL NOT NULL);
        CREATE TABLE run_summaries (run_id INTEGER PRIMARY KEY, analysis_version INTEGER
            NOT NULL, stride_count INTEGER NOT NULL, body TEXT NOT NULL);
        """
    )
    conn.executemany(
        "INSERT INTO shoes VALUES (?, ?, ?, ?)",
        [(POD_L, "Trail", 300.0, T0), (POD_R, "Trail", 300.0, T0), ("AA:1", "Road", 5.0, T0)],
    )
    conn.commit()
    conn.close()
    assert DIARY_V2  # the step under test
    with Diary(db) as diary:
        shelf = diary.shoe_shelf()
    assert sorted(p.name for p in shelf.pairs) == ["Road", "Trail"]
    trail = shelf.by_name("trail")
    assert trail is not None and trail.start_km == 300.0
    assert shelf.pods_of(trail.id) == (POD_L, POD_R)
    # as before the step, every past run of those pods counts on the pair
    assert shelf.pair_of(POD_L, T0 - 365 * DAY) == trail
    rows = _shoe_rows(ok(heavylegs(tmp_path, "shoe", "--db", str(db))))
    assert rows["Trail"][3] == "6" and rows["Road"][3] == "0"


# --- demo ---------------------------------------------------------------------------------


def _story(db: Path) -> tuple[list[tuple[str, str, float, int]], int, list[str]]:
    with Store(db) as store:
        runs = store.runs()
    history = [(r.name, r.source, r.started_at, r.stride_count) for r in runs[:-1]]
    with Diary(db) as diary:
        pairs = [p.name for p in diary.shoe_shelf().pairs]
    return history, runs[-1].stride_count, [runs[-1].source, *pairs]


def test_demo_twice_tells_the_same_story_in_a_fresh_store(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    stories = []
    for _ in range(2):
        printed = ok(
            heavylegs(tmp_path, "demo", "--minutes", "0.5", "--out", str(out), timeout=300)
        )
        assert Path(printed.strip().splitlines()[-1]) == (out / "report.html").resolve()
        stories.append(_story(out / "heavylegs.db"))
    history, recorded, rest = stories[0]
    assert stories[1] == stories[0]
    assert len(history) == len(build_up(0.0)) and recorded > 0
    assert rest == ["live-sim-fast", DEMO_SHOES]
    assert {source for _, source, _, _ in history} == {"synthetic"}
    assert not (out / ".demo-build").exists()
    # recorded on the reference pod's ±32 g part, so no landing's impact is clipped
    with Store(out / "heavylegs.db") as store:
        recorded_on = {rec.acc_fs_g for rec in store.runs()[-1].recordings}
    assert recorded_on == {32}
    assert 'class="note clipping"' not in (out / "report.html").read_text()


def test_demo_never_replaces_a_store_with_runs_of_its_own(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    db = out / "heavylegs.db"
    with Store(db) as store:
        run = store.start_run("live run", "live", T0)
        store.finish_run(run, T0 + 60)
    before = digest(db)
    refused(
        heavylegs(tmp_path, "demo", "--minutes", "0.5", "--out", str(out)),
        "holds runs that are not simulated",
    )
    assert digest(db) == before and sorted(p.name for p in out.iterdir()) == ["heavylegs.db"]


def _as_the_demo_left_it(db: Path, now: float) -> int:
    from heavylegs.cli.demo import DEMO_CHECKIN, write_history

    write_history(db, now)
    with Store(db) as store:
        # the demo's one run recorded as record --sim records it
        run_id = store.start_run("simulated demo-fatigue run", "live-sim-fast", now)
        store.finish_run(run_id, now + 120)
    with Diary(db) as diary:
        diary.record_checkin(run_id, DEMO_CHECKIN)
    return run_id


def _users_checkin(db: Path, run_id: int) -> None:
    from heavylegs.store.diary import CheckIn

    with Diary(db) as diary:
        diary.record_checkin(run_id - 1, CheckIn(legs=2))


def _users_legs_on_the_demo_run(db: Path, run_id: int) -> None:
    from heavylegs.store.diary import CheckIn

    with Diary(db) as diary:
        diary.record_checkin(run_id, CheckIn(legs=5))


def _users_shoes(db: Path, run_id: int) -> None:
    with Diary(db) as diary:
        diary.add_pair("Racers", (POD_L,), in_service_at=T0)


def _retired_demo_shoes(db: Path, run_id: int) -> None:
    with Diary(db) as diary:
        diary.retire_pair(DEMO_SHOES, T0 + 40 * DAY)


def _users_simulated_run(db: Path, run_id: int) -> None:
    with Store(db) as store:
        mine = store.start_run("simulated easy run", "live-sim-fast", T0 + 41 * DAY)
        store.finish_run(mine, T0 + 41 * DAY + 120)


def _users_watch(db: Path, run_id: int) -> None:
    from heavylegs.watch.fit import read_activity
    from heavylegs.watch.merge import merge_activity

    watch = Path(__file__).resolve().parents[2] / "shared/data/watch_fit/garmin-fenix-5-run.fit"
    if not watch.exists():
        pytest.skip("the shared watch files are not here")
    with Store(db) as store:
        run = store_run(
            store, scenario("steady", minutes=3), started_at=read_activity(watch).start_s,
            pods=PODS,
        )  # fmt: skip
        merge_activity(store, read_activity(watch), run, replace=False)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_users_checkin, "a check-in on run"),
        (_users_legs_on_the_demo_run, "a check-in on run"),
        (_users_shoes, "shoes it did not add (Racers)"),
        (_retired_demo_shoes, f"changes to {DEMO_SHOES}"),
        (_users_simulated_run, "a run it did not record"),
        (_users_watch, "a watch activity merged into run"),
    ],
    ids=["checkin", "checkin-on-demo-run", "shoes", "retired", "record-sim", "watch"],
)
def test_demo_never_replaces_what_a_user_added_to_its_store(
    tmp_path: Path, change: object, says: str
) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    db = out / "heavylegs.db"
    run_id = _as_the_demo_left_it(db, T0 + 40 * DAY)
    change(db, run_id)  # type: ignore[operator]
    before = digest(db)
    refused(heavylegs(tmp_path, "demo", "--minutes", "0.5", "--out", str(out)), says)
    assert digest(db) == before and sorted(p.name for p in out.iterdir()) == ["heavylegs.db"]


def test_the_demo_history_lets_load_recovery_and_shoe_causes_show(tmp_path: Path) -> None:
    """The demo's story without the firmware: its history, then a heavy-legs run."""
    from heavylegs.analysis.run import analyse_run
    from heavylegs.cli.demo import write_history
    from heavylegs.store.diary import CheckIn

    db = tmp_path / "h.db"
    now = T0 + 40 * DAY
    write_history(db, now)
    with Store(db) as store:
        run_id = store_run(
            store, scenario("fatigue_speed"), started_at=now, pods=PODS, name="today"
        )
    with Diary(db) as diary:
        diary.record_checkin(run_id, CheckIn(sleep_h=5.5, legs=4))
    with Store(db) as store:
        analysis = analyse_run(store, store.run(run_id))
    assert analysis.detector.flags_, "the legs get heavy"
    assert {"load_spike", "recovery", "shoes", "sleep"} <= {c.key for c in analysis.causes}
    (shoes,) = analysis.shoes
    assert shoes.name == DEMO_SHOES and shoes.past_alert and shoes.runs == 17
    assert analysis.load.acwr is not None and analysis.load.acwr >= 1.5
