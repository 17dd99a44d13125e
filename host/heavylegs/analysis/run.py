"""Everything the report shows about one run: its flags, its place in the weeks, its causes."""

from __future__ import annotations

from dataclasses import dataclass

from heavylegs.analysis.causes import Cause, Context, build_context, explain
from heavylegs.analysis.fatigue import FatigueDetector
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
from heavylegs.analysis.session import Session, load_session
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


def analyse_run(store: Store, run: RunInfo) -> RunAnalysis:
    """Analyse `run` and place it among every earlier run in the same store."""
    session = load_session(store, run)
    detector = FatigueDetector().detect(session)
    summary = summarise_session(session, detector)
    with Diary(store.path) as diary:
        if run.stride_count:
            diary.cache_summary(run.id, ANALYSIS_VERSION, run.stride_count, summary.to_json())
        earlier = [
            run_summary(store, diary, other)
            for other in store.runs()
            if other.stride_count
            and other.id != run.id
            and (other.started_at, other.id) < (run.started_at, run.id)
        ]
        checkins = diary.checkins()
        named = diary.shoes()
    history = (*earlier, summary)
    shoes = shoe_histories(history, named)
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
