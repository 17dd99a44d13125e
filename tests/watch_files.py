"""The real Garmin FIT files beside the repository (../shared/data/watch_fit): tests that
read them skip cleanly where they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

WATCH_FIT = Path(__file__).resolve().parents[2] / "shared" / "data" / "watch_fit"
FENIX2 = WATCH_FIT / "activity-small-fenix2-run.fit"  # 47 min, 9 km: GPS, HR, laps
FENIX5 = WATCH_FIT / "garmin-fenix-5-run.fit"  # one minute: running dynamics, sensors
needs_watch_files = pytest.mark.skipif(
    not (FENIX2.exists() and FENIX5.exists()), reason="no ../shared/data/watch_fit here"
)
