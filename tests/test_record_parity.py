"""A reprocessed stride is byte for byte the stride a pod streams.

The same trace goes through the firmware on the MicroPython unix port (the pod's
SampleStream and record.encode_stride_record, as app.Pod journals and notifies a
stride) and through host reprocessing under CPython: the 20-byte wire records
must be identical, and the store Strides host reprocessing makes are those
records decoded.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from heavylegs import paths
from heavylegs.reprocess import quantise, rows_to_records, rows_to_strides, run_engine
from heavylegs.sim.disturbances import never_still
from heavylegs.sim.gait_model import RunParams, simulate_run
from heavylegs.store import Stride
from heavylegs_pod import wire
from heavylegs_pod.gait.detector import F_PRONATION_01DEG

RUNNER = Path(__file__).parent / "firmware" / "engine_runner.py"
ODR = 416


def pod_records(acc: np.ndarray, gyr: np.ndarray, foot: str, tmp_path: Path) -> list[bytes]:
    path = tmp_path / "counts.bin"
    path.write_bytes(np.concatenate([gyr, acc], axis=1).astype("<i2").tobytes())
    proc = subprocess.run(
        [paths.micropython_binary(), str(RUNNER), str(path), str(ODR), "2048", "70", "auto", foot],
        capture_output=True,
        text=True,
        env={"MICROPYPATH": f"{paths.FIRMWARE_DIR}:.frozen"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return [bytes.fromhex(line[2:]) for line in proc.stdout.splitlines() if line.startswith("R ")]


@pytest.mark.parametrize(
    ("foot", "still_stance"), [("left", True), ("right", True), ("left", False)]
)
def test_reprocessed_records_are_the_streamed_bytes(foot, still_stance, tmp_path):
    trace = simulate_run(RunParams(duration_s=30.0), seed=31)[foot]
    if not still_stance:  # the frame from the quietest window of each stride (gait/quiet.py)
        trace = never_still(trace, seed=3)
    acc, gyr = quantise(trace)
    streamed = pod_records(acc, gyr, foot, tmp_path)
    rows, _ = run_engine(acc, gyr)
    reprocessed = rows_to_records(rows, ODR, foot == "right")
    assert len(streamed) > 30
    assert reprocessed == streamed
    # the store's strides are those records decoded, numbered from 0 in the session
    strides = rows_to_strides(rows, ODR, foot)
    assert strides == [Stride.from_wire(wire.decode_stride(r)) for r in streamed]
    assert [s.seq for s in strides] == list(range(len(strides)))
    assert {s.foot for s in strides} == {foot}
    # pronation (the engine's roll range through stance, 0.1 degree) rides in the
    # record's last byte at 0.5 degree, and reaches the store's strides
    measured = [row[F_PRONATION_01DEG] / 10 for row in rows]
    assert sum(m >= 0.25 for m in measured) > len(rows) // 2, "the engine measures a roll"
    for stride, degrees in zip(strides, measured, strict=True):
        if degrees >= 0.25:
            assert stride.pronation_deg is not None
            assert abs(stride.pronation_deg - min(degrees, 127.5)) <= 0.25
