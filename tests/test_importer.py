"""Recorded CSVs into traces: units, frames, resampling, truth, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

from heavylegs.sim.importer import (
    GAITMAP_RATE_HZ,
    RecordingError,
    import_gaitmap,
    import_pyshoe,
    import_recording,
    resample,
)
from heavylegs.trace import STANDARD_GRAVITY, read_trace

DATA = __import__("pathlib").Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"no recordings at {DATA}")


def test_resampling_keeps_a_band_limited_signal_and_absorbs_jitter():
    rng = np.random.default_rng(1)
    t_in = np.arange(0, 3, 1 / 200) + rng.normal(0, 1e-4, 600)  # 200 Hz with 0.1 ms jitter
    t_in.sort()
    t_out = np.arange(0.1, 2.9, 1 / 416)
    # a Lanczos-3 kernel: its error grows towards the 100 Hz Nyquist frequency
    for hz, error in ((2.0, 0.005), (12.0, 0.01), (30.0, 0.04)):
        x = np.sin(2 * np.pi * hz * t_in)
        got = resample(t_in, x, t_out)
        assert np.abs(got - np.sin(2 * np.pi * hz * t_out)).max() < error
    assert resample(t_in, np.full(600, 9.81), t_out) == pytest.approx(9.81)
    with pytest.raises(RecordingError, match="increasing"):
        resample(np.array([0.0, 0.1, 0.1]), np.zeros(3), t_out)


def _pyshoe_csv(path, seconds=4.0, gyr_radps=(0.1, -0.2, 0.3)):
    rng = np.random.default_rng(2)
    t = np.arange(0.005, seconds, 1 / 200)
    t += rng.normal(0, 5e-5, len(t))
    lines = [
        "t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_radps,gyr_y_radps,gyr_z_radps,"
        "vicon_x_m,vicon_y_m,vicon_z_m,zv_vicon_opt,zv_best_opt"
    ]
    for ts in t:
        lines.append(
            f"{ts:.6f},-2.5,0.3,-9.5,{gyr_radps[0]},{gyr_radps[1]},{gyr_radps[2]},0,0,0,1,1"
        )
    path.write_text("\n".join(lines) + "\n")
    return t


def test_a_pyshoe_trial_becomes_a_416_hz_trace_in_g_and_dps(tmp_path):
    (tmp_path / "csv").mkdir()
    (tmp_path / "strides").mkdir()
    csv = tmp_path / "csv" / "2017-11-27-11-11-24.csv"
    t = _pyshoe_csv(csv)
    (tmp_path / "strides" / csv.name).write_text(
        "strideIndex,timestamp,gcpX,gcpY\n100,0.505,0,0\n250,1.255,1.1,0\n700,3.505,0,0\n"
    )
    (tmp_path / "manifest.csv").write_text(
        "trial,label_heuristic,duration_s\n2017-11-27-11-11-24,run,4.0\n"
    )
    trace = import_pyshoe(csv)
    assert trace.header.rate_hz == 416.0 and trace.header.foot == "right"
    assert trace.header.n_samples == int((t[-1] - t[0]) * 416) + 1
    assert trace.header.start_offset_s == pytest.approx(t[0], abs=1e-6)  # written to 1 us
    assert trace.acc_g.mean(axis=0) == pytest.approx(np.array([-2.5, 0.3, -9.5]) / STANDARD_GRAVITY)
    assert trace.gyr_dps.mean(axis=0) == pytest.approx(np.degrees([0.1, -0.2, 0.3]))
    assert trace.header.mounting is None, "pyshoe's mounting is not documented"
    assert trace.header.meta == {"label": "run"}
    # stride boundaries as marks; the file's last row is the end of the trial
    assert [(m.t_s, m.mark) for m in trace.marks] == [
        (0.505, "flat_before_heel_off"),
        (1.255, "flat_before_heel_off"),
        (3.505, "end"),
    ]
    back = read_trace(trace.write(tmp_path / "out.hltrace"))
    assert back.marks == trace.marks and back.truth == []


def _gaitmap_csv(path, n=900):
    header = ["sensor"] + [f"{f}_sensor" for _ in range(6) for f in ("left", "right")]
    axes = ["axis"] + [
        a for a in ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z") for _ in (0, 1)
    ]
    rows = [",".join(header), ",".join(axes)]
    for i in range(n):
        # left: gyro y is a 5 Hz sine of 100 deg/s; right: constant
        gl = 100 * np.sin(2 * np.pi * 5 * i / GAITMAP_RATE_HZ)
        values = [0.9, 0.3, 2.7, -2.4, 9.4, 9.5, 0, 0, gl, 50.0, 0, 0]
        rows.append(",".join([str(i)] + [f"{v:.6f}" for v in values]))
    path.write_text("\n".join(rows) + "\n")


def test_gaitmap_becomes_a_trace_per_foot_with_motion_capture_events(tmp_path):
    imu = tmp_path / "imu_sample.csv"
    _gaitmap_csv(imu)
    (tmp_path / "stride_events_sample.csv").write_text(
        "s_id,foot,start,end,ic,tc,min_vel,pre_ic\n"
        "1,left,300,520,480,400,300,250\n"
        "0,left,100,300,250,180,100,30\n"
        "2,right,150,370,330,260,150,110\n"
    )
    traces = import_gaitmap(imu)
    assert set(traces) == {"left", "right"}
    left, right = traces["left"], traces["right"]
    assert left.acc_g.mean(axis=0) == pytest.approx(np.array([0.9, 2.7, 9.4]) / STANDARD_GRAVITY)
    assert right.gyr_dps[:, 1] == pytest.approx(50.0), "deg/s stays deg/s"
    t = left.sample_times()
    inner = (t > 0.1) & (t < 4.0)
    expected = 100 * np.sin(2 * np.pi * 5 * t[inner])
    assert np.abs(left.gyr_dps[inner, 1] - expected).max() < 1.0
    # IC = pre_ic, TO = tc, next IC = ic, in seconds at 204.8 Hz, in time order
    assert [(s.ic_s, s.to_s, s.next_ic_s) for s in left.truth] == [
        (30 / 204.8, 180 / 204.8, 250 / 204.8),
        (250 / 204.8, 400 / 204.8, 480 / 204.8),
    ]
    assert left.truth[0].gait == "walk" and left.truth[0].strike_deg is None
    assert len(right.truth) == 1
    assert import_recording(imu)["left"].truth == left.truth


def test_what_is_not_a_recording_is_refused_with_the_reason(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(RecordingError, match="neither a pyshoe trial nor a gaitmap"):
        import_recording(other)
    with pytest.raises(RecordingError, match="missing.csv"):
        import_recording(tmp_path / "missing.csv")
    broken = tmp_path / "broken.csv"
    _pyshoe_csv(broken, seconds=1.0)
    lines = broken.read_text().splitlines()
    lines[50] = lines[50].rsplit(",", 2)[0]
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingError, match="line 51 has 10 fields, expected 12"):
        import_pyshoe(broken)
    lines[50] = lines[51].replace("-2.5", "oops")
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingError, match="non-numeric"):
        import_pyshoe(broken)
    no_gyro = tmp_path / "no_gyro.csv"
    no_gyro.write_text("t_s,acc_x_mps2\n" + "".join(f"{i / 200},1\n" for i in range(20)))
    with pytest.raises(RecordingError, match="no column acc_y_mps2"):
        import_pyshoe(no_gyro)


@needs_data
def test_every_pyshoe_trial_imports_with_its_stride_boundaries():
    trials = sorted((DATA / "pyshoe_running" / "csv").glob("*.csv"))
    assert len(trials) == 11
    for path in trials:
        trace = import_pyshoe(path)
        assert trace.header.meta["label"] in ("walk", "run")
        assert abs(trace.header.extra["source_rate_hz"] - 200.0) < 1.0
        # standing at the start: about 1 g, sensor z pointing down (README)
        rest = trace.acc_g[: int(0.3 * 416)].mean(axis=0)
        assert np.linalg.norm(rest) == pytest.approx(1.0, abs=0.05) and rest[2] < -0.9
        marks = [m for m in trace.marks if m.mark == "flat_before_heel_off"]
        if marks:
            stride = np.median(np.diff([m.t_s for m in marks]))
            assert 0.6 < stride < 1.3
            assert trace.marks[-1].mark == "end"


@needs_data
def test_gaitmap_walk_imports_with_its_57_strides():
    traces = import_gaitmap(DATA / "gaitmap_walking" / "imu_sample.csv")
    strides = [s for tr in traces.values() for s in tr.truth]
    assert len(strides) == 57
    assert np.median([s.stride_s for s in strides]) == pytest.approx(1.09, abs=0.03)
    assert np.median([s.gct_s for s in strides]) == pytest.approx(0.73, abs=0.03)
    for trace in traces.values():
        assert trace.duration_s == pytest.approx(38.7, abs=0.1)
        assert np.linalg.norm(trace.acc_g[:50].mean(axis=0)) == pytest.approx(1.0, abs=0.05)
        # at heel strike the recording saturates at 16 g (README); resampling keeps the peak
        assert np.linalg.norm(trace.acc_g, axis=1).max() > 15.0
