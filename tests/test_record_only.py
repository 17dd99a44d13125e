"""Record-only running: the radio off and INT1-woken light sleep, against ground truth.

The unmodified firmware runs a run that starts with no central connected, on the
simulated board: it turns BLE off, light-sleeps between FIFO watermark
interrupts and advertises in short bursts. At one burst a simulated central
scans, connects and receives live strides, then leaves; the pod goes back to
record-only. After the run the journal syncs completely, and every stride of
the run is there.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner

from heavylegs.link.client import Backends
from heavylegs.link.keys import KeyStore
from heavylegs.link.pods import find_pods
from heavylegs.link.sync import Syncer
from heavylegs.sim.bleak_backend import SimBleakClient, SimBleakScanner
from heavylegs.sim.board.simlink_proto import POWER_CONNECTIONS, POWER_RADIO
from heavylegs.sim.gait_model import RunParams, simulate_run
from heavylegs.sim.pod import SimPod
from heavylegs.sim.radio import SimRadio, use_radio
from heavylegs.store import Store
from heavylegs.trace import read_trace
from heavylegs_pod import wire

ADDRESS = "F0:00:00:00:00:01"
NAME = "hl-rec"
KEY = bytes(range(1, 33))
BACKENDS = Backends(scanner=SimBleakScanner, client=SimBleakClient)
BOUND_S = 240
BEACON_S = 30
AUTO_STOP_S = 20
START_SPM = 130  # power.DEFAULTS["auto_start_spm"]
LIVE_STRIDES = 15  # the central leaves after this many live strides
CONNECT_AT_BEACON = 2


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> Path:
    # 40 s standing, 3 min running, 40 s standing: the session opens and closes itself.
    params = replace(RunParams(duration_s=180.0), stand_s=40.0)
    traces = simulate_run(params, seed=11, scenario="record-only")
    return traces["left"].write(tmp_path_factory.mktemp("rec") / "rec-left.hltrace")


def _record_only_pod(radio, trace: Path, workdir: Path, config: dict, **options) -> SimPod:
    """The left pod this file follows, on `trace`, set up with `config`."""
    return SimPod(
        radio,
        trace,
        foot="left",
        name=NAME,
        address=ADDRESS,
        key=KEY,
        workdir=workdir,
        config=config,
        **options,
    )


async def _run_with_a_visitor(trace: Path, workdir: Path):
    live: list[dict] = []
    enough = asyncio.Event()
    beacons = 0
    seen_at_beacon: list[bool] = []
    client: BleakClient | None = None

    def on_stride(_char, data: bytearray) -> None:
        for offset in range(0, len(data), wire.STRIDE_SIZE):
            live.append(wire.decode_stride(bytes(data), offset))
        if len(live) >= LIVE_STRIDES:
            enough.set()

    async def on_beacon() -> None:
        nonlocal beacons, client
        beacons += 1
        if beacons != CONNECT_AT_BEACON:
            return
        # The burst is on the air: a central scanning now finds the pod and connects.
        device = await BleakScanner.find_device_by_name(NAME, timeout=5.0, backend=SimBleakScanner)
        seen_at_beacon.append(device is not None)
        if device is None:
            return
        client = BleakClient(device, backend=SimBleakClient)
        await client.connect()
        await client.start_notify(wire.RD_STRIDE_UUID, on_stride)

    async with SimRadio() as radio:
        with use_radio(radio):
            async with _record_only_pod(
                radio,
                trace,
                workdir,
                {"beacon_s": BEACON_S, "auto_stop_s": AUTO_STOP_S},
                on_beacon=on_beacon,
            ) as pod:
                await asyncio.wait_for(pod.bridge.attached.wait(), 10)  # type: ignore[union-attr]
                pod.release_sensor()
                await asyncio.wait_for(enough.wait(), BOUND_S)
                assert client is not None
                await client.disconnect()
                await asyncio.wait_for(pod.wait_done(), BOUND_S)
                await asyncio.sleep(0.5)  # the session's close reaches the journal
                # The run is over, the radio back on: the host syncs the journal.
                (device,) = await find_pods(1, 10, BACKENDS)
                with Store(workdir.parent / "db.sqlite") as store:
                    syncer = Syncer(store, BACKENDS, KeyStore(keys={ADDRESS: KEY}))
                    report = await asyncio.wait_for(syncer.sync(device), BOUND_S)
                    (recording_id,) = report.recordings.values()
                    stored = store.strides(recording_id)
                    state = store.sync_state(recording_id)
    return pod, live, seen_at_beacon, stored, state


@pytest.fixture(scope="module")
def visited_run(trace, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("rec-flash") / "left"
    return asyncio.run(_run_with_a_visitor(trace, workdir))


def _run_truth(trace: Path) -> list:
    truth = read_trace(trace).truth_in_sensor_time()
    first = next(k for k, s in enumerate(truth) if 120 / (s.next_ic_s - s.ic_s) > START_SPM)
    return truth[first:]


def test_record_only_loses_no_stride_and_the_journal_syncs_completely(trace, visited_run):
    pod, _, _, stored, state = visited_run
    truth = _run_truth(trace)
    assert pod.fifo_sleeps > 100, "the pod light-slept between FIFO bursts"
    assert [s.seq for s in stored] == list(range(len(stored)))
    assert len(stored) == len(truth), (len(stored), len(truth))
    for k, (got, true) in enumerate(zip(stored, truth, strict=True)):
        assert abs(got.gct_ms - (true.to_s - true.ic_s) * 1000) < 12, k
        since = (true.ic_s - truth[0].ic_s) * 1000
        assert abs(got.ic_ms - stored[0].ic_ms - since) < 25, k
    assert state == (len(stored), len(stored))


def test_a_central_joins_at_a_beacon_gets_live_strides_and_the_pod_goes_back(trace, visited_run):
    pod, live, seen, stored, _ = visited_run
    assert seen == [True], "the pod was visible to a scan during its beacon burst"
    # what the central heard live is what the journal kept, stride for stride
    assert len(live) >= LIVE_STRIDES
    by_seq = {s.seq: s for s in stored}
    seqs = [r["seq"] for r in live]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no live stride skipped"
    for r in live:
        assert (r["ic_ms"], r["gct_ms"]) == (by_seq[r["seq"]].ic_ms, by_seq[r["seq"]].gct_ms)
    timeline = pod.power
    connected = timeline.times(POWER_CONNECTIONS, 1)
    left = timeline.times(POWER_CONNECTIONS, 0)
    offs = timeline.times(POWER_RADIO, 0)
    ons = timeline.times(POWER_RADIO, 1)
    assert len(connected) >= 1 and len(left) >= 1
    # the radio went off when the run started, came on for bursts, and went off
    # again after the central left, while the run went on
    assert offs[0] < connected[0]
    assert any(t >= left[0] for t in offs), "back to record-only after the central left"
    assert len(ons) >= 3, ons
    # each radio-off lasts beacon_s, but the last, which the session's close ends
    ons_in_run = [t for t in ons if t > offs[0]]  # not the boot's
    gaps = [on - off for off, on in zip(offs, ons_in_run, strict=True)]
    assert all(abs(gap - BEACON_S) < 0.6 for gap in gaps[:-1]), gaps
    assert gaps[-1] < BEACON_S + 0.6, gaps
    # while the central stayed, the pod stayed awake with its radio on
    summary = timeline.summary(connected[0], left[0])
    assert summary.asleep_s == 0 and summary.radio_off_s == 0
    # between bursts the radio is off and the MCU mostly asleep
    run = timeline.summary(offs[0], ons[-1])
    assert run.asleep_s > 0.8 * run.span_s, run
    assert run.radio_off_s > 0.8 * run.span_s, run


def test_a_run_cut_off_mid_session_leaves_the_pod_reachable_with_every_stride(tmp_path):
    """The trace ends while the pod records with its radio off: its sensor clock
    stops, so no beacon would ever come; the pod notices the still clock at its
    next timer wake and turns the radio on, and the open session syncs whole."""
    params = replace(RunParams(duration_s=60.0), stand_s=3.0)
    trace = simulate_run(params, seed=12, scenario="cut")["left"].write(tmp_path / "cut.hltrace")
    truth = _run_truth(trace)

    async def run():
        async with SimRadio() as radio:
            with use_radio(radio):
                async with _record_only_pod(
                    radio, trace, tmp_path / "pod", {"beacon_s": BEACON_S}
                ) as pod:
                    await pod.run_trace(BOUND_S)
                    (device,) = await find_pods(1, 10, BACKENDS)
                    with Store(tmp_path / "db.sqlite") as store:
                        syncer = Syncer(store, BACKENDS, KeyStore(keys={ADDRESS: KEY}))
                        report = await asyncio.wait_for(syncer.sync(device), BOUND_S)
                        (recording_id,) = report.recordings.values()
                        return pod, store.strides(recording_id)

    pod, stored = asyncio.run(run())
    assert pod.fifo_sleeps > 50, "recorded with the radio off"
    assert [s.seq for s in stored] == list(range(len(truth)))
