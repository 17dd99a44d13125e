"""What the cause rules read: the run, the weeks before it, self-reports and shoes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from heavylegs.analysis.history import (
    FlagNote,
    LoadStatus,
    RunSummary,
    ShoeHistory,
    load_status,
)
from heavylegs.store.diary import CheckIn


@dataclass(frozen=True, slots=True)
class Cause:
    key: str
    title: str
    score: float
    evidence: tuple[str, ...]
    advice: str

    @property
    def label(self) -> str:
        if self.score >= 0.65:
            return "likely"
        return "possible" if self.score >= 0.4 else "worth a look"


@dataclass(frozen=True, slots=True)
class Context:
    """Everything the rules may read about the run and the weeks before it."""

    run: RunSummary
    history: tuple[RunSummary, ...]  # oldest first, ending with `run`
    load: LoadStatus
    checkin: CheckIn | None = None
    checkins: dict[int, CheckIn] = field(default_factory=dict)  # by run id, for history
    shoes: tuple[ShoeHistory, ...] = ()


def build_context(
    history: Sequence[RunSummary],
    checkins: dict[int, CheckIn],
    shoes: Sequence[ShoeHistory],
) -> Context:
    if not history:
        raise ValueError("no runs to explain")
    run = history[-1]
    return Context(
        run=run,
        history=tuple(history),
        load=load_status(history),
        checkin=checkins.get(run.run_id),
        checkins=dict(checkins),
        shoes=tuple(s for s in shoes if _worn_in(s, run)),
    )


def _worn_in(shoe: ShoeHistory, run: RunSummary) -> bool:
    """The shoes this run was made in: by the runs counted on them, else by their pods."""
    if shoe.run_ids:
        return run.run_id in shoe.run_ids
    return bool(set(shoe.pods) & set(run.pods.values()))


def flags_of(ctx: Context, kind: str) -> list[FlagNote]:
    return [f for f in ctx.run.flags if f.kind == kind]


def baseline_vs_usual(ctx: Context) -> float | None:
    """This run's contact time at reference pace against the median of earlier runs, in %."""
    previous = [r.gct_at_ref_ms for r in ctx.history[:-1] if r.gct_at_ref_ms is not None][-10:]
    if len(previous) < 3 or ctx.run.gct_at_ref_ms is None:
        return None
    previous.sort()
    usual = previous[len(previous) // 2]
    return 100 * (ctx.run.gct_at_ref_ms / usual - 1)
