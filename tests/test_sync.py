"""Journal sync and owner access over the simulated radio, against the real firmware.

A simulated pod runs a run with no host nearby (its session starts by itself and
goes into its journal); then the host syncs it while the link is dropped at
random points, at MTU 23 and at a larger MTU.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import struct
from pathlib import Path

import pytest
from bleak import BleakClient
from bleak.exc import BleakGATTProtocolError
from pod_flash import journal_strides

from heavylegs.link.client import (
    BATTERY_LEVEL,
    RSC_FEATURE,
    RSC_MEASUREMENT,
    SC_CONTROL_POINT,
    SENSOR_LOCATION,
    Backends,
    PodClient,
    PodRefused,
)
from heavylegs.link.keys import KeyStore
from heavylegs.link.pods import Recorder, find_pods
from heavylegs.link.sync import Syncer
from heavylegs.sim.bleak_backend import SimBleakClient, SimBleakScanner
from heavylegs.sim.pod import SimPod, run_alone
from heavylegs.sim.radio import SimRadio, use_radio
from heavylegs.sim.scenarios import write_scenario
from heavylegs.store import Store
from heavylegs.trace import read_trace
from heavylegs_pod import wire

ADDRESS = "F0:00:00:00:00:01"
KEY = bytes(range(1, 33))
BACKENDS = Backends(scanner=SimBleakScanner, client=SimBleakClient)
BOUND_S = 120


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> dict[str, Path]:
    return write_scenario("easy", tmp_path_factory.mktemp("traces"), minutes=1.0, seed=5)


@pytest.fixture(scope="module")
def long_traces(tmp_path_factory) -> dict[str, Path]:
    return write_scenario("easy", tmp_path_factory.mktemp("long"), minutes=3.0, seed=6)


@pytest.fixture(scope="module")
def recorded_flash(long_traces, tmp_path_factory) -> Path:
    """A pod's flash after a three-minute run that no host saw."""
    workdir = tmp_path_factory.mktemp("flash") / "left"
    asyncio.run(
        run_alone(
            long_traces["left"],
            workdir,
            bound_s=BOUND_S,
            foot="left",
            name="hl-left",
            address=ADDRESS,
            key=KEY,
        )
    )
    return workdir


@pytest.fixture
def flash(recorded_flash, tmp_path) -> Path:
    copy = tmp_path / "left"
    shutil.copytree(recorded_flash, copy)
    return copy


def _left_pod(radio: SimRadio, traces: dict, flash: Path) -> SimPod:
    """The owned left pod every sync test talks to, journaling into `flash`."""
    return SimPod(
        radio,
        traces["left"],
        foot="left",
        name="hl-left",
        address=ADDRESS,
        key=KEY,
        workdir=flash,
    )


@pytest.mark.parametrize("mtu", [23, 247])
async def test_sync_survives_random_link_drops(flash, long_traces, tmp_path, mtu):
    traces = long_traces
    truth = read_trace(traces["left"]).truth
    expected = journal_strides(flash)
    assert len(expected) == 1, "one session started by itself"
    ((sid, records),) = expected.items()
    assert len(records) == len(truth), "the journal holds every stride of the run"
    rng = random.Random(mtu)
    drops = sorted(rng.sample(range(2, 150 if mtu == 23 else 15), 4))
    packets = 0

    async with SimRadio(central_mtu=mtu) as radio:
        with use_radio(radio):
            async with _left_pod(radio, traces, flash):

                def on_packet(client: PodClient, size: int) -> None:
                    nonlocal packets
                    packets += 1
                    assert size <= mtu - 3
                    if drops and packets == drops[0]:
                        drops.pop(0)
                        asyncio.get_running_loop().create_task(radio.drop(ADDRESS))

                (device,) = await find_pods(1, 10, BACKENDS)
                with Store(tmp_path / "db.sqlite") as store:
                    syncer = Syncer(
                        store, BACKENDS, KeyStore(keys={ADDRESS: KEY}), on_packet=on_packet
                    )
                    report = await asyncio.wait_for(syncer.sync(device), BOUND_S)
                    assert report.reconnects >= 3, "the link really dropped"
                    recording = store.recording(report.recordings[sid])
                    stored = store.strides(recording.id)
                    assert recording.foot == "left"
                    # the session arrived complete, once, in order
                    assert [s.seq for s in stored] == list(range(len(records)))
                    for got, want in zip(stored, records, strict=True):
                        assert (got.ic_ms, got.gct_ms, got.cadence_spm) == (
                            want["ic_ms"],
                            want["gct_ms"],
                            want["cadence_spm"],
                        )
                    assert store.sync_state(recording.id) == (len(records), len(records))
                    # a second sync finds nothing new and sends no strides
                    again = await asyncio.wait_for(syncer.sync(device), BOUND_S)
                    assert again.new_strides == 0 and again.received == 0
                    (listed,) = again.sessions
                    assert listed.acked == listed.count == len(records)


