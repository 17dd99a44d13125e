"""A runner's watch activity, merged into a run, on the run's minutes: the context
the pods cannot measure (GPS speed, the ground's grade, heart rate).

The merge (heavylegs.watch) stored the samples on the run's clock; here they are
placed on the session's minute axis and read at each stride.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heavylegs.store import Store

# A stride takes a watch sample this close to it (the watch records every 1 to 4 s);
# further off (a GPS dropout, a paused watch) it has no watch context.
_NEAREST_S = 5.0


@dataclass(frozen=True, slots=True)
class WatchTrack:
    """Watch samples on the session's minute axis; NaN where the watch recorded nothing."""

    source: str
    t_min: np.ndarray
    speed_mps: np.ndarray
    grade_pct: np.ndarray
    heart_rate_bpm: np.ndarray
    altitude_m: np.ndarray
    # (start, end) minute of each lap the watch recorded
    laps: tuple[tuple[float, float], ...] = ()
    offset_s: float = 0.0
    correlation: float | None = None

    def at(self, name: str, minutes: np.ndarray) -> np.ndarray:
        """Column `name` at each of `minutes`: the nearest sample within _NEAREST_S, else NaN."""
        values = getattr(self, name)
        out = np.full(len(minutes), np.nan)
        if len(self.t_min) == 0:
            return out
        k = np.clip(np.searchsorted(self.t_min, minutes), 1, max(len(self.t_min) - 1, 1))
        before = np.clip(k - 1, 0, len(self.t_min) - 1)
        after = np.clip(k, 0, len(self.t_min) - 1)
        nearer = np.where(
            np.abs(self.t_min[after] - minutes) < np.abs(self.t_min[before] - minutes),
            after,
            before,
        )
        close = np.abs(self.t_min[nearer] - minutes) * 60 <= _NEAREST_S
        out[close] = values[nearer[close]]
        return out

    @property
    def has_grade(self) -> bool:
        return bool(np.isfinite(self.grade_pct).any())


def load_watch_track(store: Store, run_id: int, zero_at: float) -> WatchTrack | None:
    """The run's merged watch activity with minutes counted from `zero_at` (unix s), if any."""
    merge = store.watch_merge(run_id)
    if merge is None:
        return None
    t_s, columns = store.watch_samples(run_id)
    laps = tuple(
        ((lap.start_s - zero_at) / 60, (lap.end_s - zero_at) / 60)
        for lap in store.watch_laps(run_id)
    )
    return WatchTrack(
        source=merge.source,
        t_min=(t_s - zero_at) / 60,
        speed_mps=columns["speed_mps"],
        grade_pct=columns["grade_pct"],
        heart_rate_bpm=columns["heart_rate_bpm"],
        altitude_m=columns["altitude_m"],
        laps=laps,
        offset_s=merge.offset_s,
        correlation=merge.correlation,
    )
