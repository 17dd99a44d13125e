"""The pod's GATT table on the bridge's bumble device, built from REGISTER frames.

The firmware keeps its values; the bridge keeps a copy of each (`_Slot`) for the
central's reads, and hands the central's writes back to the firmware through
`on_central_write`. Frame layouts: simlink_proto.py.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from bumble import att, core, gatt, hci
from bumble.device import Connection, Device

from heavylegs.sim.board import simlink_proto as proto

__all__ = ["BLE_HS_ENOTCONN", "GattTable", "Reader", "Slot", "address_bytes"]

# NimBLE status codes the real port reports in IRQ 20.
BLE_HS_ENOTCONN = 7
_BLE_HS_ETIMEOUT = 13

_PROPERTY_BITS = 0x7F
_DESC_READ = 0x01
_DESC_WRITE = 0x02
_P = att.Attribute.Permissions
_SECURITY_PERMISSIONS = (
    (0x0200, _P.READ_REQUIRES_ENCRYPTION),
    (0x0400, _P.READ_REQUIRES_AUTHENTICATION),
    (0x0800, _P.READ_REQUIRES_AUTHORIZATION),
    (0x1000, _P.WRITE_REQUIRES_ENCRYPTION),
    (0x2000, _P.WRITE_REQUIRES_AUTHENTICATION),
    (0x4000, _P.WRITE_REQUIRES_AUTHORIZATION),
)


@dataclass
class Slot:
    """The bridge's copy of one firmware value, for reads by the central."""

    readable: bool
    writable: bool
    value: bytes = b""
    buffer_len: int = proto.DEFAULT_VALUE_LEN
    append: bool = False
    attribute: att.Attribute[bytes] | None = field(default=None, repr=False)

    @property
    def handle(self) -> int:
        return self.attribute.handle if self.attribute is not None else 0

    def write_local(self, value: bytes) -> None:
        self.value = value
        self.buffer_len = max(self.buffer_len, len(value))

    def write_remote(self, value: bytes) -> None:
        # Same rule as the firmware's table: bounded by the buffer, maybe appended.
        kept = self.value if self.append else b""
        self.value = (kept + value)[: self.buffer_len]


class Reader:
    def __init__(self, payload: bytes) -> None:
        self._data = payload
        self._pos = 0

    def take(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise ValueError("truncated frame")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "little")

    def uuid(self) -> core.UUID:
        return core.UUID.from_bytes(self.take(self.u8()))

    def rest(self) -> bytes:
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk


def address_bytes(address: hci.Address) -> bytes:
    kind = 0 if address.is_public else 1
    return bytes((kind,)) + bytes(reversed(address.address_bytes))


