"""The CLI as a user runs it, for tests that walk whole flows: a subprocess with an empty
HEAVYLEGS_HOME (only --db points it at a store), and the two ways it may answer."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def heavylegs(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HEAVYLEGS_HOME=str(home / "empty-home"), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "heavylegs.cli", *args],
        cwd=home,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    """Exit code 0 and no traceback; returns what it printed."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def refused(proc: subprocess.CompletedProcess[str], says: str) -> None:
    """Exit code 2 and exactly one line: `error: ...` saying `says`."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stdout + proc.stderr
    assert lines[0].startswith("error: ") and says in lines[0], lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


DAY = 86_400.0
T0 = 1_780_000_000.0  # 2026-05-28, a Thursday
POD_L, POD_R = "F0:00:00:00:00:01", "F0:00:00:00:00:02"
PODS = {"left": POD_L, "right": POD_R}


def daily_runs(db: Path, days: int, minutes: float) -> list[int]:
    """A steady run of `minutes` on each of `days` days from T0, on PODS; their run ids."""
    from heavylegs.sim.strides import scenario, store_run
    from heavylegs.store import Store

    with Store(db) as store:
        return [
            store_run(
                store,
                scenario("steady", seed=day, minutes=minutes, speed_known=True),
                started_at=T0 + day * DAY,
                pods=PODS,
            )
            for day in range(days)
        ]


def stored_rows(db: Path, query: str) -> list[tuple]:
    """Rows from a store another process writes; none while it cannot be read."""
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute(query).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def stop_when(
    command: list[str],
    ready: Callable[[], bool],
    stop: Callable[[subprocess.Popen[str]], None],
    **popen: object,
) -> subprocess.CompletedProcess[str]:
    """Start `command` in a session of its own; once `ready()`, `stop` it (a signal to
    it or its group) and wait for it to end. A command that ends first fails the test."""
    host = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **popen,  # type: ignore[call-overload]
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and host.poll() is None and not ready():
            time.sleep(0.05)
        assert host.poll() is None, host.communicate()
        stop(host)
        stdout, stderr = host.communicate(timeout=60)
    finally:
        if host.poll() is None:
            host.kill()
            host.communicate()
    return subprocess.CompletedProcess(host.args, host.returncode, stdout, stderr)
