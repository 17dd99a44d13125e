"""FIT activity files with running dynamics, written without any FIT library.

FIT is Garmin's binary format: a 14-byte header, definition messages that declare
each local message's fields, data messages, and a CRC over everything. We write
only what an activity needs (file_id, events, records, lap, session, activity);
the test suite decodes our files with Garmin's own SDK.

Records come once a second, as watches write them, each from the strides of the
last few seconds: FIT's running-dynamics fields are smoothed values, not strides.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from heavylegs.analysis.indicators import usable_strides
from heavylegs.analysis.session import Session
from heavylegs.errors import HeavylegsError

FIT_EPOCH_UNIX = 631_065_600  # 1989-12-31T00:00:00Z
_PROFILE_VERSION = 2132
_PROTOCOL_VERSION = 0x20
# Strides whose contact began within this many seconds feed a record.
WINDOW_S = 3.0

# Base types (FIT SDK table): the code carries the endian-ability bit.
_ENUM, _UINT8, _UINT16, _UINT32, _UINT32Z = 0x00, 0x02, 0x84, 0x86, 0x8C
_STRING, _BYTE = 0x07, 0x0D
_INVALID = {_ENUM: 0xFF, _UINT8: 0xFF, _UINT16: 0xFFFF, _UINT32: 0xFFFF_FFFF, _UINT32Z: 0}
_FORMAT = {_ENUM: "B", _UINT8: "B", _UINT16: "H", _UINT32: "I", _UINT32Z: "I"}

# Global message numbers and field numbers from Garmin's FIT profile.
_FILE_ID, _EVENT, _RECORD, _LAP, _SESSION, _ACTIVITY = 0, 21, 20, 19, 18, 34
_FIELD_DESCRIPTION, _DEVELOPER_DATA_ID = 206, 207
_TIMESTAMP = 253
_RECORD_FIELDS = (
    (_TIMESTAMP, _UINT32),
    (5, _UINT32),  # distance, m x100
    (6, _UINT16),  # speed, m/s x1000
    (4, _UINT8),  # cadence, strides/min
    (53, _UINT8),  # fractional_cadence, strides/min x128
    (41, _UINT16),  # stance_time, ms x10
    (84, _UINT16),  # stance_time_balance, % x100 (left share)
    (85, _UINT16),  # step_length, mm x10
)
# Pronation has no field in FIT's profile: it goes in a developer field of every
# record (developer 0, field 0), uint16 in 0.1 degree, as field_description says.
# The application id names heavylegs to readers that keep developer data apart.
_APPLICATION_ID = bytes.fromhex("6c0a00005f3e4e8f9a5168656176796c")
_PRONATION_FIELD = 0
_PRONATION_SCALE = 10


class FitError(HeavylegsError, ValueError):
    """The session cannot be written as a FIT activity."""


@dataclass(frozen=True, slots=True)
class FitRecord:
    """One second of running dynamics in natural units; None = not measured."""

    unix_s: int
    cadence_strides_min: float
    stance_time_ms: float
    stance_time_balance_pct: float | None
    step_length_mm: float | None
    speed_mps: float | None
    distance_m: float | None
    pronation_deg: float | None = None  # roll range through stance, median of the window


def fit_records(session: Session) -> list[FitRecord]:
    """Per-second records from the running strides of both feet."""
    if session.started_at <= FIT_EPOCH_UNIX:
        raise FitError(
            f"run {session.run_id} has no usable start time ({session.started_at}); "
            "FIT timestamps count from 1989-12-31"
        )
    feet = {}
    for foot, data in session.feet.items():
        use = usable_strides(data)
        if use.any():
            feet[foot] = (
                data.minutes[use] * 60,
                data.cadence_spm[use],
                data.gct_ms[use],
                data.stride_len_m[use],
                data.speed_mps[use],
                data.pronation_deg[use] if len(data.pronation_deg) else np.full(use.sum(), np.nan),
            )
    if not feet:
        raise FitError(f"run {session.run_id} has no running strides to export")
    start = min(float(v[0][0]) for v in feet.values())
    end = max(float(v[0][-1]) for v in feet.values())
    lengths_known = all(np.isfinite(v[3]).mean() >= 0.8 for v in feet.values())
    # distance from one foot's strides (each covers the whole distance); the most complete foot
    dist_foot = max(feet, key=lambda f: np.isfinite(feet[f][3]).sum())
    dist_t, dist_len = feet[dist_foot][0], np.nan_to_num(feet[dist_foot][3])
    dist_cum = np.cumsum(dist_len)
    records = []
    for second in range(math.ceil(start), math.floor(end) + 1):
        lo, hi = second - WINDOW_S, second
        picked = {
            foot: slice(*np.searchsorted(v[0], [lo, hi], side="right")) for foot, v in feet.items()
        }
        if all(s.start == s.stop for s in picked.values()):
            continue
        cadence = np.concatenate([feet[f][1][s] for f, s in picked.items()])
        gct = np.concatenate([feet[f][2][s] for f, s in picked.items()])
        length = np.concatenate([feet[f][3][s] for f, s in picked.items()])
        speed = np.concatenate([feet[f][4][s] for f, s in picked.items()])
        pronation = np.concatenate([feet[f][5][s] for f, s in picked.items()])
        balance = None
        left, right = picked.get("left"), picked.get("right")
        if left and right and left.stop > left.start and right.stop > right.start:
            gl = float(np.median(feet["left"][2][left]))
            gr = float(np.median(feet["right"][2][right]))
            balance = 100 * gl / (gl + gr)
        distance = None
        if lengths_known:
            done = int(np.searchsorted(dist_t, hi, side="right"))
            distance = float(dist_cum[done - 1]) if done else 0.0
        records.append(
            FitRecord(
                unix_s=int(session.started_at) + second,
                cadence_strides_min=float(np.median(cadence)) / 2,
                stance_time_ms=float(np.median(gct)),
                stance_time_balance_pct=balance,
                step_length_mm=(
                    float(np.median(length[np.isfinite(length)])) * 500
                    if np.isfinite(length).any()
                    else None
                ),
                speed_mps=(
                    float(np.median(speed[np.isfinite(speed)]))
                    if np.isfinite(speed).any()
                    else None
                ),
                distance_m=distance,
                pronation_deg=(
                    float(np.median(pronation[np.isfinite(pronation)]))
                    if np.isfinite(pronation).any()
                    else None
                ),
            )
        )
    return records


def encode_activity(session: Session, records: Sequence[FitRecord] | None = None) -> bytes:
    """The session as a complete FIT activity file."""
    if records is None:
        records = fit_records(session)
    if not records:
        raise FitError(f"run {session.run_id} has no running strides to export")
    out = _Writer()
    first, last = records[0].unix_s, records[-1].unix_s
    elapsed_ms = (last - first) * 1000
    out.message(
        0,
        _FILE_ID,
        [
            (0, _ENUM, 4),
            (1, _UINT16, 255),
            (2, _UINT16, 1),
            (3, _UINT32Z, 1),
            (4, _UINT32, _fit_time(first)),
        ],
    )
    # event: timer (0) start (0)
    out.message(1, _EVENT, [(_TIMESTAMP, _UINT32, _fit_time(first)), (0, _ENUM, 0), (1, _ENUM, 0)])
    _describe_pronation(out)
    out.define(2, _RECORD, _RECORD_FIELDS, developer=[(_PRONATION_FIELD, 2, 0)])
    for r in records:
        out.data(2, _record_values(r), developer=struct.pack("<H", _pronation_raw(r)))
    # event: timer stop_all (4)
    out.message(1, _EVENT, [(_TIMESTAMP, _UINT32, _fit_time(last)), (0, _ENUM, 0), (1, _ENUM, 4)])
    distance = records[-1].distance_m
    dist = _INVALID[_UINT32] if distance is None else round(distance * 100)
    common = [
        (_TIMESTAMP, _UINT32, _fit_time(last)),
        (2, _UINT32, _fit_time(first)),  # start_time
        (7, _UINT32, elapsed_ms),  # total_elapsed_time, s x1000
        (8, _UINT32, elapsed_ms),  # total_timer_time
        (9, _UINT32, dist),  # total_distance, m x100
    ]
    # lap: event lap (9), event_type stop (1)
    out.message(3, _LAP, [*common, (0, _ENUM, 9), (1, _ENUM, 1)])
    # session: sport running (1), sub_sport generic (0), one lap
    out.message(
        4,
        _SESSION,
        [
            *common,
            (0, _ENUM, 8),
            (1, _ENUM, 1),
            (5, _ENUM, 1),
            (6, _ENUM, 0),
            (25, _UINT16, 0),
            (26, _UINT16, 1),
        ],
    )
    # activity: one session, manual, event activity (26) stop (1)
    out.message(
        5,
        _ACTIVITY,
        [
            (_TIMESTAMP, _UINT32, _fit_time(last)),
            (0, _UINT32, elapsed_ms),
            (1, _UINT16, 1),
            (2, _ENUM, 0),
            (3, _ENUM, 26),
            (4, _ENUM, 1),
        ],
    )
    return out.file()


def _record_values(r: FitRecord) -> list[int]:
    strides = r.cadence_strides_min
    whole = math.floor(strides)
    fraction = round((strides - whole) * 128)
    if fraction == 128:
        whole, fraction = whole + 1, 0
    if not 0 <= whole < 255:
        raise FitError(f"cadence {2 * strides:.0f} steps/min does not fit a FIT record")
    return [
        _fit_time(r.unix_s),
        _scaled(r.distance_m, 100, _UINT32),
        _scaled(r.speed_mps, 1000, _UINT16),
        whole,
        fraction,
        _scaled(r.stance_time_ms, 10, _UINT16),
        _scaled(r.stance_time_balance_pct, 100, _UINT16),
        _scaled(r.step_length_mm, 10, _UINT16),
    ]


def _describe_pronation(out: _Writer) -> None:
    """developer_data_id and field_description: what the records' developer field is."""
    out.raw_message(
        6,
        _DEVELOPER_DATA_ID,
        [(1, _BYTE, _APPLICATION_ID), (3, _UINT8, bytes((0,)))],
    )
    out.raw_message(
        7,
        _FIELD_DESCRIPTION,
        [
            (0, _UINT8, bytes((0,))),  # developer_data_index
            (1, _UINT8, bytes((_PRONATION_FIELD,))),  # field_definition_number
            (2, _UINT8, bytes((_UINT16,))),  # fit_base_type_id
            (3, _STRING, b"pronation\0"),  # field_name
            (6, _UINT8, bytes((_PRONATION_SCALE,))),  # scale
            (8, _STRING, b"deg\0"),  # units
        ],
    )


