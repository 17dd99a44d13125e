"""bleak backend over the simulated radio.

Host code stays unmodified and picks the simulator only through bleak's
``backend=`` hook::

    device = await BleakScanner.find_device_by_name("pod", backend=SimBleakScanner)
    async with BleakClient(device, backend=SimBleakClient) as client:
        ...

The radio is the one installed with `heavylegs.sim.radio.use_radio`, or the
``radio=`` keyword, which bleak passes through to the backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)
from bleak.uuids import normalize_uuid_str
from bumble import att, core, gatt, hci
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy

from heavylegs.sim.radio import ATT_DEFAULT_MTU, SimRadio, current_radio

__all__ = ["SimBleakClient", "SimBleakScanner"]

logger = logging.getLogger(__name__)

_T = AdvertisingData.Type
_UUID16_LISTS = (
    _T.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    _T.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
)
_UUID32_LISTS = (
    _T.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    _T.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
)
_UUID128_LISTS = (
    _T.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    _T.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA = {
    _T.SERVICE_DATA_16_BIT_UUID: 2,
    _T.SERVICE_DATA_32_BIT_UUID: 4,
    _T.SERVICE_DATA_128_BIT_UUID: 16,
}
_BLUETOOTH_BASE_UUID = uuid.UUID("00000000-0000-1000-8000-00805f9b34fb")
_CCCD = gatt.GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR


def _radio(explicit: SimRadio | None) -> SimRadio:
    radio = explicit or current_radio()
    if radio is None:
        raise BleakBluetoothNotAvailableError(
            "no simulated radio: pass radio=... or wrap the code in `with use_radio(radio):`",
            BleakBluetoothNotAvailableReason.NO_BLUETOOTH,
        )
    return radio


def uuid_str(le_bytes: bytes) -> str:
    """bleak's form of a little-endian 16/32/128-bit UUID: lower-case, 128-bit."""
    if len(le_bytes) in (2, 4):
        short = int.from_bytes(le_bytes, "little")
        return str(uuid.UUID(int=_BLUETOOTH_BASE_UUID.int | short << 96))
    return str(uuid.UUID(bytes=bytes(reversed(le_bytes))))


def _property_names(properties: int) -> list[CharacteristicPropertyName]:
    # In bit order, as the other backends list them.
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if properties & bit]


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """What bleak reports for one (possibly scan-response-merged) advertisement."""
    local_name: str | None = None
    manufacturer_data: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    service_uuids: list[str] = []
    tx_power: int | None = None
    for ad_type, value in advertisement.data.ad_structures:
        if ad_type == _T.COMPLETE_LOCAL_NAME or (
            ad_type == _T.SHORTENED_LOCAL_NAME and local_name is None
        ):
            local_name = value.decode("utf-8", "replace")
        elif ad_type == _T.MANUFACTURER_SPECIFIC_DATA and len(value) >= 2:
            manufacturer_data[int.from_bytes(value[:2], "little")] = bytes(value[2:])
        elif ad_type in _SERVICE_DATA and len(value) >= _SERVICE_DATA[ad_type]:
            size = _SERVICE_DATA[ad_type]
            service_data[uuid_str(value[:size])] = bytes(value[size:])
        elif ad_type in _UUID16_LISTS + _UUID32_LISTS + _UUID128_LISTS:
            size = 2 if ad_type in _UUID16_LISTS else 4 if ad_type in _UUID32_LISTS else 16
            for offset in range(0, len(value) - size + 1, size):
                service_uuids.append(uuid_str(value[offset : offset + size]))
        elif ad_type == _T.TX_POWER_LEVEL and len(value) == 1:
            tx_power = struct.unpack("b", value)[0]
    return AdvertisementData(
        local_name=local_name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


class SimBleakScanner(BaseBleakScanner):
    """Scanner backend on the simulated central.

    ``BLEDevice.details`` is the typed bumble address, which is what
    `SimBleakClient` needs to connect without a registry look-up.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        bluez: object = None,
        cb: object = None,
        radio: SimRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if service_uuids is not None:
            # Accept "1814" as well as the 128-bit form the reports carry.
            self._service_uuids = [normalize_uuid_str(u) for u in service_uuids]
        if scanning_mode not in ("active", "passive"):
            raise BleakError(f"invalid scanning_mode {scanning_mode!r}")
        self._active = scanning_mode == "active"
        self._radio = radio
        self._scanning_on: SimRadio | None = None

    async def start(self) -> None:
        radio = _radio(self._radio)
        if self._scanning_on is not None:
            return
        self.seen_devices = {}
        radio.central.on(radio.central.EVENT_ADVERTISEMENT, self._on_advertisement)
        try:
            await radio.start_scanning(active=self._active)
        except BaseException:
            radio.central.remove_listener(radio.central.EVENT_ADVERTISEMENT, self._on_advertisement)
            raise
        self._scanning_on = radio

    async def stop(self) -> None:
        radio, self._scanning_on = self._scanning_on, None
        if radio is None:
            return
        radio.central.remove_listener(radio.central.EVENT_ADVERTISEMENT, self._on_advertisement)
        await radio.stop_scanning(active=self._active)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = advertisement.address.to_string(False)
        typed = hci.Address(advertisement.address.address_bytes, advertisement.address.address_type)
        device = self.create_or_update_device(address, address, adv.local_name, typed, adv)
        self.call_detection_callbacks(device, adv)


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
        radio = _radio(self._radio_arg)
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
        connection = self._require_connection()
        if use_cached and characteristic.handle in connection.gatt_client.cached_values:
            return bytearray(connection.gatt_client.cached_values[characteristic.handle][1])
        # By handle on the live link: `characteristic` may come from an earlier connection.
        async with self._att_errors():
            return bytearray(await connection.gatt_client.read_value(characteristic.handle))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        connection = self._require_connection()
        if use_cached and descriptor.handle in connection.gatt_client.cached_values:
            return bytearray(connection.gatt_client.cached_values[descriptor.handle][1])
        async with self._att_errors():
            return bytearray(await connection.gatt_client.read_value(descriptor.handle))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        connection = self._require_connection()
        async with self._att_errors():
            await connection.gatt_client.write_value(
                characteristic.handle, bytes(data), with_response=response
            )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        connection = self._require_connection()
        async with self._att_errors():
            await connection.gatt_client.write_value(
                descriptor.handle, bytes(data), with_response=True
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
