"""A simulated run that follows a real one: a watch activity's speed, grade and cadence.

The course comes in as plain arrays (the CLI reads the watch file; the simulator
does not import the watch layer). Two simulators follow it:

- `follow_strides` / `store_followed_run`: the fast stride-level generator, for a
  whole 47-minute run in a test. The runner takes the watch's cadence where it has
  one (a chest strap measured the real runner's steps) and the same speed and grade
  couplings as the gait model: contact time ~ speed^-0.6 and +1.2% per % of uphill.
- `follow_scenario`: a gait-model Scenario whose segments are the course, for
  `heavylegs sim --follow` and the firmware-in-the-loop path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from heavylegs.sim.gait_model import RunParams, Segment
from heavylegs.sim.scenarios import Scenario
from heavylegs.store import Store, Stride

# The gait model's couplings (sim/gait/stride_plan.py: _running_at), so both
# simulators answer a climb the same way.
GCT_SPEED_EXP = -0.6
GCT_PER_GRADE_PCT = 0.012
# Below this watch cadence the runner walks; below this speed and without cadence, stands.
WALK_BELOW_SPM = 135.0
STAND_BELOW_MPS = 0.6
# One gait-model segment per this many seconds of the course.
SEGMENT_S = 30.0


@dataclass(frozen=True, slots=True)
class Course:
    """What the runner did, second by second: times from `started_at` (unix s), NaN unknown."""

    started_at: float
    t_s: np.ndarray
    speed_mps: np.ndarray
    grade_pct: np.ndarray
    cadence_spm: np.ndarray

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1])

    def at(self, t_s: float) -> tuple[float, float, float]:
        """(speed, grade, cadence) at t_s, interpolated; grade 0 and cadence NaN if unknown."""
        return (
            _interp(t_s, self.t_s, self.speed_mps, 0.0),
            _interp(t_s, self.t_s, self.grade_pct, 0.0),
            _interp(t_s, self.t_s, self.cadence_spm, float("nan")),
        )

    def sliced(self, minutes: float, *, from_min: float = 0.0) -> Course:
        """`minutes` of the course from minute `from_min`, starting then."""
        keep = (self.t_s >= from_min * 60) & (self.t_s <= (from_min + minutes) * 60)
        return replace(
            self,
            started_at=self.started_at + from_min * 60,
            t_s=self.t_s[keep] - from_min * 60,
            speed_mps=self.speed_mps[keep],
            grade_pct=self.grade_pct[keep],
            cadence_spm=self.cadence_spm[keep],
        )


def _interp(t: float, ts: np.ndarray, values: np.ndarray, missing: float) -> float:
    ok = np.isfinite(values)
    if not ok.any():
        return missing
    k = int(np.clip(np.searchsorted(ts, t), 1, len(ts) - 1))
    if not (ok[k - 1] or ok[k]):
        return missing
    return float(np.interp(t, ts[ok], values[ok]))


def follow_strides(
    course: Course,
    *,
    seed: int = 0,
    speed_known: bool = False,
    gct_ms: float = 260.0,
    speed_ref_mps: float = 3.0,
    fatigue: tuple[float, float] | None = None,
) -> dict[str, list[Stride]]:
    """Both feet's strides on one clock (ic_ms from the course start).

    `fatigue` = (onset minute, contact-time rise in % at the end of the course), a
    ramp planted on top of the course; None plants nothing.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, list[Stride]] = {}
    for index, foot in enumerate(("left", "right")):
        strides: list[Stride] = []
        t_ms = 60_000 / 170 * index  # the second foot lands a step later
        seq = 0
        while t_ms < course.duration_s * 1000:
            speed, grade, cadence = course.at(t_ms / 1000)
            if not np.isfinite(cadence):
                if speed < STAND_BELOW_MPS:
                    t_ms += 1000.0  # standing: no strides
                    continue
                cadence = 170.0 * (speed / speed_ref_mps) ** 0.2
            walking = cadence < WALK_BELOW_SPM
            stride_ms = 120_000 / cadence * (1 + rng.normal(0, 0.012))
            if walking:
                gct = 0.63 * stride_ms * (1 + rng.normal(0, 0.04))
            else:
                gct = (
                    gct_ms
                    * (max(speed, 1.0) / speed_ref_mps) ** GCT_SPEED_EXP
                    * (1 + GCT_PER_GRADE_PCT * grade)
                    * (1 + rng.normal(0, 0.02))
                )
                if fatigue is not None:
                    onset_min, size_pct = fatigue
                    span = max(course.duration_s / 60 - onset_min, 1e-6)
                    gct *= 1 + size_pct / 100 * np.clip((t_ms / 60_000 - onset_min) / span, 0, 1)
            strike = (22.0 if walking else 10.0 - 0.6 * grade) + rng.normal(0, 2.0)
            impact = 12.0 * max(speed, 1.0) / speed_ref_mps * max(0.2, 1 + rng.normal(0, 0.12))
            strides.append(
                Stride(
                    seq=seq,
                    foot=foot,
                    running=not walking,
                    clipped=False,
                    strike_class="rearfoot" if strike > 7.4 else "midfoot",
                    ic_ms=int(round(t_ms)),
                    gct_ms=round(float(gct), 2),
                    stride_ms=round(float(stride_ms), 2),
                    cadence_spm=round(float(120_000 / stride_ms), 2),
                    strike_deg=round(float(strike), 2),
                    impact_g=round(float(min(impact, 32.0)), 2),
                    stride_len_m=round(speed * stride_ms / 1000, 3) if speed_known else None,
                )
            )
            seq += 1
            t_ms += stride_ms
        out[foot] = strides
    return out


