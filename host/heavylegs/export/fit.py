"""FIT activity files with running dynamics, laid out as a Garmin watch writes them.

Each message carries the fields, base types and scales a fenix 5 uses for the same
message (tests/test_fit_export.py compares the layouts with a real file): records
once a second with stance time, its share of the stride, balance, step length,
cadence, speed and distance; laps and a session with the averages of each; a
device_info for each pod. Vertical oscillation and vertical ratio are torso
measures a foot pod does not make, so they are left out rather than invented.
Strike angle, impact and pronation have no FIT field: they go in developer fields, as Stryd
and others carry theirs.

Manufacturer 255 is FIT's `development`: the id the profile sets aside for makers
without one assigned by Garmin; every other number names a real company (0 and
0xFFFF are not valid). Under it product numbers are ours to choose.
"""

from __future__ import annotations

import re
import uuid
import zlib
from collections.abc import Sequence
from datetime import datetime

from heavylegs.analysis.session import Session, load_session
from heavylegs.export.fit_codec import (
    BYTE,
    ENUM,
    FIT_EPOCH_UNIX,
    FLOAT32,
    MESSAGE_INDEX,
    STRING,
    TIMESTAMP,
    UINT8,
    UINT16,
    UINT32,
    UINT32Z,
    DevField,
    Field,
    FitWriter,
    crc16,
    fit_time,
    scaled,
)
from heavylegs.export.fit_stats import (
    Dynamics,
    FitActivity,
    FitError,
    FitLap,
    FitRecord,
    LapBounds,
    build_activity,
    split_cadence,
)
from heavylegs.store import RunInfo, Store

__all__ = [
    "FIT_EPOCH_UNIX",
    "FitError",
    "FitRecord",
    "LapBounds",
    "crc16",
    "encode_activity",
    "encode_run",
]

MANUFACTURER_DEVELOPMENT = 255
PRODUCT_TOOLKIT = 1  # the host toolkit that writes the file
PRODUCT_POD = 2
# The developer fields' owner: a fixed id, so apps can recognise them across files.
APPLICATION_ID = uuid.uuid5(uuid.NAMESPACE_URL, "https://heavylegs/fit/developer-fields").bytes
# developer field number: (name, units)
DEV_FIELDS = {
    0: ("strike_angle", "deg"),
    1: ("impact", "g"),
    2: ("avg_strike_angle", "deg"),
    3: ("avg_impact", "g"),
    # the roll range through stance; only where a pod measured it
    4: ("pronation", "deg"),
    5: ("avg_pronation", "deg"),
}

# Global message numbers from Garmin's FIT profile.
_FILE_ID, _DEVICE_INFO, _EVENT, _RECORD, _LAP, _SESSION, _ACTIVITY = 0, 23, 21, 20, 19, 18, 34
_FIELD_DESCRIPTION, _DEVELOPER_DATA_ID = 206, 207
# Enums from the profile.
_ACTIVITY_FILE, _GENERIC = 4, 0
_RUNNING, _WALKING, _WALKING_SPORT = 1, 6, 11  # sport and activity_type share running
_EVENT_TIMER, _EVENT_LAP, _EVENT_ACTIVITY = 0, 9, 26
_START, _STOP, _STOP_ALL = 0, 1, 4
_TIMER_MANUAL, _TIMER_AUTO = 0, 1
_BLUETOOTH_LOW_ENERGY, _BLE_FOOTPOD, _LOCAL = 3, 6, 5
_SENSOR_POSITION = {"left": 0, "right": 6}  # body_location left_leg / right_leg: no foot
_LAP_TRIGGER = {
    name: number
    for number, name in enumerate(
        ("manual", "time", "distance", "position_start", "position_lap", "position_waypoint",
         "position_marked", "session_end", "fitness_equipment")
    )
}  # fmt: skip

