"""FIT activities imported as runs known only by their totals (issue 16), through the
real CLI as a subprocess against real SQLite stores: our own FIT exports and real
Garmin watch files (../shared/data/watch_fit, skipped where absent)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from cli_run import DAY, POD_L, POD_R, PODS, T0, daily_runs, digest, heavylegs, ok, refused
from watch_files import FENIX2, FENIX5, needs_watch_files

from heavylegs.analysis.history import history_until, load_status, shoe_histories, weekly
from heavylegs.analysis.session import load_session
from heavylegs.export.fit_codec import ENUM, TIMESTAMP, UINT32, Field, FitWriter, fit_time
from heavylegs.sim.strides import scenario, store_run
from heavylegs.store import Store
from heavylegs.store.diary import Diary


def table_rows(out: str) -> dict[str, list[str]]:
    rows = [line for line in out.splitlines() if line.startswith("│ ")]
    cells = [[c.strip() for c in row.split("│")[1:-1]] for row in rows]
    return {c[0]: c for c in cells}


def _two_days(db: Path) -> list[int]:
    return daily_runs(db, 2, minutes=20)


def _export(home: Path, db: Path, run: int, fmt: str = "fit") -> Path:
    out = ok(heavylegs(home, "export", str(run), "--format", fmt, "--db", str(db)))
    return Path(out.strip())


# --- our own FIT export back in ----------------------------------------------------------


def test_our_fit_export_comes_back_as_a_summary_run(tmp_path: Path) -> None:
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    first, _ = _two_days(source)
    fit = _export(tmp_path, source, first)
    said = ok(heavylegs(tmp_path, "import", str(fit), "--db", str(target)))
    assert "as run 1" in said and "summary only: no strides to analyse" in said

    was = table_rows(ok(heavylegs(tmp_path, "runs", "--db", str(source))))[str(first)]
    now = table_rows(ok(heavylegs(tmp_path, "runs", "--db", str(target))))["1"]
    # date, duration and distance as the stored run's (pace follows from running time);
    # the FIT file's timer counts whole seconds of records, so it may read one more
    assert (now[1], now[3]) == (was[1], was[3]), (was, now)
    assert abs(_seconds(now[2]) - _seconds(was[2])) <= 1, (was, now)
    assert now[4].endswith("/km") and now[6] == "imported (FIT summary)"

    with Store(source) as store:
        info = store.run(first)
        session = load_session(store, info)
    with Store(target) as store:
        (run,) = store.runs()
    s = run.imported
    assert s is not None and run.stride_count == 0 and run.summary_only and run.in_history
    # FIT keeps whole seconds and centimetres
    assert run.started_at == pytest.approx(info.started_at, abs=1.0)
    assert s.timer_s == pytest.approx(info.duration_s, abs=2.0)
    lengths = [np.nansum(f.stride_len_m) for f in session.feet.values()]
    assert s.distance_m == pytest.approx(np.mean(lengths), abs=0.02)
    # the session's averages are the means of every stride of both feet
    every = {
        col: np.concatenate([getattr(f, col) for f in session.feet.values()])
        for col in ("cadence_spm", "gct_ms", "strike_deg", "impact_g")
    }
    assert s.cadence_spm == pytest.approx(every["cadence_spm"].mean(), abs=2 / 128)
    assert s.stance_ms == pytest.approx(every["gct_ms"].mean(), abs=0.05)
    assert s.strike_deg == pytest.approx(every["strike_deg"].mean(), abs=1e-4)
    assert s.impact_g == pytest.approx(every["impact_g"].mean(), abs=1e-4)
    left, right = (session.feet[foot].gct_ms.sum() for foot in ("left", "right"))
    share = 100 * left / (left + right)
    assert s.balance_pct == pytest.approx(share, abs=0.5)
    assert s.device == "heavylegs export" and s.pods == {}  # pods this store never saw

    # nothing to analyse or export: one line each, exit 2
    refused(heavylegs(tmp_path, "report", "1", "--db", str(target)), "no strides to analyse")
    refused(heavylegs(tmp_path, "export", "1", "--db", str(target)), "no strides to export")


def test_weekly_load_and_shoe_mileage_count_the_summary_run(tmp_path: Path) -> None:
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    first, second = _two_days(source)
    fit = _export(tmp_path, source, first)
    csv = _export(tmp_path, source, second, "csv")
    # the second run's strides first: this store then knows the pods the FIT names
    ok(heavylegs(tmp_path, "import", str(csv), "--db", str(target)))
    ok(heavylegs(tmp_path, "shoe", "add", "Daily", "--pod", POD_L, "--pod", POD_R,
                 "--from", "2026-05-01", "--db", str(target)))  # fmt: skip
    ok(heavylegs(tmp_path, "import", str(fit), "--db", str(target)))

    def history(db: Path) -> list:
        with Store(db) as store, Diary(db) as diary:
            latest = store.latest_run()
            assert latest is not None
            return history_until(store, diary, latest)

    truth, mixed = history(source), history(target)
    assert [r.strides > 0 for r in mixed] == [False, True]
    summary_run = mixed[0]
    assert summary_run.pods == PODS  # our pods, known here: its shoes are known
    # the same week, minutes and kilometres as the store that holds both runs' strides
    (w_truth,), (w_mixed,) = weekly(truth), weekly(mixed)
    assert w_mixed.start == w_truth.start and w_mixed.runs == 2
    assert w_mixed.minutes == pytest.approx(w_truth.minutes, abs=0.1)
    assert w_mixed.km == pytest.approx(w_truth.km, abs=0.01)
    load = load_status(mixed)
    assert load.acute_min == pytest.approx(w_mixed.minutes)
    assert load.acute_min > mixed[1].running_min + 19  # the imported 20 minutes count
    assert load.consecutive_days == 2 and load.hours_since_previous is not None

    with Diary(target) as diary:
        (pair,) = shoe_histories(mixed, diary.shoe_shelf())
    assert pair.run_ids == (2, 1) and pair.total_km == pytest.approx(w_truth.km, abs=0.01)
    shoes = table_rows(ok(heavylegs(tmp_path, "shoe", "--db", str(target))))
    assert shoes["Daily"][3] == "2" and shoes["Daily"][5] == f"{w_truth.km:.0f} km"
    # the run after it is still analysed, with the imported one in its history
    ok(heavylegs(tmp_path, "report", "1", "--db", str(target), "--out", str(tmp_path / "r.html")))


def test_a_fit_whose_pods_the_store_does_not_know_adds_to_no_shoe(tmp_path: Path) -> None:
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    first, _ = _two_days(source)
    fit = _export(tmp_path, source, first)
    with Store(target) as store:
        store_run(store, scenario("steady", minutes=10), started_at=T0 + 3 * DAY,
                  pods={"left": "F0:00:00:00:00:0A", "right": "F0:00:00:00:00:0B"})  # fmt: skip
    ok(heavylegs(tmp_path, "import", str(fit), "--db", str(target)))
    shoes = table_rows(ok(heavylegs(tmp_path, "shoe", "--db", str(target))))
    (row,) = shoes.values()
    assert row[0] == "unnamed shoes" and row[3] == "1"  # the pods' own run only


# --- a watch's files -------------------------------------------------------------------


def _seconds(duration: str) -> int:
    """h:mm:ss as `heavylegs runs` writes it, in seconds."""
    hours, minutes, seconds = (int(part) for part in duration.split(":"))
    return hours * 3600 + minutes * 60 + seconds


@needs_watch_files
def test_garmin_fenix_runs_import_as_summary_runs(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    said = ok(heavylegs(tmp_path, "import", str(FENIX2), str(FENIX5), "--db", str(db)))
    assert said.count("summary only") == 2, said
    rows = table_rows(ok(heavylegs(tmp_path, "runs", "--db", str(db))))
    fenix2 = rows["1"]
    # fenix 2, 2015-08-15: 9.0 km in 47:12 of timer time
    start = datetime.fromisoformat("2015-08-15T14:45:08+00:00").timestamp()
    assert fenix2[1] == datetime.fromtimestamp(start).strftime("%Y-%m-%d %H:%M")
    assert fenix2[2:4] == ["0:47:12", "9.0 km"] and fenix2[4] == "5:14 /km"
    assert fenix2[6] == "imported (FIT summary)"
    with Store(db) as store:
        two, five = (run.imported for run in store.runs())
    assert two is not None and five is not None
    assert (two.timer_s, two.distance_m) == (2832.0, pytest.approx(9008.22))
    assert two.stance_ms == 252.0 and two.cadence_spm == 162.0  # 81 strides/min
    assert two.step_length_m is None and two.balance_pct is None  # a fenix 2 has neither
    assert five.balance_pct == pytest.approx(52.39) and five.step_length_m == pytest.approx(0.9717)
    assert five.cadence_spm == pytest.approx(2 * (83 + 0.671875))
    assert five.strike_deg is None and five.impact_g is None and five.pods == {}
    assert "fenix" in two.device and "fenix5" in five.device
    refused(heavylegs(tmp_path, "report", "2", "--db", str(db)), "no strides to analyse")


# --- twice, and bad files --------------------------------------------------------------


def test_the_same_fit_twice_is_reported_and_skipped(tmp_path: Path) -> None:
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    first, _ = _two_days(source)
    fit = _export(tmp_path, source, first)
    copy = tmp_path / "renamed.fit"
    copy.write_bytes(fit.read_bytes())
    said = ok(heavylegs(tmp_path, "import", str(fit), str(copy), "--db", str(target)))
    assert said.count("imported ") == 1 and f"the same file as {fit}" in said
    before = digest(target)
    again = ok(heavylegs(tmp_path, "import", str(copy), "--db", str(target)))
    assert "already in the store as run 1; nothing imported" in again
    assert digest(target) == before
    # into the store it came from: its run is there, with strides
    home_before = digest(source)
    home = ok(heavylegs(tmp_path, "import", str(fit), "--db", str(source)))
    assert f"run {first} in the store covers the same time" in home
    assert digest(source) == home_before
    # its strides after its summary: refused, never merged or stored twice
    csv = _export(tmp_path, source, first, "csv")
    refused(heavylegs(tmp_path, "import", str(csv), "--db", str(target)), "as a summary only")
    assert digest(target) == before
    # its strides and its FIT in one import: the strides are stored, the FIT skipped
    both = tmp_path / "both.db"
    said = ok(heavylegs(tmp_path, "import", str(fit), str(csv), "--db", str(both)))
    assert said.count("imported ") == 1 and "the same time as" in said, said
    with Store(both) as store:
        (run,) = store.runs()
    assert not run.summary_only and run.stride_count > 0


def _fit(*messages: tuple[int, list[tuple[Field, object]]]) -> bytes:
    out = FitWriter()
    for number, fields in messages:
        out.message(0, number, fields)
    return out.file()


@pytest.fixture
def bad_fits(tmp_path: Path) -> list[tuple[Path, str]]:
    source = tmp_path / "a.db"
    first, _ = _two_days(source)
    good = _export(tmp_path, source, first).read_bytes()
    files = {
        "cut.fit": (good[: len(good) // 2], "cut.fit is damaged"),
        "flipped.fit": (
            good[:400] + bytes([good[400] ^ 0x5A]) + good[401:],
            "flipped.fit is damaged",
        ),
        "course.fit": (_fit((0, [(Field(0, ENUM), 6)])), "is a FIT course, not an activity"),
        "unsaved.fit": (_fit((0, [(Field(0, ENUM), 4)])), "an activity without a session"),
        "ride.fit": (
            _fit(
                (0, [(Field(0, ENUM), 4)]),
                (
                    18,
                    [
                        (Field(TIMESTAMP, UINT32), fit_time(T0 + 600)),
                        (Field(2, UINT32), fit_time(T0)),
                        (Field(8, UINT32), 600_000),
                        (Field(5, ENUM), 2),  # sport: cycling
                    ],
                ),
            ),
            "ride.fit is a cycling activity, not a run",
        ),
    }
    out = []
    for name, (data, says) in files.items():
        (tmp_path / name).write_bytes(data)
        out.append((tmp_path / name, says))
    return out


def test_a_bad_fit_among_good_files_stores_nothing(
    tmp_path: Path, bad_fits: list[tuple[Path, str]]
) -> None:
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    good_fit = _export(tmp_path, source, 2)
    good_csv = _export(tmp_path, source, 1, "csv")
    with Store(target) as store:
        store_run(store, scenario("steady", minutes=5), started_at=T0 + 5 * DAY, pods=PODS)
    before = digest(target)
    for bad, says in bad_fits:
        proc = heavylegs(tmp_path, "import", str(good_csv), str(good_fit), str(bad), "--db",
                         str(target))  # fmt: skip
        refused(proc, says)
        assert digest(target) == before, bad.name
    with Store(target) as store:
        assert len(store.runs()) == 1
