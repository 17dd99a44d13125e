"""A host killed with SIGKILL mid-recording: the store stays consistent, loses at
most the last 2 s, and the next sync fills the gap from the pods' journals."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from pod_flash import journal_strides

from heavylegs.store import Store

LOST_AT_MOST_MS = 2000


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "heavylegs.cli", *args]


def stored_counts(db: Path) -> list[int]:
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            rows = conn.execute("SELECT COUNT(*) FROM strides GROUP BY recording_id").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []
    return [int(r[0]) for r in rows]


def journals(pod_dir: Path) -> dict[str, dict[int, list[dict]]]:
    return {foot: journal_strides(pod_dir / foot) for foot in ("left", "right")}


def test_sigkill_mid_recording_loses_at_most_two_seconds(tmp_path):
    db = tmp_path / "db.sqlite"
    pods = tmp_path / "pods"
    host = subprocess.Popen(
        cli(
            "record",
            "--sim",
            "--pace",
            "realtime",
            "--minutes",
            "0.5",
            "--pod-dir",
            str(pods),
            "--db",
            str(db),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and host.poll() is None:
            counts = stored_counts(db)
            if len(counts) == 2 and min(counts) >= 8:
                break
            time.sleep(0.1)
        assert host.poll() is None, host.stderr.read().decode() if host.stderr else ""
        time.sleep(0.7)  # somewhere between two commits
        os.kill(host.pid, signal.SIGKILL)
        host.wait(timeout=10)
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
        if host.stderr is not None:
            host.stderr.close()
    time.sleep(1.5)  # the pods notice their host is gone and stop

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    on_pods = journals(pods)
    with Store(db) as store:
        (run,) = store.runs()
        assert run.ended_at is None, "the host never got to finish the run"
        for rec in run.recordings:
            journal = on_pods[rec.foot][rec.pod_session]
            stored = store.strides(rec.id)
            seqs = [s.seq for s in stored]
            assert seqs == list(range(len(seqs))), "whole commits only: no holes"
            assert 0 < len(stored) <= len(journal)
            for got, want in zip(stored, journal, strict=False):
                assert (got.ic_ms, got.gct_ms) == (want["ic_ms"], want["gct_ms"])
            missing = journal[len(stored) :]
            if missing:
                span = journal[-1]["ic_ms"] - missing[0]["ic_ms"]
                assert span <= LOST_AT_MOST_MS, f"lost {span} ms of strides"

    proc = subprocess.run(
        cli("sync", "--sim", "--pod-dir", str(pods), "--db", str(db)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with Store(db) as store:
        (run,) = store.runs()
        assert len(run.recordings) == 2
        for rec in run.recordings:
            journal = on_pods[rec.foot][rec.pod_session]
            stored = store.strides(rec.id)
            assert [s.seq for s in stored] == list(range(len(journal)))
            assert [s.ic_ms for s in stored] == [r["ic_ms"] for r in journal]
