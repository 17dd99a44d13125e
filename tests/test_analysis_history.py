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
from heavylegs.store.diary import Shoe

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


def test_shoe_history_distance_and_impact_trend() -> None:
    runs = [
        run(i, i, pod_km={"left": 8.0}, impact_at_ref_g={"left": 12.0 * (1 + 0.03 * i)})
        for i in range(8)
    ]
    (shoe,) = shoe_histories(runs, {"L": Shoe("L", "Daily trainer", 600.0)})
    assert shoe.name == "Daily trainer" and shoe.runs == 8
    assert shoe.total_km == pytest.approx(664.0)
    assert shoe.impact_trend_pct == pytest.approx(100 * (1.18 / 1.03 - 1), abs=0.01)
    (unknown,) = shoe_histories([run(1, 0)], {})
    assert unknown.name == "L" and unknown.total_km is None and unknown.impact_trend_pct is None


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