def store_followed_run(
    store: Store,
    course: Course,
    *,
    clock_offset_s: float = 0.0,
    seed: int = 0,
    name: str = "followed run",
    **model: object,
) -> int:
    """Generate and store a followed run as a live recording whose host clock reads
    `clock_offset_s` ahead of the watch's (negative: behind)."""
    strides = follow_strides(course, seed=seed, **model)  # type: ignore[arg-type]
    if not any(strides.values()):
        # an empty run must never become the latest one
        raise ValueError(f"no stride in {course.duration_s:.0f} s: the runner is still standing")
    started_at = course.started_at + clock_offset_s
    run_id = store.start_run(name, "synthetic", started_at)
    for session, (foot, foot_strides) in enumerate(strides.items(), 1):
        rec = store.add_recording(
            run_id, f"AA:00:00:00:0F:0{session}", f"pod-{foot}", foot, run_id, "synthetic"
        )
        # as a live recording ends up: contacts dated through the pod clock fit
        store.add_strides(
            rec, [replace(s, host_time=started_at + s.ic_ms / 1000) for s in foot_strides]
        )
        store.set_recording_times(
            rec, started_at=started_at, clock_offset_s=started_at, clock_rate=1.0
        )
    store.finish_run(run_id, started_at + course.duration_s)
    return run_id


def follow_scenario(course: Course, name: str = "follow") -> Scenario:
    """A gait-model scenario over the course: one segment per SEGMENT_S of it."""
    segments = []
    for start in np.arange(0.0, course.duration_s, SEGMENT_S):
        window = (course.t_s >= start) & (course.t_s < start + SEGMENT_S)
        speed = float(np.nanmedian(course.speed_mps[window])) if window.any() else 0.0
        grade = course.grade_pct[window]
        grade_pct = float(np.nanmedian(grade)) if np.isfinite(grade).any() else 0.0
        cadence = course.cadence_spm[window]
        walking = np.isfinite(cadence).any() and float(np.nanmedian(cadence)) < WALK_BELOW_SPM
        segments.append(
            Segment(
                float(start),
                speed_mps=max(speed if np.isfinite(speed) else 0.0, 1.0),
                gait="walk" if walking else "run",
                grade_pct=float(np.clip(grade_pct, -15.0, 15.0)),
            )
        )
    return Scenario(
        name,
        f"follows a watch activity: {course.duration_s / 60:.0f} min from its speed and grade",
        course.duration_s / 60,
        RunParams(segments=tuple(segments)),
        confounders=("the followed course",),
    )