def _pronation_raw(r: FitRecord) -> int:
    return _scaled(r.pronation_deg, _PRONATION_SCALE, _UINT16)


def _scaled(value: float | None, scale: float, base: int) -> int:
    invalid = _INVALID[base]
    if value is None or not math.isfinite(value):
        return invalid
    raw = round(value * scale)
    # the invalid value is reserved: anything at or above it is clipped below it
    return min(max(raw, 0), invalid - 1)


def _fit_time(unix_s: int) -> int:
    return int(unix_s) - FIT_EPOCH_UNIX


class _Writer:
    def __init__(self) -> None:
        self._body = bytearray()
        self._defined: dict[int, tuple[tuple[int, int], ...]] = {}

    def define(
        self,
        local: int,
        global_num: int,
        fields: Sequence[tuple[int, int]],
        developer: Sequence[tuple[int, int, int]] = (),
    ) -> None:
        """A definition message; `developer` lists (field number, size, developer
        index) of developer fields, which follow the profile fields in each record."""
        flag = 0x20 if developer else 0
        self._body += struct.pack("<BBBHB", 0x40 | flag | local, 0, 0, global_num, len(fields))
        for num, base in fields:
            self._body += struct.pack("<BBB", num, struct.calcsize(_FORMAT[base]), base)
        if developer:
            self._body += struct.pack("<B", len(developer))
            for num, size, index in developer:
                self._body += struct.pack("<BBB", num, size, index)
        self._defined[local] = tuple(fields)

    def data(self, local: int, values: Sequence[int], developer: bytes = b"") -> None:
        fields = self._defined[local]
        fmt = "<B" + "".join(_FORMAT[base] for _, base in fields)
        self._body += struct.pack(fmt, local, *values) + developer

    def raw_message(
        self, local: int, global_num: int, fields: Sequence[tuple[int, int, bytes]]
    ) -> None:
        """A definition and one data message of fields given as their bytes (strings
        and byte arrays, whose size is their value's)."""
        self._body += struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields))
        for num, base, value in fields:
            self._body += struct.pack("<BBB", num, len(value), base)
        self._body += bytes((local,)) + b"".join(value for _, _, value in fields)

    def message(self, local: int, global_num: int, fields: Sequence[tuple[int, int, int]]) -> None:
        self.define(local, global_num, [(num, base) for num, base, _ in fields])
        self.data(local, [value for _, _, value in fields])

    def file(self) -> bytes:
        header = struct.pack(
            "<BBHI4s", 14, _PROTOCOL_VERSION, _PROFILE_VERSION, len(self._body), b".FIT"
        )
        header += struct.pack("<H", crc16(header))
        data = header + bytes(self._body)
        return data + struct.pack("<H", crc16(data))


_CRC_TABLE = (
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
)  # fmt: skip


def crc16(data: bytes, crc: int = 0) -> int:
    """FIT's CRC-16 (polynomial 0xA001, nibble-wise as the FIT protocol specifies)."""
    for byte in data:
        tmp = _CRC_TABLE[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC_TABLE[byte & 0xF]
        tmp = _CRC_TABLE[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC_TABLE[(byte >> 4) & 0xF]
    return crc
