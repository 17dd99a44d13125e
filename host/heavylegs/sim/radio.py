"""A simulated BLE radio: bumble devices on one in-process link.

`SimRadio` owns a bumble link with two bumble 0.0.236 link-layer faults fixed
(see `SimLink` and `SimController`), the central `Device` that the bleak
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

from bumble import core, hci, ll
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

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
DEFAULT_RSSI_DBM = -50

_Props = hci.HCI_LE_Set_Extended_Advertising_Parameters_Command.AdvertisingProperties
_ExtEvent = hci.HCI_LE_Extended_Advertising_Report_Event.EventType
_LegacyEvent = hci.HCI_LE_Advertising_Report_Event.EventType
_ACTIVE_SCANNING = hci.HCI_LE_Set_Scan_Parameters_Command.ACTIVE_SCANNING

_CONNECTABLE = int(_Props.CONNECTABLE_ADVERTISING)
_SCANNABLE = int(_Props.SCANNABLE_ADVERTISING)
_LEGACY = int(_Props.USE_LEGACY_ADVERTISING_PDUS)
# Legacy HCI advertising types (Vol 4, Part E, 7.8.5) as extended properties.
_LEGACY_TYPE_PROPS = {
    0: _CONNECTABLE | _SCANNABLE | _LEGACY,  # ADV_IND
    2: _SCANNABLE | _LEGACY,  # ADV_SCAN_IND
    3: _LEGACY,  # ADV_NONCONN_IND
}


class SimLink(LocalLink):
    """`LocalLink` that stamps LE data with the address used on the connection.

    bumble 0.0.236 sends LE ACL data with the sender controller's *random*
    address as source. The receiver looks the connection up by the peer
    address it connected to, so everything a public-address peripheral sends
    is dropped and the first ATT request (the MTU exchange) times out.
    """

    acl_bytes = 0  # L2CAP bytes carried on LE links (headers included), for benches

    def send_acl_data(
        self,
        sender_controller: Controller,
        destination_address: hci.Address,
        transport: core.PhysicalTransport,
        data: bytes,
    ) -> None:
        self.acl_bytes += len(data)
        if transport != core.PhysicalTransport.LE:
            super().send_acl_data(sender_controller, destination_address, transport, data)
            return
        connection = sender_controller.le_connections.get(destination_address)
        destination = self.find_le_controller(destination_address)
        if connection is None or destination is None:
            return
        source = connection.self_address
        asyncio.get_running_loop().call_soon(destination.on_link_acl_data, source, transport, data)

    def advertiser_state(self, address: hci.Address) -> tuple[int, bytes] | None:
        """Extended advertising properties and scan response of whoever advertises as `address`."""
        for controller in self.controllers:
            legacy = controller.le_legacy_advertiser
            if legacy.enabled and legacy.address == address:
                props = _LEGACY_TYPE_PROPS.get(legacy.advertising_type, _LEGACY)
                return props, bytes(legacy.scan_response_data)
            for adv_set in controller.advertising_sets.values():
                if adv_set.enabled and adv_set.parameters and adv_set.address == address:
                    props = int(adv_set.parameters.advertising_event_properties)
                    return props, bytes(adv_set.scan_response_data)
        return None


class SimController(Controller):
    """`Controller` whose scanner reports what the advertiser really sent.

    bumble 0.0.236 answers every advertisement with a fabricated scan
    response that repeats the advertising data, also to passive scanners and
    for non-scannable advertisers, and marks everything connectable. Fields a
    peripheral puts only in its real scan response never reach the host.

    Also ends a cancelled connection attempt, which upstream never does.
    """

    def __init__(self, *args: object, rssi_dbm: int = DEFAULT_RSSI_DBM, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.rssi_dbm = rssi_dbm
        self._active_scan = False

    def on_hci_le_set_scan_parameters_command(
        self, command: hci.HCI_LE_Set_Scan_Parameters_Command
    ) -> hci.HCI_StatusReturnParameters:
        result = super().on_hci_le_set_scan_parameters_command(command)
        if result.status == hci.HCI_ErrorCode.SUCCESS:
            self._active_scan = command.le_scan_type == _ACTIVE_SCANNING
        return result

    def on_hci_le_set_extended_scan_parameters_command(
        self, command: hci.HCI_LE_Set_Extended_Scan_Parameters_Command
    ) -> hci.HCI_StatusReturnParameters:
        # Upstream drops the scan type of the extended command.
        result = super().on_hci_le_set_extended_scan_parameters_command(command)
        self._active_scan = any(t == _ACTIVE_SCANNING for t in command.scan_types)
        return result

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        # Upstream acknowledges the cancel but never ends the attempt, so a
        # connect to an absent pod hangs past its timeout (bumble waits for
        # the failed completion that the spec requires, Vol 4, Part E, 7.8.13).
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        failure = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        # After the Command Complete that returning here produces.
        asyncio.get_running_loop().call_soon(self.send_hci_packet, failure)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def on_advertising_pdu(self, pdu: ll.AdvInd | ll.AdvExtInd) -> None:
        scanning = self.le_scan_enable
        if scanning:
            self._report(pdu)
        # The upstream handler still does the rest (pending connection,
        # periodic sync); only its reports are hidden from it.
        self.le_scan_enable = False
        try:
            super().on_advertising_pdu(pdu)
        finally:
            self.le_scan_enable = scanning

    def _report(self, pdu: ll.AdvInd | ll.AdvExtInd) -> None:
        state = (
            self.link.advertiser_state(pdu.advertiser_address)
            if isinstance(self.link, SimLink)
            else None
        )
        props, scan_response = state if state else (_CONNECTABLE | _SCANNABLE | _LEGACY, b"")
        sender = self.link.find_le_controller(pdu.advertiser_address)
        rssi = sender.rssi_dbm if isinstance(sender, SimController) else DEFAULT_RSSI_DBM
        self._send_report(pdu.advertiser_address, props, pdu.data, rssi, scan_response=False)
        if self._active_scan and props & _SCANNABLE:
            self._send_report(
                pdu.advertiser_address, props, scan_response, rssi, scan_response=True
            )

    def _send_report(
        self, address: hci.Address, props: int, data: bytes, rssi: int, *, scan_response: bool
    ) -> None:
        if self.le_features & hci.LeFeatureMask.LE_EXTENDED_ADVERTISING:
            event_type = props & (_CONNECTABLE | _SCANNABLE) | (
                int(_ExtEvent.LEGACY_ADVERTISING_PDU_USED) if props & _LEGACY else 0
            )
            if scan_response:
                event_type |= int(_ExtEvent.SCAN_RESPONSE)
            report = hci.HCI_LE_Extended_Advertising_Report_Event.Report(
                event_type=event_type,
                address_type=address.address_type,
                address=address,
                primary_phy=hci.Phy.LE_1M,
                secondary_phy=hci.Phy.LE_1M,
                advertising_sid=0,
                tx_power=hci.HCI_LE_Extended_Advertising_Report_Event.TX_POWER_INFORMATION_NOT_AVAILABLE,
                rssi=rssi,
                periodic_advertising_interval=0,
                direct_address_type=0,
                direct_address=hci.Address.ANY,
                data=data,
            )
            self.send_hci_packet(hci.HCI_LE_Extended_Advertising_Report_Event([report]))
            return
        if scan_response:
            legacy_type = _LegacyEvent.SCAN_RSP
        elif props & _CONNECTABLE:
            legacy_type = _LegacyEvent.ADV_IND
        elif props & _SCANNABLE:
            legacy_type = _LegacyEvent.ADV_SCAN_IND
        else:
            legacy_type = _LegacyEvent.ADV_NONCONN_IND
        legacy_report = hci.HCI_LE_Advertising_Report_Event.Report(
            event_type=legacy_type,
            address_type=address.address_type,
            address=address,
            data=data,
            rssi=rssi,
        )
        self.send_hci_packet(hci.HCI_LE_Advertising_Report_Event([legacy_report]))


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
