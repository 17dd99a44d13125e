"""A pod's sensor clock against host time, and left/right step pairing.

Each pod counts time in sensor samples: its crystal runs a little fast or slow
(drift, tens of ppm) and its session started at some host moment (offset). The
status notifications carry the pod's session clock; the host notes when each
arrived. Arrival is late by a variable radio latency and never early, so the
line through the pairs is shifted down to the earliest arrival (the lower
envelope), which is the least-delayed sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(slots=True)
class ClockFit:
    """host_s = offset_s + rate * pod_s, fitted from (pod ms, host s) samples."""

    pod_ms: list[float] = field(default_factory=list)
    host_s: list[float] = field(default_factory=list)
    offset_s: float | None = None
    rate: float = 1.0

    def add(self, pod_ms: float, host_s: float) -> None:
        self.pod_ms.append(float(pod_ms))
        self.host_s.append(float(host_s))
        self._fit()

    def _fit(self) -> None:
        pod = np.asarray(self.pod_ms) / 1000.0
        host = np.asarray(self.host_s)
        if len(pod) >= 2 and np.ptp(pod) > 0:
            self.rate = float(np.polyfit(pod, host, 1)[0])
        self.offset_s = float(np.min(host - self.rate * pod))

    @property
    def known(self) -> bool:
        return self.offset_s is not None

    def host_time(self, pod_ms: float) -> float | None:
        if self.offset_s is None:
            return None
        return self.offset_s + self.rate * pod_ms / 1000.0

    @property
    def drift_ppm(self) -> float:
        return (self.rate - 1.0) * 1e6


def pair_steps(
    left_s: Sequence[float], right_s: Sequence[float], max_gap_s: float = 0.6
) -> list[tuple[int, int]]:
    """Pair each left contact with the right contact that follows it within max_gap_s.

    Times must be on one clock (host-aligned). A right contact is used once; a
    left contact with none in reach (a dropped stride, a stop) stays unpaired.
    """
    right = np.asarray(right_s, dtype=float)
    pairs: list[tuple[int, int]] = []
    used = -1
    for i, t in enumerate(left_s):
        j = int(np.searchsorted(right, t, side="right"))
        if j < len(right) and j > used and right[j] - t <= max_gap_s:
            pairs.append((i, j))
            used = j
    return pairs


def gct_balance_pct(left_gct: Sequence[float], right_gct: Sequence[float]) -> float | None:
    """GCT balance = left / (left + right) in %, over paired strides."""
    total = float(np.sum(left_gct)) + float(np.sum(right_gct))
    if not total:
        return None
    return 100.0 * float(np.sum(left_gct)) / total
