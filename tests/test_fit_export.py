"""FIT export: decoded by Garmin's SDK and by fitdecode, checked against the strides.

Expected values are recomputed here from the Stride lists (what the store holds),
not taken from the exporter: every record is the mean of the strides whose contact
began in its second, every lap and the session the mean of theirs.
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import fitdecode
import numpy as np
import pytest
from garmin_fit_sdk import Decoder, Stream
from garmin_fit_sdk.crc_calculator import CrcCalculator
from watch_files import FENIX2, FENIX5, needs_watch_files

from heavylegs.analysis.session import load_session, session_from_strides
from heavylegs.export import FitError, LapBounds, encode_activity, encode_run
from heavylegs.export.fit_codec import crc16
from heavylegs.sim.strides import generate, scenario, store_run
from heavylegs.store import Store, Stride

T0 = 1_700_000_000
RECORD_DYNAMICS = (
    "stance_time",
    "stance_time_percent",
    "stance_time_balance",
    "step_length",
    "speed",
    "cadence",
)


def sdk_decode(data: bytes) -> dict:
    assert Decoder(Stream.from_byte_array(bytearray(data))).is_fit()
    assert Decoder(Stream.from_byte_array(bytearray(data))).check_integrity()
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    return messages


def fitdecode_messages(data: bytes) -> list[fitdecode.FitDataMessage]:
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE) as fit:
        return [f for f in fit if isinstance(f, fitdecode.FitDataMessage)]


def values(message: fitdecode.FitDataMessage) -> dict[str, object]:
    return {f.name: f.value for f in message.fields if f.value is not None}


def expected_seconds(strides: dict[str, list[Stride]], t0: float) -> dict[int, list[Stride]]:
    """The strides of each second, by initial contact, on the run's clock."""
    first = min(s.ic_ms for foot in strides.values() for s in foot)
    out: dict[int, list[Stride]] = defaultdict(list)
    for foot in strides.values():
        for s in foot:
            out[int((round(t0 * 1000) + s.ic_ms - first) // 1000)].append(s)
    return dict(sorted(out.items()))


def means(strides: list[Stride]) -> dict[str, float | None]:
    """What the FIT summary of these strides must say, in the decoders' units."""
    left = [s.gct_ms for s in strides if s.foot == "left"]
    right = [s.gct_ms for s in strides if s.foot == "right"]
    lengths = [s for s in strides if s.stride_len_m is not None]
    balance = None
    if left and right:
        balance = 100 * np.mean(left) / (np.mean(left) + np.mean(right))
    return {
        "stance_time": float(np.mean([s.gct_ms for s in strides])),
        "stance_time_percent": float(np.mean([100 * s.gct_ms / s.stride_ms for s in strides])),
        "stance_time_balance": balance,
        "step_length": float(np.mean([s.stride_len_m * 500 for s in lengths])) if lengths else None,
        "speed": (
            float(np.mean([s.stride_len_m * 1000 / s.stride_ms for s in lengths]))
            if lengths
            else None
        ),
        "cadence": float(np.mean([s.cadence_spm for s in strides]) / 2),
        "strike_angle": float(np.mean([s.strike_deg for s in strides])),
        "impact": float(np.mean([s.impact_g for s in strides])),
    }


# the FIT resolution of each field, in the decoders' units
RESOLUTION = {
    "stance_time": 0.05,
    "stance_time_percent": 0.005,
    "stance_time_balance": 0.005,
    "step_length": 0.05,
    "speed": 0.0005,
    "cadence": 1 / 256,
    "strike_angle": 1e-4,
    "impact": 1e-4,
}


def assert_matches(got: dict[str, float | None], want: dict[str, float | None]) -> None:
    for name, tol in RESOLUTION.items():
        if want[name] is None:
            assert got.get(name) is None, name
        else:
            assert got[name] == pytest.approx(want[name], abs=tol + 1e-9), name


def store_distance(strides: dict[str, list[Stride]]) -> float:
    """The distance the store holds: each foot's stride lengths summed, feet averaged."""
    return float(np.mean([sum(s.stride_len_m or 0.0 for s in foot) for foot in strides.values()]))


@pytest.fixture(scope="module")
def walk_run() -> tuple[dict[str, list[Stride]], bytes]:
    strides = generate(scenario("walk_run", minutes=20, speed_known=True))
    session = session_from_strides(strides, started_at=T0)
    return strides, encode_activity(session)


def test_both_decoders_read_every_message_with_valid_crcs(walk_run) -> None:
    _, data = walk_run
    sdk = sdk_decode(data)
    for kind in ("file_id", "developer_data_id", "device_info", "event", "record", "lap"):
        assert sdk[f"{kind}_mesgs"], kind
    assert len(sdk["session_mesgs"]) == len(sdk["activity_mesgs"]) == 1
    assert len(sdk["field_description_mesgs"]) == 6
    frames = fitdecode_messages(data)
    counts: dict[str, int] = defaultdict(int)
    for frame in frames:
        counts[frame.name] += 1
    assert counts["record"] == len(sdk["record_mesgs"]) > 1100
    assert counts["lap"] == len(sdk["lap_mesgs"])
    # the two decoders agree on every running-dynamics value of every record
    records = [values(f) for f in frames if f.name == "record"]
    for mine, garmins in zip(records, sdk["record_mesgs"], strict=True):
        for name in (*RECORD_DYNAMICS, "distance", "fractional_cadence"):
            assert mine.get(name) == pytest.approx(garmins.get(name)), name
    # header and file CRCs as Garmin's own SDK computes them, and each one guards its bytes
    assert int.from_bytes(data[12:14], "little") == CrcCalculator.calculate_crc(data, 0, 12)
    assert int.from_bytes(data[-2:], "little") == CrcCalculator.calculate_crc(
        data, 0, len(data) - 2
    )
    for offset in (4, len(data) // 2):
        bad = bytearray(data)
        bad[offset] ^= 0x01
        assert not Decoder(Stream.from_byte_array(bad)).check_integrity()
        with pytest.raises(fitdecode.FitCRCError):
            fitdecode_messages(bytes(bad))


def test_crc16_is_the_crc_fit_specifies() -> None:
    # FIT's CRC is CRC-16/ARC (reflected polynomial 0x8005, from 0): the CRC
    # catalogue's check value for these nine bytes
    assert crc16(b"123456789") == 0xBB3D
    assert crc16(b"") == 0
    # and Garmin's SDK agrees on every length and byte value, run on from a CRC too
    data = bytes(range(256)) * 3
    for end in (1, 2, 3, 12, 255, len(data)):
        assert crc16(data[:end]) == CrcCalculator.calculate_crc(data, 0, end), end
    assert crc16(data[100:], crc16(data[:100])) == CrcCalculator.calculate_crc(data, 0, len(data))


@needs_watch_files
@pytest.mark.parametrize("path", [FENIX2, FENIX5], ids=lambda p: p.name)
def test_crc16_matches_the_crcs_a_garmin_watch_wrote(path: Path) -> None:
    data = path.read_bytes()
    assert data[0] == 14 and data[8:12] == b".FIT"  # a header that carries its own CRC
    assert crc16(data[:12]) == int.from_bytes(data[12:14], "little")
    assert crc16(data[:-2]) == int.from_bytes(data[-2:], "little")
    assert crc16(data) == 0  # a CRC run on over its own little-endian value leaves nothing


def test_every_stride_is_in_a_record_equal_to_the_strides(walk_run) -> None:
    strides, data = walk_run
    seconds = expected_seconds(strides, T0)
    frames = [values(f) for f in fitdecode_messages(data) if f.name == "record"]
    # one record for each second with a contact, walking included, none other
    assert [int(r["timestamp"].timestamp()) for r in frames] == list(seconds)
    walking = [r for r in frames if r["activity_type"] == "walking"]
    assert len(walking) == pytest.approx(2 * 60, abs=3)  # walks at minutes 12 and 18
    for record, (_, mine) in zip(frames, seconds.items(), strict=True):
        got = dict(record, cadence=record["cadence"] + record["fractional_cadence"])
        assert_matches(got, means(mine))
    # no torso measures invented
    assert not any("vertical_oscillation" in r or "vertical_ratio" in r for r in frames)


@pytest.mark.parametrize("name", ["walk_run", "stop_and_go"])
def test_distance_adds_up_to_the_store(tmp_path: Path, name: str) -> None:
    db = tmp_path / "heavylegs.db"
    run = scenario(name, minutes=20, speed_known=True)
    with Store(db) as store:
        run_id = store_run(store, run, started_at=T0)
        info = store.run(run_id)
        stored = {rec.foot: store.strides(rec.id) for rec in info.recordings}
    out = tmp_path / "run.fit"
    result = subprocess.run(
        [sys.executable, "-m", "heavylegs.cli", "export", "--db", str(db), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    messages = sdk_decode(out.read_bytes())
    (session,) = messages["session_mesgs"]
    want = store_distance(stored)
    assert session["total_distance"] == pytest.approx(want, rel=0.005)
    assert session["total_distance"] == pytest.approx(want, abs=0.02)  # in fact to the cm
    distances = [r["distance"] for r in messages["record_mesgs"]]
    assert np.all(np.diff(distances) >= 0)
    assert distances[-1] == session["total_distance"]
    laps = messages["lap_mesgs"]
    assert sum(lap["total_distance"] for lap in laps) == pytest.approx(want, abs=0.1)
    assert sum(lap["total_elapsed_time"] for lap in laps) == session["total_elapsed_time"]
    paused = session["total_elapsed_time"] - session["total_timer_time"]
    if name == "stop_and_go":  # stops of 40 s at minutes 9 and 15: the timer stood still
        assert paused == pytest.approx(80, abs=3)
        stops = [e for e in messages["event_mesgs"] if e["event_type"] == "stop_all"]
        assert len(stops) == 3  # two stops and the end
    else:
        assert paused == 0
    assert session["avg_speed"] == pytest.approx(want / session["total_timer_time"], abs=1e-3)
    # the session's running dynamics are the means of every stride the store holds
    check_summary(session, [s for foot in stored.values() for s in foot], messages["record_mesgs"])


def test_laps_every_km_with_averages_of_their_strides(walk_run) -> None:
    strides, data = walk_run
    seconds = expected_seconds(strides, T0)
    messages = sdk_decode(data)
    laps, records = messages["lap_mesgs"], messages["record_mesgs"]
    assert len(laps) == math.ceil(store_distance(strides) / 1000)
    assert [lap["lap_trigger"] for lap in laps] == ["distance"] * (len(laps) - 1) + ["session_end"]
    for k, lap in enumerate(laps):
        start = lap["start_time"].timestamp()
        end = start + lap["total_elapsed_time"]
        inside = [r for r in records if start <= r["timestamp"].timestamp() < end]
        # a lap ends with the record that completes its km
        assert inside[-1]["distance"] >= 1000 * (k + 1) or k == len(laps) - 1
        assert inside[-2]["distance"] < 1000 * (k + 1)
        mine = [s for t, group in seconds.items() if start <= t < end for s in group]
        check_summary(lap, mine, inside)
    (session,) = messages["session_mesgs"]
    check_summary(session, [s for group in seconds.values() for s in group], records)
    assert session["num_laps"] == len(laps)


def check_summary(summary: dict, strides: list[Stride], records: list[dict]) -> None:
    want = means(strides)
    got = {
        "stance_time": summary["avg_stance_time"],
        "stance_time_percent": summary["avg_stance_time_percent"],
        "stance_time_balance": summary["avg_stance_time_balance"],
        "step_length": summary["avg_step_length"],
        "speed": want["speed"],  # a lap's speed is its distance over its time
        "cadence": summary["avg_cadence"] + summary["avg_fractional_cadence"],
        "strike_angle": summary["developer_fields"][2],
        "impact": summary["developer_fields"][3],
    }
    assert_matches(got, want)
    assert summary["total_cycles"] == round(len(strides) / 2)
    top = max(r["cadence"] + r["fractional_cadence"] for r in records)
    assert summary["max_cadence"] + summary["max_fractional_cadence"] == pytest.approx(top)
    assert summary["max_speed"] == max(r["speed"] for r in records)


def test_watch_laps_replace_the_km_laps(walk_run) -> None:
    strides, _ = walk_run
    session = session_from_strides(strides, started_at=T0)
    marks = [LapBounds(T0 + 700, "position_lap"), LapBounds(T0 - 30), LapBounds(T0 + 300)]
    messages = sdk_decode(encode_activity(session, laps=marks))
    laps = messages["lap_mesgs"]
    assert [lap["start_time"].timestamp() for lap in laps] == [T0, T0 + 300, T0 + 700]
    assert [lap["lap_trigger"] for lap in laps] == ["manual", "manual", "position_lap"]
    seconds = expected_seconds(strides, T0)
    for lap in laps:
        start = lap["start_time"].timestamp()
        end = start + lap["total_elapsed_time"]
        inside = [r for r in messages["record_mesgs"] if start <= r["timestamp"].timestamp() < end]
        mine = [s for t, group in seconds.items() if start <= t < end for s in group]
        check_summary(lap, mine, inside)


def test_live_run_records_start_at_the_first_stride(tmp_path: Path) -> None:
    """The runner pressed start, then waited 25 s: the records begin when they ran."""
    strides = generate(scenario("steady", minutes=3, speed_known=True))
    wait_s = 25.0
    with Store(tmp_path / "heavylegs.db") as store:
        run_id = store.start_run("live", "live", T0)
        for n, (foot, mine) in enumerate(strides.items(), 1):
            rec = store.add_recording(run_id, f"AA:BB:CC:DD:EE:0{n}", foot, foot, n, "1.0")
            store.add_strides(
                rec,
                [
                    replace(s, host_time=T0 + wait_s + (s.ic_ms + s.stride_ms) / 1000 + 0.05)
                    for s in mine
                ],
            )
        data = encode_run(store, store.run(run_id))
        session = load_session(store, store.run(run_id))
    # the session carries it, from the receive times it read: the least late one of
    # each pod (its shortest stride's) dates that pod's clock
    want = min(
        T0 + wait_s + 0.05 + (min(s.stride_ms for s in mine) + min(s.ic_ms for s in mine)) / 1000
        for mine in strides.values()
    )
    assert session.first_stride_at == pytest.approx(want, abs=1e-6)
    messages = sdk_decode(data)
    first = messages["record_mesgs"][0]["timestamp"].timestamp()
    assert first == pytest.approx(T0 + wait_s, abs=1.0)
    assert messages["session_mesgs"][0]["start_time"].timestamp() == first


def test_device_info_names_each_pod_as_a_foot_pod(walk_run) -> None:
    strides, _ = walk_run
    addresses = {"left": "D4:3A:2C:11:22:33", "right": "D4:3A:2C:44:55:66"}
    session = session_from_strides(strides, started_at=T0, pod_addresses=addresses)
    data = encode_activity(session)
    devices = sdk_decode(data)["device_info_mesgs"]
    creator, *pods = devices
    assert creator["device_index"] == "creator"
    assert creator["manufacturer"] == "development"
    assert [p["device_index"] for p in pods] == [1, 2]
    assert [p["sensor_position"] for p in pods] == ["left_leg", "right_leg"]
    assert [p["serial_number"] for p in pods] == [0x2C112233, 0x2C445566]
    for pod in pods:
        assert pod["manufacturer"] == "development"
        assert pod["source_type"] == "bluetooth_low_energy"
        assert pod["ble_device_type"] == "footpod"
    independent = [values(f) for f in fitdecode_messages(data) if f.name == "device_info"]
    assert [d.get("ble_device_type") for d in independent] == [None, "footpod", "footpod"]


def test_developer_fields_carry_strike_angle_and_impact(walk_run) -> None:
    _, data = walk_run
    frames = fitdecode_messages(data)
    described = {
        values(f)["field_name"]: values(f).get("units")
        for f in frames
        if f.name == "field_description"
    }
    assert described == {
        "strike_angle": "deg",
        "impact": "g",
        "avg_strike_angle": "deg",
        "avg_impact": "g",
        "pronation": "deg",
        "avg_pronation": "deg",
    }
    (first_id,) = [values(f) for f in frames if f.name == "developer_data_id"]
    assert first_id["developer_data_index"] == 0
    records = [values(f) for f in frames if f.name == "record"]
    assert all(-40 < r["strike_angle"] < 40 and 0 < r["impact"] <= 32 for r in records)


def test_pronation_is_the_mean_of_the_seconds_measured_strides_and_absent_if_unmeasured() -> None:
    strides = generate(scenario("steady", minutes=3))
    # the left pod measured pronation (8, 9, 10 degrees in turn), the right one did not
    strides["left"] = [replace(s, pronation_deg=8.0 + k % 3) for k, s in enumerate(strides["left"])]
    session = session_from_strides(strides, started_at=T0)
    records = [
        values(f) for f in fitdecode_messages(encode_activity(session)) if f.name == "record"
    ]
    left = session.feet["left"]
    left_s = np.floor(
        T0 + left.minutes * 60 - min(d.minutes.min() for d in session.feet.values()) * 60
    )
    for r in records:
        mine = left.pronation_deg[left_s == r["timestamp"].timestamp()]
        if len(mine):
            assert r["pronation"] == pytest.approx(mine.mean(), abs=1e-4)
        else:
            assert r.get("pronation") is None
    only_right = session_from_strides({"right": strides["right"]}, started_at=T0)
    frames = fitdecode_messages(encode_activity(only_right))
    assert all(values(f).get("pronation") is None for f in frames if f.name == "record")


def test_one_pod_run_has_no_balance_and_unknown_lengths_no_distance() -> None:
    strides = generate(scenario("steady", minutes=3, feet=("right",)))  # lengths unknown
    messages = sdk_decode(encode_activity(session_from_strides(strides, started_at=T0)))
    records = messages["record_mesgs"]
    assert records
    assert all(r.get("stance_time_balance") is None for r in records)
    assert all(r.get("step_length") is None and r.get("distance") is None for r in records)
    assert len(messages["device_info_mesgs"]) == 2  # the toolkit and the one pod
    (session,) = messages["session_mesgs"]
    assert session.get("total_distance") is None
    assert len(messages["lap_mesgs"]) == 1


def test_a_walk_only_run_is_a_walk_and_a_dateless_one_is_refused() -> None:
    strides = generate(scenario("steady", minutes=3, walks=((0.0, 3.0),)))
    walk = sdk_decode(encode_activity(session_from_strides(strides, started_at=T0)))
    assert walk["session_mesgs"][0]["sport"] == "walking"
    assert {r["activity_type"] for r in walk["record_mesgs"]} == {"walking"}
    with pytest.raises(FitError, match="start time"):
        encode_activity(session_from_strides(strides, started_at=0.0))


def definitions(data: bytes) -> dict[str, dict[int, tuple[str, int]]]:
    """Each message's fields as the file defines them: number -> (base type, size)."""
    out: dict[str, dict[int, tuple[str, int]]] = defaultdict(dict)
    with fitdecode.FitReader(io.BytesIO(data)) as fit:
        for frame in fit:
            if isinstance(frame, fitdecode.FitDefinitionMessage):
                for f in frame.field_defs:
                    out[frame.name][f.def_num] = (f.base_type.name, f.size)
    return out


def units(data: bytes) -> dict[tuple[str, str], str | None]:
    found = {}
    for frame in fitdecode_messages(data):
        for f in frame.fields:
            if isinstance(f.field_def, fitdecode.types.FieldDefinition):
                found[(frame.name, f.name)] = f.units
    return found


@pytest.mark.skipif(not FENIX5.exists(), reason="../shared/data/watch_fit is not here")
def test_message_layouts_are_the_fenix_5s(walk_run) -> None:
    _, data = walk_run
    fenix = FENIX5.read_bytes()
    ours, theirs = definitions(data), definitions(fenix)
    shared = ("file_id", "device_info", "event", "record", "lap", "session", "activity")
    for message in shared:
        assert ours[message], message
        for num, layout in ours[message].items():
            # the same field number, base type and size: hence the same scale and units
            assert theirs[message].get(num) == layout, (message, num, layout)
    # the fenix's torso measures, which a foot pod does not make, are left out
    assert {39, 83} <= set(theirs["record"]) and not {39, 83} & set(ours["record"])
    their_units, our_units = units(fenix), units(data)
    for key, unit in our_units.items():
        if key in their_units:
            assert their_units[key] == unit, key
    # a scale slip (x10) would put our values an order of magnitude off the watch's
    ours_rec = [values(f) for f in fitdecode_messages(data) if f.name == "record"]
    theirs_rec = [values(f) for f in fitdecode_messages(fenix) if f.name == "record"]
    for name in RECORD_DYNAMICS:
        a = np.median([r[name] for r in ours_rec if name in r])
        b = np.median([r[name] for r in theirs_rec if r.get(name)])
        assert 0.5 < a / b < 2, (name, a, b)


@pytest.mark.parametrize("clock_fitted", [True, False])
def test_a_paced_simulated_run_starts_at_its_first_stride(
    tmp_path: Path, clock_fitted: bool
) -> None:
    """A simulated pod's sensor time runs 20x the host's: its receive times do not
    keep the pod's rate, so they cannot date it; the fitted clock (or else the run's
    start) does, and no record is dated before the run started."""
    speedup, wait_s = 20.0, 0.2
    strides = generate(scenario("steady", minutes=3, speed_known=True))
    # the right pod stops 30 s early (its battery ran out)
    last_ms = max(s.ic_ms for s in strides["right"])
    strides["right"] = [s for s in strides["right"] if s.ic_ms < last_ms - 30_000]
    with Store(tmp_path / "heavylegs.db") as store:
        run_id = store.start_run("simulated", "live-sim-fast", T0)
        for n, (foot, mine) in enumerate(strides.items(), 1):
            rec = store.add_recording(run_id, f"F0:00:00:00:00:0{n}", foot, foot, n, "1.0")
            pod_end_s = [(s.ic_ms + s.stride_ms) / 1000 for s in mine]
            store.add_strides(
                rec,
                [
                    replace(s, host_time=T0 + wait_s + t / speedup)
                    for s, t in zip(mine, pod_end_s, strict=True)
                ],
            )
            if clock_fitted:
                # what the recorder stores: the fit rewrites every receive time
                store.set_recording_times(rec, clock_offset_s=T0 + wait_s, clock_rate=1 / speedup)
        messages = sdk_decode(encode_run(store, store.run(run_id)))
        session = load_session(store, store.run(run_id))
    # the two feet stay together on the run's time line: receive times that do not
    # keep the pod's rate used to place each foot by its last stride's, seconds apart
    firsts_s = [float(foot.minutes[0]) * 60 for foot in session.feet.values()]
    assert max(firsts_s) - min(firsts_s) < 1.0, firsts_s
    first_landed = T0 + wait_s + min(s.ic_ms for m in strides.values() for s in m) / 1000 / speedup
    start = messages["session_mesgs"][0]["start_time"].timestamp()
    assert start >= T0
    assert start == pytest.approx(first_landed, abs=1.0)
    assert messages["record_mesgs"][0]["timestamp"].timestamp() == start