async def test_unauthorised_control_and_sync_are_refused_while_rsc_stays_open(flash, traces):
    before = journal_strides(flash)
    async with SimRadio(central_mtu=23) as radio:
        with use_radio(radio):
            async with _left_pod(radio, traces, flash):
                (device,) = await find_pods(1, 10, BACKENDS)
                client = PodClient(device, BACKENDS)
                await client.connect()
                try:
                    sid = next(iter(before))
                    for op, payload in (
                        (wire.OP_LIST_SESSIONS, b""),
                        (wire.OP_START_SYNC, struct.pack("<II", sid, 0)),
                        (wire.OP_ERASE_SESSION, struct.pack("<I", sid)),
                        (wire.OP_START_SESSION, b""),
                    ):
                        with pytest.raises(PodRefused) as refused:
                            await client.request(op, payload)
                        assert refused.value.status == wire.CP_NOT_AUTHORISED
                    with pytest.raises(PodRefused) as refused:
                        await client.authenticate(bytes(32))
                    assert refused.value.status == wire.CP_NOT_AUTHORISED
                    # RSC and battery stay open: a watch reads them with no key
                    bleak = client.client
                    assert bleak is not None
                    assert await bleak.read_gatt_char(SENSOR_LOCATION) == bytearray([1])
                    features = int.from_bytes(await bleak.read_gatt_char(RSC_FEATURE), "little")
                    assert features & wire.RSC_FEATURE_RUNNING_STATUS
                    assert 0 <= (await bleak.read_gatt_char(BATTERY_LEVEL))[0] <= 100
                    await bleak.start_notify(RSC_MEASUREMENT, lambda _c, _d: None)
                    status = await client.status()
                    assert status["provisioned"] and status["unsynced_sessions"] == 1
                    # the journal's data did not move
                    with pytest.raises(BleakGATTProtocolError):
                        await bleak.write_gatt_char(wire.RD_STATUS_UUID, b"\x00" * 20, True)
                finally:
                    await client.disconnect()
    assert journal_strides(flash) == before


def spec_rsc(data: bytes) -> dict:
    """An RSC Measurement read straight from the Bluetooth RSCS 1.0 text, not wire.py."""
    flags = data[0]
    out = {
        "speed_mps": int.from_bytes(data[1:3], "little") / 256,
        "cadence": data[3],
        "running": bool(flags & 0x04),
    }
    at = 4
    if flags & 0x01:
        out["stride_m"] = int.from_bytes(data[at : at + 2], "little") / 100
        at += 2
    if flags & 0x02:
        out["total_m"] = int.from_bytes(data[at : at + 4], "little") / 10
        at += 4
    assert at == len(data), "no bytes beyond what the flags announce"
    return out