_RECORD_FIELDS = (
    Field(TIMESTAMP, UINT32),
    Field(5, UINT32),  # distance, m x100
    Field(6, UINT16),  # speed, m/s x1000
    Field(40, UINT16),  # stance_time_percent, % x100
    Field(41, UINT16),  # stance_time, ms x10
    Field(84, UINT16),  # stance_time_balance, % x100 (left share)
    Field(85, UINT16),  # step_length, mm x10
    Field(4, UINT8),  # cadence, strides/min
    Field(42, ENUM),  # activity_type
    Field(53, UINT8),  # fractional_cadence, strides/min x128
)
_RECORD_DEV = (DevField(0), DevField(1), DevField(4))
# lap and session share their summary fields, under different numbers
_SUMMARY_NUMS = {
    "lap": dict(
        avg_speed=13, max_speed=14, stance_pct=78, stance=79, balance=119, step=120,
        avg_cadence=17, max_cadence=18, avg_frac=80, max_frac=81,
    ),
    "session": dict(
        avg_speed=14, max_speed=15, stance_pct=90, stance=91, balance=133, step=134,
        avg_cadence=18, max_cadence=19, avg_frac=92, max_frac=93,
    ),
}  # fmt: skip
_SUMMARY_DEV = (DevField(2), DevField(3), DevField(5))


def encode_activity(session: Session, *, laps: Sequence[LapBounds] | None = None) -> bytes:
    """The session as a complete FIT activity file, its records dated from its first
    stride (its start when that is not known); `laps` are a watch's laps to use
    instead of one per km."""
    start = session.started_at if session.first_stride_at is None else session.first_stride_at
    activity = build_activity(session, start, laps)
    return _encode(session, activity)


def encode_run(store: Store, run: RunInfo, laps: Sequence[LapBounds] | None = None) -> bytes:
    """A stored run as a FIT activity, its records dated by its first stride."""
    return encode_activity(load_session(store, run), laps=laps)


def _encode(session: Session, activity: FitActivity) -> bytes:
    out = FitWriter()
    first = activity.records[0].unix_s
    end = activity.session.start_unix + round(activity.session.elapsed_s)
    out.message(
        0,
        _FILE_ID,
        [
            (Field(3, UINT32Z), 1),  # serial_number
            (Field(4, UINT32), fit_time(first)),  # time_created
            (Field(1, UINT16), MANUFACTURER_DEVELOPMENT),
            (Field(2, UINT16), PRODUCT_TOOLKIT),
            (Field(0, ENUM), _ACTIVITY_FILE),
        ],
    )
    _developer_fields(out)
    _devices(out, session, first)
    _event(out, first, _EVENT_TIMER, _START, _TIMER_MANUAL)
    out.define(2, _RECORD, _RECORD_FIELDS, _RECORD_DEV)
    pauses = iter(activity.pauses)
    pause = next(pauses, None)
    lap_ends = {lap.records.stop - 1: (i, lap) for i, lap in enumerate(activity.laps)}
    sport = _RUNNING if activity.sport_running else _WALKING_SPORT
    for i, record in enumerate(activity.records):
        if pause is not None and record.unix_s >= pause[1]:
            # a watch's auto-pause: the timer stood still while the runner did
            _event(out, pause[0], _EVENT_TIMER, _STOP_ALL, _TIMER_AUTO)
            _event(out, pause[1], _EVENT_TIMER, _START, _TIMER_AUTO)
            pause = next(pauses, None)
        out.data(2, _record_values(record), _dev_values(record.dynamics))
        if i in lap_ends:
            index, lap = lap_ends[i]
            # written when the lap ends, between records, as a watch does
            _summary(out, 3, _LAP, lap, index, sport, define=index == 0)
    _event(out, end, _EVENT_TIMER, _STOP_ALL, _TIMER_MANUAL)
    _summary(out, 4, _SESSION, activity.session, 0, sport, num_laps=len(activity.laps))
    out.message(
        5,
        _ACTIVITY,
        [
            (Field(TIMESTAMP, UINT32), fit_time(end)),
            (Field(0, UINT32), round(activity.session.timer_s * 1000)),  # total_timer_time
            (Field(5, UINT32), fit_time(end + _utc_offset_s(end))),  # local_timestamp
            (Field(1, UINT16), 1),  # num_sessions
            (Field(2, ENUM), 0),  # type: manual
            (Field(3, ENUM), _EVENT_ACTIVITY),
            (Field(4, ENUM), _STOP),
        ],
    )
    return out.file()


