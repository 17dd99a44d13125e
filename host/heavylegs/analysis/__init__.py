"""Per-session indicators and fatigue flags, cross-session trends, and likely causes."""

from heavylegs.analysis.causes import Cause, explain
from heavylegs.analysis.fatigue import FLAG_KINDS, FatigueDetector, Flag, analyse
from heavylegs.analysis.run import RunAnalysis, analyse_run
from heavylegs.analysis.session import FootData, Session, load_session, session_from_strides
from heavylegs.store.diary import CheckIn, Diary

__all__ = [
    "FLAG_KINDS",
    "Cause",
    "CheckIn",
    "Diary",
    "FatigueDetector",
    "Flag",
    "FootData",
    "RunAnalysis",
    "Session",
    "analyse",
    "analyse_run",
    "explain",
    "load_session",
    "session_from_strides",
]
