"""Exports: FIT activities decoded back by Garmin's own FIT SDK, CSV and Parquet tables."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from garmin_fit_sdk import Decoder, Stream
from typer.testing import CliRunner

from heavylegs.analysis.session import session_from_strides
from heavylegs.cli import app
from heavylegs.export import FitError, encode_activity, fit_records, to_csv, to_parquet
from heavylegs.export.fit import crc16
from heavylegs.sim.strides import generate, scenario, store_run
from heavylegs.store import Store, Stride

T0 = 1_700_000_000.0


def constant_strides(foot: str, gct: float, count: int = 400, offset_ms: int = 0) -> list[Stride]:
    """Running strides with fixed values: what every FIT record must decode back to."""
    return [
        Stride(
            seq=i,
            foot=foot,
            running=True,
            clipped=False,
            strike_class="midfoot",
            ic_ms=offset_ms + round(i * 700.5),
            gct_ms=gct,
            stride_ms=700.5,
            cadence_spm=171.3,
            strike_deg=3.0,
            impact_g=9.5,
            stride_len_m=2.131,
        )
        for i in range(count)
    ]


def decode(data: bytes) -> dict:
    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    assert decoder.is_fit()
    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    assert decoder.check_integrity(), "header or file CRC rejected"
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    return messages


def test_fit_running_dynamics_decode_to_the_measured_values() -> None:
    session = session_from_strides(
        {
            "left": constant_strides("left", 250.0),
            "right": constant_strides("right", 262.5, offset_ms=350),
        },
        started_at=T0,
    )
    messages = decode(encode_activity(session))
    records = messages["record_mesgs"]
    # one record a second from the first contact to the last, no second without a stride
    assert len(records) == pytest.approx(400 * 0.7005, abs=2)
    for record in records[3:]:  # the first seconds see only one foot
        # 171.3 steps/min = 85.65 strides/min: 85 plus 83/128 (0.6484)
        assert record["cadence"] == 85
        assert record["fractional_cadence"] == pytest.approx(0.65, abs=1 / 256)
        assert record["cadence"] + record["fractional_cadence"] == pytest.approx(
            171.3 / 2, abs=1 / 256
        )
        # stance time in 0.1 ms: the median of the last 3 s of both feet
        assert record["stance_time"] in (250.0, 256.2, 256.3, 262.5)
        # left share: 250 / (250 + 262.5) = 48.78%, in 0.01%
        assert record["stance_time_balance"] == pytest.approx(48.78, abs=0.005)
        # step length = half the stride length, in 0.1 mm
        assert record["step_length"] == pytest.approx(1065.5, abs=0.05)
        assert record["speed"] == pytest.approx(2.131 / 0.7005, abs=0.001)
    distances = [r["distance"] for r in records]
    assert np.all(np.diff(distances) >= 0)
    assert distances[-1] == pytest.approx(2.131 * 399, abs=3)
    first, last = records[0]["timestamp"], records[-1]["timestamp"]
    assert first.timestamp() == pytest.approx(T0, abs=1.0)
    (session_msg,) = messages["session_mesgs"]
    assert session_msg["sport"] == "running"
    assert session_msg["total_timer_time"] == pytest.approx((last - first).total_seconds())
    assert messages["file_id_mesgs"][0]["type"] == "activity"
    assert messages["activity_mesgs"][0]["num_sessions"] == 1


def test_fit_records_match_what_the_sdk_decodes() -> None:
    """Every record of a realistic run, field by field, within each field's FIT resolution."""
    session = session_from_strides(generate(scenario("fatigue_speed", minutes=12)), started_at=T0)
    expected = fit_records(session)
    decoded = decode(encode_activity(session, expected))["record_mesgs"]
    assert len(decoded) == len(expected) > 600
    for want, got in zip(expected, decoded, strict=True):
        assert got["timestamp"].timestamp() == want.unix_s
        strides = got["cadence"] + got["fractional_cadence"]
        assert strides == pytest.approx(want.cadence_strides_min, abs=1 / 256 + 1e-9)
        assert got["stance_time"] == pytest.approx(want.stance_time_ms, abs=0.05 + 1e-9)
        assert got["step_length"] == pytest.approx(want.step_length_mm, abs=0.05 + 1e-9)
        if want.stance_time_balance_pct is None:
            assert "stance_time_balance" not in got or got["stance_time_balance"] is None
        else:
            assert got["stance_time_balance"] == pytest.approx(
                want.stance_time_balance_pct, abs=0.005 + 1e-9
            )


def test_fit_carries_pronation_in_a_described_developer_field() -> None:
    left = [replace(s, pronation_deg=8.0 + (s.seq % 3)) for s in constant_strides("left", 250.0)]
    right = constant_strides("right", 262.5, offset_ms=350)  # a pod that did not measure it
    messages = decode(
        encode_activity(session_from_strides({"left": left, "right": right}, started_at=T0))
    )
    (described,) = messages["field_description_mesgs"]
    assert (described["field_name"], described["units"], described["scale"]) == (
        "pronation",
        "deg",
        10,
    )
    assert messages["developer_data_id_mesgs"][0]["developer_data_index"] == 0
    records = messages["record_mesgs"]
    # the median of the last 3 s of left strides (8, 9, 10 degrees; even counts halve), 0.1 deg
    values = [r["developer_fields"][0] for r in records[3:]]
    assert set(values) <= {80, 85, 90, 95, 100} and 90 in values
    # a window without pronation leaves the field invalid, so readers skip it
    only_right = session_from_strides({"right": right}, started_at=T0)
    for record in decode(encode_activity(only_right))["record_mesgs"]:
        assert record.get("developer_fields", {}).get(0) in (None, 0xFFFF)


