"""Runs the real MicroPython unix binary the way the firmware tests around the sim need."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from heavylegs import paths


def run_micropython(
    args: Sequence[str],
    micropypath: Sequence[Path],
    cwd: Path,
    timeout: float,
    env: dict[str, str | None] | None = None,
) -> str:
    """`micropython args...` with `micropypath` (then .frozen) as its path and `env`
    over this process's environment (None removes a variable). It must exit 0: its
    stdout is returned, and its output is in the failure otherwise."""
    environ = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    environ["MICROPYPATH"] = os.pathsep.join([*(str(p) for p in micropypath), ".frozen"])
    proc = subprocess.run(
        [paths.micropython_binary(), *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout
