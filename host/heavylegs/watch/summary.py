"""A FIT activity as a run known only as a whole: its start, timer time, distance and
the running-dynamics averages of its session.

A FIT file holds per-second means of the strides, never the strides, so nothing
here rebuilds them: the run it becomes counts in training load and shoe mileage
and is not analysed. Ours (`heavylegs export --format fit`) and a Garmin watch's
read the same way; ours also name their pods and carry strike angle, impact and
pronation averages as developer fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from heavylegs.store import ImportedSummary
from heavylegs.watch.fit import WatchFileError, activity_messages, device_name, finite_number

# Sports a foot pod's run can be: our export writes a walk as walking.
_SPORTS = ("running", "walking", "trail_running", "hiking")
# Far beyond any run (a 24 h race) yet small enough that a broken timer shows.
_MAX_TIMER_S = 48 * 3600.0
# our developer fields' names (export.fit.DEV_FIELDS), summary ones
_DEV_AVERAGES = {
    "avg_strike_angle": "strike_deg",
    "avg_impact": "impact_g",
    "avg_pronation": "pronation_deg",
}
_FOOT_OF_POSITION = {"left_leg": "left", "right_leg": "right"}
_DEVELOPMENT = "development"  # FIT manufacturer 255: ours is one of its products
_PRODUCT_TOOLKIT, _PRODUCT_POD = 1, 2  # export.fit's product numbers


@dataclass(frozen=True, slots=True)
class FitRun:
    """What a FIT activity says of its run; `summary.pods` is empty until the
    caller matches `pod_serials` against the pods a store knows."""

    path: Path
    started_at: float
    summary: ImportedSummary
    # foot -> serial number of a heavylegs pod the file names (ours only)
    pod_serials: Mapping[str, int]


def read_fit_run(path: Path) -> FitRun:
    """The run in a FIT activity file, or WatchFileError (one sentence) saying why not."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise WatchFileError(f"cannot read {path}: {err.strerror or err}") from err
    messages = activity_messages(path, data)
    sessions = messages.get("session_mesgs", [])
    if not sessions:
        raise WatchFileError(
            f"{path.name} is an activity without a session: the watch did not finish "
            "writing it (save the activity on the watch, then copy it again)"
        )
    if len(sessions) > 1:
        raise WatchFileError(
            f"{path.name} holds {len(sessions)} sessions (a multisport activity); "
            "only a single run can be imported"
        )
    session = sessions[0]
    sport = str(session.get("sport", "unknown"))
    if sport not in _SPORTS:
        raise WatchFileError(f"{path.name} is a {sport} activity, not a run")
    start = session.get("start_time")
    timer = finite_number(session.get("total_timer_time"))
    if not isinstance(start, datetime) or timer is None or not 0 < timer <= _MAX_TIMER_S:
        raise WatchFileError(f"{path.name}: its session has no start time or timer time")
    elapsed = max(finite_number(session.get("total_elapsed_time")) or timer, timer)
    distance = finite_number(session.get("total_distance"))
    cadence = finite_number(session.get("avg_running_cadence")) or finite_number(
        session.get("avg_cadence")
    )
    if cadence is not None:
        # FIT counts strides per minute, with the fraction in its own field
        cadence = 2 * (cadence + (finite_number(session.get("avg_fractional_cadence")) or 0.0))
    step_mm = finite_number(session.get("avg_step_length"))
    dev = _developer_averages(messages, session)
    summary = ImportedSummary(
        file_name=path.name,
        device=_writer(messages["file_id_mesgs"][0]),
        digest=hashlib.sha256(data).hexdigest(),
        timer_s=timer,
        elapsed_s=elapsed,
        distance_m=distance,
        cadence_spm=_positive(cadence),
        stance_ms=_positive(finite_number(session.get("avg_stance_time"))),
        balance_pct=finite_number(session.get("avg_stance_time_balance")),
        step_length_m=None if not step_mm else step_mm / 1000,
        strike_deg=dev.get("strike_deg"),
        impact_g=dev.get("impact_g"),
        pronation_deg=dev.get("pronation_deg"),
    )
    return FitRun(path, start.timestamp(), summary, _pod_serials(messages))


def _developer_averages(
    messages: Mapping[str, Any], session: Mapping[str, Any]
) -> dict[str, float | None]:
    names = {d.get("key"): d.get("field_name") for d in messages.get("field_description_mesgs", [])}
    out: dict[str, float | None] = {}
    for key, value in (session.get("developer_fields") or {}).items():
        field = _DEV_AVERAGES.get(str(names.get(key)))
        if field is not None:
            out[field] = finite_number(value)
    return out


def _writer(file_id: Mapping[str, Any]) -> str:
    ours = (
        file_id.get("manufacturer") == _DEVELOPMENT and file_id.get("product") == _PRODUCT_TOOLKIT
    )
    return "heavylegs export" if ours else device_name(file_id)


def _pod_serials(messages: Mapping[str, Any]) -> dict[str, int]:
    """Our pods as the file's device_info names them, by the foot they were on."""
    out = {}
    for device in messages.get("device_info_mesgs", []):
        foot = _FOOT_OF_POSITION.get(str(device.get("sensor_position")))
        serial = device.get("serial_number")
        if (
            foot is not None
            and isinstance(serial, int)
            and device.get("manufacturer") == _DEVELOPMENT
            and device.get("product") == _PRODUCT_POD
        ):
            out[foot] = serial
    return out


def _positive(value: float | None) -> float | None:
    """A zero average is a device's "not measured", not a measurement."""
    return value if value is not None and value > 0 else None
