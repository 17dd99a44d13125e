"""`record --sim` at its edges, through the real CLI as a subprocess with real simulated
pods: a relative or empty --pod-dir, pods that send nothing, SIGTERM, a dated run
stopped part way, and two runs recorded back to back then exported and imported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from cli_run import PODS, T0, heavylegs, ok, refused, stop_when, stored_rows

from heavylegs.sim.strides import scenario, store_run
from heavylegs.store import Store


def _count(db: Path, query: str) -> int:
    """A count from a store another process writes, 0 while it cannot be read."""
    rows = stored_rows(db, query)
    return int(rows[0][0]) if rows else 0


def _stop_when(
    tmp_path: Path,
    args: list[str],
    ready: Callable[[Path], bool],
    sig: signal.Signals,
    *,
    sigint_ignored: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Start `record --sim` with the store tmp_path/heavylegs.db; when `ready`, send `sig`
    to the host process alone (as `kill` does). With `sigint_ignored` it starts as a
    script's background job does, with SIGINT ignored."""
    db = tmp_path / "heavylegs.db"
    return stop_when(
        [sys.executable, "-m", "heavylegs.cli", "record", "--sim", "--db", str(db), *args],
        lambda: ready(db),
        lambda host: host.send_signal(sig),
        cwd=tmp_path,
        env=dict(os.environ, HEAVYLEGS_HOME=str(tmp_path / "empty-home"), COLUMNS="200"),
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        if sigint_ignored
        else None,
    )


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- --pod-dir ----------------------------------------------------------------------


@pytest.mark.parametrize("pod_dir", ["pods", "."])
def test_a_relative_pod_dir_records_and_keeps_the_pods_there(tmp_path: Path, pod_dir: str) -> None:
    db = tmp_path / "heavylegs.db"
    args = ("record", "--sim", "--pod-dir", pod_dir, "--minutes", "0.3", "--db", str(db))
    ok(heavylegs(tmp_path, *args, timeout=120))
    with Store(db) as store:
        (run,) = store.runs()
        assert run.stride_count > 10
    # the pods' flash is where the user said, relative to where they were
    for foot in ("left", "right"):
        assert (tmp_path / pod_dir / foot / "journal").is_dir()
    # and a later command meets the same pods there
    listed = ok(heavylegs(tmp_path, "scan", "--sim", "--pod-dir", pod_dir, timeout=120))
    assert "2 pod(s)" in listed


def test_an_empty_pod_dir_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    args = ("record", "--sim", "--pod-dir", "", "--minutes", "0.3", "--db", str(db))
    refused(heavylegs(tmp_path, *args), "--pod-dir")
    assert not db.exists()


def test_pods_that_send_no_stride_are_given_up_on(tmp_path: Path) -> None:
    # zero-touch starts with 5.5 min of standing: at fast pace the pods are silent
    # for longer than the half second a check takes
    db = tmp_path / "heavylegs.db"
    args = ("--scenario", "zero-touch", "--minutes", "16", "--timeout", "0.1", "--db", str(db))
    proc = heavylegs(tmp_path, "record", "--sim", *args, timeout=120)
    refused(proc, "the simulated pods sent no stride for 0.1 s; gave up; nothing recorded")
    with Store(db) as store:
        assert store.runs() == []


# --- stopped part way ---------------------------------------------------------------


def test_sigterm_before_the_first_stride_leaves_no_run(tmp_path: Path) -> None:
    # At real-time pace the simulated runner stands for 3 s before the first stride.
    def run_started(db: Path) -> bool:
        return _count(db, "SELECT count(*) FROM runs") > 0

    args = ["--minutes", "1", "--pace", "realtime"]
    proc = _stop_when(tmp_path, args, run_started, signal.SIGTERM)
    assert proc.returncode == 130, proc.stderr
    assert _lines(proc.stderr) == ["interrupted; nothing recorded"]
    with Store(tmp_path / "heavylegs.db") as store:
        assert store.runs() == [] and store.latest_run() is None


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "script-job"])
def test_sigterm_mid_run_keeps_the_strides_as_ctrl_c_does(
    tmp_path: Path, sigint_ignored: bool
) -> None:
    def some_strides(db: Path) -> bool:
        return _count(db, "SELECT count(*) FROM strides") > 30

    proc = _stop_when(
        tmp_path, ["--minutes", "3"], some_strides, signal.SIGTERM, sigint_ignored=sigint_ignored
    )
    assert proc.returncode == 130, proc.stderr
    with Store(tmp_path / "heavylegs.db") as store:
        (run,) = store.runs()
    assert _lines(proc.stderr) == [f"interrupted; run {run.id} keeps {run.stride_count} strides"]


