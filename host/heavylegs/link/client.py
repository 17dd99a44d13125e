"""One pod over bleak: connection with retries, owner authentication, control requests.

Connections go through bleak-retry-connector's `establish_connection`, which
retries the transient failures real adapters produce. The control point is
request/response: a write with response, answered by an indication that names
the request's op. Different ops may be outstanding at once (an ACK while a sync
streams), the same op only once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from heavylegs.errors import HeavylegsError
from heavylegs_pod import wire

log = logging.getLogger(__name__)

FIRMWARE_REVISION = "00002a26-0000-1000-8000-00805f9b34fb"
SOFTWARE_REVISION = "00002a28-0000-1000-8000-00805f9b34fb"
RSC_MEASUREMENT = "00002a53-0000-1000-8000-00805f9b34fb"
RSC_FEATURE = "00002a54-0000-1000-8000-00805f9b34fb"
SC_CONTROL_POINT = "00002a55-0000-1000-8000-00805f9b34fb"
SENSOR_LOCATION = "00002a5d-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
RESPONSE_TIMEOUT_S = 10.0


class LinkError(HeavylegsError):
    """A pod could not be found, connected or understood."""


class LinkLost(LinkError):
    """The link to a pod dropped while something was waiting on it."""


class PodRefused(LinkError):
    """The pod answered a control request with an error status."""

    def __init__(self, op: int, status: int) -> None:
        self.op = op
        self.status = status
        name = wire.CP_STATUS_NAMES.get(status, f"status 0x{status:02x}")
        super().__init__(f"the pod refused op 0x{op:02x}: {name}")


@dataclass(frozen=True, slots=True)
class Backends:
    """bleak backend classes; both None selects the platform's real radio."""

    scanner: type | None = None
    client: type | None = None
    client_kwargs: dict[str, Any] = field(default_factory=dict)


def auth_response(key: bytes, nonce: bytes) -> bytes:
    """The owner's answer to a challenge (the pod computes the same in auth.py)."""
    return hmac.new(key, wire.AUTH_LABEL + nonce, hashlib.sha256).digest()[: wire.MAC_SIZE]


@dataclass(frozen=True, slots=True)
class PodIdentity:
    """OP_IDENTITY's answer: what new sessions' epoch is, which boot the pod's clock
    counts from, that clock (whole seconds), and when the host heard it (± spread_s)."""

    epoch: int
    boot: int | None  # None: the pod cannot say which boot its clock counts from
    clock_s: int
    at: float
    spread_s: float = 0.0


