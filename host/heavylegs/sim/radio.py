"""A simulated BLE radio: bumble devices on one in-process link.

`SimRadio` owns a bumble link with two bumble 0.0.236 link-layer faults fixed
(`SimLink` and `SimController`, in link_layer.py), the central `Device` that the bleak
backend drives, and one peripheral `Device` per simulated pod.

Host code picks the radio either explicitly (``radio=`` keyword to
`BleakScanner`/`BleakClient` with the sim backend) or implicitly through
`use_radio`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from bumble import hci
from bumble.device import Device
from bumble.host import Host
from bumble.transport.common import AsyncPipeSink

from heavylegs.sim.link_layer import DEFAULT_RSSI_DBM, SimController, SimLink

__all__ = [
    "ATT_DEFAULT_MTU",
    "DEFAULT_CENTRAL_MTU",
    "SimController",
    "SimLink",
    "SimRadio",
    "current_radio",
    "use_radio",
]

logger = logging.getLogger(__name__)

ATT_DEFAULT_MTU = 23
ATT_MAX_MTU = 517
# What a Linux/BlueZ or phone central typically settles on with a modern pod.
DEFAULT_CENTRAL_MTU = 247
CENTRAL_ADDRESS = "C0:FE:ED:00:00:01"


class SimRadio:
    """One simulated radio environment: a link, a central and any number of pods.

    Args:
        central_mtu: ATT MTU the central asks for when it connects. 23 means
            no MTU exchange at all, which is what a pod sees from a central
            that never negotiates and what bleak reports on BlueZ.
        central_address: static random address of the central.
    """

    def __init__(
        self, *, central_mtu: int = DEFAULT_CENTRAL_MTU, central_address: str = CENTRAL_ADDRESS
    ) -> None:
        if not ATT_DEFAULT_MTU <= central_mtu <= ATT_MAX_MTU:
            raise ValueError(
                f"central_mtu must be {ATT_DEFAULT_MTU}..{ATT_MAX_MTU}, got {central_mtu}"
            )
        self.central_mtu = central_mtu
        self.central_address = central_address
        self._link: SimLink | None = None
        self._central: Device | None = None
        self._peripherals: dict[str, Device] = {}
        self._controllers: dict[Device, SimController] = {}
        self._scan_modes: list[bool] = []
        self._scan_state: bool | None = None
        self._scan_lock = asyncio.Lock()
        # bumble allows one pending LE connection per central.
        self.connect_lock = asyncio.Lock()

    async def start(self) -> SimRadio:
        if self._central is not None:
            return self
        self._link = SimLink()
        self._central = await self._make_device(
            "heavylegs-central",
            hci.Address(self.central_address, hci.Address.RANDOM_DEVICE_ADDRESS),
            public_address=None,
            rssi_dbm=DEFAULT_RSSI_DBM,
        )
        return self

    async def close(self) -> None:
        for device in list(self._peripherals.values()):
            await self.remove_peripheral(device)
        if self._central is not None:
            await self._shutdown(self._central)
            self._central = None
        self._scan_modes.clear()
        self._scan_state = None

    async def __aenter__(self) -> SimRadio:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def link(self) -> SimLink:
        if self._link is None:
            raise RuntimeError("SimRadio is not started: `await radio.start()` first")
        return self._link

    @property
    def central(self) -> Device:
        if self._central is None:
            raise RuntimeError("SimRadio is not started: `await radio.start()` first")
        return self._central

    async def add_peripheral(
        self,
        address: str,
        *,
        public: bool = True,
        name: str = "pod",
        rssi_dbm: int = DEFAULT_RSSI_DBM,
    ) -> Device:
        """Power on a peripheral `Device` that advertises as `address`.

        A public address models an ESP32-class pod with a factory MAC; with
        ``public=False`` `address` must be a static random address.
        """
        key = address.upper()
        if key in self._peripherals:
            raise ValueError(f"a peripheral with address {key} already exists on this radio")
        if public:
            identity = hci.Address(key, hci.Address.PUBLIC_DEVICE_ADDRESS)
            device = await self._make_device(
                name,
                hci.Address.generate_static_address(),
                public_address=identity,
                rssi_dbm=rssi_dbm,
            )
        else:
            identity = hci.Address(key, hci.Address.RANDOM_DEVICE_ADDRESS)
            if not identity.is_static:
                raise ValueError(f"{key} is not a static random address (top two bits must be 1)")
            device = await self._make_device(name, identity, public_address=None, rssi_dbm=rssi_dbm)
        self._peripherals[key] = device
        return device

    async def remove_peripheral(self, device: Device) -> None:
        for key, known in list(self._peripherals.items()):
            if known is device:
                del self._peripherals[key]
        await self._shutdown(device)

    async def abandon_connect(self) -> None:
        """End a connection attempt whose caller was cancelled.

        bumble's `Device.connect` leaves the controller's attempt pending when
        cancelled, and every later connect is then refused.
        """
        controller = self._controllers.get(self.central)
        if controller is not None and controller.pending_le_connection is not None:
            await self.central.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())

    async def drop(self, address: str) -> bool:
        """Lose the link to a pod as a radio would (supervision timeout); False if none."""
        device = self._peripherals.get(address.upper())
        if device is None:
            return False
        dropped = False
        for connection in list(device.connections.values()):
            with contextlib.suppress(Exception):
                await connection.disconnect(reason=hci.HCI_CONNECTION_TIMEOUT_ERROR)
                dropped = True
        return dropped

    def identity_address(self, device: Device) -> hci.Address:
        """The address a peripheral advertises with."""
        for key, known in self._peripherals.items():
            if known is device:
                return self.resolve(key) or hci.Address(key)
        raise KeyError("device is not a peripheral of this radio")

    def resolve(self, address: str) -> hci.Address | None:
        """Typed bumble address for a pod's address string, None if no such pod."""
        device = self._peripherals.get(address.upper())
        if device is None:
            return None
        if device.public_address != hci.Address.ANY:
            return hci.Address(
                device.public_address.address_bytes, hci.Address.PUBLIC_DEVICE_ADDRESS
            )
        return hci.Address(device.random_address.address_bytes, hci.Address.RANDOM_DEVICE_ADDRESS)

    async def start_scanning(self, *, active: bool) -> None:
        async with self._scan_lock:
            self._scan_modes.append(active)
            await self._apply_scan_mode()

    async def stop_scanning(self, *, active: bool) -> None:
        async with self._scan_lock:
            if active in self._scan_modes:
                self._scan_modes.remove(active)
            await self._apply_scan_mode()

    async def _apply_scan_mode(self) -> None:
        # Several bleak scanners can share the one central; any active one wins.
        wanted = any(self._scan_modes) if self._scan_modes else None
        if wanted == self._scan_state or self._central is None:
            return
        if self._scan_state is not None:
            await self._central.stop_scanning()
        if wanted is not None:
            await self._central.start_scanning(active=wanted, filter_duplicates=False)
        self._scan_state = wanted

    async def _make_device(
        self,
        name: str,
        random_address: hci.Address,
        *,
        public_address: hci.Address | None,
        rssi_dbm: int,
    ) -> Device:
        controller = SimController(
            name, link=self.link, public_address=public_address, rssi_dbm=rssi_dbm
        )
        device = Device(
            name=name,
            address=random_address,
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self._controllers[device] = controller
        await device.power_on()
        return device

    async def _shutdown(self, device: Device) -> None:
        controller = self._controllers.pop(device, None)
        with contextlib.suppress(Exception):
            for connection in list(device.connections.values()):
                await connection.disconnect()
        with contextlib.suppress(Exception):
            await device.power_off()
        link = self._link
        if link is not None and controller is not None:
            link.controllers.discard(controller)


_current_radio: SimRadio | None = None


@contextlib.contextmanager
def use_radio(radio: SimRadio) -> Iterator[SimRadio]:
    """Make `radio` the one the sim bleak backend uses when no ``radio=`` is given."""
    global _current_radio
    previous, _current_radio = _current_radio, radio
    try:
        yield radio
    finally:
        _current_radio = previous


def current_radio() -> SimRadio | None:
    return _current_radio
