"""Real and simulated signals side by side, one figure per real-signal fault scenario.

Writes docs/img/fault_<scenario>.png: the real recording's excerpt on the left,
the scenario's on the right; the rate about the main rotation axis (the pod's
frame is unknown in the real data, so its sign is the recording's) and |a|.
Needs ../shared/data for the real side (bench/realdata.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import realdata  # noqa: E402

from heavylegs.sim.scenarios import SCENARIOS  # noqa: E402

ODR = realdata.ODR_HZ
WINDOW_S = 1.6
# scenario -> (real loader, recording index, real excerpt start s, simulated excerpt
# start s, what was taken from the real signal)
PAIRS = {
    "fast-never-still": (
        "pyshoe",
        5,
        3.0,
        20.0,
        "fastest pyshoe trial: stance rate never near zero",
    ),
    "slap-rebound": ("voisard", 0, 6.0, 20.0, "voisard heel strikes: slap then rebound in 0.1 s"),
    "rocking-stance": ("pyshoe", 5, 3.0, 20.0, "pyshoe running: stance gyro sum never < 50 dps"),
    "walk-100hz": ("voisard", 0, 6.0, 20.0, "voisard: a 100 Hz IMU resampled to 416 Hz"),
    "sprint-clipped": (None, 0, 0.0, 20.0, "no clipped real recording here (800 Hz set kept back)"),
    "tight-turns": ("voisard", 0, 13.0, 67.5, "voisard U-turn vs a simulated 180 deg in 2.5 s"),
    "first-last-steps": (
        "voisard",
        0,
        4.8,
        32.0,
        "voisard first steps vs setting off after a stop",
    ),
    "sample-gaps": (None, 0, 0.0, 20.0, "gaps filled by a straight line, as for voisard's"),
    "woken-mid-run": (None, 0, 0.0, 0.0, "the pod's first samples: already running"),
}


def main_axis_rate(gyr: np.ndarray) -> np.ndarray:
    _, _, vt = np.linalg.svd(gyr - gyr.mean(0), full_matrices=False)
    return gyr @ vt[0]


def excerpt(acc: np.ndarray, gyr: np.ndarray, start_s: float):
    a, b = int(start_s * ODR), int((start_s + WINDOW_S) * ODR)
    return np.arange(b - a) / ODR, main_axis_rate(gyr[a:b]), np.linalg.norm(acc[a:b], axis=1)


def main() -> int:
    out = REPO / "docs" / "img"
    loaders = {"pyshoe": realdata.pyshoe, "voisard": realdata.voisard_walking}
    cache: dict[str, list] = {}
    for name, (loader, index, start_s, sim_start_s, note) in PAIRS.items():
        traces = SCENARIOS[name].simulate(minutes=1.5, seed=1)
        sim = traces["left"]
        acc_s, gyr_s = sim.acc_g.clip(-16, 16), sim.gyr_dps.clip(-2293, 2293)  # the chip's range
        fig, axes = plt.subplots(2, 2, figsize=(8, 3.6), sharex=True, dpi=80)
        panels = [("simulated: " + name, excerpt(acc_s, gyr_s, sim_start_s))]
        if loader:
            if loader not in cache:
                cache[loader] = loaders[loader]()
            rec = cache[loader][index]
            panels.insert(0, ("real: " + rec.name, excerpt(rec.acc_g, rec.gyr_dps, start_s)))
        for col, (title, (t, rate, anorm)) in enumerate(panels):
            axes[0][col].plot(t, rate, lw=0.8)
            axes[0][col].set_title(title, fontsize=8)
            axes[0][col].set_ylabel("dps (main axis)", fontsize=7)
            axes[1][col].plot(t, anorm, lw=0.8, color="tab:red")
            axes[1][col].set_ylabel("|a| g", fontsize=7)
            axes[1][col].set_xlabel("s", fontsize=7)
        if not loader:
            for row in axes:
                row[1].axis("off")
        fig.suptitle(note, fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"fault_{name}.png")
        plt.close(fig)
        print(out / f"fault_{name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
