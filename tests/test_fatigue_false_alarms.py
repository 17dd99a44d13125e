"""The four false alarms of issue 16, against the planted ground truth of the synthetic runs.

(a) intervals after a proper warm-up, (b) negative splits by a runner whose cadence
follows speed less than the prior says, (c) a late onset dated early by a chance-low
baseline, (d) fatigue masked by slowing down, which the runner must be told about.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from heavylegs.analysis.causes import build_context, explain
from heavylegs.analysis.fatigue import FatigueDetector
from heavylegs.analysis.history import summarise_session
from heavylegs.analysis.session import session_from_strides
from heavylegs.sim.strides import (
    SLOWDOWN_MIN,
    SLOWDOWN_PCT,
    SyntheticRun,
    generate,
    scenario,
    store_run,
)
from heavylegs.store import Store

WITHIN_MIN = 3.0
DAY = 86_400.0


def detect(run: SyntheticRun, **params) -> FatigueDetector:
    session = session_from_strides(generate(run), name="test")
    return FatigueDetector(**params).detect(session)


def causes_of(run: SyntheticRun) -> list[str]:
    """The causes named for this run alone, without a self-report."""
    session = session_from_strides(generate(run), name="test")
    det = FatigueDetector().detect(session)
    return [c.key for c in explain(build_context([summarise_session(session, det)], {}, []))[0]]


# --- (a) intervals after a proper warm-up ------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_a_warm_up_before_intervals_is_no_short_warm_up(seed: int) -> None:
    run = scenario("intervals_warmup", seed=seed)
    first_rep = min(s.start_min for s in run.stretches if s.speed > 1)
    det = detect(run)
    assert run.planted_onset_min is None
    assert det.flags_ == []
    # the baseline stays in the easy running: at comparable pace nobody was settling
    assert det.baseline_.end_min <= first_rep
    assert det.baseline_.settling_min < 4
    assert causes_of(run) == []


# --- (b) negative splits by a runner with a weaker cadence-speed coupling ----------------


@pytest.mark.parametrize("name", ["negative_split", "progressive"])
def test_speeding_up_raises_no_cadence_drop_across_seeds(name: str) -> None:
    for seed in range(10):
        run = scenario(name, seed=seed)
        assert run.cadence_speed_exp < 0.2 and run.planted_onset_min is None
        det = detect(run)
        assert det.flags_ == [], (seed, [(f.kind, f.onset_min, f.size) for f in det.flags_])


def test_the_runners_coupling_is_learned_across_their_history(tmp_path) -> None:
    from heavylegs.analysis.run import analyse_run, runner_cadence_coupling

    exponent = 0.16
    with Store(tmp_path / "heavylegs.db") as store:
        # hilly runs teach the coupling: pace swings up and down within minutes
        for day in range(4):
            store_run(
                store,
                scenario("hilly_speed", seed=day, minutes=40, cadence_speed_exp=exponent),
                started_at=1_700_000_000.0 + day * DAY,
            )
        run_id = store_run(
            store,
            scenario("negative_split", seed=3, cadence_speed_exp=exponent),
            started_at=1_700_000_000.0 + 5 * DAY,
        )
        analysis = analyse_run(store, store.run(run_id))
    mean, sd = runner_cadence_coupling(list(analysis.history[:-1]))
    assert mean == pytest.approx(exponent, abs=0.03)
    assert sd < 0.03  # far tighter than the population prior's 0.08
    assert analysis.detector.couplings_["cadence_per_speed"] == pytest.approx(exponent, abs=0.03)
    assert analysis.detector.flags_ == []


def test_a_real_cadence_drop_still_shows_at_another_pace() -> None:
    # the widened comparison must not hide a planted 4% drop on a negative split
    run = scenario("cadence_drop", seed=1, speed_known=True, progression=((0, 1.0), (50, 1.15)))
    det = detect(run)
    hits = [f for f in det.flags_ if f.kind == "cadence"]
    assert hits and abs(hits[0].onset_min - run.planted_onset_min) <= WITHIN_MIN


# --- (c) a late onset must not be dated early ----------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_late_fatigue_is_dated_late_and_flags_are_ordered_by_confidence(seed: int) -> None:
    run = scenario("late_fatigue", seed=seed)
    det = detect(run)
    assert det.flags_
    # the flag read first, and every flag of a kind the effect owes, is at the onset;
    # a weak indicator may be dated later, never before it
    assert abs(det.flags_[0].onset_min - run.planted_onset_min) <= WITHIN_MIN
    for flag in det.flags_:
        assert flag.onset_min >= run.planted_onset_min - WITHIN_MIN, (flag.kind, seed)
        if flag.kind in run.expected_kinds():
            assert abs(flag.onset_min - run.planted_onset_min) <= WITHIN_MIN, (flag.kind, seed)
    confidences = [f.confidence for f in det.flags_]
    assert confidences == sorted(confidences, reverse=True)


def test_a_drift_present_from_the_baseline_on_is_no_onset() -> None:
    # a level shift right after the baseline window is there all run long: whatever
    # the baseline caught, the change is where the planted effect starts
    run = scenario("late_fatigue", seed=4)
    det = detect(run)
    assert min(f.onset_min for f in det.flags_) >= run.planted_onset_min - WITHIN_MIN


# --- (d) fatigue hidden behind slowing down --------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_slowing_down_is_said_with_its_size(seed: int) -> None:
    run = scenario("fatigue_slowing", seed=seed)
    det = detect(run)
    slow = det.slowdown_
    assert slow is not None
    assert slow.speed_pct == pytest.approx(SLOWDOWN_PCT, abs=1.0)
    assert slow.onset_min == pytest.approx(SLOWDOWN_MIN, abs=WITHIN_MIN)
    # contact time corrected for pace carries the planted 8% (measured after the
    # slowdown, when the ramp is complete), the raw one the slowdown on top
    assert slow.corrected_gct_pct == pytest.approx(8.0, abs=1.5)
    assert slow.raw_gct_pct - slow.corrected_gct_pct == pytest.approx(4.2, abs=1.5)
    said = re.search(r"You slowed (\d+)% from minute (\d+); contact time rose (\d+)%", slow.text)
    assert said, slow.text
    assert int(said[1]) == SLOWDOWN_PCT
    assert abs(int(said[2]) - SLOWDOWN_MIN) <= WITHIN_MIN
    assert [f.kind for f in det.flags_] == ["contact_time"]


@pytest.mark.parametrize("name", ["steady", "negative_split", "hilly_speed", "intervals_warmup"])
def test_no_slowdown_is_claimed_where_there_was_none(name: str) -> None:
    det = detect(scenario(name, seed=1, speed_known=True))
    assert det.slowdown_ is None


def test_the_terminal_summary_says_the_runner_slowed(tmp_path) -> None:
    from heavylegs.analysis.run import analyse_run
    from heavylegs.report.summary import print_analysis

    with Store(tmp_path / "heavylegs.db") as store:
        run_id = store_run(store, scenario("fatigue_slowing", seed=2), started_at=1_700_000_000.0)
        analysis = analyse_run(store, store.run(run_id))
    assert analysis.slowdown is not None
    out = io.StringIO()
    print_analysis(analysis, Console(file=out, width=200))
    assert f"You slowed {SLOWDOWN_PCT:.0f}% from minute " in out.getvalue()
    assert analysis.slowdown.text in out.getvalue()