def test_a_dated_run_stopped_part_way_keeps_its_date(tmp_path: Path) -> None:
    def some_strides(db: Path) -> bool:
        return _count(db, "SELECT count(*) FROM strides") > 30

    args = ["--minutes", "3", "--at", "2026-11-10T07:00"]
    proc = _stop_when(tmp_path, args, some_strides, signal.SIGINT)
    assert proc.returncode == 130, proc.stderr
    with Store(tmp_path / "heavylegs.db") as store:
        (run,) = store.runs()
        assert run.started_at == datetime(2026, 11, 10, 7, 0).astimezone().timestamp()
        first = min(s.host_time for rec in run.recordings for s in store.strides(rec.id))
    assert run.started_at <= first < run.started_at + 60
    assert _lines(proc.stderr) == [f"interrupted; run {run.id} keeps {run.stride_count} strides"]


# --- runs back to back, exported and imported -------------------------------------------


def test_a_run_recorded_inside_the_last_ones_time_starts_where_it_ends(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    for _ in range(2):
        ok(heavylegs(tmp_path, "record", "--sim", "--minutes", "1", "--db", str(db), timeout=120))
    with Store(db) as store:
        first, second = sorted(store.runs(), key=lambda run: run.id)
        assert second.started_at >= first.end_at
        assert store.latest_run().id == second.id
    out = tmp_path / "r2.csv"
    ok(heavylegs(tmp_path, "export", str(second.id), "--out", str(out), "--db", str(db)))
    said = ok(heavylegs(tmp_path, "import", str(out), "--db", str(db)))
    assert f"already in the store as run {second.id}" in said


def test_a_runs_own_export_is_found_among_runs_that_overlap_it(tmp_path: Path) -> None:
    # as `record --sim` left a store before it kept simulated runs apart
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        for start in (T0, T0 + 30):
            store_run(
                store,
                scenario("steady", minutes=5, speed_known=True),
                started_at=start,
                pods=PODS,
            )
        first, second = sorted(store.runs(), key=lambda run: run.id)
    out = tmp_path / "r2.csv"
    ok(heavylegs(tmp_path, "export", str(second.id), "--out", str(out), "--db", str(db)))
    said = ok(heavylegs(tmp_path, "import", str(out), "--db", str(db)))
    assert f"already in the store as run {second.id}" in said
    with Store(db) as store:
        assert len(store.runs()) == 2


# --- strides kept apart ---------------------------------------------------------------


def test_a_run_of_strides_kept_apart_is_never_the_latest(tmp_path: Path) -> None:
    # two strides under run 1's identity that differ from its own: what a journal of
    # another session under the same identity sends, kept in a run of their own
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        run_id = store_run(
            store, scenario("steady", minutes=5, speed_known=True), started_at=T0, pods=PODS
        )
        (rec, *_) = store.run(run_id).recordings
        others = [replace(s, ic_ms=s.ic_ms + 1) for s in store.strides(rec.id)[:2]]
        wrote = store.store_strides(rec.id, others)
        apart = store.recording(wrote.recording_id).run_id
        assert apart != run_id and store.run(apart).started_at == store.run(run_id).started_at
        assert store.run(apart).kept_apart and not store.run(run_id).kept_apart
        assert store.latest_run().id == run_id
    out = tmp_path / "latest.csv"
    ok(heavylegs(tmp_path, "export", "--out", str(out), "--db", str(db)))
    assert len(out.read_text().splitlines()) > 100
    # and asked for by its id, it is there
    ok(
        heavylegs(
            tmp_path, "export", str(apart), "--out", str(tmp_path / "apart.csv"), "--db", str(db)
        )
    )
