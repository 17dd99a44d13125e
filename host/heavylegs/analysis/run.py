"""Everything the report shows about one run: its flags, its place in the weeks, its causes."""

from __future__ import annotations

from dataclasses import dataclass

from heavylegs.analysis.causes import Cause, Context, build_context, explain
from heavylegs.analysis.fatigue import CADENCE_COUPLING_PRIOR, FatigueDetector, Slowdown
from heavylegs.analysis.history import (
    ANALYSIS_VERSION,
    LoadStatus,
    RunSummary,
    ShoeHistory,
    Week,
    run_summary,
    shoe_histories,
    summarise_session,
    weekly,
)
from heavylegs.analysis.indicators import pooled_coupling
from heavylegs.analysis.session import Session, load_session
from heavylegs.errors import HeavylegsError
from heavylegs.store import RunInfo, Store
from heavylegs.store.diary import CheckIn, Diary


@dataclass(frozen=True, slots=True)
class RunAnalysis:
    run: RunInfo
    session: Session
    detector: FatigueDetector
    summary: RunSummary
    history: tuple[RunSummary, ...]  # oldest first, ending with this run
    weeks: tuple[Week, ...]
    load: LoadStatus
    shoes: tuple[ShoeHistory, ...]
    checkin: CheckIn | None
    causes: tuple[Cause, ...]
    unknowns: tuple[str, ...]

    @property
    def slowdown(self) -> Slowdown | None:
        """A lasting slowdown, with contact time as measured and corrected for pace;
        `.text` says it in one sentence ("You slowed 5% from minute 50; ...")."""
        return self.detector.slowdown_


def runner_cadence_coupling(history: list[RunSummary]) -> tuple[float, float]:
    """(mean, sd) of this runner's cadence-speed coupling: the population prior updated
    with what each earlier run's pace changes said about it."""
    evidence = [r.cadence_speed_evidence for r in history if r.cadence_speed_evidence]
    return pooled_coupling(CADENCE_COUPLING_PRIOR, evidence)


def analyse_run(store: Store, run: RunInfo) -> RunAnalysis:
    """Analyse `run` and place it among every earlier run in the same store.

    A run imported from a FIT file as a summary only is refused (HeavylegsError):
    it counts in the history of the runs after it, but holds no strides to analyse.
    """
    if run.imported is not None:
        raise HeavylegsError(
            f"run {run.id} was imported from {run.imported.file_name} as a summary only "
            "(a FIT file holds no strides): it has no strides to analyse; its time and "
            "distance count in training load"
        )
    session = load_session(store, run)
    with Diary(store.path) as diary:
        earlier = [
            run_summary(store, diary, other)
            for other in store.runs()
            if other.in_history
            and other.id != run.id
            and (other.started_at, other.id) < (run.started_at, run.id)
        ]
        # the runner's own coupling, learned across earlier runs, judges this one
        detector = FatigueDetector(cadence_coupling_prior=runner_cadence_coupling(earlier))
        detector.detect(session)
        summary = summarise_session(session, detector)
        if run.stride_count:
            diary.cache_summary(run.id, ANALYSIS_VERSION, run.stride_count, summary.to_json())
        checkins = diary.checkins()
        shelf = diary.shoe_shelf()
    history = (*earlier, summary)
    shoes = shoe_histories(history, shelf)
    ctx: Context = build_context(history, checkins, shoes)
    causes, unknowns = explain(ctx)
    return RunAnalysis(
        run=run,
        session=session,
        detector=detector,
        summary=summary,
        history=tuple(history),
        weeks=tuple(weekly(history)),
        load=ctx.load,
        shoes=ctx.shoes,
        checkin=ctx.checkin,
        causes=tuple(causes),
        unknowns=tuple(unknowns),
    )
