"""A runner's watch: its FIT activity read (fit), placed on a run's clock (align) and
stored with the run (merge)."""

from heavylegs.watch.align import Alignment, align, pod_cadence_grid
from heavylegs.watch.fit import Lap, WatchActivity, WatchFileError, read_activity

__all__ = [
    "Alignment",
    "Lap",
    "WatchActivity",
    "WatchFileError",
    "align",
    "pod_cadence_grid",
    "read_activity",
]