class PodClient:
    """A connected pod. `connect()` first; every failure is a LinkError."""

    def __init__(
        self,
        device: BLEDevice,
        backends: Backends,
        *,
        on_lost: Callable[[PodClient], None] | None = None,
        max_attempts: int = 4,
    ) -> None:
        self.device = device
        self.backends = backends
        self.on_lost = on_lost
        self.max_attempts = max_attempts
        self.client: BleakClient | None = None
        self.firmware = ""
        self.protocol = 0
        self.authenticated = False
        self._waiting: dict[int, asyncio.Future[tuple[int, bytes]]] = {}
        self._write_lock = asyncio.Lock()
        self._sync_handler: Callable[[bytearray], None] | None = None

    @property
    def address(self) -> str:
        return self.device.address

    @property
    def name(self) -> str:
        return self.device.name or self.device.address

    @property
    def is_connected(self) -> bool:
        return self.client is not None and self.client.is_connected

    @property
    def mtu(self) -> int:
        return self.client.mtu_size if self.client is not None else 23

    async def connect(self) -> None:
        kwargs = dict(self.backends.client_kwargs)
        if self.backends.client is not None:
            kwargs["backend"] = self.backends.client
        try:
            self.client = await establish_connection(
                BleakClient,
                self.device,
                self.name,
                disconnected_callback=self._disconnected,
                max_attempts=self.max_attempts,
                use_services_cache=False,
                **kwargs,
            )
            self.firmware = (await self.client.read_gatt_char(FIRMWARE_REVISION)).decode(
                errors="replace"
            )
            software = (await self.client.read_gatt_char(SOFTWARE_REVISION)).decode(
                errors="replace"
            )
            self.protocol = int(software.split()[-1]) if software.startswith("protocol ") else 0
            if self.protocol != wire.PROTOCOL_VERSION:
                raise LinkError(
                    f"{self.name} speaks protocol {software!r}; this host speaks "
                    f"protocol {wire.PROTOCOL_VERSION}: update the pod or the host"
                )
            await self.client.start_notify(wire.RD_CONTROL_UUID, self._on_response)
            await self.client.start_notify(wire.RD_SYNC_UUID, self._on_sync)
        except (BleakError, TimeoutError, OSError) as exc:
            await self.disconnect()
            raise LinkError(f"{self.name}: cannot connect: {exc}") from exc
        except BaseException:
            await self.disconnect()
            raise
        self.authenticated = False

    async def disconnect(self) -> None:
        client, self.client = self.client, None
        if client is not None and client.is_connected:
            try:
                await client.disconnect()
            except (BleakError, TimeoutError):
                pass
        self._fail_waiting()

    def _disconnected(self, _client: BleakClient) -> None:
        log.info("%s: link lost", self.name)
        self._fail_waiting()
        if self.on_lost is not None:
            self.on_lost(self)

    def _fail_waiting(self) -> None:
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(LinkLost(f"{self.name}: link lost"))
                # Whoever waits sees it; nobody waiting is no error of its own.
                fut.add_done_callback(lambda f: f.exception())
        self._waiting.clear()

    def _on_response(self, _char: Any, data: bytearray) -> None:
        try:
            response = wire.decode_cp_response(data)
        except ValueError as exc:
            log.warning("%s: %s", self.name, exc)
            return
        fut = self._waiting.pop(response["op"], None)
        if fut is not None and not fut.done():
            fut.set_result((response["status"], response["params"]))

    def _on_sync(self, _char: Any, data: bytearray) -> None:
        if self._sync_handler is not None:
            self._sync_handler(data)

    def on_sync_data(self, handler: Callable[[bytearray], None] | None) -> None:
        self._sync_handler = handler

    def _require(self) -> BleakClient:
        if self.client is None or not self.client.is_connected:
            raise LinkLost(f"{self.name}: not connected")
        return self.client

    async def send(self, op: int, payload: bytes = b"") -> asyncio.Future[tuple[int, bytes]]:
        """Write a request; the future resolves with (status, params) when the pod answers."""
        client = self._require()
        if op in self._waiting:
            raise LinkError(f"{self.name}: op 0x{op:02x} is already waiting for an answer")
        fut: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self._waiting[op] = fut
        try:
            async with self._write_lock:
                await client.write_gatt_char(wire.RD_CONTROL_UUID, bytes([op]) + payload, True)
        except (BleakError, TimeoutError, OSError) as exc:
            self._waiting.pop(op, None)
            if not self.is_connected:
                raise LinkLost(f"{self.name}: link lost") from exc
            raise LinkError(f"{self.name}: control write failed: {exc}") from exc
        return fut

    async def request(
        self, op: int, payload: bytes = b"", timeout_s: float = RESPONSE_TIMEOUT_S
    ) -> bytes:
        """Send and wait for the answer; raises PodRefused unless it is success."""
        fut = await self.send(op, payload)
        return await self.result(op, fut, timeout_s)

    async def result(
        self, op: int, fut: asyncio.Future[tuple[int, bytes]], timeout_s: float | None
    ) -> bytes:
        try:
            status, params = await asyncio.wait_for(fut, timeout_s)
        except TimeoutError as exc:
            self._waiting.pop(op, None)
            raise LinkError(f"{self.name}: no answer to op 0x{op:02x}") from exc
        if status != wire.CP_SUCCESS:
            raise PodRefused(op, status)
        return params

    async def authenticate(self, key: bytes | None) -> None:
        """Prove ownership with the pod's key; raises PodRefused if the pod disagrees."""
        if key is None:
            raise LinkError(
                f"{self.name} ({self.address}): no owner key on this host; "
                "provision the pod over USB first"
            )
        nonce = await self.request(wire.OP_CHALLENGE)
        await self.request(wire.OP_AUTH, auth_response(key, nonce))
        self.authenticated = True

    async def identity(self) -> PodIdentity:
        """The pod's journal epoch, boot id and clock, and the host time it answered at."""
        sent = time.time()
        params = await self.request(wire.OP_IDENTITY)
        answered = time.time()
        try:
            ident = wire.decode_identity_response(params)
        except ValueError as exc:
            raise LinkError(f"{self.name}: unreadable identity: {exc}") from exc
        # The answer was made somewhere between the request and its arrival.
        return PodIdentity(
            ident["epoch"], ident["boot"], ident["clock_s"], (sent + answered) / 2, answered - sent
        )

    async def status(self) -> dict[str, Any]:
        client = self._require()
        try:
            status: dict[str, Any] = wire.decode_status(
                await client.read_gatt_char(wire.RD_STATUS_UUID)
            )
            return status
        except ValueError as exc:
            raise LinkError(f"{self.name}: unreadable status: {exc}") from exc
        except (BleakError, TimeoutError) as exc:
            raise LinkLost(f"{self.name}: {exc}") from exc
