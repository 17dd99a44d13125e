"""What real foot signals do that the gait model's clean strides do not.

Each function takes a simulated `Trace` and returns a new one with one failure
mode of issue 14 planted, truth unchanged, so that a test can show the engine
failing on it before the fix and coping after:

- `never_still`: fast running whose stance never passes a stillness test. Real
  recordings show the smallest gyro sum in every stance at 50-56 dps and the
  acceleration at least 0.2 g away from 1 g; here the foot rocks through every
  stance (and everything else) at `rock_hz` by `rock_dps` on each axis and
  `rock_g` along each axis, with phases that never line up.
- `rolling_stance`: fast running whose slap runs straight into the roll over the
  forefoot, the pitch rate never near zero in stance (issue 14 mode 7).
- `sprint_saturation`: a sprint's landings, swings and rotations beyond a
  +-16 g / +-2000 dps chip's full scale (mode 8).
- `slap_rebound`, `low_source_rate`: a heel slap's rebound; a 100-200 Hz source.
- `started_mid_run` (in the tests: feed the engine from a later sample) needs no
  new signal: the pod wakes while the runner is already running, so no standing,
  and no first still foot-flat, precede its first sample.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from heavylegs.trace import Trace


def never_still(
    trace: Trace,
    *,
    rock_dps: float = 60.0,
    rock_g: float = 0.3,
    rock_hz: float = 23.0,
    seed: int = 0,
) -> Trace:
    """The same run with no sample still enough to count as rest (see module note)."""
    rng = np.random.default_rng(seed)
    t = np.arange(trace.header.n_samples) / trace.header.rate_hz
    phases = rng.uniform(0, 2 * np.pi, size=6)
    # three axes a third of a cycle apart: their absolute values never all dip together
    spread = np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
    wave_g = np.sin(2 * np.pi * rock_hz * t[:, None] + phases[None, 3:] + spread)
    wave_w = np.sin(2 * np.pi * rock_hz * 1.13 * t[:, None] + phases[None, :3] + spread)
    return replace(
        trace,
        acc_g=trace.acc_g + rock_g * wave_g,
        gyr_dps=trace.gyr_dps + rock_dps * wave_w,
    )


def slap_rebound(
    trace: Trace,
    *,
    slap_dps: float = 530.0,
    rebound_dps: float = 390.0,
    period_s: float = 0.1,
    delay_s: float = 0.05,
) -> Trace:
    """Every landing followed by a foot-slap oscillation of the pitch rate: down to
    -`slap_dps`, back up to +`rebound_dps` within `period_s` (what real running on
    curves and some walkers show: about -530 then +390 dps within 0.1 s), as one
    damped cycle of a sine that starts and ends at zero, `delay_s` after the
    impact (in the real recordings the heel settles for a few tens of ms first)."""
    rate = trace.header.rate_hz
    t = np.arange(int(period_s * rate)) / rate
    decay_s = (period_s / 2) / np.log(slap_dps / rebound_dps)
    amplitude = slap_dps * np.exp(period_s / 4 / decay_s)
    wave = -amplitude * np.sin(2 * np.pi * t / period_s) * np.exp(-t / decay_s)
    # the model's foot frame to the pod's axes (header.mounting: sensor_from_foot)
    mounting = np.asarray(trace.header.mounting, dtype=float)
    pitch_axis = np.array([0.0, -1.0, 0.0]) @ mounting.T  # pitch rate is -gyro_y (foot)
    gyr = trace.gyr_dps.copy()
    to_sensor = getattr(trace, "sensor_time", None)
    for stride in trace.truth:
        ic = to_sensor(stride.ic_s) if to_sensor else stride.ic_s
        first = int(round((ic + delay_s) * rate))
        last = min(first + len(wave), len(gyr))
        if first < last:
            gyr[first:last] += wave[: last - first, None] * pitch_axis[None, :]
    return replace(trace, gyr_dps=gyr)


def low_source_rate(trace: Trace, *, source_hz: float = 100.0) -> Trace:
    """The same run as a slower IMU records it, resampled back to the trace's rate
    by linear interpolation (as bench/realdata.py does with 100-200 Hz datasets):
    an impact's jolt is spread over a whole source period, each sample-to-sample
    jump a fraction of what the pod's own 416 Hz FIFO would show."""
    rate = trace.header.rate_hz
    t = np.arange(trace.header.n_samples) / rate
    coarse = np.arange(0.0, t[-1], 1.0 / source_hz)

    def through(values: np.ndarray) -> np.ndarray:
        kept = np.stack([np.interp(coarse, t, values[:, i]) for i in range(3)], axis=1)
        return np.stack([np.interp(t, coarse, kept[:, i]) for i in range(3)], axis=1)

    return replace(trace, acc_g=through(trace.acc_g), gyr_dps=through(trace.gyr_dps))


