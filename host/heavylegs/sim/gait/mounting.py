"""Mountings: how a pod sits on the shoe, as sensor_from_foot rotations."""

from __future__ import annotations

import math

import numpy as np

from heavylegs.sim.gait.params import DEG


def rotation(axis: str, angle_deg: float) -> np.ndarray:
    c, s = math.cos(angle_deg * DEG), math.sin(angle_deg * DEG)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    if axis == "z":
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    raise ValueError(f"axis must be x, y or z, not {axis!r}")


def lace_mounting(
    rng: np.random.Generator, *, upside_down: bool = False
) -> tuple[tuple[float, ...], ...]:
    """sensor_from_foot for a pod clipped on the laces, turned any way round.

    The instep slopes down towards the toes, so the pod's face is pitched
    forward by 12-28 degrees; the clip may point any direction in that plane and
    the pod may sit face down.
    """
    flip = rotation("x", 180.0) if upside_down else np.eye(3)
    foot_from_sensor = (
        rotation("y", rng.uniform(12.0, 28.0))
        @ rotation("x", rng.normal(0.0, 4.0))
        @ rotation("z", rng.uniform(0.0, 360.0))
        @ flip
    )
    return tuple(tuple(float(v) for v in row) for row in foot_from_sensor.T)
