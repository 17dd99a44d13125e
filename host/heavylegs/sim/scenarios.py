"""Named, seeded, reproducible runs for tests, bench/ and the demo.

Each scenario is a course and a runner (`RunParams`), how the pods sit and
tick, and metadata saying what was planted: whether fatigue drifts in, from
which minute, in which indicators and on which foot, and which confounders
(hills, intervals, stops...) are there without fatigue. Fatigue analysis is
checked against `Scenario.metadata()`; the same dict is written into every
trace header (`meta`).

    >>> from heavylegs.sim.scenarios import SCENARIOS, scenario_metadata
    >>> scenario_metadata("fatigue")["fatigue"]["onset_min"]
    25.0

"easy" stays a steady run with ideal pods (sensor axes on the foot axes, no
clock drift, no start offset) so the demo and end-to-end tests can compare
firmware output with truth directly. Every other scenario mounts each pod on
the laces turned a random way, with its own clock error (within +-50 ppm) and
start offset.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from heavylegs.sim.gait_model import Fatigue, RunParams, Segment, Stop, Turn
from heavylegs.sim.scenario import (
    CADENCE_FALLING,
    GCT_BALANCE_SHIFT,
    GCT_RISING,
    STRIKE_TOWARDS_HEEL,
    VARIABILITY_RISING,
    Scenario,
)

__all__ = [
    "CADENCE_FALLING",
    "GCT_BALANCE_SHIFT",
    "GCT_RISING",
    "SCENARIOS",
    "STRIKE_TOWARDS_HEEL",
    "VARIABILITY_RISING",
    "Scenario",
    "names",
    "scenario",
    "scenario_metadata",
    "write_scenario",
]


def _m(minutes: float) -> float:
    return minutes * 60.0


def _corners(every_s: float, until_s: float, start_s: float = 60.0) -> tuple[Turn, ...]:
    """Street corners: alternating right and left quarter turns."""
    n = int((until_s - start_s) // every_s)
    return tuple(
        Turn(at_s=start_s + k * every_s, angle_deg=90.0 if k % 2 else -90.0, duration_s=2.5)
        for k in range(n)
    )


def _intervals() -> tuple[Segment, ...]:
    segs = [Segment(0.0, speed_mps=3.0)]
    t = _m(10)
    for _ in range(6):
        segs.append(Segment(t, speed_mps=4.6))
        segs.append(Segment(t + _m(3), speed_mps=2.6))
        t += _m(5)
    segs.append(Segment(t, speed_mps=3.0))
    return tuple(segs)


def _hills() -> tuple[Segment, ...]:
    segs = []
    t = 0.0
    for k in range(10):
        segs.append(Segment(t, speed_mps=3.0))
        segs.append(Segment(t + _m(1), speed_mps=2.6, grade_pct=6.0 if k % 2 == 0 else 4.0))
        segs.append(Segment(t + _m(2.5), speed_mps=3.3, grade_pct=-6.0 if k % 2 == 0 else -4.0))
        t += _m(4)
    return tuple(segs)


def _walk_run() -> tuple[Segment, ...]:
    segs = []
    for k in range(12):
        segs.append(Segment(_m(5 * k)))
        segs.append(Segment(_m(5 * k + 4), gait="walk"))
    return tuple(segs)


def _warm_up() -> tuple[Segment, ...]:
    speeds = (2.3, 2.5, 2.7, 2.9)
    return tuple(Segment(_m(4 * k), speed_mps=v) for k, v in enumerate(speeds)) + (
        Segment(_m(16), speed_mps=3.1),
    )


def _pivot_turns(until_s: float) -> tuple[Turn, ...]:
    """Turns on the spot by pivot steps, as in a small hall: a U-turn every 15 s and
    a corner between them, alternately left and right."""
    turns = []
    t = 20.0
    k = 0
    while t < until_s - 5.0:
        side = 1.0 if k % 2 else -1.0
        if k % 2 == 0:
            turns.append(Turn(at_s=t, angle_deg=180.0 * side, duration_s=1.6, pivot=True))
        else:
            turns.append(Turn(at_s=t, angle_deg=90.0 * side, duration_s=1.0, pivot=True))
        t += 7.5
        k += 1
    return tuple(turns)


def _tight_turns(until_s: float) -> tuple[Turn, ...]:
    turns = []
    t = 20.0
    k = 0
    while t < until_s - 5.0:
        if k % 5 == 4:
            turns.append(Turn(at_s=t, angle_deg=180.0, duration_s=2.5))
        else:
            turns.append(Turn(at_s=t, angle_deg=90.0 if k % 2 else -90.0, duration_s=1.5))
        t += 12.0
        k += 1
    return tuple(turns)


_EASY = RunParams()
_NATURAL = replace(_EASY, gct_asym_pct=1.8, strike_asym_deg=0.8, step_asym_pct=0.4)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "easy",
            "steady easy run: heel strike, 3.0 m/s, 170 steps/min, 260 ms contact; ideal pods",
            20.0,
            _EASY,
            mounting="identity",
            ideal_clock=True,
        ),
        Scenario(
            "tempo",
            "8 min easy, 18 min tempo at 4.3 m/s (midfoot), 4 min easy",
            30.0,
            replace(
                _NATURAL,
                segments=(Segment(0.0), Segment(_m(8), speed_mps=4.3), Segment(_m(26))),
                turns=_corners(300.0, _m(30)),
            ),
            confounders=("pace_change",),
        ),
        Scenario(
            "intervals",
            "10 min warm-up, 6 x (3 min at 4.6 m/s, 2 min jog at 2.6 m/s), cool-down",
            45.0,
            replace(_NATURAL, segments=_intervals(), turns=_corners(240.0, _m(45))),
            confounders=("pace_change", "intervals"),
        ),
        Scenario(
            "hilly",
            "rolling route: 1.5 min climbs of 4-6 % at 2.6 m/s, descents at 3.3 m/s",
            40.0,
            replace(_NATURAL, segments=_hills(), turns=_corners(200.0, _m(40))),
            confounders=("hills", "pace_change"),
        ),
        Scenario(
            "treadmill",
            "treadmill at a constant 3.2 m/s: no turns, no hills, no pace changes",
            30.0,
            replace(_NATURAL, speed_mps=3.2, cadence_spm=172.0, gct_s=0.25, treadmill=True),
            confounders=("treadmill",),
        ),
        Scenario(
            "heel-striker",
            "pronounced heel striker (18 deg) at 2.9 m/s on an LSM6DSO32 (+-32 g)",
            20.0,
            replace(_NATURAL, speed_mps=2.9, cadence_spm=162.0, gct_s=0.29, strike_deg=18.0),
            part="LSM6DSO32",
        ),
        Scenario(
            "forefoot-striker",
            "forefoot striker (-6 deg) at 3.6 m/s, 178 steps/min, 215 ms contact",
            20.0,
            replace(_NATURAL, speed_mps=3.6, cadence_spm=178.0, gct_s=0.215, strike_deg=-6.0),
        ),
        Scenario(
            "walk-run",
            "4 min running, 1 min walking, repeated",
            30.0,
            replace(_NATURAL, segments=_walk_run()),
            confounders=("walking_breaks",),
        ),
        Scenario(
            "stop-and-go",
            "city run: five traffic-light stops of 15-60 s and street corners",
            30.0,
            replace(
                _NATURAL,
                stops=(
                    Stop(_m(4), 35.0),
                    Stop(_m(9), 15.0),
                    Stop(_m(13.5), 60.0),
                    Stop(_m(19), 25.0),
                    Stop(_m(24), 45.0),
                ),
                turns=_corners(150.0, _m(30), start_s=100.0),
            ),
            confounders=("stops", "turns"),
        ),
        Scenario(
            "fatigue",
            "steady 3.1 m/s; from minute 25 contact time rises 9 %, strike moves 5 deg "
            "towards the heel, cadence falls 3 %, variability x1.8 by minute 45",
            50.0,
            replace(
                _NATURAL,
                speed_mps=3.1,
                fatigue=(
                    Fatigue(
                        onset_s=_m(25),
                        ramp_s=_m(20),
                        gct_pct=9.0,
                        strike_deg=5.0,
                        cadence_pct=-3.0,
                        variability_x=1.8,
                    ),
                ),
                turns=_corners(300.0, _m(50)),
            ),
        ),
        Scenario(
            "right-leg-weakening",
            "steady run; from minute 20 the right foot's contact time rises 7 % "
            "(balance moves towards the right), its strike 2 deg heelward, its variability x1.5",
            45.0,
            replace(
                _NATURAL,
                fatigue=(
                    Fatigue(
                        onset_s=_m(20),
                        ramp_s=_m(20),
                        gct_pct=7.0,
                        strike_deg=2.0,
                        cadence_pct=0.0,
                        variability_x=1.5,
                        step_pct=1.5,
                        feet=("right",),
                    ),
                ),
                turns=_corners(300.0, _m(45)),
            ),
        ),
        Scenario(
            "upside-down",
            "easy run with both pods clipped face down on the laces",
            20.0,
            _NATURAL,
            mounting="laces-upside-down",
        ),
        Scenario(
            "zero-touch",
            "5.5 min standing, 1 min walking, 4 min running with two traffic-light stops "
            "(25 s, 40 s), 5.5 min rest: one session, opened and closed by the pod itself",
            16.0,
            replace(
                _NATURAL,
                stand_s=330.0,
                segments=(Segment(0.0, gait="walk"), Segment(390.0)),
                stops=(Stop(450.0, 25.0), Stop(540.0, 40.0)),
            ),
            confounders=("stops", "walking_breaks"),
        ),
        Scenario(
            "long-warm-up",
            "16 min warm-up from 2.3 to 2.9 m/s (contact time falls, cadence rises), "
            "then steady 3.1 m/s",
            50.0,
            replace(_NATURAL, segments=_warm_up(), turns=_corners(300.0, _m(50))),
            confounders=("warm_up", "pace_change"),
        ),
        # What real recordings showed and the gait model did not (issue 14): each
        # is one failure mode, planted on top of a clean run (sim/disturbances.py).
        Scenario(
            "fast-never-still",
            "5.0 m/s heel striker whose stance never goes quiet: the slap runs straight "
            "into the roll over the forefoot (pitch rate below -110 dps all stance)",
            3.0,
            replace(_NATURAL, speed_mps=5.0, cadence_spm=180.0, gct_s=0.19, strike_deg=8.0),
            disturbances=("rolling_stance",),
        ),
        Scenario(
            "sprint-clipped",
            "8 m/s sprint, 210 steps/min: 40 g landings and 2,000+ dps rotations "
            "clip a +-16 g / +-2000 dps chip",
            2.0,
            replace(_NATURAL, speed_mps=8.0, cadence_spm=210.0, gct_s=0.13, strike_deg=-8.0),
            disturbances=("sprint_saturation",),
        ),
        Scenario(
            "slap-rebound",
            "easy run whose every heel strike rings: -530 dps then +390 dps within 0.1 s",
            3.0,
            _NATURAL,
            disturbances=("slap_rebound",),
        ),
        Scenario(
            "rocking-stance",
            "easy run with no still sample anywhere: the foot rocks by 60 dps and 0.3 g",
            3.0,
            _NATURAL,
            disturbances=("never_still",),
        ),
        Scenario(
            "walk-100hz",
            "walking at 1.3 m/s recorded by a 100 Hz IMU and resampled to 416 Hz",
            3.0,
            replace(_NATURAL, speed_mps=1.3, cadence_spm=110.0, gct_s=0.65),
            disturbances=("low_source_rate",),
        ),
        Scenario(
            "tight-turns",
            "easy run on a winding path: a 90 deg curve in 1.5 s every 12 s and a "
            "U-turn (180 deg in 2.5 s) every minute",
            3.0,
            replace(_NATURAL, turns=_tight_turns(_m(3.0))),
            confounders=("turns",),
        ),
        Scenario(
            "pivot-turns",
            "easy run in a small hall: every 15 s a U-turn (180 deg in 1.6 s) and between "
            "them a corner (90 deg in 1 s), both turned by pivot steps that swing the "
            "foot 8 deg in pitch and 250 dps in yaw",
            3.0,
            replace(_NATURAL, turns=_pivot_turns(_m(3.0))),
            confounders=("turns",),
        ),
        Scenario(
            "first-last-steps",
            "easy run stopped every 25 s for 8 s: first steps from standing and last "
            "steps to standing, eight times",
            4.0,
            replace(_NATURAL, stops=tuple(Stop(25.0 + 33.0 * k, 8.0) for k in range(7))),
            confounders=("stops",),
        ),
        Scenario(
            "sample-gaps",
            "easy run recorded with lost packets: a 20-120 ms gap every ~6 s, filled "
            "by a straight line as the host does",
            3.0,
            _NATURAL,
            disturbances=("sample_gaps",),
        ),
        Scenario(
            "woken-mid-run",
            "the pods wake 40 s into a run: no standing start, no first still foot-flat",
            3.0,
            _NATURAL,
            disturbances=("woken_mid_run",),
        ),
    )
}


def names() -> list[str]:
    return list(SCENARIOS)


def scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    return SCENARIOS[name]


def scenario_metadata(name: str, minutes: float | None = None) -> dict[str, Any]:
    """The planted truth of a scenario (fatigue onset, indicators, confounders...)."""
    return scenario(name).metadata(minutes)


def write_scenario(
    name: str, out_dir: Path, *, minutes: float | None = None, seed: int = 1
) -> dict[str, Path]:
    """Write left and right traces for a scenario; returns foot -> trace path."""
    traces = scenario(name).simulate(minutes=minutes, seed=seed)
    return {
        foot: trace.write(Path(out_dir) / f"{name}-{foot}.hltrace")
        for foot, trace in traces.items()
    }
