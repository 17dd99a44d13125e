"""What a simulated run and a simulated pod are: the course, the runner, the sensor."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

REARFOOT_ABOVE_DEG = 7.4
FOREFOOT_BELOW_DEG = -0.8
FEET = ("left", "right")
DEG = math.pi / 180.0

# Foot geometry in the foot frame (x forward from the heel contact point, y left, z up), m.
BALL_ON_FOOT = np.array([0.18, 0.0, 0.0])


def strike_class(angle_deg: float) -> str:
    if angle_deg > REARFOOT_ABOVE_DEG:
        return "rearfoot"
    if angle_deg < FOREFOOT_BELOW_DEG:
        return "forefoot"
    return "midfoot"


# -- what the run is ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """From `start_s` until the next segment: gait, target speed and ground grade."""

    start_s: float
    speed_mps: float | None = None  # None: the run's speed (running) or walk_speed_mps
    gait: str = "run"  # "run" or "walk"
    grade_pct: float = 0.0  # uphill positive


@dataclass(frozen=True, slots=True)
class Stop:
    """Standing still (a traffic light): both feet land and stay, then set off again."""

    at_s: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class Turn:
    """A change of heading spread over `duration_s`, carried by the swings."""

    at_s: float
    angle_deg: float  # left turn positive
    duration_s: float = 3.0
    # Made by pivot steps, as a runner turns on the spot (real running, pyshoe: a
    # swing of about 8 deg of pitch and 250 dps of yaw): short, flat steps at half
    # speed whose swing turns the foot about its vertical axis more than lifts the toe.
    pivot: bool = False


@dataclass(frozen=True, slots=True)
class Fatigue:
    """Drift from `onset_s`, growing linearly to its full size at onset + ramp, then held.

    Sizes are at full drift. Cadence is a property of the step sequence, so it
    drifts only when both feet are fatigued; a one-sided fatigue changes that
    foot's contact time, strike and variability and lengthens its steps instead.
    """

    onset_s: float
    ramp_s: float = 1200.0
    gct_pct: float = 8.0
    strike_deg: float = 4.0  # towards the heel
    cadence_pct: float = -3.0
    variability_x: float = 1.8
    step_pct: float = 0.0  # one-sided: the fatigued foot's step (its IC to the other's) longer
    feet: tuple[str, ...] = FEET

    def level(self, t_s: float) -> float:
        if t_s <= self.onset_s:
            return 0.0
        return min(1.0, (t_s - self.onset_s) / max(self.ramp_s, 1e-9))


@dataclass(frozen=True, slots=True)
class RunParams:
    """The runner and the course; defaults are a steady easy recreational run.

    cadence_spm, gct_s and strike_deg are the runner's values at speed_mps on
    the flat; other speeds and grades scale them (see `_running_at`).
    """

    duration_s: float = 180.0
    speed_mps: float = 3.0
    cadence_spm: float = 170.0
    gct_s: float = 0.26
    strike_deg: float = 12.0
    variability: float = 0.012  # SD of step time, as a fraction
    gct_variability: float = 0.015  # SD of contact time, as a fraction
    strike_sd_deg: float = 1.0
    stand_s: float = 3.0  # standing still before the first step and after the last
    push_off_deg: float = -55.0  # deepest plantar flexion after toe-off (relative to flat)
    pronation_deg: float = 8.0  # eversion from contact to mid-stance
    toe_out_deg: float = 6.0
    to_lag_ms: float = 7.0  # toe-off after the push-off pitch-rate minimum (running)
    walk_to_lag_ms: float = 5.0  # the same, walking (measured on gaitmap's recording)
    walk_speed_mps: float = 1.4
    walk_cadence_spm: float = 112.0
    walk_duty: float = 0.63  # contact time / stride time when walking
    walk_strike_deg: float = 22.0
    walk_push_off_deg: float = -64.0
    lead_foot: str = "left"
    segments: tuple[Segment, ...] = ()
    stops: tuple[Stop, ...] = ()
    turns: tuple[Turn, ...] = ()
    fatigue: tuple[Fatigue, ...] = ()
    # Left/right asymmetry: the right foot's value minus the left's (each side half of it).
    gct_asym_pct: float = 0.0
    strike_asym_deg: float = 0.0
    step_asym_pct: float = 0.0
    treadmill: bool = False


@dataclass(frozen=True, slots=True)
class PodParams:
    """One pod: where it sits on the shoe, its clock, and its sensor's imperfections.

    The defaults are an ideal clock and the sensor axes on the foot axes, with
    noise and bias of the order of the LSM6DSOX datasheet's typical figures.
    """

    mounting: tuple[tuple[float, ...], ...] | None = None  # sensor_from_foot; None: identity
    position_m: tuple[float, float, float] = (0.10, 0.0, 0.06)  # on the foot: the laces
    clock_ppm: float = 0.0
    start_offset_s: float = 0.0
    rate_hz: float = 416.0
    part: str = "LSM6DSOX"
    acc_fs_g: int = 16
    gyr_fs_dps: int = 2000
    acc_noise_g: float = 0.0013  # RMS at 416 Hz (about 90 ug/sqrt(Hz))
    gyr_noise_dps: float = 0.055  # RMS at 416 Hz (about 3.8 mdps/sqrt(Hz))
    acc_bias_g: float = 0.015  # SD of the per-axis zero-g offset
    gyr_bias_dps: float = 0.8  # SD of the per-axis zero-rate level
    gain_sd: float = 0.004  # SD of gain and cross-axis error

    def mounting_matrix(self) -> np.ndarray:
        return np.eye(3) if self.mounting is None else np.asarray(self.mounting, dtype=float)
