"""The trace file format: layout, round trip, clock conversion, and clear errors."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from heavylegs.sim.board.lsm6ds_emu import TraceFileSource
from heavylegs.trace import (
    MAGIC,
    Trace,
    TraceError,
    TraceHeader,
    TruthMark,
    TruthStride,
    read_trace,
)


def _stride(ic: float, **changes) -> TruthStride:
    fields = dict(
        foot="left",
        ic_s=ic,
        to_s=ic + 0.25,
        next_ic_s=ic + 0.7,
        strike_deg=11.5,
        strike_class="rearfoot",
        stride_len_m=2.1,
        speed_mps=3.0,
        running=True,
        push_min_s=ic + 0.243,
        flat_s=0.1,
        impact_g=18.2,
    )
    fields.update(changes)
    return TruthStride(**fields)


def _trace(n: int = 500, **header) -> Trace:
    rng = np.random.default_rng(0)
    acc = rng.normal(0, 3, (n, 3))
    gyr = rng.normal(0, 300, (n, 3))
    head = TraceHeader(rate_hz=416.0, n_samples=n, pod="left", foot="left", **header)
    return Trace(head, acc, gyr, [_stride(0.2), _stride(0.9, next_ic_s=None)])


def test_round_trip_keeps_samples_header_and_truth(tmp_path):
    mounting = [[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    trace = _trace(
        mounting=mounting,
        clock_ppm=-31.5,
        start_offset_s=0.75,
        meta={"fatigue": {"planted": False}},
        stands_s=[[0.0, 3.0]],
        acc_fs_g=32,
        part="LSM6DSO32",
    )
    trace.marks.append(TruthMark("left", 1.5, "flat_before_heel_off"))
    back = read_trace(trace.write(tmp_path / "t.hltrace"))
    # micro-g and 1/8 mdps: the integer units resolve far below any sensor's LSB
    assert np.max(np.abs(back.acc_g - trace.acc_g)) <= 0.5e-6
    assert np.max(np.abs(back.gyr_dps - trace.gyr_dps)) <= 0.5 / 8000
    assert back.truth == trace.truth
    assert back.marks == trace.marks
    h = back.header
    assert (h.mounting, h.clock_ppm, h.start_offset_s, h.acc_fs_g, h.part) == (
        mounting,
        -31.5,
        0.75,
        32,
        "LSM6DSO32",
    )
    assert h.meta == {"fatigue": {"planted": False}} and h.stands_s == [[0.0, 3.0]]
    assert not list(tmp_path.glob("*.tmp")), "written through a temporary file, then renamed"


def test_layout_is_what_the_micropython_reader_expects(tmp_path):
    trace = _trace(n=700)
    path = trace.write(tmp_path / "t.hltrace")
    data = path.read_bytes()
    assert data.startswith(MAGIC)
    end = data.index(b"\n", len(MAGIC))
    head = json.loads(data[len(MAGIC) : end])
    assert head["n_samples"] == 700 and head["rate_hz"] == 416.0
    assert head["acc_unit"] == "ug" and head["gyr_unit"] == "mdps/8"
    raw = np.frombuffer(data[end + 1 : end + 1 + 700 * 24], dtype="<i4").reshape(700, 6)
    assert json.loads(data[end + 1 + 700 * 24 :])[0]["ic_s"] == 0.2
    # the emulator's reader (also run inside MicroPython) sees the same integers
    source = TraceFileSource(str(path))
    try:
        assert source.n_samples == 700 and source.rate_mhz == 416_000
        out = [0] * 6
        for index in (0, 511, 512, 699):
            source.sample(index, 416_000, out)
            assert out == raw[index].tolist()
    finally:
        source.close()


def test_values_beyond_int32_saturate_instead_of_wrapping(tmp_path):
    trace = _trace(n=20)
    trace.acc_g[3] = [5000.0, -5000.0, 1.0]  # 5000 g is 5e9 ug, beyond int32
    back = read_trace(trace.write(tmp_path / "t.hltrace"))
    assert back.acc_g[3, 0] == pytest.approx(2147.483647)
    assert back.acc_g[3, 1] == pytest.approx(-2147.483647)


def test_pod_clock_conversion_runs_both_ways():
    trace = _trace(clock_ppm=40.0, start_offset_s=1.25)
    true_s = np.array([1.25, 10.0, 600.0])
    sensor = trace.sensor_time(true_s)
    # 40 ppm fast: the pod counts 40 us more per second of true time
    assert sensor[1] == pytest.approx((10.0 - 1.25) * 1.00004)
    assert trace.true_time(sensor) == pytest.approx(true_s)
    times = trace.sample_times()
    assert times[0] == 1.25
    assert np.diff(times) == pytest.approx(1 / (416.0 * 1.00004))
    moved = trace.truth_in_sensor_time()
    assert moved[0].ic_s == pytest.approx(float(trace.sensor_time(0.2)))
    assert moved[0].gct_s == pytest.approx(0.25 * 1.00004)
    assert moved[1].next_ic_s is None


def test_unknown_keys_are_skipped_and_old_truth_still_reads(tmp_path):
    """A newer writer may add fields; an older trace lacks the newer truth fields."""
    path = _trace(n=10).write(tmp_path / "t.hltrace")
    data = path.read_bytes()
    end = data.index(b"\n", len(MAGIC))
    head = json.loads(data[len(MAGIC) : end])
    head["from_the_future"] = 1
    body = data[end + 1 : end + 1 + 10 * 24]
    old = {k: v for k, v in asdict(_stride(0.2)).items() if k in TruthStride.__slots__[:9]}
    future = dict(asdict(_stride(0.9)), from_the_future=True)
    path.write_bytes(
        MAGIC + json.dumps(head).encode() + b"\n" + body + json.dumps([old, future]).encode()
    )
    back = read_trace(path)
    assert back.truth[0].ic_s == 0.2 and back.truth[0].gait == "run"
    assert back.truth[0].impact_g is None
    assert back.truth[1] == _stride(0.9)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: b"NOTATRACE" + d[9:], "bad magic"),
        (lambda d: MAGIC + b'{"n_samples": 1', "not terminated"),
        (lambda d: MAGIC + b"{nope}\n", "header is not JSON"),
        (lambda d: d.replace(b'"version":1', b'"version":9'), "unsupported trace version 9"),
        (lambda d: d[: len(d) // 2], "truncated"),
        (lambda d: d[: d.rindex(b"[")] + b"[{]", "ground truth is not JSON"),
        (lambda d: d[: d.rindex(b"[")] + b'{"a": 1}', "not a JSON list"),
        (lambda d: d[: d.rindex(b"[")] + b'[{"foot": "left"}]', "not a stride or a mark"),
    ],
)
def test_a_damaged_file_is_refused_with_the_reason(tmp_path, mangle, message):
    path = _trace(n=50).write(tmp_path / "t.hltrace")
    path.write_bytes(mangle(path.read_bytes()))
    with pytest.raises(TraceError, match=message):
        read_trace(path)
