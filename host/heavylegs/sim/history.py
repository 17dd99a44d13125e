"""Simulated history: weeks of runs from the stride-level generator, each dated, so
load, recovery and shoe wear have something to show (the demo's month)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from heavylegs.sim.strides import SCENARIOS, SyntheticRun


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """One run of a simulated history: when, and what the runner did."""

    started_at: float
    run: SyntheticRun
    name: str


DAY_S = 86_400.0


def build_up(end_at: float, *, seed: int = 0) -> list[PlannedRun]:
    """Four weeks of easy running that ends in a week of daily, longer runs.

    Three runs a week for three weeks, then a run every day of the last week: the
    load ratio rises well above 1.3 and there is no rest day. Contact time at the
    same pace creeps up over the last two weeks (legs getting less springy) and
    impact grows over the whole month (ageing shoes). Runs start at 07:00 on each
    day before `end_at`; every run has stride lengths, so distances are known.
    """
    days = [-28, -26, -24, -21, -19, -17, -14, -12, -10, -7, -6, -5, -4, -3, -2, -1]
    end_day = end_at - end_at % DAY_S  # midnight UTC: the plan does not move within a day
    plan = []
    for index, day in enumerate(days):
        last_week = day >= -7
        recent = day >= -14
        progress = (day + 28) / 27  # 0 on the first day, 1 on the last
        run = replace(
            SCENARIOS["steady"],
            minutes=52.0 if last_week else 38.0,
            speed_known=True,
            gct_ms=260.0 * (1.05 if recent else 1.0),
            impact_g=11.5 * (1 + 0.18 * progress),
            seed=seed + index,
        )
        plan.append(
            PlannedRun(end_day + day * DAY_S + 7 * 3600, run, "simulated steady run (history)")
        )
    return plan
