"""Across sessions: training load, weekly trends, per-shoe history, the summary cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from heavylegs.analysis import CheckIn, Diary, analyse_run
from heavylegs.analysis.history import (
    ANALYSIS_VERSION,
    RunSummary,
    baseline_drift_pct,
    load_status,
    run_summary,
    shoe_histories,
    weekly,
)
from heavylegs.sim.strides import scenario, store_run
from heavylegs.store import Store
from heavylegs.store.shoes import ShoePair, ShoeShelf

DAY = 86_400.0
T0 = 1_700_000_000.0  # a Tuesday


def run(run_id: int, day: float, minutes: float = 40.0, **changes) -> RunSummary:
    base = RunSummary(
        run_id=run_id,
        name="r",
        started_at=T0 + day * DAY,
        duration_min=minutes,
        running_min=minutes,
        strides=int(minutes * 85),
        distance_km=None,
        pods={"left": "L"},
        pod_minutes={"left": minutes},
        pod_km={"left": None},
        gct_median_ms=255.0,
        cadence_median_spm=170.0,
        gct_at_ref_ms=255.0,
        impact_at_ref_g={"left": 12.0},
        strike_deg_median=8.0,
        rearfoot_share=0.5,
        balance_pct=None,
        settling_min=0.0,
    )
    return replace(base, **changes)


def test_acute_chronic_ratio_and_streak() -> None:
    steady = [run(i, day) for i, day in enumerate(range(0, 28, 2))]  # 40 min every 2 days
    status = load_status(steady)
    assert status.acute_min == 4 * 40  # days 20, 22, 24, 26
    assert status.chronic_weekly_min == pytest.approx(14 * 40 / 4)
    assert status.acwr == pytest.approx(160 / 140)
    assert status.consecutive_days == 1
    assert status.hours_since_previous == pytest.approx(48 - 40 / 60)
    spike = [*steady, *[run(100 + d, 27 + d, minutes=90) for d in range(1, 4)]]
    status = load_status(spike)
    assert status.consecutive_days == 3  # days 28, 29 and 30; day 27 was a rest day
    assert status.acwr > 1.5


def test_ratio_needs_three_weeks_of_history() -> None:
    assert load_status([run(1, 0), run(2, 10, minutes=200)]).acwr is None
    assert load_status([]).acwr is None


def test_weekly_rows_and_baseline_drift() -> None:
    runs = [run(i, day, gct_at_ref_ms=250.0) for i, day in enumerate(range(0, 28, 3))]
    runs += [run(50 + i, day, gct_at_ref_ms=262.5) for i, day in enumerate((29, 32, 35, 38))]
    weeks = weekly(runs)
    assert [w.start.weekday() for w in weeks] == [0] * len(weeks)
    assert sum(w.runs for w in weeks) == len(runs)
    assert weeks[0].gct_at_ref_ms == 250.0 and weeks[-1].gct_at_ref_ms == 262.5
    assert all(w.km is None for w in weeks)  # no stride lengths: distance unknown
    assert baseline_drift_pct(runs) == pytest.approx(5.0)
    assert baseline_drift_pct(runs[:3]) is None


def _pair(pair_id: int, name: str, start_km: float = 0.0, **changes) -> ShoePair:
    return replace(ShoePair(pair_id, name, start_km, T0 - DAY, None, 700.0), **changes)


def test_shoe_history_distance_and_impact_trend() -> None:
    runs = [
        run(i, i, pod_km={"left": 8.0}, impact_at_ref_g={"left": 12.0 * (1 + 0.03 * i)})
        for i in range(8)
    ]
    shelf = ShoeShelf((_pair(1, "Daily trainer", 600.0),), {"L": [(0.0, 1)]})
    (shoe,) = shoe_histories(runs, shelf)
    assert shoe.name == "Daily trainer" and shoe.runs == 8 and shoe.pods == ("L",)
    assert shoe.total_km == pytest.approx(664.0)
    assert not shoe.past_alert  # 664 km, below the 700 km alert
    (unknown,) = shoe_histories([run(1, 0)], ShoeShelf((), {}))
    assert unknown.name == "unnamed shoes" and not unknown.named
    assert unknown.total_km is None and unknown.impact_trend_pct is None


def test_a_pair_counts_once_and_new_shoes_do_not_take_past_runs() -> None:
    two = {"pods": {"left": "L", "right": "R"}, "pod_km": {"left": 8.0, "right": 8.2}}
    runs = [run(i, i, pod_minutes={"left": 40.0, "right": 39.0}, **two) for i in range(6)]
    old, new = _pair(1, "Old pair", 100.0), _pair(2, "New pair", alert_km=None)
    # pods on the old pair from the start, moved to the new pair from day 4
    switch = T0 + 4 * DAY - 60
    shelf = ShoeShelf((old, new), {"L": [(0.0, 1), (switch, 2)], "R": [(0.0, 1), (switch, 2)]})
    by_name = {s.name: s for s in shoe_histories(runs, shelf)}
    assert set(by_name) == {"Old pair", "New pair"}
    assert by_name["Old pair"].run_ids == (0, 1, 2, 3) and by_name["New pair"].run_ids == (4, 5)
    # one row per pair: a run's distance and time once, not once per pod
    assert by_name["Old pair"].total_km == pytest.approx(100 + 4 * 8.1)
    assert by_name["Old pair"].minutes == pytest.approx(4 * 40.0)
    assert by_name["Old pair"].pods == ("L", "R")
    # retired from day 2: later runs on its pods count on no pair until reassigned
    retired = ShoeShelf(
        (replace(old, retired_at=T0 + 2 * DAY - 60),), {"L": [(0.0, 1)], "R": [(0.0, 1)]}
    )
    by_name = {s.name: s for s in shoe_histories(runs, retired)}
    assert by_name["Old pair"].run_ids == (0, 1)
    assert by_name["unnamed shoes"].run_ids == (2, 3, 4, 5)


def test_mileage_alert_once_past_the_set_distance() -> None:
    runs = [run(i, i, pod_km={"left": 10.0}) for i in range(5)]
    below = ShoeShelf((_pair(1, "P", 640.0),), {"L": [(0.0, 1)]})
    above = ShoeShelf((_pair(1, "P", 660.0),), {"L": [(0.0, 1)]})
    (quiet,) = shoe_histories(runs, below)
    (loud,) = shoe_histories(runs, above)
    assert quiet.total_km == pytest.approx(690.0) and not quiet.past_alert
    assert loud.total_km == pytest.approx(710.0) and loud.past_alert
    # a run without stride lengths: the total is unknown, the alert counts what is known
    (partly,) = shoe_histories([*runs, run(9, 9)], above)
    assert partly.total_km is None and partly.past_alert


def test_summaries_are_cached_until_the_strides_change(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        run_id = store_run(store, scenario("steady", minutes=15, speed_known=True), started_at=T0)
        info = store.run(run_id)
        with Diary(db) as diary:
            first = run_summary(store, diary, info)
            assert diary.cached_summary(run_id, ANALYSIS_VERSION, info.stride_count)
            assert run_summary(store, diary, info) == first
            # a stale cache entry (other stride count) is not used
            assert diary.cached_summary(run_id, ANALYSIS_VERSION, info.stride_count + 1) is None
    assert first.distance_km == pytest.approx(3.0 * 15 * 60 / 1000, rel=0.05)
    assert first.gct_at_ref_ms == pytest.approx(260.0, rel=0.03)
    assert first.running_min == pytest.approx(15, abs=0.5)


def test_analyse_run_places_the_run_among_earlier_ones(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        ids = [
            store_run(store, scenario("steady", seed=d, minutes=12), started_at=T0 + d * DAY)
            for d in range(3)
        ]
        later = store_run(store, scenario("steady", seed=9, minutes=12), started_at=T0 + 9 * DAY)
        analysis = analyse_run(store, store.run(ids[1]))
        assert [h.run_id for h in analysis.history] == ids[:2]  # nothing after it
        assert analysis.load.consecutive_days == 2
        assert later not in [h.run_id for h in analysis.history]
        assert analysis.summary.run_id == ids[1]


def test_checkin_answers_merge_and_bad_answers_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        run_id = store_run(store, scenario("steady", minutes=3), started_at=T0)
    with Diary(db) as diary:
        diary.record_checkin(run_id, CheckIn(sleep_h=7.0))
        merged = diary.record_checkin(run_id, CheckIn(legs=3, note="windy"))
        assert merged == CheckIn(sleep_h=7.0, legs=3, note="windy")
        assert diary.checkins() == {run_id: merged}
        with pytest.raises(ValueError, match="nothing to record"):
            diary.record_checkin(run_id, CheckIn())
    with pytest.raises(ValueError, match="hydration must be a whole number 1 to 5"):
        CheckIn(hydration=6)
