"""Fatigue flags on a library of runs: detection delay where fatigue was planted,
false flags where it was not.

Two sources of runs:
  synthetic  the stride-level generator (heavylegs.sim.strides): seconds,
             exact planted onsets, every confounder (hills, intervals, warm-up,
             stops, walk breaks, treadmill, an easy finish)
  scenarios  the simulator's scenario library (heavylegs.sim.scenarios), turned
             into IMU traces and run through the pod's own gait engine
             (heavylegs.reprocess.strides_from_trace): slower, end to end
The default, `auto`, uses the scenario library when it is there and the synthetic
set otherwise; the first line says which.

Delay = found onset - planted onset, in minutes (negative: the onset was placed
early). A planted onset counts as found when a flag of an expected kind has its
onset within 3 minutes of it (the design target); a flag of any kind dated more
than 3 minutes before the planted onset counts as early. On runs without fatigue,
every flag is a false flag and every cause the rules name (from this run alone,
with no self-report) is a false cause. A table per scenario comes before the
last line, which is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass

from heavylegs.analysis.causes import build_context, explain
from heavylegs.analysis.fatigue import FatigueDetector
from heavylegs.analysis.history import summarise_session
from heavylegs.analysis.session import Session, session_from_strides
from heavylegs.sim.strides import SCENARIOS, generate, scenario

WITHIN_MIN = 3.0


@dataclass(frozen=True)
class Case:
    name: str
    seed: int
    session: Session
    planted_onset_min: float | None
    expected: tuple[str, ...]
    confounders: tuple[str, ...]


def synthetic_cases(seeds: int) -> Iterator[Case]:
    for name in SCENARIOS:
        for seed in range(seeds):
            run = scenario(name, seed=seed)
            yield Case(
                name,
                seed,
                session_from_strides(generate(run), name=name),
                run.planted_onset_min,
                run.expected_kinds(),
                run.confounders,
            )


def library_cases(seeds: int) -> Iterator[Case]:
    """Runs from the simulator's scenario library, through the firmware gait engine.

    Simulating and running the engine takes about 20 s per 50-minute run, so the
    runs are spread over the machine's cores.
    """
    from concurrent.futures import ProcessPoolExecutor

    from heavylegs.sim import scenarios as library

    jobs = [(name, seed) for name in library.names() for seed in range(1, seeds + 1)]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_library_case, *zip(*jobs, strict=True))


def _library_case(name: str, seed: int) -> Case:
    from heavylegs.reprocess import strides_from_trace
    from heavylegs.sim import scenarios as library

    meta = library.scenario_metadata(name)
    traces = library.scenario(name).simulate(seed=seed)
    strides = {foot: strides_from_trace(trace) for foot, trace in traces.items()}
    fatigue = meta["fatigue"]
    return Case(
        name,
        seed,
        session_from_strides(strides, name=name),
        fatigue["onset_min"] if fatigue["planted"] else None,
        tuple(_KIND_OF[i] for i in fatigue.get("indicators", ())),
        tuple(meta["confounders"]),
    )


def library_available() -> bool:
    try:
        from heavylegs.sim import scenarios as library
    except ImportError:
        return False
    return hasattr(library, "scenario_metadata") and hasattr(library, "names")


# the scenario library's indicator names -> our flag kinds
_KIND_OF = {
    "gct_rising": "contact_time",
    "strike_towards_heel": "strike",
    "cadence_falling": "cadence",
    "variability_rising": "variability",
    "gct_balance_shift": "asymmetry",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("auto", "synthetic", "scenarios"), default="auto")
    parser.add_argument(
        "--seeds", type=int, default=None, help="runs per scenario (2 library, 10 synthetic)"
    )
    args = parser.parse_args()
    source = args.source
    if source == "auto":
        source = "scenarios" if library_available() else "synthetic"
    seeds = args.seeds or (2 if source == "scenarios" else 10)
    print(f"source: {source}, {seeds} seeds per scenario")
    if source == "scenarios" and not library_available():
        raise SystemExit("the scenario library (heavylegs.sim.scenarios) has no metadata")
    cases = library_cases(seeds) if source == "scenarios" else synthetic_cases(seeds)

    delays: list[float] = []
    alarm_delays: list[float] = []
    planted = found = 0
    quiet_runs = confounder_runs = false_flags = false_causes = early_flags = 0
    misses: list[str] = []
    table: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    for case in cases:
        det = FatigueDetector().detect(case.session)
        row = table.setdefault(
            case.name,
            {"runs": 0, "planted": 0, "found": 0, "max_delay": 0.0, "early": 0, "flags": 0},
        )
        row["runs"] += 1
        if case.planted_onset_min is None:
            quiet_runs += 1
            confounder_runs += bool(case.confounders)
            false_flags += len(det.flags_)
            causes, _ = explain(build_context([summarise_session(case.session, det)], {}, []))
            false_causes += len(causes)
            row["flags"] += len(det.flags_)
            row["causes"] = row.get("causes", 0) + len(causes)
            shown = ", ".join(f"{f.kind}@{f.onset_min:.1f}" for f in det.flags_) or "no flag"
            if causes:
                shown += "; causes: " + ", ".join(c.key for c in causes)
            print(f"  {case.name:22s} seed {case.seed}: {shown}")
            continue
        planted += 1
        row["planted"] += 1
        early = [f for f in det.flags_ if f.onset_min < case.planted_onset_min - WITHIN_MIN]
        early_flags += len(early)
        row["early"] += len(early)
        hits = [
            f
            for f in det.flags_
            if f.kind in case.expected and abs(f.onset_min - case.planted_onset_min) <= WITHIN_MIN
        ]
        shown = ", ".join(
            f"{f.kind}@{f.onset_min:.1f}{'' if f in hits else ' (other)'}" for f in det.flags_
        )
        if hits:
            first = min(hits, key=lambda f: abs(f.onset_min - case.planted_onset_min))
            found += 1
            row["found"] += 1
            delays.append(first.onset_min - case.planted_onset_min)
            row["max_delay"] = max(row["max_delay"], abs(delays[-1]))
            alarm_delays.append(min(f.alarm_min for f in hits) - case.planted_onset_min)
            print(
                f"  {case.name:22s} seed {case.seed}: planted {case.planted_onset_min:.1f} "
                f"({', '.join(case.expected)}); delay {delays[-1]:+.1f} min, first alarm "
                f"+{alarm_delays[-1]:.1f} min; flags {shown}"
            )
        else:
            misses.append(f"{case.name}/{case.seed}")
            print(
                f"  {case.name:22s} seed {case.seed}: planted {case.planted_onset_min:.1f}, "
                f"NOT FOUND (flags: {shown or 'none'})"
            )
    elapsed = time.perf_counter() - started
    print()
    print(
        f"{'scenario':22s} {'runs':>4s} {'found':>7s} {'max |delay|':>11s} {'early':>5s} "
        f"{'false flags':>11s} {'false causes':>12s}"
    )
    for name, row in table.items():
        planted_here = row["planted"]
        print(
            f"{name:22s} {row['runs']:4d} "
            + (
                f"{row['found']:3d}/{planted_here:<3d} {row['max_delay']:11.2f} {row['early']:5d} "
                f"{'':>11s} {'':>12s}"
                if planted_here
                else f"{'':>7s} {'':>11s} {'':>5s} {row['flags']:11d} {row.get('causes', 0):12d}"
            )
        )
    print()
    print(
        f"planted onsets found: {found}/{planted} ({early_flags} flags dated early); false "
        f"flags on {quiet_runs} runs without fatigue ({confounder_runs} with confounders): "
        f"{false_flags}; false causes: {false_causes}; {elapsed:.1f} s"
    )
    if misses:
        print(f"missed: {', '.join(misses)}")
    print(
        json.dumps(
            {
                "source": source,
                "planted_onsets": planted,
                "found_onsets": found,
                "median_delay_min": round(statistics.median(delays), 2) if delays else None,
                "max_delay_min": round(max(abs(d) for d in delays), 2) if delays else None,
                "median_alarm_after_onset_min": (
                    round(statistics.median(alarm_delays), 2) if alarm_delays else None
                ),
                "runs_without_fatigue": quiet_runs,
                "confounder_runs": confounder_runs,
                "false_flags": false_flags,
                "false_causes": false_causes,
                "early_flags": early_flags,
                "seeds_per_scenario": seeds,
            }
        )
    )


if __name__ == "__main__":
    main()
