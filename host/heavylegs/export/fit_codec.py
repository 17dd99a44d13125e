"""FIT's binary layer: base types, definition and data messages, developer fields, CRC.

A FIT file is a 14-byte header, then definition messages that declare each local
message's fields and data messages that fill them, then a CRC over everything.
Nothing here knows what a run is: fit.py says which messages carry what.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

FIT_EPOCH_UNIX = 631_065_600  # 1989-12-31T00:00:00Z
PROFILE_VERSION = 2132
_PROTOCOL_VERSION = 0x20  # 2.0: developer fields

# Base types (FIT SDK table): the code carries the endian-ability bit.
ENUM, SINT8, UINT8, UINT16, UINT32 = 0x00, 0x01, 0x02, 0x84, 0x86
STRING, FLOAT32, UINT8Z, UINT16Z, UINT32Z, BYTE = 0x07, 0x88, 0x0A, 0x8B, 0x8C, 0x0D
_FORMAT = {
    ENUM: "B",
    SINT8: "b",
    UINT8: "B",
    UINT16: "H",
    UINT32: "I",
    FLOAT32: "f",
    UINT8Z: "B",
    UINT16Z: "H",
    UINT32Z: "I",
}
INVALID = {
    ENUM: 0xFF,
    SINT8: 0x7F,
    UINT8: 0xFF,
    UINT16: 0xFFFF,
    UINT32: 0xFFFF_FFFF,
    UINT8Z: 0,
    UINT16Z: 0,
    UINT32Z: 0,
}
TIMESTAMP = 253
MESSAGE_INDEX = 254


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a message layout: its number, base type and size in bytes."""

    num: int
    base: int
    size: int = 0

    @property
    def width(self) -> int:
        return self.size or struct.calcsize(_FORMAT[self.base])


@dataclass(frozen=True, slots=True)
class DevField:
    """A developer field in a message layout (float32 values)."""

    num: int
    developer_index: int = 0


def fit_time(unix_s: float) -> int:
    return int(math.floor(unix_s)) - FIT_EPOCH_UNIX


def scaled(value: float | None, scale: float, base: int) -> int:
    """A value in its FIT units, or the base type's invalid value when unknown."""
    invalid = INVALID[base]
    if value is None or not math.isfinite(value):
        return invalid
    raw = round(value * scale)
    # the invalid value is reserved: anything at or above it is clipped below it
    return min(max(raw, 0), invalid - 1)


class FitWriter:
    """Builds a FIT file message by message."""

    def __init__(self) -> None:
        self._body = bytearray()
        self._defined: dict[int, tuple[tuple[Field, ...], tuple[DevField, ...]]] = {}

    def define(
        self,
        local: int,
        global_num: int,
        fields: Sequence[Field],
        dev_fields: Sequence[DevField] = (),
    ) -> None:
        header = 0x40 | (0x20 if dev_fields else 0) | local
        self._body += struct.pack("<BBBHB", header, 0, 0, global_num, len(fields))
        for f in fields:
            self._body += struct.pack("<BBB", f.num, f.width, f.base)
        if dev_fields:
            self._body += struct.pack("<B", len(dev_fields))
            for d in dev_fields:
                self._body += struct.pack("<BBB", d.num, 4, d.developer_index)
        self._defined[local] = (tuple(fields), tuple(dev_fields))

    def data(
        self, local: int, values: Sequence[object], dev_values: Sequence[float | None] = ()
    ) -> None:
        fields, dev_fields = self._defined[local]
        if len(values) != len(fields) or len(dev_values) != len(dev_fields):
            raise ValueError(f"local message {local}: values do not match its definition")
        out = bytearray(struct.pack("<B", local))
        for f, value in zip(fields, values, strict=True):
            out += _pack(f, value)
        for value in dev_values:
            out += _pack(Field(0, FLOAT32), value)
        self._body += out

    def message(self, local: int, global_num: int, fields: Sequence[tuple[Field, object]]) -> None:
        """Define and write a message that occurs once."""
        self.define(local, global_num, [f for f, _ in fields])
        self.data(local, [value for _, value in fields])

    def file(self) -> bytes:
        header = struct.pack(
            "<BBHI4s", 14, _PROTOCOL_VERSION, PROFILE_VERSION, len(self._body), b".FIT"
        )
        header += struct.pack("<H", crc16(header))
        data = header + bytes(self._body)
        return data + struct.pack("<H", crc16(data))


def _pack(f: Field, value: object) -> bytes:
    if f.base == STRING:
        text = str(value).encode("utf-8")[: f.width - 1]
        return text + b"\0" * (f.width - len(text))
    if f.base == BYTE:
        if not isinstance(value, bytes):
            raise TypeError(f"field {f.num}: bytes expected, got {type(value).__name__}")
        raw = value
        if len(raw) != f.width:
            raise ValueError(f"field {f.num}: {len(raw)} bytes for a {f.width}-byte field")
        return raw
    if f.base == FLOAT32:
        if value is None or not math.isfinite(float(value)):  # type: ignore[arg-type]
            return b"\xff\xff\xff\xff"
        return struct.pack("<f", float(value))  # type: ignore[arg-type]
    return struct.pack("<" + _FORMAT[f.base], int(value))  # type: ignore[call-overload]


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
