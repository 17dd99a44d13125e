"""No run is ever lost or mixed up (issue 12), as a user meets it.

Real MicroPython pods on the simulated radio (or the USB test board), real
SQLite, and the heavylegs command line as a subprocess: two simulated recordings
into one store, a pod whose journal is recreated between two runs, a long run of
damaged journal records on one pod while the other is healthy, a pod that stops
answering mid-sync, and dropping a damaged session from a pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from heavylegs.cli.simulated import POD_ADDRESSES, SIM_BACKENDS
from heavylegs.link.client import PodClient
from heavylegs.link.keys import KeyStore
from heavylegs.link.pods import find_pods
from heavylegs.link.sync import Syncer, SyncStopped
from heavylegs.sim.pod import SimPod
from heavylegs.sim.radio import SimRadio, use_radio
from heavylegs.sim.scenarios import write_scenario
from heavylegs.store import Store
from heavylegs.trace import read_trace
from heavylegs_pod import wire
from heavylegs_pod.journal import Journal

BOUND_S = 300
LEFT, RIGHT = POD_ADDRESSES["left"], POD_ADDRESSES["right"]
KEYS = {"left": bytes(range(1, 33)), "right": bytes(range(2, 34))}


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The heavylegs command line, as a person runs it."""
    env = dict(os.environ, HEAVYLEGS_HOME=str(home), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "heavylegs.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=BOUND_S,
    )


async def _record_without_host(traces: dict[str, Path], pod_dir: Path) -> None:
    """Each pod runs its trace with nobody connected; the session goes to its journal."""
    async with SimRadio() as radio, contextlib.AsyncExitStack() as stack:
        pods = [
            await stack.enter_async_context(
                SimPod(
                    radio,
                    trace,
                    foot=foot,
                    name=f"heavylegs-{foot}",
                    address=POD_ADDRESSES[foot],
                    key=KEYS[foot],
                    workdir=pod_dir / foot,
                )
            )
            for foot, trace in sorted(traces.items())
        ]
        await asyncio.gather(*(pod.run_trace(BOUND_S, settle_s=0.3) for pod in pods))


def journal_sessions(flash: Path) -> dict[int, list[tuple]]:
    """Session id -> (seq, ic_ms, gct_ms, cadence) of every readable record."""
    journal = Journal(str(flash / "journal"), 1 << 30)
    out = {}
    for sid in journal.sessions():
        out[sid] = [
            (index, d["ic_ms"], d["gct_ms"], d["cadence_spm"])
            for index, rec in journal.records(sid)
            for d in [wire.decode_stride(rec)]
        ]
    return out


def stored(store: Store, recording_id: int) -> list[tuple]:
    return [(s.seq, s.ic_ms, s.gct_ms, s.cadence_spm) for s in store.strides(recording_id)]


def use_traces(pod_dir: Path, traces: dict[str, Path]) -> None:
    """`sync --sim --pod-dir` boots a pod for each trace in pod_dir/traces."""
    folder = pod_dir / "traces"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for foot, path in traces.items():
        shutil.copy(path, folder / f"{foot}.hltrace")


@pytest.fixture(scope="module")
def short_traces(tmp_path_factory) -> dict[str, Path]:
    return write_scenario("easy", tmp_path_factory.mktemp("short"), minutes=0.5, seed=21)


@pytest.fixture(scope="module")
def longer_traces(tmp_path_factory) -> dict[str, Path]:
    return write_scenario("easy", tmp_path_factory.mktemp("longer"), minutes=1.0, seed=22)


# --- (a) two simulated recordings into one store ------------------------------------


