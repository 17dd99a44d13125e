"""Named, seeded, reproducible runs for tests, bench/ and the demo."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from heavylegs.sim.gait_model import RunParams, simulate_run

SCENARIOS: dict[str, RunParams] = {
    # An easy recreational run: heel striker, 170 steps/min, 260 ms contact.
    "easy": RunParams(),
    # Faster, shorter contact, midfoot landing.
    "tempo": RunParams(speed_mps=4.2, cadence_spm=182, gct_s=0.215, strike_deg=3.0),
    # Forefoot landing: the impact is softer and the heel drops after contact.
    "forefoot": RunParams(speed_mps=3.6, cadence_spm=178, gct_s=0.22, strike_deg=-6.0),
}


def write_scenario(name: str, out_dir: Path, *, minutes: float, seed: int = 1) -> dict[str, Path]:
    """Write left and right traces for a scenario; returns foot -> trace path."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; choose from {', '.join(sorted(SCENARIOS))}")
    params = replace(SCENARIOS[name], duration_s=minutes * 60.0)
    traces = simulate_run(params, seed=seed, scenario=name)
    return {
        foot: trace.write(Path(out_dir) / f"{name}-{foot}.hltrace")
        for foot, trace in traces.items()
    }
