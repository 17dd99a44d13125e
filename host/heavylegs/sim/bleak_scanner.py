"""bleak's scanner backend over the simulated radio, and what it reads from advertisements.

`SimBleakScanner` is passed as ``backend=`` to `BleakScanner` (see
`heavylegs.sim.bleak_backend`); `require_radio` and `uuid_str` are the two
conventions the client backend shares with it.
"""

from __future__ import annotations

import struct
import uuid
from typing import Any, Literal

from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakError,
)
from bleak.uuids import normalize_uuid_str
from bumble import hci
from bumble.core import AdvertisingData
from bumble.device import Advertisement

from heavylegs.sim.radio import SimRadio, current_radio

__all__ = ["SimBleakScanner", "advertisement_data", "require_radio", "uuid_str"]

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


def require_radio(explicit: SimRadio | None) -> SimRadio:
    """`explicit`, else the radio installed with `use_radio`; bleak's error when neither."""
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
        radio = require_radio(self._radio)
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