def _developer_fields(out: FitWriter) -> None:
    out.message(
        1,
        _DEVELOPER_DATA_ID,
        [
            (Field(1, BYTE, 16), APPLICATION_ID),  # application_id
            (Field(2, UINT16), MANUFACTURER_DEVELOPMENT),  # manufacturer_id
            (Field(3, UINT8), 0),  # developer_data_index
            (Field(4, UINT32), 1),  # application_version
        ],
    )
    for num, (name, units) in DEV_FIELDS.items():
        out.message(
            1,
            _FIELD_DESCRIPTION,
            [
                (Field(0, UINT8), 0),  # developer_data_index
                (Field(1, UINT8), num),  # field_definition_number
                (Field(2, UINT8), FLOAT32),  # fit_base_type_id
                (Field(3, STRING, 24), name),  # field_name
                (Field(8, STRING, 8), units),  # units
            ],
        )


def _devices(out: FitWriter, session: Session, at: int) -> None:
    """device_info: the toolkit that wrote the file, then each pod as a BLE foot pod."""
    creator = [
        (Field(TIMESTAMP, UINT32), fit_time(at)),
        (Field(2, UINT16), MANUFACTURER_DEVELOPMENT),
        (Field(4, UINT16), PRODUCT_TOOLKIT),
        (Field(0, UINT8), 0),  # device_index: creator
        (Field(25, ENUM), _LOCAL),  # source_type
    ]
    out.message(1, _DEVICE_INFO, creator)
    for index, (foot, data) in enumerate(session.feet.items(), 1):
        out.message(
            1,
            _DEVICE_INFO,
            [
                (Field(TIMESTAMP, UINT32), fit_time(at)),
                (Field(3, UINT32Z), pod_serial(data.pod_address)),
                (Field(2, UINT16), MANUFACTURER_DEVELOPMENT),
                (Field(4, UINT16), PRODUCT_POD),
                (Field(0, UINT8), index),  # device_index
                (Field(1, UINT8), _BLE_FOOTPOD),  # device_type, read by source_type
                (Field(18, ENUM), _SENSOR_POSITION[foot]),
                (Field(25, ENUM), _BLUETOOTH_LOW_ENERGY),
            ],
        )


def pod_serial(address: str) -> int:
    """A pod's serial number: the low 32 bits of its Bluetooth address (never 0)."""
    digits = address.replace(":", "").replace("-", "")
    if re.fullmatch(r"[0-9A-Fa-f]{12}", digits):
        serial = int(digits[4:], 16)
    else:  # a simulated pod's name
        serial = zlib.crc32(address.encode())
    return serial or 1


def _event(out: FitWriter, at: int, event: int, event_type: int, trigger: int) -> None:
    out.message(
        1,
        _EVENT,
        [
            (Field(TIMESTAMP, UINT32), fit_time(at)),
            (Field(3, UINT32), trigger),  # data: timer_trigger
            (Field(0, ENUM), event),
            (Field(1, ENUM), event_type),
            (Field(4, UINT8), 0),  # event_group
        ],
    )


def _record_values(r: FitRecord) -> list[object]:
    d = r.dynamics
    whole, fraction = split_cadence(d.cadence_strides_min)
    return [
        fit_time(r.unix_s),
        scaled(r.distance_m, 100, UINT32),
        scaled(d.speed_mps, 1000, UINT16),
        scaled(d.stance_time_pct, 100, UINT16),
        scaled(d.stance_time_ms, 10, UINT16),
        scaled(d.stance_time_balance_pct, 100, UINT16),
        scaled(d.step_length_mm, 10, UINT16),
        scaled(whole, 1, UINT8),
        _RUNNING if r.running else _WALKING,
        scaled(fraction, 1, UINT8),
    ]