def test_two_simulated_recordings_into_one_store_are_two_whole_runs(tmp_path):
    """`make demo` twice: fresh simulated pods each time, session ids both start at 1."""
    db = tmp_path / "heavylegs.db"
    first = cli("record", "--sim", "--minutes", "0.5", "--db", str(db), home=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    with Store(db) as store:
        (run1,) = store.runs()
        before = {rec.id: stored(store, rec.id) for rec in run1.recordings}
    second = cli("record", "--sim", "--minutes", "0.5", "--db", str(db), home=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    truth = {
        foot: read_trace(tmp_path / "traces" / f"easy-{foot}.hltrace").truth
        for foot in ("left", "right")
    }
    with Store(db) as store:
        runs = store.runs()
        assert len(runs) == 2
        for run in runs:
            assert run.feet() == ("left", "right")
            for rec in run.recordings:
                # every stride of that run, once, and no other run's
                assert [s.seq for s in store.strides(rec.id)] == list(range(len(truth[rec.foot])))
        # the first run is exactly as it was
        assert {rec.id: stored(store, rec.id) for rec in runs[0].recordings} == before
        epochs = {(rec.pod_address, rec.journal_epoch) for run in runs for rec in run.recordings}
        assert len(epochs) == 4, "each fresh pod journal has an epoch of its own"


# --- (b) a pod reflashed between two runs -------------------------------------------


def _one_run_on_the_left_pod(tmp_path: Path, traces: dict) -> tuple[Path, Path, list, tuple]:
    """A left pod that journaled one run with no host listening: (pod dir, store path,
    the run's journal records, the sync command line)."""
    pod_dir = tmp_path / "pods"
    db = tmp_path / "heavylegs.db"
    use_traces(pod_dir, {"left": traces["left"]})
    asyncio.run(_record_without_host({"left": traces["left"]}, pod_dir))
    (first_run,) = journal_sessions(pod_dir / "left").values()
    return pod_dir, db, first_run, ("sync", "--sim", "--pod-dir", str(pod_dir), "--db", str(db))


def test_a_reflashed_pod_synced_over_ble_keeps_both_runs_whole(
    tmp_path, short_traces, longer_traces
):
    pod_dir, db, first_run, sync = _one_run_on_the_left_pod(tmp_path, short_traces)
    result = cli(*sync, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    # A reflash (erase_flash, a reinstall): the journal is created anew, ids restart at 1.
    shutil.rmtree(pod_dir / "left" / "journal")
    asyncio.run(_record_without_host({"left": longer_traces["left"]}, pod_dir))
    ((sid, second_run),) = journal_sessions(pod_dir / "left").items()
    assert sid == 1 and len(second_run) > len(first_run)
    result = cli(*sync, "--erase", home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    with Store(db) as store:
        runs = store.runs()
        recordings = [rec for run in runs for rec in run.recordings]
        assert len(runs) == 2 and len(recordings) == 2
        assert sorted(len(stored(store, rec.id)) for rec in recordings) == [
            len(first_run),
            len(second_run),
        ]
        by_length = {len(stored(store, rec.id)): stored(store, rec.id) for rec in recordings}
        assert by_length[len(first_run)] == first_run
        assert by_length[len(second_run)] == second_run
        assert len({rec.journal_epoch for rec in recordings}) == 2
        # the pod never had the time of day and rebooted before each sync: only bounds,
        # the second run after the first sync, both before their own sync
        first, second = sorted(recordings, key=lambda rec: rec.stride_count)
        assert first.date_quality == second.date_quality == "bounds"
        assert first.started_at_min is None
        assert second.started_at_min is not None
        assert second.started_at_min >= first.started_at_max  # type: ignore[operator]
        assert "only known to have started" in (store.run(second.run_id).note or "")
    # erased from the pod only because the store holds every stride of it
    assert journal_sessions(pod_dir / "left") == {}
    assert "erased 1 session(s)" in result.stdout
    assert "(the pod had no clock: date approximate)" in result.stdout


# --- (d) damage on one pod, the other healthy ---------------------------------------


def _damage(flash: Path, sid: int, first: int, count: int) -> None:
    """Zero `count` consecutive stride frames of a journal session (a bad flash range)."""
    path = flash / "journal" / f"{sid:08x}.hls"
    data = bytearray(path.read_bytes())
    header = data[2] + wire.J_OVERHEAD
    start = header + first * wire.J_STRIDE_SIZE
    end = header + (first + count) * wire.J_STRIDE_SIZE
    assert end <= len(data)
    data[start:end] = bytes(end - start)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def long_flash(tmp_path_factory) -> Path:
    """Both pods' flash after a five-minute run no host saw."""
    base = tmp_path_factory.mktemp("long")
    traces = write_scenario("easy", base / "traces", minutes=5.0, seed=23)
    asyncio.run(_record_without_host(traces, base / "pods"))
    use_traces(base / "pods", traces)
    return base / "pods"


def test_300_damaged_records_on_one_pod_are_reported_and_the_other_pod_syncs(long_flash, tmp_path):
    pod_dir = tmp_path / "pods"
    shutil.copytree(long_flash, pod_dir)
    ((sid, left),) = journal_sessions(pod_dir / "left").items()
    ((_, right),) = journal_sessions(pod_dir / "right").items()
    assert len(left) > 380
    _damage(pod_dir / "left", sid, 50, 300)
    db = tmp_path / "heavylegs.db"
    result = cli("sync", "--sim", "--pod-dir", str(pod_dir), "--db", str(db), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # the pods never had the time of day: where in the session, not when
    assert "session 1: 300 strides unreadable between" in result.stdout
    assert "into the session" in result.stdout
    with Store(db) as store:
        recordings = {rec.foot: rec for run in store.runs() for rec in run.recordings}
        assert stored(store, recordings["right"].id) == right
        assert stored(store, recordings["left"].id) == left[:50] + left[350:]
        (gap,) = store.gaps(recordings["left"].id)
        assert (gap.first_seq, gap.count) == (50, 300)
        # stored in full, gap included: the pod may let go of the session
        assert store.holds_session(recordings["left"].id, len(left))
    # everything acknowledged: nothing left to send
    journal = Journal(str(pod_dir / "left" / "journal"), 1 << 30)
    assert journal.acked(sid) == journal.count(sid) == len(left)


# --- a pod that stops answering ---------------------------------------------------


async def test_a_stuck_pod_is_given_up_and_the_other_pod_still_syncs(long_flash, tmp_path):
    pod_dir = tmp_path / "pods"
    shutil.copytree(long_flash, pod_dir)
    right = next(iter(journal_sessions(pod_dir / "right").values()))
    async with SimRadio() as radio:
        with use_radio(radio):
            pods = {
                foot: SimPod(
                    radio,
                    pod_dir / "traces" / f"{foot}.hltrace",
                    foot=foot,
                    name=f"heavylegs-{foot}",
                    address=POD_ADDRESSES[foot],
                    key=KEYS[foot],
                    workdir=pod_dir / foot,
                )
                for foot in ("left", "right")
            }
            for pod in pods.values():
                await pod.start()
            stopped = False

            def freeze_left(client: PodClient, _size: int) -> None:
                nonlocal stopped
                if client.address == LEFT and not stopped:
                    stopped = True
                    os.kill(pods["left"].process.pid, signal.SIGSTOP)  # type: ignore[union-attr]

            try:
                devices = {d.address: d for d in await find_pods(2, 10, SIM_BACKENDS)}
                with Store(tmp_path / "db.sqlite") as store:
                    syncer = Syncer(
                        store,
                        SIM_BACKENDS,
                        KeyStore(keys={LEFT: KEYS["left"], RIGHT: KEYS["right"]}),
                        on_packet=freeze_left,
                        stall_s=1.0,
                    )
                    with pytest.raises(SyncStopped) as stuck:
                        await syncer.sync(devices[LEFT])
                    message = str(stuck.value)
                    assert "sync stopped" in message and "are stored" in message
                    assert "heavylegs drop 1 --pod" in message
                    report = await syncer.sync(devices[RIGHT])
                    assert report.new_strides == len(right)
                    (rec_id,) = report.recordings.values()
                    assert stored(store, rec_id) == right
            finally:
                if stopped:
                    os.kill(pods["left"].process.pid, signal.SIGCONT)  # type: ignore[union-attr]
                for pod in pods.values():
                    await pod.stop()


# --- dropping a session ------------------------------------------------------------


def test_drop_refuses_a_session_the_store_lacks_unless_forced(tmp_path, short_traces):
    pod_dir = tmp_path / "pods"
    use_traces(pod_dir, {"left": short_traces["left"]})
    asyncio.run(_record_without_host({"left": short_traces["left"]}, pod_dir))
    sessions = journal_sessions(pod_dir / "left")
    ((sid, _),) = sessions.items()
    db = tmp_path / "heavylegs.db"
    where = ("--sim", "--pod-dir", str(pod_dir), "--db", str(db))

    refused = cli("drop", str(sid), "--pod", "heavylegs-left", *where, home=tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "run sync first, or add --force" in refused.stdout
    assert "Traceback" not in refused.stdout + refused.stderr
    assert journal_sessions(pod_dir / "left") == sessions

    unknown = cli("drop", "99", "--pod", LEFT, *where, home=tmp_path)
    assert unknown.returncode == 2 and "has no session 99" in unknown.stdout

    assert cli("sync", *where, home=tmp_path).returncode == 0
    dropped = cli("drop", str(sid), "--pod", LEFT.lower(), *where, home=tmp_path)
    assert dropped.returncode == 0, dropped.stdout + dropped.stderr
    assert "held in full by the store" in dropped.stdout
    assert journal_sessions(pod_dir / "left") == {}


def test_drop_force_erases_what_the_store_lacks(tmp_path, short_traces):
    pod_dir = tmp_path / "pods"
    use_traces(pod_dir, {"left": short_traces["left"]})
    asyncio.run(_record_without_host({"left": short_traces["left"]}, pod_dir))
    ((sid, _),) = journal_sessions(pod_dir / "left").items()
    forced = cli(
        "drop",
        str(sid),
        "--pod",
        "heavylegs-left",
        "--force",
        "--sim",
        "--pod-dir",
        str(pod_dir),
        "--db",
        str(tmp_path / "db"),
        home=tmp_path,
    )
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "NOT all of it in the store" in forced.stdout
    assert journal_sessions(pod_dir / "left") == {}


# --- (b) over USB: a reflashed pod, pulled with --erase-synced -----------------------


def _usb_trace(folder: Path, seconds: float, seed: int) -> Path:
    from heavylegs.sim.gait_model import RunParams, simulate_run

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "left.hltrace"
    simulate_run(RunParams(duration_s=seconds), seed=seed, scenario="steady")["left"].write(path)
    return path


def _usb_run(root: Path, trace: Path, keys: Path) -> None:
    """Install the firmware on the test board and let it record the trace."""
    from heavylegs.deploy.flash import flash
    from heavylegs.sim.testboard import TestBoard

    with TestBoard(root, trace=trace) as board:
        flash(board.port, "sim-unix", "left", keys_file=keys, watch_s=0.3)
        assert board.wait_for(b"SIM trace-end", timeout=60)


def test_a_reflashed_pod_pulled_over_usb_with_erase_keeps_both_runs_whole(tmp_path):
    from heavylegs.sim.testboard import TestBoard

    root, keys, db = tmp_path / "pod", tmp_path / "keys.json", tmp_path / "heavylegs.db"
    _usb_run(root, _usb_trace(tmp_path / "t1", 20.0, 31), keys)
    (first_run,) = journal_sessions(root).values()
    with TestBoard(root) as board:  # no sensor: nothing new is recorded while pulling
        result = cli("pull", "--port", board.port, "--db", str(db), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    shutil.rmtree(root / "journal")  # erase_flash and a reinstall: a new journal
    _usb_run(root, _usb_trace(tmp_path / "t2", 40.0, 32), keys)
    ((sid, second_run),) = journal_sessions(root).items()
    assert sid == 1 and len(second_run) > len(first_run)
    with TestBoard(root) as board:
        result = cli("pull", "--port", board.port, "--db", str(db), "--erase-synced", home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 synced sessions erased" in result.stdout

    with Store(db) as store:
        recordings = [rec for run in store.runs() for rec in run.recordings]
        assert len(recordings) == 2
        assert len({rec.run_id for rec in recordings}) == 2
        assert sorted((stored(store, rec.id) for rec in recordings), key=len) == [
            first_run,
            second_run,
        ]
    # erased only because the store holds every stride of it
    assert journal_sessions(root) == {}


# --- (c) runs recorded after the clock was lost, synced later ------------------------


@pytest.fixture(scope="module")
def clockless_traces(tmp_path_factory) -> dict[str, Path]:
    """The left foot runs twice with a minute's stop between; the right pod only saw
    the first run (it walked the second). Same length, so the pods' clocks agree."""
    from heavylegs.sim.gait_model import RunParams, Segment, Stop, simulate_run

    base = tmp_path_factory.mktemp("clockless")
    stop = (Stop(60.0, 60.0),)
    left = simulate_run(RunParams(duration_s=180.0, stops=stop), seed=41, scenario="two")
    right = simulate_run(
        RunParams(
            duration_s=180.0, stops=stop, segments=(Segment(0.0), Segment(120.0, gait="walk"))
        ),
        seed=42,
        scenario="one",
    )
    paths = {"left": base / "left.hltrace", "right": base / "right.hltrace"}
    left["left"].write(paths["left"])
    right["right"].write(paths["right"])
    return paths


async def test_runs_without_a_clock_are_dated_from_the_pod_clock_and_paired_by_overlap(
    clockless_traces, tmp_path
):
    """Nobody ever gave the pods the time: two runs, then one sync while the pods are
    still up (same boot), so each session is dated by the pod's uptime arithmetic."""
    async with SimRadio() as radio:
        with use_radio(radio):
            async with contextlib.AsyncExitStack() as stack:
                pods = [
                    await stack.enter_async_context(
                        SimPod(
                            radio,
                            clockless_traces[foot],
                            foot=foot,
                            name=f"heavylegs-{foot}",
                            address=POD_ADDRESSES[foot],
                            key=KEYS[foot],
                            workdir=tmp_path / foot,
                            config={"auto_stop_s": 30},
                        )
                    )
                    for foot in ("left", "right")
                ]
                await asyncio.gather(*(pod.run_trace(BOUND_S) for pod in pods))
                devices = {d.address: d for d in await find_pods(2, 10, SIM_BACKENDS)}
                keys = KeyStore(keys={LEFT: KEYS["left"], RIGHT: KEYS["right"]})
                with Store(tmp_path / "heavylegs.db") as store:
                    syncer = Syncer(store, SIM_BACKENDS, keys)
                    left = await syncer.sync(devices[LEFT])
                    right = await syncer.sync(devices[RIGHT])

    assert [s.start_s for s in left.sessions + right.sessions] == [None, None, None]
    assert len(left.sessions) == 2 and len(right.sessions) == 1
    starts = {  # the pod-clock second each session began at, from the journals
        (foot, sid): Journal(str(tmp_path / foot / "journal"), 1 << 30).identity(sid)[2]
        for foot, report in (("left", left), ("right", right))
        for sid in report.recordings
    }
    with Store(tmp_path / "heavylegs.db") as store:
        recs = {(rec.foot, rec.pod_session): rec for run in store.runs() for rec in run.recordings}
        assert {rec.date_quality for rec in recs.values()} == {"pod clock"}
        left1, left2, right1 = recs["left", 1], recs["left", 2], recs["right", 1]
        # dated apart, by what the pod's clock says, not at the sync
        between = left2.started_at - left1.started_at  # type: ignore[operator]
        assert between == pytest.approx(starts["left", 2] - starts["left", 1], abs=0.01)
        assert between > 100
        for rec in recs.values():
            assert rec.started_at_min < rec.started_at < rec.started_at_max  # type: ignore[operator]
        # left and right of the first run overlap: one run; the second is the left's alone
        assert left1.run_id == right1.run_id != left2.run_id
        paired, alone = store.run(left1.run_id), store.run(left2.run_id)
        assert paired.feet() == ("left", "right") and paired.note is None
        assert alone.feet() == ("left",)
        assert "no right-pod session overlaps it" in (alone.note or "")
        assert paired.approximate and alone.approximate
        assert alone.started_at - paired.started_at > 100
    report = cli("report", str(alone.id), "--db", str(tmp_path / "heavylegs.db"), home=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "(approximate)" in report.stdout
    assert "left pod only" in report.stdout
    assert "date approximate, from the pod's clock" in report.stdout


# --- identities that collide, damaged headers, empty sessions ------------------------


def test_a_session_under_an_identity_the_store_holds_is_kept_apart_not_spliced(
    tmp_path, short_traces, longer_traces
):
    """A journal recreated with its old epoch (as a pod journaled before protocol 3 has
    epoch 0 for ever): same identity, another session. The last stride the store holds
    is read again before anything is acknowledged, and differs."""
    pod_dir, db, first_run, sync = _one_run_on_the_left_pod(tmp_path, short_traces)
    assert cli(*sync, home=tmp_path).returncode == 0
    journal = pod_dir / "left" / "journal"
    for path in journal.iterdir():
        if path.name != "epoch":
            path.unlink()
    asyncio.run(_record_without_host({"left": longer_traces["left"]}, pod_dir))
    ((sid, second_run),) = journal_sessions(pod_dir / "left").items()
    assert sid == 1

    result = cli(*sync, "--erase", home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kept this one apart" in result.stdout
    with Store(db) as store:
        recordings = sorted(
            (rec for run in store.runs() for rec in run.recordings), key=lambda r: r.copy
        )
        assert [rec.copy for rec in recordings] == [0, 1]
        assert len({(r.pod_address, r.journal_epoch, r.pod_session) for r in recordings}) == 1
        assert stored(store, recordings[0].id) == first_run
        assert stored(store, recordings[1].id) == second_run
        assert recordings[0].run_id != recordings[1].run_id
    assert journal_sessions(pod_dir / "left") == {}, "erased: the copy holds all of it"


def test_a_damaged_session_header_is_reported_and_its_strides_kept(tmp_path, short_traces):
    pod_dir = tmp_path / "pods"
    use_traces(pod_dir, {"left": short_traces["left"]})
    asyncio.run(_record_without_host({"left": short_traces["left"]}, pod_dir))
    ((sid, records),) = journal_sessions(pod_dir / "left").items()
    path = pod_dir / "left" / "journal" / f"{sid:08x}.hls"
    data = bytearray(path.read_bytes())
    data[5] ^= 0xFF  # a flipped byte inside the header frame: its CRC fails
    path.write_bytes(bytes(data))
    db = tmp_path / "heavylegs.db"
    result = cli("sync", "--sim", "--pod-dir", str(pod_dir), "--db", str(db), home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"session {sid}: header damaged" in result.stdout
    with Store(db) as store:
        ((run,),) = [store.runs()]
        (rec,) = run.recordings
        assert rec.header_damaged and "header damaged" in (rec.note or "")
        assert stored(store, rec.id) == records
        assert rec.date_quality == "bounds", "not dated at the sync as if known"
    report = cli("report", "--db", str(db), home=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "header damaged" in report.stdout


def test_empty_sessions_never_become_runs(tmp_path):
    from heavylegs.link.ingest import PodSession, SyncReport, register_sessions

    def listed(session: int, count: int) -> PodSession:
        return PodSession(session, "left", False, None, True, False, count, 0, "0.1.0", 7)

    with Store(tmp_path / "db") as store:
        report = SyncReport(pod="p", address=LEFT)
        register_sessions(store, LEFT, "p", report, 1000.0, [listed(1, 0), listed(2, 5)])
        assert list(report.recordings) == [2]
        assert [len(run.recordings) for run in store.runs()] == [1]


def test_left_and_right_pair_only_when_their_times_provably_overlap():
    from heavylegs.link.ingest import provably_overlap
    from heavylegs.store import RecordingInfo

    def rec(foot: str, start: float, spread: float, quality: str = "pod clock") -> RecordingInfo:
        return RecordingInfo(
            1, 1, "AA", "p", foot, 1, "0.1", 100, 0, 60_000, start, None, None, 5, 0,
            start - spread, start + spread, quality,
        )  # fmt: skip

    left = rec("left", 1000.0, 1.0)
    assert provably_overlap(left, rec("right", 1030.0, 1.0))
    assert not provably_overlap(left, rec("right", 1070.0, 1.0)), "starts after left ends"
    # close enough to overlap, but not whatever the dates' uncertainty
    assert not provably_overlap(left, rec("right", 1055.0, 10.0))
    # a date known only by bounds proves no overlap at all
    assert not provably_overlap(left, rec("right", 1000.0, 1.0, "bounds"))


async def test_a_pod_over_its_time_limit_is_given_up_saying_what_was_stored(long_flash, tmp_path):
    pod_dir = tmp_path / "pods"
    shutil.copytree(long_flash, pod_dir)
    async with SimRadio(central_mtu=23) as radio:
        with use_radio(radio):
            async with SimPod(
                radio,
                pod_dir / "traces" / "left.hltrace",
                foot="left",
                name="heavylegs-left",
                address=LEFT,
                key=KEYS["left"],
                workdir=pod_dir / "left",
            ):
                (device,) = await find_pods(1, 10, SIM_BACKENDS)
                with Store(tmp_path / "db.sqlite") as store:
                    # No time at all for this pod: the limit is reached at the first check.
                    syncer = Syncer(
                        store,
                        SIM_BACKENDS,
                        KeyStore(keys={LEFT: KEYS["left"]}),
                        min_total_s=0.0,
                        records_per_s=1e9,
                    )
                    with pytest.raises(SyncStopped, match="over its time limit") as over:
                        await syncer.sync(device)
                    (rec,) = [r for run in store.runs() for r in run.recordings]
                    assert f"{rec.stride_count} new strides from 1 session are stored" in str(
                        over.value
                    )
                    # what was stored is the journal's, in order, and a later sync finishes it
                    again = await Syncer(
                        store, SIM_BACKENDS, KeyStore(keys={LEFT: KEYS["left"]})
                    ).sync(device)
                    ((_, records),) = journal_sessions(pod_dir / "left").items()
                    assert stored(store, again.recordings[1]) == records
