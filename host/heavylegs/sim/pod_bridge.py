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
import inspect
import logging
import os
import struct
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from bumble import hci
from bumble.device import Connection, Device

from heavylegs import paths
from heavylegs.sim.board import simlink_proto as proto
from heavylegs.sim.board_frames import FRAME_HANDLERS, MsgType
from heavylegs.sim.gatt_table import GattTable, Reader, address_bytes
from heavylegs.sim.radio import SimRadio

__all__ = ["BoardEventCallback", "MsgType", "PodBridge"]

logger = logging.getLogger(__name__)


BoardEventCallback = Callable[[int, bytes], "Awaitable[None] | None"]


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
            lambda payload: self.send_to_board(MsgType.CENTRAL_WRITE, payload),
            lambda payload: self.send_to_board(MsgType.INDICATE_DONE, payload),
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
            await self.reset_radio()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        if self._session is asyncio.current_task():
            self._session = None
        self.detached.set()

    async def reset_radio(self) -> None:
        self.table.cancel_indications()
        device = self.device
        await device.stop_advertising()
        for connection in list(device.connections.values()):
            with contextlib.suppress(Exception):
                await connection.disconnect(reason=_DISCONNECT_POWER_OFF)

    def send_to_board(self, msgtype: MsgType, payload: bytes = b"") -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            return
        writer.write(struct.pack("<HB", len(payload) + 1, msgtype) + payload)

    async def _on_frame(self, msgtype: int, payload: bytes) -> None:
        if msgtype >= proto.BOARD_EVENT_MIN:
            await self._board_event(msgtype, payload)
            return
        handler = FRAME_HANDLERS.get(msgtype)
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

    # -- radio side -------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        def on_mtu() -> None:
            self.send_to_board(
                MsgType.MTU_EXCHANGED, struct.pack("<HH", connection.handle, connection.att_mtu)
            )

        def on_disconnection(reason: int) -> None:
            self.table.cancel_indications(connection.handle)
            self.send_to_board(
                MsgType.CENTRAL_DISCONNECT,
                struct.pack("<H", connection.handle) + address_bytes(connection.peer_address),
            )

        connection.on(connection.EVENT_CONNECTION_ATT_MTU_UPDATE, on_mtu)
        connection.on(connection.EVENT_DISCONNECTION, on_disconnection)
        self.send_to_board(
            MsgType.CENTRAL_CONNECT,
            struct.pack("<H", connection.handle) + address_bytes(connection.peer_address),
        )
