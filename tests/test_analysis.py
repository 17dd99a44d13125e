"""Fatigue flags within one run, on stride-level runs with and without planted effects."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from heavylegs.analysis.fatigue import FLAG_KINDS, MIN_EFFECT, FatigueDetector, analyse
from heavylegs.analysis.session import session_from_strides
from heavylegs.sim.strides import Effect, generate, scenario, store_run
from heavylegs.store import Store


def detect(name: str, seed: int = 0, **changes):
    run = scenario(name, seed=seed, **changes)
    return run, analyse(session_from_strides(generate(run)))


PLANTED = [
    ("fatigue", "contact_time"),
    ("fatigue_speed", "contact_time"),
    ("fatigue_one_pod", "contact_time"),
    ("fatigue_hilly", "contact_time"),
    ("right_leg_weakening", "asymmetry"),
    ("heel_drift", "strike"),
    ("cadence_drop", "cadence"),
    ("ragged", "variability"),
    ("harder_landings", "impact"),
]


@pytest.mark.parametrize(("name", "kind"), PLANTED)
@pytest.mark.parametrize("seed", [0, 1])
def test_planted_effect_is_flagged_near_its_onset(name: str, kind: str, seed: int) -> None:
    run, det = detect(name, seed)
    assert kind in run.expected_kinds()
    flags = [f for f in det.flags_ if f.kind == kind]
    assert len(flags) == 1, [f.kind for f in det.flags_]
    flag = flags[0]
    assert abs(flag.onset_min - run.planted_onset_min) <= 3.0
    assert flag.onset_min <= flag.alarm_min
    assert flag.size >= MIN_EFFECT[kind]
    assert 0.5 <= flag.confidence <= 1.0
    assert flag.evidence and all(isinstance(line, str) and line for line in flag.evidence)
    # nothing unrelated: a weakening leg also lengthens the mean contact time
    allowed = {kind, "contact_time"} if kind == "asymmetry" else {kind}
    assert {f.kind for f in det.flags_} <= allowed


@pytest.mark.parametrize(("name", "kind"), PLANTED)
def test_same_run_without_the_planted_effect_has_no_flag(name: str, kind: str) -> None:
    _, det = detect(name, 0, effects=())
    assert det.flags_ == []
    # the indicator was evaluated, not skipped
    if not (kind == "asymmetry" and name == "fatigue_one_pod"):
        assert kind in det.indicators_


@pytest.mark.parametrize(
    "name",
    [
        "steady",
        "treadmill",
        "hilly",
        "hilly_speed",
        "intervals",
        "easy_finish",
        "long_warmup",
        "stop_and_go",
        "walk_run",
        "forefoot",
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_confounders_raise_no_flag(name: str, seed: int) -> None:
    run, det = detect(name, seed)
    assert run.planted_onset_min is None
    assert det.flags_ == [], [(f.kind, f.onset_min) for f in det.flags_]


def test_asymmetry_names_the_leg_that_stays_longer_on_the_ground() -> None:
    _, det = detect("right_leg_weakening")
    (flag,) = [f for f in det.flags_ if f.kind == "asymmetry"]
    assert flag.foot == "right"
    assert flag.late_value < flag.baseline_value  # the left share fell
    left = replace(
        scenario("right_leg_weakening"),
        effects=(Effect(onset_min=22.0, ramp_min=8.0, gct_pct=7.0, foot="left"),),
    )
    det = analyse(session_from_strides(generate(left)))
    (flag,) = [f for f in det.flags_ if f.kind == "asymmetry"]
    assert flag.foot == "left"


def test_one_pod_gives_every_flag_but_balance() -> None:
    effects = (
        Effect(onset_min=24.0, ramp_min=6.0, strike_deg=6.0, cadence_pct=-4.0, impact_pct=25.0),
    )
    run, det = detect("steady", 0, feet=("left",), minutes=50, effects=effects)
    assert "asymmetry" not in det.indicators_
    assert det.balance_pct_ is None
    assert set(det.indicators_) == set(FLAG_KINDS) - {"asymmetry"}
    assert {f.kind for f in det.flags_} == {"strike", "cadence", "impact"}


# --- normalisation ---------------------------------------------------------------------


def _raw_gct_rise_pct(det: FatigueDetector, start: float, end: float) -> float:
    bins = det.bins_
    assert bins is not None and det.baseline_ is not None
    t = bins.t_min
    gct = np.nanmean([fb.gct_ms for fb in bins.feet.values()], axis=0)
    base = (t >= det.baseline_.start_min) & (t < det.baseline_.end_min)
    part = (t >= start) & (t < end)
    return 100 * (np.nanmedian(gct[part]) / np.nanmedian(gct[base]) - 1)


def test_slowing_on_a_hill_is_not_fatigue() -> None:
    # each climb is run 15% slower: raw contact time jumps, the normalised one does not
    for name in ("hilly", "hilly_speed"):
        _, det = detect(name)
        assert _raw_gct_rise_pct(det, 6.5, 8.5) > 8.0
        assert det.flags_ == []
        climbs = (det.t_min % 10 >= 6.5) & (det.t_min % 10 < 8.5)
        normalised = det.indicators_["contact_time"].deviation[climbs]
        assert np.nanmedian(normalised) < 0.6 * _raw_gct_rise_pct(det, 6.5, 8.5)


def test_a_slow_finish_is_explained_by_speed_when_speed_is_known() -> None:
    # slowing down for the last 15 minutes raises contact time to the end of the run,
    # so only the speed normalisation can tell it from fatigue
    _, det = detect("easy_finish")
    assert _raw_gct_rise_pct(det, 32, 45) > 10.0
    assert det.baseline_ is not None and det.baseline_.speed_known
    assert det.couplings_["gct_per_speed"] < -0.5
    assert det.flags_ == []
    _, blind = detect("easy_finish", speed_known=False)
    assert not blind.baseline_.speed_known
    # without speed a slowdown to the end looks like fatigue: that is the limit
    assert "contact_time" in {f.kind for f in blind.flags_}
    assert {f.kind for f in blind.flags_} <= {"contact_time", "cadence"}
    assert any("speed is unknown" in note for note in blind.notes_)


def test_pace_coupling_is_learned_from_the_run() -> None:
    _, hilly = detect("hilly_speed")
    _, steady = detect("steady", speed_known=True)
    # generator: contact time ~ speed^-0.8; a steady run has no pace changes to learn from
    assert hilly.couplings_["gct_per_speed"] == pytest.approx(-0.8, abs=0.2)
    assert steady.couplings_["gct_per_speed"] == pytest.approx(-0.8, abs=0.2)
    # without speed, stride time carries the pace: hills teach a steeper coupling
    _, hilly_blind = detect("hilly")
    _, steady_blind = detect("steady")
    assert hilly_blind.couplings_["gct_per_stride_time"] > 1.5
    assert steady_blind.couplings_["gct_per_stride_time"] == pytest.approx(1.0, abs=0.2)


# --- baseline and noise ------------------------------------------------------------------


def test_baseline_moves_past_a_long_warm_up() -> None:
    _, steady = detect("steady")
    _, warm = detect("long_warmup")
    assert steady.baseline_.start_min == 3.0 and steady.baseline_.settling_min == 0.0
    assert warm.baseline_.start_min >= 6.0
    assert warm.baseline_.settling_min == warm.baseline_.start_min - 3.0


def test_fatigue_does_not_move_the_baseline() -> None:
    _, det = detect("steady", 0, effects=(Effect(onset_min=9.0, ramp_min=8.0, gct_pct=10.0),))
    assert det.baseline_.start_min == 3.0
    assert [f.kind for f in det.flags_] == ["contact_time"]


def test_short_run_scales_the_baseline_and_too_short_is_not_judged() -> None:
    _, det = detect("steady", minutes=14)
    assert det.baseline_.start_min == pytest.approx(0.15 * det.bins_.t_min[-1] + 0.25, abs=0.5)
    _, tiny = detect("steady", minutes=6)
    assert tiny.baseline_ is None and tiny.flags_ == []
    assert any("10 min" in note for note in tiny.notes_)


def test_noise_floor_comes_from_the_data() -> None:
    _, calm = detect("steady")
    _, noisy = detect("steady", gct_cv=0.2, stride_cv=0.05)
    assert noisy.indicators_["contact_time"].noise > 2 * calm.indicators_["contact_time"].noise
    assert noisy.indicators_["contact_time"].threshold > MIN_EFFECT["contact_time"]
    assert calm.indicators_["contact_time"].threshold == MIN_EFFECT["contact_time"]
    # the same planted rise is flagged on the calm runner, not on the noisy one
    effect = (Effect(onset_min=22.0, ramp_min=4.0, gct_pct=4.5),)
    _, calm_tired = detect("steady", 3, effects=effect)
    _, noisy_tired = detect("steady", 3, effects=effect, gct_cv=0.2, stride_cv=0.05)
    assert [f.kind for f in calm_tired.flags_] == ["contact_time"]
    assert noisy_tired.flags_ == []


def test_no_running_strides_gives_a_note_not_an_error() -> None:
    det = analyse(session_from_strides({}))
    assert det.flags_ == [] and det.baseline_ is None
    assert det.notes_


@pytest.mark.parametrize(
    "params",
    [
        {"baseline_min": (8.0, 3.0)},
        {"baseline_min": (-1.0, 3.0)},
        {"bin_min": 0.0},
        {"min_effect": {"speed": 1.0}},
    ],
)
def test_bad_parameters_are_refused(params: dict) -> None:
    with pytest.raises(ValueError):
        FatigueDetector(**params)


@pytest.mark.parametrize("minutes", [1, 2, 3])
def test_a_short_run_is_generated_and_stored_whole(tmp_path: Path, minutes: int) -> None:
    with Store(tmp_path / "short.db") as store:
        run_id = store_run(store, scenario("steady", minutes=minutes), started_at=1_780_000_000.0)
        info = store.run(run_id)
    assert {rec.foot for rec in info.recordings} == {"left", "right"}
    for rec in info.recordings:
        # a stride a foot about every 0.7 s, from the start to the end of the run
        assert 60 * minutes / 0.8 < rec.stride_count < 60 * minutes / 0.6