def sprint_saturation(
    trace: Trace,
    *,
    impact_g: float = 40.0,
    ring_hz: float = 35.0,
    ring_decay_s: float = 0.012,
    heel_drop_dps: float = 2600.0,
    heel_drop_s: float = 0.03,
    gyro_gain: float = 2.0,
    swing_gain: float = 2.5,
) -> Trace:
    """A sprint as a real foot IMU records it, for a ±16 g / ±2000 dps chip to clip.

    The gait model's landings peak near 20 g and its push-off near 1,200 dps;
    real sprint landings hit the foot with 30-50 g and the pitch rate passes
    2,000 dps both at push-off and as the heel drops after a forefoot landing.
    Each landing gets a damped `ring_hz` shock of `impact_g` (vertical, and half
    of it forward) and a heel drop of `heel_drop_dps` over `heel_drop_s`; every
    rotation is `gyro_gain` times faster, and the swing's specific force
    `swing_gain` times larger (peaks of 20-25 g: a foot at 8 m/s swung on a 0.9 m
    leg at 17 rad/s feels ~27 g), smoothly from toe-off to the next landing. The values are left unclipped: the
    chip emulator (quantise) clips them at its full scale, as the sensor does."""
    rate = trace.header.rate_hz
    t = np.arange(int(5 * ring_decay_s * rate)) / rate
    shock = impact_g * np.sin(2 * np.pi * ring_hz * t + np.pi / 2) * np.exp(-t / ring_decay_s)
    th = np.arange(int(heel_drop_s * rate)) / rate
    drop = heel_drop_dps * np.sin(np.pi * th / heel_drop_s)
    mounting = np.asarray(trace.header.mounting, dtype=float)
    up = np.array([0.0, 0.0, 1.0]) @ mounting.T
    forward = np.array([1.0, 0.0, 0.0]) @ mounting.T
    pitch_axis = np.array([0.0, -1.0, 0.0]) @ mounting.T  # pitch rate is -gyro_y (foot)
    acc = trace.acc_g.copy()
    gyr = trace.gyr_dps * gyro_gain
    to_sensor = getattr(trace, "sensor_time", None)
    for stride in trace.truth:
        if stride.next_ic_s is None or swing_gain == 1.0:
            continue
        # the swing's forces grow with the square of the leg's speed: the whole
        # specific force is scaled, smoothly, between toe-off and the next landing
        to = to_sensor(stride.to_s) if to_sensor else stride.to_s
        nxt = to_sensor(stride.next_ic_s) if to_sensor else stride.next_ic_s
        a, b = int(np.ceil((to + 0.01) * rate)), min(int((nxt - 0.01) * rate), len(acc))
        if b - a > 4:
            w = np.sin(np.pi * np.arange(b - a) / (b - a)) ** 2
            acc[a:b] *= 1.0 + (swing_gain - 1.0) * w[:, None]
    for stride in trace.truth:
        ic = to_sensor(stride.ic_s) if to_sensor else stride.ic_s
        first = int(np.ceil(ic * rate))
        last = min(first + len(shock), len(acc))
        if first < last:
            acc[first:last] += shock[: last - first, None] * (up + 0.5 * forward)[None, :]
        last = min(first + len(drop), len(gyr))
        if first < last:
            gyr[first:last] += drop[: last - first, None] * pitch_axis[None, :]
    return replace(trace, acc_g=acc, gyr_dps=gyr)


