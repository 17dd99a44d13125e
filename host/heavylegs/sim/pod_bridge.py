"""Bridge between one simulated pod (a `micropython` process) and the simulated radio.

The firmware runs unmodified in the real unix-port binary; its ``import
bluetooth`` finds the stand-in in ``sim/board/``, which talks to a
`PodBridge` over a Unix stream socket. The bridge drives a bumble peripheral
`Device` on a `SimRadio`: advertising, connections and a real GATT server
whose values live in the firmware.

Usage::

    async with SimRadio() as radio, PodBridge(radio, tmp / "pod.sock", "F0:00:00:00:00:01") as bridge:
        proc = await bridge.spawn("firmware/main.py", extra_path=["firmware"])
        ...  # bleak code with backend=SimBleakClient
        proc.kill()

Frame protocol
--------------
Every frame is ``u16 LE body length`` then the body: ``u8 type`` and the
payload. Integers are little-endian. ``uuid`` is ``u8 n`` (2, 4 or 16) then
n bytes little-endian; ``addr`` is ``u8 type`` (0 public, 1 random) then 6
bytes most significant first (MicroPython's order).

Board -> host:

====  ===========  ===================================================================
0x01  HELLO        u8 protocol version (1). Answered by HELLO_ACK.
0x02  ACTIVE       u8 0/1. 0 stops advertising and drops connections.
0x03  CONFIG       u8 key, value. 1 = GAP device name (UTF-8), 2 = preferred MTU (u16).
0x04  ADVERTISE    u32 interval_us (0 = stop), u8 connectable, u8 adv length,
                   advertising data, scan response data (the rest).
0x05  REGISTER     u8 services; per service: uuid, u8 characteristics; per
                   characteristic: uuid, u16 flags, u8 descriptors; per descriptor:
                   uuid, u16 flags. Answered by REGISTERED. Replaces all services.
0x06  WRITE_LOCAL  u16 value handle, u16 bit0 = send_update, value (gatts_write).
0x07  NOTIFY       u16 conn, u16 value handle, value.
0x08  INDICATE     u16 conn, u16 value handle, value. Answered by INDICATE_DONE.
0x09  SET_BUFFER   u16 value handle, u16 buffer length, u8 append.
0x0A  DISCONNECT   u16 conn.
0x80+ board event  opaque; handed to ``on_board_event(type, payload)``.
====  ===========  ===================================================================

Host -> board:

====  ==================  ==========================================================
0x41  HELLO_ACK           u8 protocol version, addr (the pod's own address).
0x45  REGISTERED          u8 status (0 or an errno), then u16 handles: per
                          characteristic its value handle, then its descriptors'.
0x50  CENTRAL_CONNECT     u16 conn, addr of the central.            -> IRQ 1
0x51  CENTRAL_DISCONNECT  u16 conn, addr of the central.            -> IRQ 2
0x52  CENTRAL_WRITE       u16 conn, u16 handle, value as written.   -> IRQ 3
0x53  INDICATE_DONE       u16 conn, u16 value handle, u8 status.    -> IRQ 20
0x54  MTU_EXCHANGED       u16 conn, u16 MTU.                        -> IRQ 21
====  ==================  ==========================================================

Characteristic flags are MicroPython's ``FLAG_*`` (GATT properties in the low
byte, ``0x0200``.. security bits). Descriptor flags are ATT permissions as
on NimBLE: bit 0 read, bit 1 write (aioble's ``_FLAG_DESC_READ = 1``). A
CCCD is inserted right after the value of every notify/indicate
characteristic, as NimBLE does; its handle is not returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import os
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bumble import att, core, gatt, hci
from bumble.device import AdvertisingType, Connection, Device

from heavylegs import paths
from heavylegs.sim.board import simlink_proto as proto
from heavylegs.sim.radio import SimRadio

__all__ = ["BoardEventCallback", "MsgType", "PodBridge"]

logger = logging.getLogger(__name__)


BoardEventCallback = Callable[[int, bytes], "Awaitable[None] | None"]


class MsgType(enum.IntEnum):
    """The frame types of simlink_proto, as an enum for logs and type checks."""

    HELLO = proto.MSG_HELLO
    ACTIVE = proto.MSG_ACTIVE
    CONFIG = proto.MSG_CONFIG
    ADVERTISE = proto.MSG_ADVERTISE
    REGISTER = proto.MSG_REGISTER
    WRITE_LOCAL = proto.MSG_WRITE_LOCAL
    NOTIFY = proto.MSG_NOTIFY
    INDICATE = proto.MSG_INDICATE
    SET_BUFFER = proto.MSG_SET_BUFFER
    DISCONNECT = proto.MSG_DISCONNECT
    BEACON = proto.MSG_BEACON
    HELLO_ACK = proto.MSG_HELLO_ACK
    REGISTERED = proto.MSG_REGISTERED
    CENTRAL_CONNECT = proto.MSG_CENTRAL_CONNECT
    CENTRAL_DISCONNECT = proto.MSG_CENTRAL_DISCONNECT
    CENTRAL_WRITE = proto.MSG_CENTRAL_WRITE
    INDICATE_DONE = proto.MSG_INDICATE_DONE
    MTU_EXCHANGED = proto.MSG_MTU_EXCHANGED
    BEACON_DONE = proto.MSG_BEACON_DONE


_PROPERTY_BITS = 0x7F
_DESC_READ = 0x01
_DESC_WRITE = 0x02
# NimBLE status codes the real port reports in IRQ 20.
_BLE_HS_ENOTCONN = 7
_BLE_HS_ETIMEOUT = 13
_DISCONNECT_POWER_OFF = hci.HCI_REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_POWER_OFF_ERROR

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
class _Slot:
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


class _Reader:
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


def _address_bytes(address: hci.Address) -> bytes:
    kind = 0 if address.is_public else 1
    return bytes((kind,)) + bytes(reversed(address.address_bytes))


class PodBridge:
    """Serves one `micropython` process at a time on `socket_path` as a pod on `radio`.

    Args:
        radio: the started `SimRadio` the pod advertises on.
        socket_path: Unix socket to listen on (created; removed on close).
        address: the pod's address, e.g. ``"F0:00:00:00:00:01"``.
        public: public address (ESP32-like) or, if False, a static random one.
        name: bumble device name; the firmware's ``config(gap_name=...)`` replaces it.
        on_board_event: called as ``on_board_event(msgtype, payload)`` for board
            events (types >= 0x80); may return an awaitable, which is awaited
            before the next frame.
        rssi_dbm: RSSI the central sees in this pod's advertisements.

    A process that connects after the previous one ended is a reboot: it
    starts with no services and no advertising.
    """

    def __init__(
        self,
        radio: SimRadio,
        socket_path: str | os.PathLike[str],
        address: str,
        *,
        public: bool = True,
        name: str = "pod",
        on_board_event: BoardEventCallback | None = None,
        rssi_dbm: int = -50,
    ) -> None:
        self.radio = radio
        self.socket_path = Path(socket_path)
        self.address = address.upper()
        self.public = public
        self.name = name
        self.on_board_event = on_board_event
        # Awaited when the pod's radio comes back on and advertises (a record-only
        # beacon) before the pod goes on: a central may connect meanwhile.
        self.on_beacon: Callable[[], Awaitable[None]] | None = None
        self.rssi_dbm = rssi_dbm
        self.attached = asyncio.Event()
        self.advertising_log: list[int] = []  # every interval the firmware set, 0 = stopped
        self.detached = asyncio.Event()
        self._device: Device | None = None
        self._server: asyncio.AbstractServer | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._session: asyncio.Task[None] | None = None
        self._slots: dict[int, _Slot] = {}
        self._base_attributes = 0
        self._base_services = 0
        self._indications: dict[asyncio.Task[None], tuple[int, int]] = {}

    @property
    def device(self) -> Device:
        if self._device is None:
            raise RuntimeError("PodBridge is not started")
        return self._device

    async def start(self) -> PodBridge:
        self._device = await self.radio.add_peripheral(
            self.address, public=self.public, name=self.name, rssi_dbm=self.rssi_dbm
        )
        self._device.on(self._device.EVENT_CONNECTION, self._on_connection)
        server = self._device.gatt_server
        self._base_attributes = len(server.attributes)
        self._base_services = len(server.services)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self._server = await asyncio.start_unix_server(self._on_board, path=str(self.socket_path))
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        session, writer = self._session, self._writer
        if session is not None and not session.done():
            # Hanging up lets the session finish its frame and detach itself:
            # cancelling it inside a bumble HCI command breaks bumble's host.
            if writer is not None:
                writer.close()
            try:
                await asyncio.wait_for(asyncio.shield(session), 5.0)
            except TimeoutError:
                session.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await session
        if self._device is not None:
            await self.radio.remove_peripheral(self._device)
            self._device = None
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def __aenter__(self) -> PodBridge:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def env(self, extra_path: Iterable[str | os.PathLike[str]] = ()) -> dict[str, str]:
        """Environment for a `micropython` process served by this bridge."""
        path = [str(paths.SIM_BOARD_DIR), *(str(p) for p in extra_path), ".frozen"]
        return {
            **os.environ,
            "HEAVYLEGS_SIM_SOCKET": str(self.socket_path),
            "MICROPYPATH": ":".join(path),
        }

    async def spawn(
        self,
        script: str | os.PathLike[str],
        *args: str,
        extra_path: Iterable[str | os.PathLike[str]] = (),
        heapsize: str | None = None,
        **kwargs: object,
    ) -> asyncio.subprocess.Process:
        """Start `micropython script args...` with the sim board modules first on its path.

        `kwargs` go to `asyncio.create_subprocess_exec` (e.g. ``stdout=PIPE``).
        """
        options = ["-X", f"heapsize={heapsize}"] if heapsize else []
        return await asyncio.create_subprocess_exec(
            paths.micropython_binary(),
            *options,
            str(script),
            *args,
            env=self.env(extra_path),
            **kwargs,  # type: ignore[arg-type]
        )

    # -- board side -------------------------------------------------------

    async def _on_board(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:
            logger.warning("%s: a second board tried to attach; refused", self.address)
            writer.close()
            return
        previous, self._session, self._writer = self._session, asyncio.current_task(), writer
        try:
            if previous is not None and not previous.done():
                # A reboot: the previous process's session is still tidying up.
                await asyncio.shield(previous)
            self.detached.clear()
            while True:
                (length,) = struct.unpack("<H", await reader.readexactly(2))
                body = await reader.readexactly(length) if length else b""
                if body:
                    await self._on_frame(body[0], body[1:])
        except (asyncio.IncompleteReadError, ConnectionError):
            logger.debug("%s: board went away", self.address)
        finally:
            await self._detach(writer)

    async def _detach(self, writer: asyncio.StreamWriter) -> None:
        if self._writer is writer:
            self._writer = None
        self.attached.clear()
        with contextlib.suppress(Exception):
            await self._reset_radio()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        if self._session is asyncio.current_task():
            self._session = None
        self.detached.set()

    async def _reset_radio(self) -> None:
        self._cancel_indications()
        device = self.device
        await device.stop_advertising()
        for connection in list(device.connections.values()):
            with contextlib.suppress(Exception):
                await connection.disconnect(reason=_DISCONNECT_POWER_OFF)

    def _send(self, msgtype: MsgType, payload: bytes = b"") -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            return
        writer.write(struct.pack("<HB", len(payload) + 1, msgtype) + payload)

    async def _on_frame(self, msgtype: int, payload: bytes) -> None:
        if msgtype >= proto.BOARD_EVENT_MIN:
            await self._board_event(msgtype, payload)
            return
        handler = self._handlers.get(msgtype)
        if handler is None:
            logger.warning("%s: unknown frame type 0x%02X ignored", self.address, msgtype)
            return
        try:
            await handler(self, _Reader(payload))
        except Exception:
            # One bad frame must not take the pod off the air (nor the host down).
            logger.exception("%s: frame type 0x%02X failed", self.address, msgtype)

    async def _board_event(self, msgtype: int, payload: bytes) -> None:
        if self.on_board_event is None:
            return
        try:
            result = self.on_board_event(msgtype, payload)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("%s: on_board_event failed for type 0x%02X", self.address, msgtype)

    async def _hello(self, frame: _Reader) -> None:
        version = frame.u8()
        if version != proto.PROTOCOL_VERSION:
            logger.warning(
                "%s: board speaks protocol %d, bridge %d",
                self.address,
                version,
                proto.PROTOCOL_VERSION,
            )
        await self._reset_radio()
        self._reset_services()
        identity = self.radio.identity_address(self.device)
        self._send(MsgType.HELLO_ACK, bytes((proto.PROTOCOL_VERSION,)) + _address_bytes(identity))
        self.attached.set()

    async def _active(self, frame: _Reader) -> None:
        if not frame.u8():
            await self._reset_radio()
            self._reset_services()

    async def _config(self, frame: _Reader) -> None:
        key = frame.u8()
        if key == proto.CONFIG_GAP_NAME:
            name = frame.rest()
            self.device.name = name.decode("utf-8", "replace")
            for attribute in self.device.gatt_server.attributes:
                if attribute.type == gatt.GATT_DEVICE_NAME_CHARACTERISTIC:
                    attribute.value = name
        elif key == proto.CONFIG_MTU:
            self.device.gatt_server.max_mtu = frame.u16()

    async def _advertise(self, frame: _Reader) -> None:
        (interval_us,) = struct.unpack("<I", frame.take(4))
        connectable = bool(frame.u8())
        adv_data = frame.take(frame.u8())
        resp_data = frame.rest()
        device = self.device
        self.advertising_log.append(interval_us)
        if interval_us == 0:
            await device.stop_advertising()
            return
        if connectable:
            kind = AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE
        elif resp_data:
            kind = AdvertisingType.UNDIRECTED_SCANNABLE
        else:
            kind = AdvertisingType.UNDIRECTED
        await device.start_advertising(
            advertising_type=kind,
            own_address_type=hci.OwnAddressType.PUBLIC
            if self.public
            else hci.OwnAddressType.RANDOM,
            advertising_data=adv_data,
            scan_response_data=resp_data,
            advertising_interval_min=interval_us / 1000,
            advertising_interval_max=interval_us / 1000,
        )

    async def _register(self, frame: _Reader) -> None:
        try:
            services, ordered = self._parse_services(frame)
        except (ValueError, KeyError) as error:
            logger.warning("%s: bad REGISTER frame: %s", self.address, error)
            self._send(MsgType.REGISTERED, bytes((22,)))  # EINVAL
            return
        self._reset_services()
        for service in services:
            self.device.gatt_server.add_service(service)
        self._slots = {slot.handle: slot for slot in ordered}
        handles = b"".join(struct.pack("<H", slot.handle) for slot in ordered)
        self._send(MsgType.REGISTERED, b"\x00" + handles)

    def _parse_services(self, frame: _Reader) -> tuple[list[gatt.Service], list[_Slot]]:
        server = self.device.gatt_server
        services: list[gatt.Service] = []
        ordered: list[_Slot] = []
        for _ in range(frame.u8()):
            service_uuid = frame.uuid()
            characteristics = []
            for _ in range(frame.u8()):
                char_uuid, flags = frame.uuid(), frame.u16()
                slot = _Slot(
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
                    desc_slot = _Slot(
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
    def _permissions(slot: _Slot, flags: int) -> att.Attribute.Permissions:
        permissions = _P(0)
        if slot.readable:
            permissions |= _P.READABLE
        if slot.writable:
            permissions |= _P.WRITEABLE
        for bit, permission in _SECURITY_PERMISSIONS:
            if flags & bit:
                permissions |= permission
        return permissions

    def _attribute_value(self, slot: _Slot) -> att.AttributeValue[bytes]:
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
            self._send(MsgType.CENTRAL_WRITE, head + value)

        return att.AttributeValue(read=read, write=write)

    def _reset_services(self) -> None:
        server = self.device.gatt_server
        del server.attributes[self._base_attributes :]
        del server.services[self._base_services :]
        server.attributes_by_handle.clear()
        self._slots = {}

    async def _write_local(self, frame: _Reader) -> None:
        handle, options = frame.u16(), frame.u16()
        value = frame.rest()
        slot = self._slots.get(handle)
        if slot is None or slot.attribute is None:
            return
        slot.write_local(value)
        if not options & 1:
            return
        server = self.device.gatt_server
        for connection in list(self.device.connections.values()):
            cccd = server.subscribers.get(connection, {}).get(handle, b"\x00\x00")
            if cccd[0] & 0x01:
                await server.notify_subscriber(connection, slot.attribute, value, force=True)
            elif cccd[0] & 0x02:
                self._start_indication(connection, slot.attribute, value)

    async def _notify(self, frame: _Reader) -> None:
        conn, handle = frame.u16(), frame.u16()
        connection = self.device.connections.get(conn)
        attribute = self.device.gatt_server.get_attribute(handle)
        if connection is None or attribute is None:
            return
        value = frame.rest()
        # MicroPython notifies whatever the CCCD says; bumble truncates to MTU-3.
        await self.device.gatt_server.notify_subscriber(connection, attribute, value, force=True)

    async def _indicate(self, frame: _Reader) -> None:
        conn, handle = frame.u16(), frame.u16()
        connection = self.device.connections.get(conn)
        attribute = self.device.gatt_server.get_attribute(handle)
        if connection is None or attribute is None:
            self._send(MsgType.INDICATE_DONE, struct.pack("<HHB", conn, handle, _BLE_HS_ENOTCONN))
            return
        self._start_indication(connection, attribute, frame.rest())

    def _start_indication(
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
            self._send(MsgType.INDICATE_DONE, struct.pack("<HHB", *ids, status))

    def _cancel_indications(self, conn: int | None = None) -> None:
        # bumble would wait 30 s for a confirmation that can no longer come;
        # NimBLE fails the indication at once, before the link-down event.
        for task, ids in list(self._indications.items()):
            if conn is None or ids[0] == conn:
                del self._indications[task]
                task.cancel()
                self._send(MsgType.INDICATE_DONE, struct.pack("<HHB", *ids, _BLE_HS_ENOTCONN))

    async def _set_buffer(self, frame: _Reader) -> None:
        handle, buffer_len, append = frame.u16(), frame.u16(), frame.u8()
        slot = self._slots.get(handle)
        if slot is not None:
            slot.buffer_len, slot.append, slot.value = buffer_len, bool(append), b""

    async def _disconnect(self, frame: _Reader) -> None:
        connection = self.device.connections.get(frame.u16())
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect()

    async def _beacon(self, frame: _Reader) -> None:
        try:
            if self.on_beacon is not None:
                await self.on_beacon()
        except Exception:
            logger.exception("%s: on_beacon failed", self.address)
        finally:
            self._send(MsgType.BEACON_DONE)

    _handlers: dict[int, Callable[[PodBridge, _Reader], Awaitable[None]]] = {
        MsgType.HELLO: _hello,
        MsgType.ACTIVE: _active,
        MsgType.CONFIG: _config,
        MsgType.ADVERTISE: _advertise,
        MsgType.REGISTER: _register,
        MsgType.WRITE_LOCAL: _write_local,
        MsgType.NOTIFY: _notify,
        MsgType.INDICATE: _indicate,
        MsgType.SET_BUFFER: _set_buffer,
        MsgType.DISCONNECT: _disconnect,
        MsgType.BEACON: _beacon,
    }

    # -- radio side -------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        def on_mtu() -> None:
            self._send(
                MsgType.MTU_EXCHANGED, struct.pack("<HH", connection.handle, connection.att_mtu)
            )

        def on_disconnection(reason: int) -> None:
            self._cancel_indications(connection.handle)
            self._send(
                MsgType.CENTRAL_DISCONNECT,
                struct.pack("<H", connection.handle) + _address_bytes(connection.peer_address),
            )

        connection.on(connection.EVENT_CONNECTION_ATT_MTU_UPDATE, on_mtu)
        connection.on(connection.EVENT_DISCONNECTION, on_disconnection)
        self._send(
            MsgType.CENTRAL_CONNECT,
            struct.pack("<H", connection.handle) + _address_bytes(connection.peer_address),
        )
