"""The gait model against what it was asked to simulate.

Truth is checked against the parameters (and against the signals, which must
carry it: strike angle as integrated pitch, toe-off after the pitch-rate
minimum, impacts at IC in pod time); the sensor side against its definition
(mounting, clock, range of the part through the chip emulator).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from heavylegs.sim.board.lsm6ds_emu import ArraySource, LSM6DSEmulator
from heavylegs.sim.gait_model import (
    FEET,
    Fatigue,
    PodParams,
    RunParams,
    Segment,
    Stop,
    Turn,
    plan_run,
    rotation,
    simulate_run,
)

IDEAL = PodParams(acc_noise_g=0, gyr_noise_dps=0, acc_bias_g=0, gyr_bias_dps=0, gain_sd=0)
RATE = 416.0


def _ideal_run(params: RunParams, seed: int = 1, **pod) -> dict:
    chosen = replace(IDEAL, **pod)
    return simulate_run(params, seed=seed, pods={f: chosen for f in FEET})


def _steady(strides, settle_s: float, end_s: float):
    """Strides away from setting off and pulling up (the runner is slower there)."""
    return [s for s in strides if settle_s < s.ic_s < end_s]


def test_truth_events_are_ordered_and_match_the_parameters():
    params = RunParams(duration_s=240.0, cadence_spm=172.0, gct_s=0.25, strike_deg=10.0)
    plan = plan_run(params, seed=4)
    for foot in FEET:
        truth = plan.truth(foot)
        assert len(truth) > 150
        for s in truth:
            assert s.ic_s < s.to_s < s.next_ic_s
        steady = _steady(truth, 10.0, 225.0)
        gct = np.array([s.gct_s for s in steady])
        stride = np.array([s.stride_s for s in steady])
        strike = np.array([s.strike_deg for s in steady])
        assert gct.mean() == pytest.approx(0.25, rel=0.01)
        assert 120.0 / stride.mean() == pytest.approx(172.0, rel=0.005)
        assert strike.mean() == pytest.approx(10.0, abs=0.3)
        # stride-to-stride variability as asked: 1.2 % of step time, two steps a stride
        assert 0.008 < stride.std() / stride.mean() < 0.02
        assert {s.strike_class for s in steady} <= {"rearfoot", "midfoot"}
        lengths = np.array([s.stride_len_m for s in steady])
        assert lengths.mean() == pytest.approx(3.0 * stride.mean(), rel=0.01)
    # the feet alternate: every right contact falls between two left ones
    left = np.array([s.ic_s for s in plan.truth("left")])
    right = np.array([s.ic_s for s in plan.truth("right")])
    k = np.searchsorted(left, right[5:-5])
    phase = (right[5:-5] - left[k - 1]) / (left[k] - left[k - 1])
    assert np.all(np.abs(phase - 0.5) < 0.1)


def test_the_trace_carries_the_plans_truth_and_the_same_seed_the_same_trace():
    params = RunParams(duration_s=30.0)
    a = simulate_run(params, seed=9)
    b = simulate_run(params, seed=9)
    c = simulate_run(params, seed=10)
    for foot in FEET:
        assert np.array_equal(a[foot].acc_g, b[foot].acc_g)
        assert np.array_equal(a[foot].gyr_dps, b[foot].gyr_dps)
        assert a[foot].truth == b[foot].truth
        assert [s.ic_s for s in a[foot].truth] == [
            s.ic_s for s in plan_run(params, seed=9).truth(foot)
        ]
        assert a[foot].truth != c[foot].truth
        assert not np.array_equal(a[foot].acc_g, c[foot].acc_g)


def test_gravity_at_rest_and_the_swing_axis_follow_the_mounting():
    # a pod turned an arbitrary way: sensor_from_foot is the transpose of foot_from_sensor
    foot_from_sensor = rotation("z", 130.0) @ rotation("x", 160.0) @ rotation("y", 25.0)
    mounting = foot_from_sensor.T
    pod = PodParams(mounting=tuple(map(tuple, mounting)))
    trace = simulate_run(RunParams(duration_s=20.0), seed=2, pods={"left": pod})["left"]
    rest = trace.acc_g[: int(2.5 * RATE)].mean(axis=0)
    assert rest == pytest.approx(mounting @ [0, 0, 1], abs=0.05)
    assert np.allclose(trace.header.mounting, mounting)
    # the foot's largest rotation is pitch, about its y axis: in the sensor, mounting @ y
    moving = trace.gyr_dps[int(5 * RATE) : int(15 * RATE)]
    _, _, vt = np.linalg.svd(moving - moving.mean(axis=0), full_matrices=False)
    assert abs(vt[0] @ (mounting @ [0, 1, 0])) > 0.97


def test_strike_angle_is_the_pitch_from_contact_to_foot_flat():
    for strike in (14.0, 4.0, -6.0):
        params = RunParams(duration_s=25.0, strike_deg=strike, speed_mps=3.3, gct_s=0.24)
        trace = _ideal_run(params)["left"]
        t = trace.sample_times()
        toe_up = -trace.gyr_dps[:, 1]
        quiet = np.convolve(np.abs(toe_up) < 0.5, np.ones(5), "same") == 5
        for s in trace.truth[2:-2]:
            # foot-flat: the first run of still pitch after the slap (an ideal pod reads 0)
            start = int(np.searchsorted(t, s.ic_s))
            flat = start + 5 + int(np.argmax(quiet[start + 5 :]))
            turned = toe_up[start:flat].sum() / RATE
            assert -turned == pytest.approx(s.strike_deg, abs=0.6)
            assert s.strike_class == (
                "rearfoot"
                if s.strike_deg > 7.4
                else "midfoot"
                if s.strike_deg >= -0.8
                else "forefoot"
            )


def test_toe_off_follows_the_push_off_pitch_rate_minimum_by_the_stated_lag():
    fine = 4160.0  # a tenth of the pod's sample period, so the minimum is found to 0.24 ms
    for lag_ms in (7.0, 0.0):
        params = RunParams(duration_s=40.0, to_lag_ms=lag_ms)
        trace = _ideal_run(params, seed=3, rate_hz=fine)["right"]
        t = trace.sample_times()
        toe_up = -trace.gyr_dps[:, 1]
        lags = []
        for s in trace.truth:
            w = np.nonzero((t > s.to_s - 0.15) & (t < s.to_s + 0.05))[0]
            t_min = t[w[np.argmin(toe_up[w])]]
            # the gyro's y is the body rate: roll and the swing yaw, starting at toe-off,
            # move its minimum from the pitch-rate minimum by a fraction of a millisecond
            assert t_min == pytest.approx(s.push_min_s, abs=0.001)
            lags.append(s.to_s - t_min)
        # the lag scatters by 2 ms from stride to stride and is never negative
        assert np.mean(lags) * 1000 == pytest.approx(max(lag_ms, 0.8), abs=0.6)
        assert min(lags) > -1.0 / fine


def test_impacts_sit_at_contact_in_pod_time_whatever_the_clock():
    params = RunParams(duration_s=120.0)
    found = {}
    for ppm in (50.0, -50.0):
        trace = _ideal_run(params, seed=5, clock_ppm=ppm, start_offset_s=1.1)["left"]
        assert trace.header.clock_ppm == ppm and trace.header.start_offset_s == 1.1
        jerk = np.abs(np.diff(trace.acc_g, axis=0)).sum(axis=1)
        onsets = []
        for s in trace.truth:
            expected = trace.sensor_time(s.ic_s) * RATE  # fractional sample index
            n = int(np.ceil(expected))
            # the first sample after contact carries the impact's onset
            assert jerk[n - 1] > 2.0 and jerk[n - 3 : n - 1].max() < 1.0
            onsets.append(n)
        found[ppm] = np.array(onsets)
    # 100 ppm apart: two minutes in, the pods' sample counts differ by 12 ms worth
    drift = found[50.0] - found[-50.0]
    assert drift[0] == pytest.approx(0, abs=1) and drift[-1] == pytest.approx(0.0115 * RATE, abs=1)


def _through_emulator(trace, part: str, fs_code: int, window: slice):
    """Read the output registers at every sample of `window`, as a driver polling would."""
    rows = trace.sample_units().tolist()
    chip = LSM6DSEmulator(ArraySource([tuple(r) for r in rows], 416_000), part)
    chip.write(0x10, bytes([(6 << 4) | (fs_code << 2)]))  # CTRL1_XL: 416 Hz, full scale
    chip.write(0x11, bytes([(6 << 4) | (3 << 2)]))  # CTRL2_G: 416 Hz, 2000 dps
    chip.advance(window.start)
    out = []
    buf = bytearray(6)
    for _ in range(window.stop - window.start):
        chip.advance(1)
        chip.read(0x28, buf)  # OUTX_L_A..OUTZ_H_A: the newest accelerometer sample
        out.append(np.frombuffer(bytes(buf), dtype="<i2").astype(int))
    return np.array(out)


def test_heel_strikes_clip_a_16_g_part_but_not_the_32_g_one():
    params = RunParams(duration_s=20.0, speed_mps=3.6, strike_deg=16.0, gct_s=0.24)
    trace = _ideal_run(params, seed=6)["left"]
    hard = max(trace.truth, key=lambda s: s.impact_g)
    assert 16.0 < hard.impact_g < 32.0, "a hard heel strike, within the LSM6DSO32's range"
    n = int(round(trace.sensor_time(hard.ic_s) * RATE))
    window = slice(n - 5, n + 15)
    physical = trace.acc_g[window]
    lsb16 = 0.000488  # g per LSB at +-16 g; +-32 g is twice that
    for part, code, fs, lsb in (("LSM6DSOX", 1, 16, lsb16), ("LSM6DSO32", 1, 32, 2 * lsb16)):
        counts = _through_emulator(trace, part, code, window)
        inside = np.abs(physical) < fs * 0.999
        # quantised to the part's LSB (0.488 mg per LSB at 16 g, 0.976 mg at 32 g)...
        assert np.abs(counts[inside] * lsb - physical[inside]).max() <= lsb * 0.51
        # ...and saturated at the full scale, not wrapped
        clipped = ~inside
        assert np.all(np.abs(counts[clipped]) >= 32767)
        assert clipped.any() == (fs == 16)


def test_rearfoot_impacts_are_sharper_and_larger_than_forefoot():
    rear = _ideal_run(RunParams(duration_s=30.0, strike_deg=14.0), seed=7)["left"].truth
    fore = _ideal_run(
        RunParams(duration_s=30.0, strike_deg=-6.0, gct_s=0.22, cadence_spm=178.0), seed=7
    )["left"].truth
    rear_g = np.median([s.impact_g for s in rear[3:-3]])
    fore_g = np.median([s.impact_g for s in fore[3:-3]])
    assert rear_g > 1.5 * fore_g
    # foot-mounted heel strikes in the tens of g (NOTES: up to 70 g on the heel)
    assert 10.0 < rear_g < 40.0 and fore_g > 5.0
    assert {s.strike_class for s in rear[3:-3]} == {"rearfoot"}
    assert {s.strike_class for s in fore[3:-3]} == {"forefoot"}


def test_fatigue_drifts_every_indicator_from_its_onset():
    fat = Fatigue(
        onset_s=300.0,
        ramp_s=300.0,
        gct_pct=10.0,
        strike_deg=5.0,
        cadence_pct=-4.0,
        variability_x=2.0,
    )
    plan = plan_run(RunParams(duration_s=960.0, fatigue=(fat,)), seed=8)
    for foot in FEET:
        truth = plan.truth(foot)
        fresh = _steady(truth, 20.0, 290.0)
        tired = _steady(truth, 610.0, 940.0)
        assert all(s.fatigue == 0.0 for s in fresh) and all(s.fatigue == 1.0 for s in tired)

        def mean(strides, key):
            return np.mean([key(s) for s in strides])

        assert mean(tired, lambda s: s.gct_s) / mean(fresh, lambda s: s.gct_s) == pytest.approx(
            1.10, abs=0.01
        )
        assert mean(tired, lambda s: s.strike_deg) - mean(
            fresh, lambda s: s.strike_deg
        ) == pytest.approx(5.0, abs=0.4)
        cad = mean(tired, lambda s: 120 / s.stride_s) / mean(fresh, lambda s: 120 / s.stride_s)
        assert cad == pytest.approx(0.96, abs=0.005)
        spread = np.std([s.gct_s for s in tired]) / np.std([s.gct_s for s in fresh])
        assert spread > 1.6


def test_one_sided_weakness_moves_the_contact_time_balance():
    weak = Fatigue(onset_s=120.0, ramp_s=60.0, gct_pct=8.0, strike_deg=0.0, feet=("right",))
    plan = plan_run(RunParams(duration_s=420.0, fatigue=(weak,), gct_asym_pct=0.0), seed=2)

    def balance(a, b):
        left = np.mean([s.gct_s for s in plan.truth("left") if a < s.ic_s < b])
        right = np.mean([s.gct_s for s in plan.truth("right") if a < s.ic_s < b])
        return 100 * left / (left + right)

    assert balance(10, 115) == pytest.approx(50.0, abs=0.3)
    assert balance(200, 400) == pytest.approx(100 / 2.08, abs=0.3)


def test_left_right_asymmetry_is_right_minus_left():
    plan = plan_run(RunParams(duration_s=200.0, gct_asym_pct=4.0, strike_asym_deg=3.0), seed=3)
    left, right = (_steady(plan.truth(f), 10, 190) for f in FEET)
    assert np.mean([s.gct_s for s in right]) / np.mean([s.gct_s for s in left]) == pytest.approx(
        1.04, abs=0.007
    )
    assert np.mean([s.strike_deg for s in right]) - np.mean(
        [s.strike_deg for s in left]
    ) == pytest.approx(3.0, abs=0.4)


def test_walking_has_double_support_and_running_a_flight():
    params = RunParams(
        duration_s=150.0, segments=(Segment(0.0), Segment(60.0, gait="walk"), Segment(110.0))
    )
    plan = plan_run(params, seed=4)
    truth = {f: plan.truth(f) for f in FEET}
    walks = [s for s in truth["left"] if 65 < s.ic_s < 105]
    runs = [s for s in truth["left"] if 10 < s.ic_s < 55]
    assert walks and all(s.gait == "walk" and not s.running for s in walks)
    assert all(s.gct_s / s.stride_s > 0.55 for s in walks)
    assert all(s.gct_s / s.stride_s < 0.45 for s in runs)
    # walking: the right foot lands before the left one leaves
    for s in walks:
        right_ics = [r.ic_s for r in truth["right"] if s.ic_s < r.ic_s < s.to_s]
        assert right_ics, "double support"
    assert 100 < np.mean([120 / s.stride_s for s in walks]) < 125


def test_the_last_stance_before_a_new_gait_leaves_the_new_gait_its_swing():
    params = RunParams(
        duration_s=150.0, segments=(Segment(0.0), Segment(60.0, gait="walk"), Segment(110.0))
    )
    plan = plan_run(params, seed=4)
    for foot in FEET:
        truth = [s for s in plan.truth(foot) if s.stride_s is not None]
        changes = [k for k in range(1, len(truth)) if truth[k].gait != truth[k - 1].gait]
        assert len(changes) == 2, "run to walk and walk to run"
        for k in changes:
            before, first = truth[k - 1], truth[k]
            swing = first.ic_s - before.to_s
            usual = first.stride_s - first.gct_s  # the new gait's own swing
            # walk to run: the walking stance ends early; run to walk: nothing to do
            assert swing >= min(usual, 0.3) - 0.01, f"{foot} swing of {1000 * swing:.0f} ms"
            # 2 m in the swing of a run is possible; in 190 ms it is not
            assert before.stride_len_m / swing < 6.0


def test_a_stop_leaves_the_feet_still_and_no_stride_spans_it():
    params = RunParams(duration_s=60.0, stops=(Stop(at_s=25.0, duration_s=12.0),))
    traces = _ideal_run(params, seed=5)
    for foot, trace in traces.items():
        t = trace.sample_times()
        stands = trace.header.stands_s
        assert len(stands) == 3, "before setting off, at the light, after pulling up"
        a, b = stands[1]
        assert 24.0 < a < 26.5 and 36.5 < b < 38.5
        still = (t > a + 1.5) & (t < b - 1.0)
        assert np.abs(trace.gyr_dps[still]).max() < 0.5
        assert trace.acc_g[still].mean(axis=0) == pytest.approx([0, 0, 1], abs=0.002)
        for s in trace.truth:
            assert not (a - 0.01 < s.ic_s < b), f"{foot}: a stride inside the stop"
            assert s.next_ic_s is None or s.next_ic_s - s.ic_s < 1.5


def _heading_at(trace, times: list[float]) -> list[float]:
    """Integrate the (ideal, identity-mounted) gyro from standing; the foot's yaw, degrees."""
    w = np.radians(trace.gyr_dps) / RATE
    t = trace.sample_times()
    rot = np.eye(3)
    out = []
    wanted = iter(sorted(times))
    target = next(wanted)
    for k in range(len(t)):
        if t[k] >= target:
            out.append(np.degrees(np.arctan2(rot[1, 0], rot[0, 0])))
            target = next(wanted, np.inf)
        angle = np.linalg.norm(w[k])
        if angle:
            kx, ky, kz = w[k] / angle
            cross = np.array([[0, -kz, ky], [kz, 0, -kx], [-ky, kx, 0]])
            rot = rot @ (np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross)
    return out


