"""What a scenario is: a course and a runner, how the pods sit and tick, and what was
planted (the metadata fatigue analysis is checked against). The named library of
scenarios is heavylegs.sim.scenarios.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from heavylegs.sim.board import sim_board
from heavylegs.sim.gait_model import (
    FEET,
    PodParams,
    RunParams,
    lace_mounting,
    simulate_run,
)
from heavylegs.trace import Trace

# Indicator names used in the metadata.
GCT_RISING = "gct_rising"
STRIKE_TOWARDS_HEEL = "strike_towards_heel"
CADENCE_FALLING = "cadence_falling"
VARIABILITY_RISING = "variability_rising"
GCT_BALANCE_SHIFT = "gct_balance_shift"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    minutes: float  # default length
    params: RunParams  # duration_s is set from the minutes asked for
    mounting: str = "laces"  # "identity", "laces" or "laces-upside-down"
    ideal_clock: bool = False
    part: str = "LSM6DSOX"
    confounders: tuple[str, ...] = ()  # what changes without being fatigue
    # what real signals do that the gait model does not (heavylegs.sim.disturbances),
    # applied in order to every pod's trace; truth is unchanged
    disturbances: tuple[str, ...] = ()

    def run_params(self, minutes: float | None = None) -> RunParams:
        minutes = self.minutes if minutes is None else minutes
        if minutes <= 0:
            raise ValueError("minutes must be positive")
        return replace(self.params, duration_s=minutes * 60.0)

    def pods(self, seed: int) -> dict[str, PodParams]:
        if self.mounting == "identity" and self.ideal_clock:
            return {foot: PodParams(part=self.part, acc_fs_g=_fs(self.part)) for foot in FEET}
        rng = np.random.default_rng(
            np.random.SeedSequence([seed, 3, zlib.crc32(self.name.encode())])
        )
        pods = {}
        for foot in FEET:
            mounting = None
            if self.mounting != "identity":
                mounting = lace_mounting(rng, upside_down=self.mounting == "laces-upside-down")
            pods[foot] = PodParams(
                mounting=mounting,
                clock_ppm=0.0 if self.ideal_clock else float(rng.uniform(-50.0, 50.0)),
                start_offset_s=0.0 if self.ideal_clock else float(rng.uniform(0.0, 1.5)),
                part=self.part,
                acc_fs_g=_fs(self.part),
            )
        return pods

    def metadata(self, minutes: float | None = None) -> dict[str, Any]:
        """What was planted, as plain JSON-able data."""
        minutes = self.minutes if minutes is None else minutes
        p = self.params
        fatigue: dict[str, Any] = {"planted": False}
        for fat in p.fatigue:
            onset = fat.onset_s / 60.0
            if onset >= minutes:
                continue
            both = set(fat.feet) >= set(FEET)
            indicators = []
            if fat.gct_pct > 0:
                indicators.append(GCT_RISING)
            if fat.strike_deg > 0:
                indicators.append(STRIKE_TOWARDS_HEEL)
            if both and fat.cadence_pct < 0:
                indicators.append(CADENCE_FALLING)
            if fat.variability_x > 1:
                indicators.append(VARIABILITY_RISING)
            if not both and fat.gct_pct > 0:
                indicators.append(GCT_BALANCE_SHIFT)
            fatigue = {
                "planted": True,
                "onset_min": onset,
                "full_min": min(minutes, (fat.onset_s + fat.ramp_s) / 60.0),
                "feet": list(fat.feet),
                "indicators": indicators,
                # Sizes at full drift (the run may end before it is reached).
                "sizes": {
                    "gct_pct": fat.gct_pct,
                    "strike_deg": fat.strike_deg,
                    "cadence_pct": fat.cadence_pct if both else 0.0,
                    "variability_x": fat.variability_x,
                    "step_pct": fat.step_pct,
                },
            }
        return {
            "scenario": self.name,
            "description": self.description,
            "minutes": minutes,
            "fatigue": fatigue,
            "expect_fatigue_flag": fatigue["planted"],
            "confounders": list(self.confounders),
            "mounting": self.mounting,
            "ideal_clock": self.ideal_clock,
            "part": self.part,
            "treadmill": p.treadmill,
            "gct_asym_pct": p.gct_asym_pct,
            "segments": [
                {
                    "start_min": s.start_s / 60,
                    "gait": s.gait,
                    "speed_mps": s.speed_mps,
                    "grade_pct": s.grade_pct,
                }
                for s in p.segments
                if s.start_s / 60 < minutes
            ],
            "stops": [
                {"at_min": s.at_s / 60, "duration_s": s.duration_s}
                for s in p.stops
                if s.at_s / 60 < minutes
            ],
            "turns": len([t for t in p.turns if t.at_s / 60 < minutes]),
        } | ({"disturbances": list(self.disturbances)} if self.disturbances else {})

    def simulate(self, *, minutes: float | None = None, seed: int = 1) -> dict[str, Trace]:
        traces = simulate_run(
            self.run_params(minutes),
            seed=seed,
            scenario=self.name,
            pods=self.pods(seed),
            meta=self.metadata(minutes),
        )
        if not self.disturbances:
            return traces
        from heavylegs.sim import disturbances

        for foot, trace in traces.items():
            for name in self.disturbances:
                trace = getattr(disturbances, name)(trace)
            traces[foot] = trace
        return traces


def _fs(part: str) -> int:
    # the range the simulated pod's board file sets, so traces and pods agree
    return sim_board.ACC_FS_G[part]
