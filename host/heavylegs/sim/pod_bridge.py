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

The frame protocol (every frame type and its layout) is documented in
sim/board/simlink_proto.py, which both ends import.
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
from pathlib import Path

from bumble import gatt, hci
from bumble.device import AdvertisingType, Connection, Device

from heavylegs import paths
from heavylegs.sim.board import simlink_proto as proto
from heavylegs.sim.gatt_table import BLE_HS_ENOTCONN, GattTable, Reader, address_bytes
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


# How a pod whose radio went down ends its links.
_DISCONNECT_POWER_OFF = hci.HCI_REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_POWER_OFF_ERROR


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
        self._table: GattTable | None = None

    @property
    def table(self) -> GattTable:
        if self._table is None:
            raise RuntimeError("PodBridge is not started")
        return self._table

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
        self._table = GattTable(
            self._device,
            lambda payload: self._send(MsgType.CENTRAL_WRITE, payload),
            lambda payload: self._send(MsgType.INDICATE_DONE, payload),
        )
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
        self.table.cancel_indications()
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
            await handler(self, Reader(payload))
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

    async def _hello(self, frame: Reader) -> None:
        version = frame.u8()
        if version != proto.PROTOCOL_VERSION:
            logger.warning(
                "%s: board speaks protocol %d, bridge %d",
                self.address,
                version,
                proto.PROTOCOL_VERSION,
            )
        await self._reset_radio()
        self.table.reset()
        identity = self.radio.identity_address(self.device)
        self._send(MsgType.HELLO_ACK, bytes((proto.PROTOCOL_VERSION,)) + address_bytes(identity))
        self.attached.set()

    async def _active(self, frame: Reader) -> None:
        if not frame.u8():
            await self._reset_radio()
            self.table.reset()

    async def _config(self, frame: Reader) -> None:
        key = frame.u8()
        if key == proto.CONFIG_GAP_NAME:
            name = frame.rest()
            self.device.name = name.decode("utf-8", "replace")
            for attribute in self.device.gatt_server.attributes:
                if attribute.type == gatt.GATT_DEVICE_NAME_CHARACTERISTIC:
                    attribute.value = name
        elif key == proto.CONFIG_MTU:
            self.device.gatt_server.max_mtu = frame.u16()

    async def _advertise(self, frame: Reader) -> None:
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

    async def _register(self, frame: Reader) -> None:
        try:
            handles = self.table.register(frame)
        except (ValueError, KeyError) as error:
            logger.warning("%s: bad REGISTER frame: %s", self.address, error)
            self._send(MsgType.REGISTERED, bytes((22,)))  # EINVAL
            return
        self._send(MsgType.REGISTERED, b"\x00" + handles)

    async def _write_local(self, frame: Reader) -> None:
        handle, options = frame.u16(), frame.u16()
        value = frame.rest()
        slot = self.table.slots.get(handle)
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
                self.table.start_indication(connection, slot.attribute, value)

    async def _notify(self, frame: Reader) -> None:
        conn, handle = frame.u16(), frame.u16()
        connection = self.device.connections.get(conn)
        attribute = self.device.gatt_server.get_attribute(handle)
        if connection is None or attribute is None:
            return
        value = frame.rest()
        # MicroPython notifies whatever the CCCD says; bumble truncates to MTU-3.
        await self.device.gatt_server.notify_subscriber(connection, attribute, value, force=True)

    async def _indicate(self, frame: Reader) -> None:
        conn, handle = frame.u16(), frame.u16()
        connection = self.device.connections.get(conn)
        attribute = self.device.gatt_server.get_attribute(handle)
        if connection is None or attribute is None:
            self._send(MsgType.INDICATE_DONE, struct.pack("<HHB", conn, handle, BLE_HS_ENOTCONN))
            return
        self.table.start_indication(connection, attribute, frame.rest())

    async def _set_buffer(self, frame: Reader) -> None:
        handle, buffer_len, append = frame.u16(), frame.u16(), frame.u8()
        slot = self.table.slots.get(handle)
        if slot is not None:
            slot.buffer_len, slot.append, slot.value = buffer_len, bool(append), b""

    async def _disconnect(self, frame: Reader) -> None:
        connection = self.device.connections.get(frame.u16())
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect()

    async def _beacon(self, frame: Reader) -> None:
        try:
            if self.on_beacon is not None:
                await self.on_beacon()
        except Exception:
            logger.exception("%s: on_beacon failed", self.address)
        finally:
            self._send(MsgType.BEACON_DONE)

    _handlers: dict[int, Callable[[PodBridge, Reader], Awaitable[None]]] = {
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
            self.table.cancel_indications(connection.handle)
            self._send(
                MsgType.CENTRAL_DISCONNECT,
                struct.pack("<H", connection.handle) + address_bytes(connection.peer_address),
            )

        connection.on(connection.EVENT_CONNECTION_ATT_MTU_UPDATE, on_mtu)
        connection.on(connection.EVENT_DISCONNECTION, on_disconnection)
        self._send(
            MsgType.CENTRAL_CONNECT,
            struct.pack("<H", connection.handle) + address_bytes(connection.peer_address),
        )
