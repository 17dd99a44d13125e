"""Trace assembly: plan, foot motion, mounting and the sensor's errors make one pod's Trace."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from heavylegs.sim.gait.kinematics import foot_motion
from heavylegs.sim.gait.params import FEET, PodParams, RunParams
from heavylegs.sim.gait.stride_plan import Plan, is_stride, plan_run, truth_of
from heavylegs.trace import STANDARD_GRAVITY, Trace, TraceHeader


def _sample_times(pod: PodParams, duration_s: float) -> np.ndarray:
    true_rate = pod.rate_hz * (1.0 + pod.clock_ppm * 1e-6)
    n = int(math.floor((duration_s - pod.start_offset_s) * true_rate))
    if n <= 0:
        raise ValueError("the pod starts after the run ends")
    return pod.start_offset_s + np.arange(n) / true_rate


def simulate_foot(
    plan: Plan,
    foot: str,
    pod: PodParams,
    *,
    seed: int = 0,
    scenario: str = "",
    meta: dict[str, Any] | None = None,
) -> Trace:
    """One pod's trace for one foot of a planned run."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2, FEET.index(foot)]))
    contacts = plan.contacts[foot]
    if not contacts:
        raise ValueError(
            f"no {foot} foot contact in {plan.params.duration_s:.0f} s: the runner is still "
            f"standing (stand_s={plan.params.stand_s:.0f}); simulate a longer run"
        )
    t = _sample_times(pod, plan.params.duration_s)
    motion = foot_motion(contacts, foot, t, 1.0 / pod.rate_hz, plan.params, pod)
    m = pod.mounting_matrix()
    gain = np.eye(3) + pod.gain_sd * rng.standard_normal((3, 3))
    n = len(t)
    acc_g = (motion.f_foot / STANDARD_GRAVITY) @ m.T @ gain.T
    gyr_dps = np.degrees(motion.w_foot) @ m.T @ gain.T
    acc_g += pod.acc_bias_g * rng.standard_normal(3)
    acc_g += pod.acc_noise_g * rng.standard_normal((n, 3))
    gyr_dps += pod.gyr_bias_dps * rng.standard_normal(3)
    gyr_dps += pod.gyr_noise_dps * rng.standard_normal((n, 3))
    first, last = t[0], t[-1]
    truth = [
        truth_of(c, foot, flat_s=motion.flat_s[i], impact_g=motion.impact_g[i])
        for i, c in enumerate(contacts)
        if is_stride(c) and c.ic >= first and c.to <= last
    ]
    # Where this foot stands still: before setting off, at stops, after pulling up.
    duration = plan.params.duration_s
    stands = [
        [0.0 if c.ic is None else c.ic, duration if c.to is None else c.to]
        for c in contacts
        if c.ic is None or c.to is None or c.stand
    ]
    header = TraceHeader(
        rate_hz=pod.rate_hz,
        n_samples=n,
        pod=foot,
        foot=foot,
        part=pod.part,
        clock_ppm=pod.clock_ppm,
        start_offset_s=pod.start_offset_s,
        scenario=scenario,
        seed=seed,
        mounting=m.tolist(),
        acc_fs_g=pod.acc_fs_g,
        gyr_fs_dps=pod.gyr_fs_dps,
        treadmill=plan.params.treadmill,
        stands_s=stands,
        meta=dict(meta or {}),
    )
    return Trace(header=header, acc_g=acc_g, gyr_dps=gyr_dps, truth=truth)


def simulate_run(
    params: RunParams,
    *,
    seed: int = 0,
    scenario: str = "",
    pods: dict[str, PodParams] | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Trace]:
    """Both feet of one run; each pod has its own clock, mounting and sensor errors."""
    plan = plan_run(params, seed=seed)
    pods = pods or {}
    return {
        foot: simulate_foot(
            plan, foot, pods.get(foot, PodParams()), seed=seed, scenario=scenario, meta=meta
        )
        for foot in FEET
    }


# -- mountings ------------------------------------------------------------------------
