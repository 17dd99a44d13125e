"""A simulated pod's compiled firmware is the process's scratch: a `record --sim` run
leaves nothing behind in the temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_simulated_run_leaves_no_compiled_firmware_behind(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"  # its own temporary folder: other runs' files are not ours
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch), HEAVYLEGS_HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        [sys.executable, "-m", "heavylegs.cli", "record", "--sim", "--minutes", "0.3"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "recorded run 1" in proc.stdout
    assert sorted(p.name for p in scratch.iterdir()) == []