def rolling_stance(trace: Trace, *, roll_dps: float = 220.0, settle_s: float = 0.02) -> Trace:
    """Fast running whose foot never rests in stance: the heel's slap runs straight
    into the roll over the forefoot, so the pitch rate stays below -`roll_dps`/2
    from shortly after the landing to the push-off and never passes near zero
    (issue 14 mode 7: real fast running stays 50-56 dps from still at its
    quietest). Added as a smooth hump from `settle_s` after each landing to its
    push-off minimum, zero in slope at both ends, so the truth's toe-off and the
    minimum the engine times it by stay where they were."""
    rate = trace.header.rate_hz
    mounting = np.asarray(trace.header.mounting, dtype=float)
    pitch_axis = np.array([0.0, -1.0, 0.0]) @ mounting.T
    gyr = trace.gyr_dps.copy()
    to_sensor = getattr(trace, "sensor_time", None)
    for stride in trace.truth:
        ic = to_sensor(stride.ic_s) if to_sensor else stride.ic_s
        push = to_sensor(stride.push_min_s) if to_sensor else stride.push_min_s
        if push is None:
            continue  # the last step before standing has no push-off to roll towards
        first = int(np.ceil((ic + settle_s * 0.25) * rate))
        last = min(int(push * rate), len(gyr))
        if last - first < 4:
            continue
        u = (np.arange(first, last) / rate - ic) / (push - ic)
        hump = np.sin(np.pi * np.clip(u, 0.0, 1.0)) ** 2
        gyr[first:last] -= roll_dps * hump[:, None] * pitch_axis[None, :]
    return replace(trace, gyr_dps=gyr)


def gap_spans(
    n_samples: int,
    rate_hz: float,
    *,
    every_s: float = 6.0,
    gap_ms: tuple[float, float] = (20.0, 120.0),
    seed: int = 0,
) -> list[tuple[int, int]]:
    """Where `sample_gaps` loses packets: (first, last) sample of each filled span."""
    rng = np.random.default_rng(seed)
    spans = []
    at = rng.uniform(0.5, every_s * 1.5)
    while at * rate_hz < n_samples - 1:
        first = int(at * rate_hz)
        last = min(first + int(rng.uniform(*gap_ms) / 1000 * rate_hz) + 1, n_samples - 1)
        spans.append((first, last))
        at += rng.uniform(0.5, 1.5) * every_s
    return spans


def sample_gaps(trace: Trace, **where: Any) -> Trace:
    """Lost packets in a recording, as the host fills them when it reprocesses one
    (bench/realdata.py with voisard's gaps in PacketCounter): the samples either
    side of each gap joined by a straight line. About one gap every 6 s, of 20-120
    ms, anywhere in the stride (`gap_spans` says where; `where` is passed to it)."""
    acc = trace.acc_g.copy()
    gyr = trace.gyr_dps.copy()
    for first, last in gap_spans(trace.header.n_samples, trace.header.rate_hz, **where):
        w = (np.arange(first, last + 1) - first) / (last - first)
        acc[first : last + 1] = acc[first] + w[:, None] * (acc[last] - acc[first])
        gyr[first : last + 1] = gyr[first] + w[:, None] * (gyr[last] - gyr[first])
    return replace(trace, acc_g=acc, gyr_dps=gyr)


def woken_mid_run(trace: Trace, *, at_s: float = 40.0) -> Trace:
    """The pod's first sample is `at_s` into the run (it woke, or was started, while
    the runner was running): no standing start, no first still foot-flat. Truth
    keeps the strides that begin after it."""
    rate = trace.header.rate_hz
    first = int(at_s * rate)
    header = replace(
        trace.header,
        n_samples=trace.header.n_samples - first,
        start_offset_s=float(trace.true_time(first / rate)),
    )
    shifted = replace(
        trace, header=header, acc_g=trace.acc_g[first:], gyr_dps=trace.gyr_dps[first:]
    )
    start = float(shifted.true_time(0.0))
    return replace(shifted, truth=[s for s in trace.truth if s.ic_s > start])