def test_one_pod_fit_has_no_balance_and_unknown_length_is_left_out() -> None:
    strides = [_without_length(s) for s in constant_strides("right", 255.0, count=100)]
    session = session_from_strides({"right": strides}, started_at=T0)
    records = decode(encode_activity(session))["record_mesgs"]
    assert records
    for record in records:
        assert record.get("stance_time_balance") is None
        assert record.get("step_length") is None
        assert record.get("distance") is None
        assert record["stance_time"] == 255.0


def _without_length(s: Stride) -> Stride:
    return replace(s, stride_len_m=None)


def test_fit_crc_matches_the_protocol_check_value() -> None:
    # a corrupted byte must be caught by the decoder's integrity check
    session = session_from_strides({"left": constant_strides("left", 250.0, 50)}, started_at=T0)
    data = bytearray(encode_activity(session))
    assert crc16(bytes(data[:-2])) == int.from_bytes(data[-2:], "little")
    data[40] ^= 0x01
    assert not Decoder(Stream.from_byte_array(data)).check_integrity()


def test_fit_refuses_runs_it_cannot_represent() -> None:
    no_time = session_from_strides({"left": constant_strides("left", 250.0, 50)}, started_at=0.0)
    with pytest.raises(FitError, match="start time"):
        encode_activity(no_time)
    walking = session_from_strides(
        {"left": [_walking(s) for s in constant_strides("left", 600.0, 50)]}, started_at=T0
    )
    with pytest.raises(FitError, match="no running strides"):
        encode_activity(walking)


def _walking(s: Stride) -> Stride:
    return replace(s, running=False)


def test_csv_holds_every_stride_with_unknowns_empty() -> None:
    strides = generate(scenario("steady", minutes=3, speed_known=True))
    strides["left"][5] = _without_length(strides["left"][5])
    session = session_from_strides(strides, run_id=7)
    rows = list(csv.DictReader(io.StringIO(to_csv(session).decode())))
    assert len(rows) == sum(len(v) for v in strides.values())
    times = [float(r["t_min"]) for r in rows]
    assert times == sorted(times)
    by_foot = [r for r in rows if r["foot"] == "left"]
    assert [float(r["gct_ms"]) for r in by_foot] == [s.gct_ms for s in strides["left"]]
    assert by_foot[5]["stride_len_m"] == ""
    assert float(by_foot[6]["stride_len_m"]) == strides["left"][6].stride_len_m
    assert {r["run_id"] for r in rows} == {"7"}
    assert {r["running"] for r in rows} == {"1"}


def test_tables_say_which_limit_a_clipped_impact_hit() -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    strides = generate(scenario("steady", minutes=3))
    # a DSO32 pod on the left, a pod that did not say its range on the right
    session = session_from_strides(strides, acc_fs_g={"left": 32})
    rows = list(csv.DictReader(io.StringIO(to_csv(session).decode())))
    assert {r["impact_limit_g"] for r in rows if r["foot"] == "left"} == {"32.0"}
    assert {r["impact_limit_g"] for r in rows if r["foot"] == "right"} == {""}
    data = pq.read_table(io.BytesIO(to_parquet(session))).to_pydict()
    limits = dict(zip(data["foot"], data["impact_limit_g"], strict=True))
    assert limits == {"left": 32.0, "right": None}


def test_parquet_round_trip() -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    strides = generate(scenario("steady", minutes=3, speed_known=True))
    strides["right"][3] = _without_length(strides["right"][3])
    session = session_from_strides(strides, run_id=3)
    table = pq.read_table(io.BytesIO(to_parquet(session)))
    assert table.num_rows == sum(len(v) for v in strides.values())
    data = table.to_pydict()
    right = [i for i, foot in enumerate(data["foot"]) if foot == "right"]
    assert [data["gct_ms"][i] for i in right] == [s.gct_ms for s in strides["right"]]
    assert data["stride_len_m"][right[3]] is None
    assert data["stride_len_m"][right[4]] == strides["right"][4].stride_len_m
    assert table.schema.field("running").type == "bool"


def test_export_command_writes_each_format(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        run_id = store_run(store, scenario("steady", minutes=4, speed_known=True), started_at=T0)
    runner = CliRunner()
    for fmt in ("fit", "csv", "parquet"):
        result = runner.invoke(app, ["export", "--db", str(db), "--format", fmt])
        assert result.exit_code == 0, result.output
        path = Path(result.output.strip().splitlines()[-1])
        assert path == (tmp_path / "exports" / f"run-{run_id}.{fmt}").resolve()
        assert path.stat().st_size > 1000
    decode((tmp_path / "exports" / f"run-{run_id}.fit").read_bytes())


def test_export_command_errors_are_clear(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["export", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "no store" in missing.output
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        run_id = store.start_run("empty", "live", T0)
    empty = runner.invoke(app, ["export", str(run_id), "--db", str(db)])
    assert empty.exit_code == 2 and "no strides" in empty.output
    unknown = runner.invoke(app, ["export", "99", "--db", str(db)])
    assert unknown.exit_code == 2 and "unknown run 99" in unknown.output
    bad = runner.invoke(app, ["export", "--db", str(db), "--format", "gpx"])
    assert bad.exit_code == 2
    assert not (tmp_path / "exports").exists()


def test_values_are_finite_in_the_fit_records() -> None:
    session = session_from_strides(generate(scenario("stop_and_go", minutes=20)), started_at=T0)
    for record in fit_records(session):
        assert math.isfinite(record.stance_time_ms)
        assert math.isfinite(record.cadence_strides_min)
