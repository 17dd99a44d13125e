"""Disturbances at initial contact: the impact transient and the ringing of shoe and pod."""

from __future__ import annotations

import math

import numpy as np

from heavylegs.sim.gait.orientation import Angles, subset_angles
from heavylegs.sim.gait.params import DEG, FOREFOOT_BELOW_DEG, REARFOOT_ABOVE_DEG
from heavylegs.sim.gait.stride_plan import Contact


def _impact_tau(c: Contact) -> float:
    """Time constant of the contact point's deceleration: sharper for a heel strike."""
    if c.gait == "walk":
        return 0.0015
    # 3.5 ms for a forefoot landing, 1.4 ms at the rearfoot cut-off, 1.0 ms for a
    # heel strike of 20 degrees or more.
    return float(
        np.interp(
            c.strike / DEG, [FOREFOOT_BELOW_DEG, REARFOOT_ABOVE_DEG, 20.0], [0.0035, 0.0014, 0.0010]
        )
    )


def add_impacts(
    acc_foot: np.ndarray,
    w: np.ndarray,
    t: np.ndarray,
    period: float,
    ic_t: np.ndarray,
    v_c: np.ndarray,
    landing: list[Contact],
    ang: Angles,
    side: float,
) -> None:
    span = int(math.ceil(0.045 / period)) + 1
    first = np.searchsorted(t, ic_t)
    idx = first[:, None] + np.arange(span)[None, :]
    ok = idx < len(t)
    idx = np.minimum(idx, len(t) - 1)
    u1 = t[idx] - ic_t[:, None]  # end of each sample's averaging window, after contact
    u0 = u1 - period
    tau = np.array([_impact_tau(c) for c in landing])[:, None]
    speed = np.linalg.norm(v_c, axis=1)[:, None]

    def removed(u: np.ndarray) -> np.ndarray:  # fraction of v_c removed by time u
        u = np.maximum(u, 0.0)
        removed_so_far: np.ndarray = 1 - (1 + u / tau) * np.exp(-u / tau)
        return removed_so_far

    frac = (removed(u1) - removed(u0)) / period
    a_w = -v_c[:, None, :] * frac[..., None]
    # Ringing of shoe and pod: a damped velocity wobble, so it adds no net velocity.
    f_ring, tau_ring = 75.0, 0.006

    def wobble(u: np.ndarray) -> np.ndarray:
        u = np.maximum(u, 0.0)
        return np.exp(-u / tau_ring) * np.sin(2 * np.pi * f_ring * u)

    ring = (wobble(u1) - wobble(u0)) / period
    a_w[..., 2] += 0.12 * speed * ring
    a_w[~ok] = 0.0
    flat_idx = idx[ok]
    np.add.at(acc_foot, flat_idx, subset_angles(ang, flat_idx).to_foot(a_w[ok]))
    # The pod rocks on its strap in pitch (and a little in roll): 2.4 rad/s per m/s of impact.
    g_ring = 2.4 * speed * ring / (2 * np.pi * f_ring)
    g_ring[~ok] = 0.0
    np.add.at(w[:, 1], flat_idx, g_ring[ok])
    np.add.at(w[:, 0], flat_idx, 0.3 * side * g_ring[ok])
