"""The gait model's public names, importable from where they always were (see sim/gait/)."""

from heavylegs.sim.gait.assembly import simulate_foot, simulate_run
from heavylegs.sim.gait.mounting import lace_mounting, rotation
from heavylegs.sim.gait.params import (
    BALL_ON_FOOT,
    DEG,
    FEET,
    FOREFOOT_BELOW_DEG,
    REARFOOT_ABOVE_DEG,
    Fatigue,
    PodParams,
    RunParams,
    Segment,
    Stop,
    Turn,
    strike_class,
)
from heavylegs.sim.gait.stride_plan import Contact, Plan, plan_run

__all__ = [
    "BALL_ON_FOOT",
    "DEG",
    "FEET",
    "FOREFOOT_BELOW_DEG",
    "REARFOOT_ABOVE_DEG",
    "Contact",
    "Fatigue",
    "Plan",
    "PodParams",
    "RunParams",
    "Segment",
    "Stop",
    "Turn",
    "lace_mounting",
    "plan_run",
    "rotation",
    "simulate_foot",
    "simulate_run",
    "strike_class",
]
