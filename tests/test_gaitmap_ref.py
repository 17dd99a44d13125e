"""bench/gaitmap_ref.py, the gaitmap worker behind `bench/accuracy.py --gaitmap`.

gaitmap is an optional bench dependency in its own venv (.venv-gaitmap, made by
`make bench-gaitmap`); without it these tests skip. With it, they check that our
segmentation around gaitmap's HerzerEventDetection, fed through the same frame
conversion accuracy.py uses, finds every stride of a short simulated run, and
that the AGPL gaitmap_mad package is not in that venv.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
GAITMAP_PY = REPO / ".venv-gaitmap" / "bin" / "python"

pytestmark = pytest.mark.skipif(
    not GAITMAP_PY.exists(), reason=".venv-gaitmap absent (make bench-gaitmap creates it)"
)


@pytest.fixture(scope="module")
def accuracy():
    spec = importlib.util.spec_from_file_location("bench_accuracy", REPO / "bench" / "accuracy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_gaitmap_mad_is_not_installed():
    probe = "import importlib.util as u, sys; sys.exit(u.find_spec('gaitmap_mad') is not None)"
    subprocess.run([str(GAITMAP_PY), "-c", probe], check=True)


def test_segmentation_finds_every_stride_of_a_remounted_pod(accuracy):
    from heavylegs.sim.scenarios import SCENARIOS

    # pods clipped face down at a random heading: the true mounting must be undone
    traces = list(SCENARIOS["upside-down"].simulate(minutes=1.0, seed=3).values())
    gm = accuracy.Gaitmap(GAITMAP_PY)
    items = gm.run([accuracy.gaitmap_item(t) for t in traces])
    assert gm.version == "2.6.0"
    for trace, item in zip(traces, items, strict=True):
        odr = trace.header.rate_hz
        truth = trace.truth_in_sensor_time()
        # one segmented stride per swing: each push-off starts one (plus the last swing)
        starts = np.array([s["start"] for s in item["strides"]]) / odr
        for true in truth:
            assert np.min(np.abs(starts - true.push_min_s)) <= 2 / odr
        result = accuracy.evaluate_gaitmap_trace(trace, item)
        assert result["missed"] == 0 and result["extra"] == 0
        assert len(result["ic"]) == len(truth) > 60
        assert np.max(np.abs(result["ic"])) < 20  # ms
        # Herzer's toe-off is the push-off pitch-rate minimum
        assert np.max(np.abs(result["to_push"])) <= 2 * 1000 / odr