def _dev_values(d: Dynamics) -> list[float | None]:
    return [d.strike_deg, d.impact_g, d.pronation_deg]


def _summary(
    out: FitWriter,
    local: int,
    global_num: int,
    lap: FitLap,
    index: int,
    sport: int,
    *,
    define: bool = True,
    num_laps: int | None = None,
) -> None:
    """A lap or the session: totals and the averages of every running-dynamics field."""
    nums = _SUMMARY_NUMS["lap" if global_num == _LAP else "session"]
    d = lap.dynamics
    avg_whole, avg_frac = split_cadence(d.cadence_strides_min)
    max_whole, max_frac = split_cadence(lap.max_cadence)
    avg_speed = lap.distance_m / lap.timer_s if lap.distance_m is not None and lap.timer_s else None
    end = lap.start_unix + round(lap.elapsed_s)
    fields: list[tuple[Field, object]] = [
        (Field(TIMESTAMP, UINT32), fit_time(end)),
        (Field(2, UINT32), fit_time(lap.start_unix)),  # start_time
        (Field(7, UINT32), round(lap.elapsed_s * 1000)),  # total_elapsed_time, s x1000
        (Field(8, UINT32), round(lap.timer_s * 1000)),  # total_timer_time
        (Field(9, UINT32), scaled(lap.distance_m, 100, UINT32)),  # total_distance
        (Field(10, UINT32), lap.cycles),  # total_cycles: strides
        (Field(MESSAGE_INDEX, UINT16), index),
        (Field(nums["avg_speed"], UINT16), scaled(avg_speed, 1000, UINT16)),
        (Field(nums["max_speed"], UINT16), scaled(lap.max_speed_mps, 1000, UINT16)),
        (Field(nums["stance_pct"], UINT16), scaled(d.stance_time_pct, 100, UINT16)),
        (Field(nums["stance"], UINT16), scaled(d.stance_time_ms, 10, UINT16)),
        (Field(nums["balance"], UINT16), scaled(d.stance_time_balance_pct, 100, UINT16)),
        (Field(nums["step"], UINT16), scaled(d.step_length_mm, 10, UINT16)),
        (Field(0, ENUM), _EVENT_LAP),  # as the fenix writes a session too
        (Field(1, ENUM), _STOP),
        (Field(nums["avg_cadence"], UINT8), scaled(avg_whole, 1, UINT8)),
        (Field(nums["max_cadence"], UINT8), scaled(max_whole, 1, UINT8)),
        (Field(nums["avg_frac"], UINT8), scaled(avg_frac, 1, UINT8)),
        (Field(nums["max_frac"], UINT8), scaled(max_frac, 1, UINT8)),
    ]
    if global_num == _LAP:
        fields += [
            (Field(24, ENUM), _LAP_TRIGGER.get(lap.trigger, 0)),  # lap_trigger
            (Field(25, ENUM), sport),
            (Field(39, ENUM), _GENERIC),  # sub_sport
        ]
    else:
        fields += [
            (Field(25, UINT16), 0),  # first_lap_index
            (Field(26, UINT16), num_laps or 1),  # num_laps
            (Field(5, ENUM), sport),
            (Field(6, ENUM), _GENERIC),  # sub_sport
            (Field(28, ENUM), 0),  # trigger: activity_end
        ]
    if define:
        out.define(local, global_num, [f for f, _ in fields], _SUMMARY_DEV)
    out.data(local, [v for _, v in fields], _dev_values(d))


def _utc_offset_s(at: int) -> int:
    offset = datetime.fromtimestamp(at).astimezone().utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0
