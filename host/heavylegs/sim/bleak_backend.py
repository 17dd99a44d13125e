"""bleak backend over the simulated radio.

Host code stays unmodified and picks the simulator only through bleak's
``backend=`` hook::

    device = await BleakScanner.find_device_by_name("pod", backend=SimBleakScanner)
    async with BleakClient(device, backend=SimBleakClient) as client:
        ...

The radio is the one installed with `heavylegs.sim.radio.use_radio`, or the
``radio=`` keyword, which bleak passes through to the backend. The scanner
lives in `heavylegs.sim.bleak_scanner`; it is re-exported here, where callers
import both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, gatt, hci
from bumble.device import Connection
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy

from heavylegs.sim.bleak_scanner import SimBleakScanner, require_radio, uuid_str
from heavylegs.sim.radio import ATT_DEFAULT_MTU, SimRadio

__all__ = ["SimBleakClient", "SimBleakScanner"]

logger = logging.getLogger(__name__)

_CCCD = gatt.GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR


def _property_names(properties: int) -> list[CharacteristicPropertyName]:
    # In bit order, as the other backends list them.
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if properties & bit]


class SimBleakClient(BaseBleakClient):
    """Client backend: real bumble ATT/GATT from the simulated central.

    Extra keyword arguments: ``radio`` (a `SimRadio`). The pod's disconnect,
    whoever starts it, calls ``disconnected_callback`` as BlueZ does.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        radio: SimRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._radio_arg = radio
        self._peer: hci.Address | None = None
        self._advertised_name: str | None = None
        if isinstance(address_or_ble_device, BLEDevice):
            self._advertised_name = address_or_ble_device.name
            if isinstance(address_or_ble_device.details, hci.Address):
                self._peer = address_or_ble_device.details
        self._service_filter = {s.lower() for s in services} if services else None
        self._connection: Connection | None = None
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self._advertised_name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        radio = require_radio(self._radio_arg)
        peer = self._peer or radio.resolve(self.address)
        if peer is None:
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} was not found."
            )
        if pair:
            logger.info("pairing is not simulated; connecting without it")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        async with radio.connect_lock:
            try:
                connection = await radio.central.connect(
                    peer, own_address_type=hci.OwnAddressType.RANDOM, timeout=self._timeout
                )
            except core.TimeoutError as error:
                raise TimeoutError(
                    f"{self.address} did not answer within {self._timeout} s"
                ) from error
            except asyncio.CancelledError:
                await asyncio.shield(radio.abandon_connect())
                raise
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._connection = connection
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                if radio.central_mtu > ATT_DEFAULT_MTU:
                    await connection.gatt_client.request_mtu(radio.central_mtu)
                self.services = await self._discover(connection)
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        gone = asyncio.Event()

        def on_gone(reason: int) -> None:
            gone.set()

        connection.once(connection.EVENT_DISCONNECTION, on_gone)
        with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error):
            await connection.disconnect()
        if self._connection is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gone.wait(), self._timeout)
        self._forget()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not simulated")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not simulated")

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return await self._read(characteristic.handle, use_cached)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return await self._read(descriptor.handle, use_cached)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        await self._write(characteristic.handle, data, with_response=response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        await self._write(descriptor.handle, data, with_response=True)

    # By handle on the live link: the characteristic or descriptor may come from an
    # earlier connection.
    async def _read(self, handle: int, use_cached: bool) -> bytearray:
        connection = self._require_connection()
        if use_cached and handle in connection.gatt_client.cached_values:
            return bytearray(connection.gatt_client.cached_values[handle][1])
        async with self._att_errors():
            return bytearray(await connection.gatt_client.read_value(handle))

    async def _write(self, handle: int, data: SizedBuffer, *, with_response: bool) -> None:
        connection = self._require_connection()
        async with self._att_errors():
            await connection.gatt_client.write_value(
                handle, bytes(data), with_response=with_response
            )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        proxy = self._proxy(characteristic)
        if not proxy.properties & (
            gatt.Characteristic.Properties.NOTIFY | gatt.Characteristic.Properties.INDICATE
        ):
            raise BleakError(
                f"characteristic {characteristic.uuid} supports neither notify nor indicate"
            )
        if proxy.get_descriptor(_CCCD) is None:
            raise BleakError(f"characteristic {characteristic.uuid} has no CCCD")

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        previous = self._subscriptions.pop(characteristic.handle, None)
        async with self._att_errors():
            if previous is not None:
                await proxy.unsubscribe(previous)
            self._subscriptions[characteristic.handle] = deliver
            await proxy.subscribe(deliver, prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require_connection()
        subscriber = self._subscriptions.pop(characteristic.handle, None)
        if subscriber is None:
            return
        proxy = self._proxy(characteristic)
        async with self._att_errors():
            await proxy.unsubscribe(subscriber)

    async def _discover(self, connection: Connection) -> BleakGATTServiceCollection:
        client = connection.gatt_client
        collection = BleakGATTServiceCollection()
        for service in await client.discover_services():
            service_uuid = uuid_str(service.uuid.to_bytes())
            if self._service_filter is not None and service_uuid not in self._service_filter:
                continue
            bleak_service = BleakGATTService(service, service.handle, service_uuid)
            collection.add_service(bleak_service)
            for characteristic in await client.discover_characteristics((), service):
                bleak_char = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    uuid_str(characteristic.uuid.to_bytes()),
                    _property_names(int(characteristic.properties)),
                    lambda: connection.att_mtu - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                descriptors: list[DescriptorProxy] = await client.discover_descriptors(
                    characteristic
                )
                for descriptor in descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor,
                            descriptor.handle,
                            uuid_str(descriptor.type.to_bytes()),
                            bleak_char,
                        )
                    )
        return collection

    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    def _proxy(self, characteristic: BleakGATTCharacteristic) -> CharacteristicProxy[bytes]:
        # The proxy of this connection's discovery, whatever `characteristic` came from.
        self._require_connection()
        current = self.services.get_characteristic(characteristic.handle) if self.services else None
        if current is None:
            raise BleakError(f"characteristic {characteristic.uuid} is not on this connection")
        proxy: CharacteristicProxy[bytes] = current.obj
        return proxy

    @contextlib.asynccontextmanager
    async def _att_errors(self) -> AsyncIterator[None]:
        try:
            yield
        except att.ATT_Error as error:
            raise BleakGATTProtocolError(int(error.error_code)) from error
        except core.TimeoutError as error:
            raise TimeoutError(str(error)) from error
        except asyncio.CancelledError:
            # bumble cancels a pending ATT request when the link drops; that
            # is a lost connection, not a cancellation of the caller.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            raise BleakError("disconnected during the GATT operation") from None
        except core.InvalidStateError as error:
            raise BleakError(str(error)) from error

    def _on_disconnection(self, reason: int) -> None:
        logger.debug("%s disconnected, reason 0x%02X", self.address, reason)
        self._forget()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    def _forget(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.remove_listener(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._subscriptions.clear()
