"""Why are my legs heavy? Likely contributors for a run, each with its evidence and advice.

Each rule reads only the evidence meant for it and says how strongly it points,
as a score from 0 to 1 that ranks the list; nothing is reported without evidence,
and the wording stays at "may" and "consistent with": pods see how you run, not
why. What could not be checked (no self-report, too little history) is listed
too, so an empty list is not mistaken for a clean bill of health.
"""

from __future__ import annotations

from heavylegs.analysis.cause_context import Cause, Context, build_context
from heavylegs.analysis.cause_rules import CAUSE_KEYS, RULES

# Below this score a rule's evidence is too thin to mention.
MIN_SCORE = 0.25

# re-exported: the run analysis, tests and the bench import these from here
__all__ = ["CAUSE_KEYS", "MIN_SCORE", "RULES", "Cause", "Context", "build_context", "explain"]


def explain(ctx: Context) -> tuple[list[Cause], list[str]]:
    """Ranked causes (strongest first) and the things that could not be checked."""
    causes = [c for rule in RULES if (c := rule(ctx)) is not None and c.score >= MIN_SCORE]
    causes.sort(key=lambda c: -c.score)
    unknowns = []
    if ctx.checkin is None:
        unknowns.append(
            "no self-report for this run: sleep, fuelling, hydration and strength work "
            "were not checked (add one with `heavylegs checkin`)"
        )
    if ctx.load.acwr is None:
        unknowns.append(
            f"{ctx.load.history_days:.0f} days of history: the training-load ratio needs 21"
        )
    if ctx.run.gct_at_ref_ms is None:
        unknowns.append("too little steady running in this run to set a baseline")
    return causes, unknowns
