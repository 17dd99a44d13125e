"""Zero-touch pods: the unmodified firmware starts, stops and sleeps by itself.

Each test runs a gait-model trace through the firmware in `micropython` on the
simulated board (emulated LSM6DSOX with its wake-up interrupt, light/deep sleep,
a battery on the ADC) with no host at all, then reads the pod's flash.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from pod_flash import journal_strides

from heavylegs.link.client import BATTERY_LEVEL
from heavylegs.sim.bleak_backend import SimBleakClient, SimBleakScanner
from heavylegs.sim.board.simlink_proto import (
    POWER_RADIO,
    WOKE_AT_TRACE_END,
    WOKE_BY_INT1,
    WOKE_BY_NOTHING,
    WOKE_BY_TIMER,
)
from heavylegs.sim.gait_model import RunParams, Segment, simulate_run
from heavylegs.sim.pod import SimPod, run_alone
from heavylegs.sim.radio import SimRadio, use_radio
from heavylegs.sim.scenarios import write_scenario
from heavylegs.trace import read_trace
from heavylegs_pod import wire
from heavylegs_pod.journal import Journal
from heavylegs_pod.power import ADV_AWAKE_US, ADV_WINDOW_US
from heavylegs_pod.record_only import ADV_BEACON_US

ADDRESS = "F0:00:00:00:00:01"
BOUND_S = 300
LP_HZ = 26.0  # the wake-up mode's accelerometer rate (chip ticks while asleep)
START_SPM = 130  # power.DEFAULTS["auto_start_spm"]
AUTO_STOP_S = 240  # power.DEFAULTS["auto_stop_s"]
NAP_S = 30
SYNC_WINDOW_S = 30
CLOCK_CHECK_S = 100


async def _run(trace: Path, workdir: Path, **knobs) -> SimPod:
    pod_options = dict(foot="left", name="hl", address=ADDRESS, **knobs)
    if knobs.get("battery") is None:
        return await run_alone(trace, workdir, bound_s=BOUND_S, **pod_options)
    async with SimRadio() as radio, SimPod(radio, trace, workdir=workdir, **pod_options) as pod:
        await asyncio.wait_for(pod.bridge.attached.wait(), 10)  # type: ignore[union-attr]
        pod.release_sensor()
        # A flat battery ends in deep sleep: the process goes, as on a board.
        await asyncio.wait_for(pod.process.wait(), BOUND_S)  # type: ignore[union-attr]
    return pod


def _assert_same_strides(records: list[dict], truth: list) -> None:
    """Record k is truth stride k: contact time, and time since the first contact."""
    assert len(records) == len(truth)
    for k, (got, true) in enumerate(zip(records, truth, strict=True)):
        assert got["seq"] == k
        assert abs(got["gct_ms"] - (true.to_s - true.ic_s) * 1000) < 12
        since = (true.ic_s - truth[0].ic_s) * 1000
        assert abs(got["ic_ms"] - records[0]["ic_ms"] - since) < 25


@pytest.fixture(scope="module")
def zero_touch_trace(tmp_path_factory) -> Path:
    return write_scenario("zero-touch", tmp_path_factory.mktemp("zt"), seed=3)["left"]


@pytest.fixture(scope="module", params=["deep", "light"])
def zero_touch(request, zero_touch_trace, tmp_path_factory):
    """The zero-touch scenario on a board whose INT1 wakes it from deep sleep (the
    ESP32-S3 boards), and on one that light-sleeps instead. A short nap and sync
    window, so the 5.5 min of rest after the run see the pod fall asleep, and a
    clock check every 100 s, so the 5.5 min standing first see timer wakes."""
    flash = tmp_path_factory.mktemp("zt-flash") / "left"
    config = {
        "nap_s": NAP_S,
        "sync_window_s": SYNC_WINDOW_S,
        "deep_sleep_check_s": CLOCK_CHECK_S,
    }
    deep = request.param == "deep"
    pod = asyncio.run(_run(zero_touch_trace, flash, config=config, deep_sleep=deep))
    return read_trace(zero_touch_trace), flash, pod


def _fell_asleep_s(pod: SimPod) -> list[float]:
    """Sensor time at which the pod went to sleep, light or deep."""
    ticks = list(pod.sleep_ticks) + [entered for entered, _, _ in pod.deep_sleeps]
    return sorted(tick / LP_HZ for tick in ticks)


def test_one_session_from_the_first_running_stride_through_both_stops(zero_touch):
    trace, flash, _ = zero_touch
    truth = trace.truth_in_sensor_time()
    # The session holds every stride from the first at running cadence (the
    # walk-to-run transition stride already is) to the last of the run.
    first = next(k for k, s in enumerate(truth) if 120 / (s.next_ic_s - s.ic_s) > START_SPM)
    last = max(k for k, s in enumerate(truth) if s.gait == "run")
    run = truth[first : last + 1]
    sessions = journal_strides(flash)
    assert len(sessions) == 1, "walking did not start one, the stops did not split it"
    ((_, records),) = sessions.items()
    # The strides of the first seconds, which proved it a run, are in the journal.
    assert records[0]["ic_ms"] < 5
    _assert_same_strides(records, run)


def test_the_session_is_dated_on_a_pod_clock_that_ran_through_every_sleep(zero_touch):
    """Nobody set the time: the pod clock (seconds since the cold boot, which is the
    trace's start) dates the session, through the light sleeps or the deep sleeps
    (each a reboot) before the run, under the one boot id of that cold boot."""
    trace, flash, pod = zero_touch
    truth = trace.truth_in_sensor_time()
    first = next(k for k, s in enumerate(truth) if 120 / (s.next_ic_s - s.ic_s) > START_SPM)
    journal = Journal(str(flash / "journal"), 1 << 30)
    (sid,) = journal.sessions()
    epoch, boot, start_clock_s, clock_known = journal.identity(sid)
    assert clock_known and boot != 0 and epoch == journal.epoch != 0
    assert not journal.info(sid)[0] & wire.SESSION_TIME_KNOWN
    assert abs(start_clock_s - truth[first].ic_s) <= 1.5, (start_clock_s, truth[first].ic_s)
    if pod.deep_sleep:
        assert pod.boots > 1, "the run came after reboots from deep sleep"


def test_pod_sleeps_before_and_after_the_run(zero_touch):
    trace, _, pod = zero_touch
    truth = trace.truth_in_sensor_time()
    first_step = truth[0].ic_s
    last = truth[-1].ic_s
    slept_s = _fell_asleep_s(pod)
    before = [s for s in slept_s if s < first_step]
    after = [s for s in slept_s if s > last]
    assert len(before) + len(after) == len(slept_s), f"asleep between walk and run end: {slept_s}"
    # standing from the start: a nap, the sync window, then asleep
    assert before and abs(before[0] - (NAP_S + SYNC_WINDOW_S)) < 2, slept_s
    # the session closes after auto_stop_s; a nap and the window later it is asleep
    assert after and abs(after[0] - (last + AUTO_STOP_S + NAP_S + SYNC_WINDOW_S)) < 3, slept_s


def test_the_pod_advertises_slowly_in_the_sync_window_then_not_at_all(zero_touch):
    _, _, pod = zero_touch
    intervals = pod.bridge.advertising_log
    changes = [v for k, v in enumerate(intervals) if k == 0 or v != intervals[k - 1]]
    # standing first: awake, the sync window, silent asleep; the walk wakes it; the
    # run is recorded with the radio off but for its beacon bursts; after the run,
    # the window again and silence (the trace ends before any movement)
    awake, window = ADV_AWAKE_US, ADV_WINDOW_US
    assert changes == [awake, window, 0, awake, ADV_BEACON_US, awake, window, 0]
    bursts = len(pod.power.times(POWER_RADIO, 1))
    # a burst a minute through the session (the run and the auto_stop_s after it,
    # about nine minutes), then on for good at the close
    assert 8 <= bursts <= 11, bursts


@pytest.fixture(scope="module")
def walk_trace(tmp_path_factory) -> Path:
    params = replace(RunParams(duration_s=100.0), segments=(Segment(0.0, gait="walk"),))
    traces = simulate_run(params, seed=4, scenario="walk")
    return traces["left"].write(tmp_path_factory.mktemp("walk") / "walk-left.hltrace")


def test_walking_alone_starts_no_session(walk_trace, tmp_path):
    asyncio.run(_run(walk_trace, tmp_path / "pod"))
    assert journal_strides(tmp_path / "pod") == {}


def test_walking_starts_a_session_when_configured_to(walk_trace, tmp_path):
    asyncio.run(_run(walk_trace, tmp_path / "pod", config={"auto_start_spm": 0}))
    sessions = journal_strides(tmp_path / "pod")
    assert len(sessions) == 1
    ((_, records),) = sessions.items()
    _assert_same_strides(records, read_trace(walk_trace).truth_in_sensor_time())


def test_low_battery_closes_the_session_with_the_journal_intact(tmp_path):
    traces = write_scenario("easy", tmp_path, minutes=3.0, seed=8)
    truth = read_trace(traces["left"]).truth_in_sensor_time()
    # 3700 mV falling 10 V/h: below 3450 mV after 90 s of sensor time.
    pod = asyncio.run(_run(traces["left"], tmp_path / "pod", battery=(3700.0, 10000.0)))
    assert pod.deep_sleep_tick is not None, "the pod went to deep sleep"
    sessions = journal_strides(tmp_path / "pod")
    assert len(sessions) == 1
    ((_, records),) = sessions.items()
    assert 60 < len(records) < len(truth), "closed early, with the strides so far"
    _assert_same_strides(records, truth[: len(records)])
    last_s = truth[len(records) - 1].ic_s
    assert 80 < last_s < 96, "closed within one status period of the low mark"


async def test_a_connected_host_sees_syncing_recording_then_low_battery(tmp_path):
    """The status a central is notified of follows the power states, and a low
    cell is flagged before the pod closes the session and powers down."""
    traces = write_scenario("easy", tmp_path, minutes=3.0, seed=8)
    states: list[dict] = []
    battery: list[int] = []
    async with SimRadio() as radio:
        with use_radio(radio):
            async with SimPod(
                radio,
                traces["left"],
                foot="left",
                name="hl-low",
                address=ADDRESS,
                workdir=tmp_path / "pod",
                battery=(3700.0, 10000.0),
            ) as pod:
                device = await BleakScanner.find_device_by_name(
                    "hl-low", timeout=10.0, backend=SimBleakScanner
                )
                assert device is not None
                async with BleakClient(device, backend=SimBleakClient) as client:
                    await client.start_notify(
                        wire.RD_STATUS_UUID, lambda _c, d: states.append(wire.decode_status(d))
                    )
                    await client.start_notify(BATTERY_LEVEL, lambda _c, d: battery.append(d[0]))
                    pod.release_sensor()
                    await asyncio.wait_for(pod.process.wait(), BOUND_S)  # type: ignore[union-attr]
    names = [s["state"] for s in states]
    # one run of each, in this order: connected and idle, the run, the flat cell
    assert [n for k, n in enumerate(names) if k == 0 or n != names[k - 1]] == [
        "syncing",
        "recording",
        "low battery",
    ]
    assert not any(s["battery_low"] for s in states if s["state"] != "low battery")
    last = states[-1]
    assert last["battery_low"] and last["session"] == 0 and last["unsynced_sessions"] == 1
    assert battery and battery[-1] < 10 and battery == sorted(battery, reverse=True)


def test_standing_the_pod_deep_sleeps_and_the_walk_reboots_it(zero_touch):
    trace, _, pod = zero_touch
    if not pod.deep_sleep:
        assert pod.deep_sleeps == [] and pod.boots == 1, "light sleep only, one boot"
        return
    truth = trace.truth_in_sensor_time()
    woke = [(tick / LP_HZ, how) for _, tick, how in pod.deep_sleeps]
    asleep_s = NAP_S + SYNC_WINDOW_S
    # standing: timer wakes to read the sensor's clock, each straight back to sleep;
    # then the first step's wake-up interrupt; after the run, asleep to the trace end
    assert [how for _, how in woke] == [
        WOKE_BY_TIMER,
        WOKE_BY_TIMER,
        WOKE_BY_INT1,
        WOKE_AT_TRACE_END,
    ]
    assert abs(woke[0][0] - (asleep_s + CLOCK_CHECK_S)) < 2
    assert abs(woke[1][0] - (asleep_s + 2 * CLOCK_CHECK_S)) < 2
    assert truth[0].ic_s - 1.5 < woke[2][0] < truth[0].ic_s, "woken by the first step"
    assert pod.boots == 4, "every wake from deep sleep is a boot"
    assert pod.sleep_ticks == [], "no light sleep where deep sleep can be woken"


def test_a_flat_cell_after_a_nap_sleeps_for_good(zero_touch_trace, tmp_path):
    """A light sleep sets INT1 as a wake source; the low-battery deep sleep must clear
    it, or every step would boot the flat pod again."""
    # 3700 mV falling 1875 mV/h: below 3450 mV 480 s in, during the run
    config = {"nap_s": NAP_S, "sync_window_s": SYNC_WINDOW_S}
    pod = asyncio.run(
        _run(zero_touch_trace, tmp_path / "pod", config=config, battery=(3700.0, 1875.0))
    )
    assert pod.sleep_ticks, "the pod napped while standing"
    assert pod.deep_sleeps and pod.deep_sleeps[-1][2] == WOKE_BY_NOTHING, pod.deep_sleeps
    assert pod.boots == 1
    ((_, records),) = journal_strides(tmp_path / "pod").items()
    assert records, "the run until the cell went flat is in the journal"
