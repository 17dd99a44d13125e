"""The run report's plain verdict, and the statistics behind it folded away under
"How this was judged": thresholds, fits, couplings and where the data came from."""

from __future__ import annotations

from html import escape

from heavylegs.analysis.flags import Flag
from heavylegs.analysis.run import RunAnalysis
from heavylegs.report.page import section
from heavylegs.report.summary import no_cause_text
from heavylegs.report.terms import checkin_answers

# What each flag means for the runner, in one plain line.
FLAG_MEANING = {
    "contact_time": "your feet stayed longer on the ground than earlier at the same pace",
    "asymmetry": "one foot took over more of the ground time than the other",
    "cadence": "your steps per minute fell at the same pace",
    "strike": "your feet began landing more on the heel",
    "variability": "your stride rhythm grew less even",
    "impact": "landings grew harder at the same pace",
}
SOURCES = {
    "live": "recorded live from the pods",
    "sync": "copied from the pods' memory after the run",
    "synthetic": "simulated strides (not a real run)",
}


def flag_line(flag: Flag) -> str:
    """ "Rising contact time from minute 22: +8% (your feet stayed longer ...)" """
    return (
        f"<strong>{escape(flag.title)}</strong> from minute {flag.onset_min:.0f}: "
        f"{escape(flag.size_text)}, {flag.confidence_label} confidence. "
        f'<span class="explain">Means {escape(FLAG_MEANING.get(flag.kind, ""))}.</span>'
    )


def verdict_section(analysis: RunAnalysis) -> str:
    det = analysis.detector
    flags = det.flags_
    if flags:
        items = "".join(
            f'<li data-flag="{f.kind}">{flag_line(f)}'
            f'<span class="explain">{escape(f.evidence[0]) if f.evidence else ""}</span></li>'
            for f in flags
        )
        verdict = (
            "<p>Your legs got tired in this run. Most certain first:</p>\n"
            f'<ul class="flags">{items}</ul>'
        )
    elif det.baseline_ is None:
        why = "; ".join(det.notes_)
        verdict = (
            "<p>Not enough steady running to judge tired legs in this run"
            + (f" ({escape(why)})" if why else "")
            + ".</p>"
        )
    else:
        verdict = "<p>No lasting signs of tired legs in this run.</p>"
    slowdown = ""
    if analysis.slowdown is not None:
        slowdown = f'<p class="slowdown-line">{escape(analysis.slowdown.text)}.</p>'
    causes = []
    for cause in analysis.causes:
        evidence = "".join(f"<li>{escape(e)}</li>" for e in cause.evidence)
        causes.append(
            f'<li class="cause" data-cause="{cause.key}"><strong>{escape(cause.title)}</strong> '
            f'<span class="label">{cause.label}</span>'
            f'<ul class="evidence">{evidence}</ul>'
            f'<p class="advice">{escape(cause.advice)}</p></li>'
        )
    if causes:
        body = (
            "<p>Likely reasons, strongest first:</p>"
            + '<ol class="causes">'
            + "\n".join(causes)
            + "</ol>"
        )
    else:
        body = f"<p>{escape(no_cause_text(analysis))}</p>"
    unknowns = "".join(f"<li>{escape(u)}</li>" for u in analysis.unknowns)
    extra = (
        f'<p class="note">Not checked:</p><ul class="note unknowns">{unknowns}</ul>'
        if unknowns
        else ""
    )
    return section(
        "heavy-legs",
        "Why are my legs heavy?",
        verdict,
        slowdown,
        body,
        checkin_block(analysis),
        extra,
        '<p class="note">The pods measure how you run, not why: these are leads to check, '
        "not diagnoses.</p>",
    )