def test_a_turn_rotates_the_foot_about_the_vertical():
    turned = RunParams(duration_s=30.0, turns=(Turn(at_s=12.0, angle_deg=90.0, duration_s=4.0),))
    trace = _ideal_run(turned, seed=6)["left"]
    before = next(s for s in trace.truth if s.ic_s > 8.0)
    after = next(s for s in trace.truth if s.ic_s > 20.0)
    # headings at mid-stance (foot flat on level ground) relative to standing at the start
    yaw = _heading_at(trace, [before.ic_s + 0.1, after.ic_s + 0.1])
    assert yaw[0] == pytest.approx(0.0, abs=1.0)
    assert yaw[1] - yaw[0] == pytest.approx(90.0, abs=1.5)


def test_on_a_hill_the_flat_foot_reads_the_slope():
    params = RunParams(duration_s=60.0, segments=(Segment(0.0), Segment(30.0, grade_pct=8.0)))
    trace = _ideal_run(params, seed=7)["left"]
    t = trace.sample_times()
    still = np.linalg.norm(trace.gyr_dps, axis=1) < 1.0
    flat_run = trace.acc_g[still & (t > 6) & (t < 28)]
    uphill = trace.acc_g[still & (t > 36) & (t < 55)]
    slope = np.sin(np.arctan(0.08))
    assert uphill[:, 0].mean() - flat_run[:, 0].mean() == pytest.approx(slope, abs=0.01)
    assert all(s.grade_pct == 8.0 for s in trace.truth if s.ic_s > 35)


def test_impossible_runs_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="contact time too long for the cadence"):
        plan_run(RunParams(duration_s=20.0, gct_s=0.55, cadence_spm=180.0))
    with pytest.raises(ValueError, match="treadmill"):
        plan_run(RunParams(treadmill=True, turns=(Turn(10.0, 90.0),)))
    with pytest.raises(ValueError, match="gait must be"):
        plan_run(RunParams(segments=(Segment(0.0, gait="skip"),)))
    with pytest.raises(ValueError, match="starts after the run ends"):
        simulate_run(RunParams(duration_s=10.0), pods={"left": PodParams(start_offset_s=11.0)})