@pytest.mark.parametrize("mtu", [23, 247])
async def test_rsc_measurements_read_as_the_specification_says(traces, mtu):
    truth = read_trace(traces["left"]).truth
    rsc: list[bytes] = []
    strides: list[dict] = []
    async with SimRadio(central_mtu=mtu) as radio:
        with use_radio(radio):
            async with SimPod(
                radio, traces["left"], foot="left", name="hl-left", address=ADDRESS
            ) as pod:
                (device,) = await find_pods(1, 10, BACKENDS)
                async with BleakClient(device, backend=SimBleakClient) as client:
                    features = int.from_bytes(await client.read_gatt_char(RSC_FEATURE), "little")
                    await client.start_notify(RSC_MEASUREMENT, lambda _c, d: rsc.append(bytes(d)))
                    await client.start_notify(
                        wire.RD_STRIDE_UUID,
                        lambda _c, d: strides.extend(
                            wire.decode_stride(d, o) for _, o in wire.split_records(d)
                        ),
                    )
                    sc: asyncio.Queue[bytes] = asyncio.Queue()
                    await client.start_notify(
                        SC_CONTROL_POINT, lambda _c, d: sc.put_nowait(bytes(d))
                    )
                    await client.write_gatt_char(SC_CONTROL_POINT, b"\x04", response=True)
                    # request supported locations: not supported without that feature
                    assert await asyncio.wait_for(sc.get(), 5) == b"\x10\x04\x02"
                    pod.release_sensor()
                    await asyncio.wait_for(pod.wait_done(), BOUND_S)
                    async with asyncio.timeout(10):
                        while len(rsc) < len(truth):
                            await asyncio.sleep(0.05)
    readings = [spec_rsc(m) for m in rsc]
    assert len(readings) == len(strides) == len(truth)
    with_length = bool(features & wire.RSC_FEATURE_STRIDE_LENGTH)
    total = 0.0
    for got, stride, true in zip(readings, strides, truth, strict=True):
        assert got["cadence"] == round(stride["cadence_spm"])
        if true.stride_s is not None:
            assert abs(got["cadence"] - 120 / true.stride_s) <= 1.5
            assert got["running"]
        if with_length:
            assert got["stride_m"] == stride["stride_len_m"] or (
                got["stride_m"] == 0 and stride["stride_len_m"] is None
            )
            total += got["stride_m"]
            assert got["total_m"] == pytest.approx(total, abs=0.1)
            if true.speed_mps and got["speed_mps"]:
                assert abs(got["speed_mps"] - true.speed_mps) < 0.6
        else:
            assert "stride_m" not in got and "total_m" not in got


async def test_live_recording_reconnects_and_fills_the_gaps(traces, tmp_path):
    """Links dropped mid-run come back on their own; the journal fills what the air lost."""
    truth = {foot: read_trace(path).truth for foot, path in traces.items()}
    async with SimRadio(central_mtu=23) as radio:
        with use_radio(radio):
            from heavylegs.cli.simulated import sim_pods

            pods, keys = sim_pods(radio, traces)
            recorder = None
            try:
                for pod in pods:
                    await pod.start()
                devices = await find_pods(2, 10, BACKENDS)
                with Store(tmp_path / "db.sqlite") as store:
                    recorder = Recorder(store, BACKENDS, run_name="drops", source="test", keys=keys)
                    await recorder.connect(devices)
                    for pod in pods:
                        pod.release_sensor()
                    stop = asyncio.Event()
                    flusher = asyncio.create_task(recorder.run_until(stop))
                    dropped = 0
                    while not all(p.trace_done.is_set() for p in pods):
                        await asyncio.sleep(0.4)
                        if dropped < 3 and any(
                            p.received > 10 * (dropped + 1) for p in recorder.pods
                        ):
                            await radio.drop(pods[dropped % 2].address)
                            dropped += 1
                    async with asyncio.timeout(30):
                        while any(not p.client.is_connected for p in recorder.pods):
                            await asyncio.sleep(0.05)
                    await recorder.barrier()
                    stop.set()
                    await flusher
                    await recorder.close()
                    run = store.run(recorder.run_id)  # type: ignore[arg-type]
                    assert sum(p.reconnects for p in recorder.pods) >= 1
                    for rec in run.recordings:
                        seqs = [s.seq for s in store.strides(rec.id)]
                        assert seqs == list(range(len(truth[rec.foot])))
                        fitted = store.recording(rec.id)
                        assert fitted.clock_rate is not None and fitted.clock_rate > 0
            finally:
                for pod in pods:
                    await pod.stop()