def checkin_block(analysis: RunAnalysis) -> str:
    if analysis.checkin is None:
        return ""
    rows = []
    for a in checkin_answers(analysis.checkin):
        meter = ""
        if a.strain is not None:
            meter = f'<span class="meter"><span style="width:{100 * a.strain:.0f}%"></span></span>'
        rows.append(
            f'<tr data-answer="{a.key}"><th scope="row">{escape(a.question)}</th>'
            f"<td>{meter}{escape(a.words)}</td></tr>"
        )
    return (
        '<div class="checkin"><p>Your check-in after the run '
        '<span class="explain">Bars read the same way for every question: '
        "longer is harder on the legs.</span></p>"
        f'<table class="summary">{"".join(rows)}</table></div>'
    )


def slowdown_section(analysis: RunAnalysis) -> str:
    slow = analysis.slowdown
    if slow is None:
        return ""
    rows = (
        ("speed", "Your speed", f"{-slow.speed_pct:+.0f}%"),
        ("raw-gct", "Contact time as measured", f"{slow.raw_gct_pct:+.0f}%"),
        ("corrected-gct", "Contact time at your earlier pace", f"{slow.corrected_gct_pct:+.0f}%"),
    )
    table = (
        '<table class="summary"><tbody>'
        + "".join(
            f'<tr><th scope="row">{label}</th><td data-metric="{key}">{value}</td></tr>'
            for key, label, value in rows
        )
        + "</tbody></table>"
    )
    return section(
        "slowdown",
        "Slowdown",
        f"<p>{escape(slow.text)}.</p>",
        f"<p>From minute {slow.onset_min:.0f} to the end, against your first settled minutes:</p>",
        table,
        '<p class="note">Running slower lengthens ground contact by itself, so the plots of '
        "contact time show more rise than tiredness alone; the flag is judged on contact "
        "time at your earlier pace.</p>",
    )


def judged_section(analysis: RunAnalysis) -> str:
    """Everything a sceptic needs to check the verdict, folded away by default."""
    det = analysis.detector
    run = analysis.run
    base = det.baseline_
    items = [
        f"Data: {escape(SOURCES.get(run.source.split('-')[0], run.source))} "
        f"(source {escape(run.source)}).",
    ]
    if base is not None:
        moved = (
            f", moved {base.settling_min:.1f} min later because you were still settling in"
            if base.settling_min > 0
            else ""
        )
        items.append(
            f"Baseline: minutes {base.start_min:.1f} to {base.end_min:.1f}{escape(moved)}; "
            "every later minute is compared with it."
        )
        items.append(
            f"Speed known ({base.speed_mps:.2f} m/s in the baseline): every indicator is "
            "compared at the baseline's pace."
            if base.speed_mps
            else "Speed unknown (no stride lengths): contact time is compared at the "
            "baseline's cadence only."
        )
    if det.couplings_:
        c = det.couplings_
        items.append(
            "Pace corrections learned from this run's pace changes: contact time ∝ stride "
            f"time^{c.get('gct_per_stride_time', 0):.2f} × speed^{c.get('gct_per_speed', 0):.2f}; "
            f"cadence ∝ speed^{c.get('cadence_per_speed', 0):.2f}; "
            f"impact ∝ speed^{c.get('impact_per_speed', 0):.2f}."
        )
    items.append(
        "A flag needs an indicator's smoothed drift above its threshold (the larger of the "
        "smallest meaningful change and 4 × the run's own noise) and then above half of it "
        "for most of the rest of the run; the onset is dated by the best-fitting ramp or step."
    )
    items.extend(escape(note) for note in det.notes_)
    flags = "".join(
        f'<details class="judged" data-flag="{f.kind}"><summary>{escape(f.title)}: '
        f"confidence {f.confidence:.2f}</summary><ul>"
        + "".join(f"<li>{escape(e)}</li>" for e in f.evidence)
        + "</ul></details>"
        for f in det.flags_
    )
    return section(
        "how-judged",
        "How this was judged",
        '<details class="judged"><summary>The method and this run\'s numbers</summary><ul>'
        + "".join(f"<li>{i}</li>" for i in items)
        + "</ul></details>",
        flags,
    )