class GattTable:
    """The services a firmware registered, as bumble attributes on `device`."""

    def __init__(
        self,
        device: Device,
        on_central_write: Callable[[bytes], None],
        on_indicate_done: Callable[[bytes], None],
    ) -> None:
        self.device = device
        self.on_central_write = on_central_write  # u16 conn, u16 handle, value
        self.on_indicate_done = on_indicate_done  # u16 conn, u16 handle, u8 status
        self._indications: dict[asyncio.Task[None], tuple[int, int]] = {}
        self.slots: dict[int, Slot] = {}
        server = device.gatt_server
        self._base_attributes = len(server.attributes)
        self._base_services = len(server.services)

    def register(self, frame: Reader) -> bytes:
        """Replace the table with the REGISTER frame's; its handles. ValueError or
        KeyError: a bad frame (the table is left as it was)."""
        services, ordered = self._parse_services(frame)
        self.reset()
        for service in services:
            self.device.gatt_server.add_service(service)
        self.slots = {slot.handle: slot for slot in ordered}
        return b"".join(struct.pack("<H", slot.handle) for slot in ordered)

    def _parse_services(self, frame: Reader) -> tuple[list[gatt.Service], list[Slot]]:
        server = self.device.gatt_server
        services: list[gatt.Service] = []
        ordered: list[Slot] = []
        for _ in range(frame.u8()):
            service_uuid = frame.uuid()
            characteristics = []
            for _ in range(frame.u8()):
                char_uuid, flags = frame.uuid(), frame.u16()
                slot = Slot(
                    readable=bool(flags & proto.FLAG_READ),
                    writable=bool(flags & (proto.FLAG_WRITE | proto.FLAG_WRITE_NO_RESPONSE)),
                )
                characteristic: gatt.Characteristic[bytes] = gatt.Characteristic(
                    char_uuid,
                    gatt.Characteristic.Properties(flags & _PROPERTY_BITS),
                    self._permissions(slot, flags),
                    self._attribute_value(slot),
                )
                slot.attribute = characteristic
                ordered.append(slot)
                descriptors: list[gatt.Descriptor] = []
                if flags & (proto.FLAG_NOTIFY | proto.FLAG_INDICATE):
                    descriptors.append(
                        gatt.Descriptor(
                            gatt.GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
                            _P.READABLE | _P.WRITEABLE,
                            server.make_descriptor_value(characteristic),
                        )
                    )
                for _ in range(frame.u8()):
                    desc_uuid, desc_flags = frame.uuid(), frame.u16()
                    desc_slot = Slot(
                        readable=bool(desc_flags & _DESC_READ),
                        writable=bool(desc_flags & _DESC_WRITE),
                    )
                    descriptor = gatt.Descriptor(
                        desc_uuid,
                        self._permissions(desc_slot, desc_flags),
                        self._attribute_value(desc_slot),
                    )
                    desc_slot.attribute = descriptor
                    descriptors.append(descriptor)
                    ordered.append(desc_slot)
                characteristic.descriptors = descriptors
                characteristics.append(characteristic)
            services.append(gatt.Service(service_uuid, characteristics))
        return services, ordered

    @staticmethod
    def _permissions(slot: Slot, flags: int) -> att.Attribute.Permissions:
        permissions = _P(0)
        if slot.readable:
            permissions |= _P.READABLE
        if slot.writable:
            permissions |= _P.WRITEABLE
        for bit, permission in _SECURITY_PERMISSIONS:
            if flags & bit:
                permissions |= permission
        return permissions

    def _attribute_value(self, slot: Slot) -> att.AttributeValue[bytes]:
        # bumble 0.0.236 does not check READABLE/WRITEABLE itself.
        def read(connection: Connection) -> bytes:
            if not slot.readable:
                raise att.ATT_Error(att.ATT_READ_NOT_PERMITTED_ERROR, slot.handle)
            return slot.value

        def write(connection: Connection, value: bytes) -> None:
            if not slot.writable:
                raise att.ATT_Error(att.ATT_WRITE_NOT_PERMITTED_ERROR, slot.handle)
            slot.write_remote(value)
            head = struct.pack("<HH", connection.handle, slot.handle)
            self.on_central_write(head + value)

        return att.AttributeValue(read=read, write=write)

    def reset(self) -> None:
        server = self.device.gatt_server
        del server.attributes[self._base_attributes :]
        del server.services[self._base_services :]
        server.attributes_by_handle.clear()
        self.slots = {}

    def start_indication(
        self, connection: Connection, attribute: att.Attribute[bytes], value: bytes
    ) -> None:
        # Confirmations come later; the frame loop must keep going meanwhile.
        task = asyncio.create_task(self._indication(connection, attribute, value))
        self._indications[task] = (connection.handle, attribute.handle)

    async def _indication(
        self, connection: Connection, attribute: att.Attribute[bytes], value: bytes
    ) -> None:
        status = 0
        try:
            await self.device.gatt_server.indicate_subscriber(
                connection, attribute, value, force=True
            )
        except TimeoutError:
            status = _BLE_HS_ETIMEOUT
        finally:
            # A cancelled indication was already reported by _cancel_indications.
            ids = self._indications.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
        if ids is not None:
            self.on_indicate_done(struct.pack("<HHB", *ids, status))

    def cancel_indications(self, conn: int | None = None) -> None:
        # bumble would wait 30 s for a confirmation that can no longer come;
        # NimBLE fails the indication at once, before the link-down event.
        for task, ids in list(self._indications.items()):
            if conn is None or ids[0] == conn:
                del self._indications[task]
                task.cancel()
                self.on_indicate_done(struct.pack("<HHB", *ids, BLE_HS_ENOTCONN))
