"""Runner terms: units, pace and distance, a plain line for every measure, check-ins in words."""

from __future__ import annotations

from dataclasses import dataclass

from heavylegs.store.diary import CheckIn

UNITS = ("metric", "imperial")
KM_PER_MILE = 1.609344
FEET_PER_METRE = 3.28084

# One plain line per term, shown beside the numbers (HTML) or under the table (terminal).
EXPLAIN = {
    "distance": "How far you ran, from the pods' stride lengths.",
    "duration": "Time from the first stride to the last, stops included.",
    "pace": "Time per kilometre (or mile) while running; lower is faster.",
    "contact-time": "How long each foot stays on the ground per step; it grows as legs tire.",
    "balance": "Left foot's share of the two feet's contact time; 50% is even.",
    "cadence": "Steps per minute, both feet counted.",
    "stride-length": "Distance covered from one landing of a foot to its next landing.",
    "impact": "Peak jolt at landing, in g (1 g is your weight standing still).",
    "strike-angle": "Foot angle at landing: above 7° the heel lands first, below −1° the ball.",
    "strike": "Share of landings on the heel (rearfoot), flat (midfoot) or ball (forefoot).",
    "flight": "Time with both feet off the ground per step (approximate).",
    "strides": "Running strides each pod counted (walking left out of the figures).",
}


@dataclass(frozen=True, slots=True)
class Units:
    """How distances and paces are written: metric (km, m) or imperial (mi, ft)."""

    system: str = "metric"

    def __post_init__(self) -> None:
        if self.system not in UNITS:
            raise ValueError(f"units must be metric or imperial, got {self.system!r}")

    @property
    def imperial(self) -> bool:
        return self.system == "imperial"

    @property
    def distance_unit(self) -> str:
        return "mi" if self.imperial else "km"

    def distance(self, km: float | None) -> str:
        if km is None:
            return "—"
        value = km / KM_PER_MILE if self.imperial else km
        return f"{value:.2f} {self.distance_unit}"

    def pace(self, running_min: float, km: float | None) -> str:
        """min:ss per km or mile; unknown without a distance."""
        if km is None or km <= 0 or running_min <= 0:
            return "—"
        per_unit = running_min / (km / KM_PER_MILE if self.imperial else km)
        whole = round(per_unit * 60)
        return f"{whole // 60}:{whole % 60:02d} /{self.distance_unit}"

    def length(self, metres: float | None) -> str:
        if metres is None:
            return "—"
        if self.imperial:
            return f"{metres * FEET_PER_METRE:.1f} ft"
        return f"{metres:.2f} m"


# --- the check-in, in words --------------------------------------------------------------

_WORDS = {
    "legs": ("fresh", "fairly fresh", "so-so", "heavy", "very heavy"),
    "fuelling": ("ran on empty", "under-fuelled", "so-so", "fuelled", "well fuelled"),
    "hydration": ("thirsty all day", "a bit dry", "so-so", "hydrated", "well hydrated"),
}
# Which end of each scale is the hard one: every scale is drawn with the easy end left.
_HARD_HIGH = {"legs": True, "effort": True, "fuelling": False, "hydration": False}
_QUESTIONS = {
    "legs": "Legs",
    "effort": "Effort",
    "fuelling": "Fuelling",
    "hydration": "Hydration",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """One check-in answer: the question, the answer in words, and where it sits between
    easy (0) and hard (1) on the legs, whatever direction the question's scale runs."""

    key: str
    question: str
    words: str
    strain: float | None


def _effort_words(value: int) -> str:
    if value <= 2:
        return "very easy"
    if value <= 4:
        return "easy"
    if value <= 6:
        return "moderate"
    if value <= 8:
        return "hard"
    return "very hard" if value == 9 else "all out"


def checkin_answers(checkin: CheckIn) -> list[Answer]:
    out = []
    if checkin.sleep_h is not None:
        short = min(1.0, max(0.0, (8.0 - checkin.sleep_h) / 4.0))
        out.append(Answer("sleep", "Sleep", f"{checkin.sleep_h:g} h last night", short))
    for key in ("legs", "effort", "fuelling", "hydration"):
        value = getattr(checkin, key)
        if value is None:
            continue
        top = 10 if key == "effort" else 5
        words = _effort_words(value) if key == "effort" else _WORDS[key][value - 1]
        position = (value - 1) / (top - 1)
        strain = position if _HARD_HIGH[key] else 1 - position
        out.append(Answer(key, _QUESTIONS[key], f"{words} ({value} of {top})", strain))
    if checkin.strength_before is not None:
        words = (
            "leg strength work the day before"
            if checkin.strength_before
            else "no leg strength work the day before"
        )
        out.append(Answer("strength", "Strength work", words, None))
    if checkin.note:
        out.append(Answer("note", "Note", checkin.note, None))
    return out


def checkin_sentence(checkin: CheckIn) -> str:
    """The check-in in one line of words, e.g. "legs heavy (4 of 5), sleep 5.5 h last night"."""
    return "; ".join(f"{a.question.lower()}: {a.words}" for a in checkin_answers(checkin))


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
