"""Two pods' sensor clocks against host time: offset, drift, and left/right pairing."""

from __future__ import annotations

import numpy as np
import pytest

from heavylegs.link.clock import ClockFit, gct_balance_pct, pair_steps
from heavylegs.link.sync import unwrap_seq


def observe(fit: ClockFit, offset_s: float, drift_ppm: float, rng, n: int = 120) -> None:
    """Status notifications every 5 s of pod time, arriving 5-60 ms late on the host."""
    rate = 1 + drift_ppm * 1e-6
    for k in range(n):
        pod_ms = 5000.0 * k + rng.uniform(0, 10)
        fit.add(pod_ms, offset_s + rate * pod_ms / 1000 + rng.uniform(0.005, 0.060))


def test_fit_recovers_offset_and_drift_within_the_radio_latency():
    rng = np.random.default_rng(3)
    fit = ClockFit()
    observe(fit, 1_700_000_123.25, 80.0, rng)
    assert fit.drift_ppm == pytest.approx(80.0, abs=20.0)
    # the lower envelope is within the shortest latency of the truth, over ten minutes
    for pod_ms in (0.0, 300_000.0, 600_000.0):
        truth = 1_700_000_123.25 + (1 + 80e-6) * pod_ms / 1000
        assert abs(fit.host_time(pod_ms) - truth) < 0.02  # type: ignore[operator]


def test_left_and_right_strides_pair_after_alignment_and_not_before():
    rng = np.random.default_rng(5)
    # true contacts: left every 0.706 s, right half a stride later, for 10 minutes
    left_true = np.arange(850) * 0.706
    right_true = left_true + 0.353
    gct_left, gct_right = 262.0, 250.0
    # each pod started its session at a different host moment and drifts its own way
    left_fit, right_fit = ClockFit(), ClockFit()
    observe(left_fit, 1000.0, 40.0, rng)
    observe(right_fit, 1003.9, -60.0, rng)
    left_pod_ms = (left_true - 0.0) / (1 + 40e-6) * 1000
    right_pod_ms = (right_true - 3.9) / (1 - 60e-6) * 1000
    left_host = [left_fit.host_time(t) for t in left_pod_ms]
    right_host = [right_fit.host_time(t) for t in right_pod_ms]
    pairs = pair_steps(left_host, right_host, max_gap_s=0.5)  # type: ignore[arg-type]
    assert len(pairs) == len(left_true)
    assert all(i == j for i, j in pairs), "every left contact meets its own right contact"
    balance = gct_balance_pct([gct_left] * len(pairs), [gct_right] * len(pairs))
    assert balance == pytest.approx(100 * 262 / 512)
    # on the raw pod clocks the 3.9 s start offset pairs the wrong steps
    raw = pair_steps(list(left_pod_ms / 1000), list(right_pod_ms / 1000), max_gap_s=0.5)
    assert not all(i == j for i, j in raw)


def test_sequence_numbers_unwrap_past_65535():
    assert unwrap_seq(5, 65534) == 65541
    assert unwrap_seq(65535, 65535) == 65535
    assert unwrap_seq(3, 0) == 3
    assert unwrap_seq(0, 131070) == 131072
