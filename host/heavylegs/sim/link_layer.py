"""The simulated radio's link layer: bumble's `LocalLink` and `Controller`, two faults fixed.

bumble 0.0.236 stamps LE data with the wrong source address and fabricates scan
responses; `SimLink` and `SimController` fix both (pinned version, regression
tests in tests/test_sim_radio.py). `SimRadio` (radio.py) builds its devices on them.
"""

from __future__ import annotations

import asyncio

from bumble import core, hci, ll
from bumble.controller import Controller
from bumble.link import LocalLink

__all__ = ["DEFAULT_RSSI_DBM", "SimController", "SimLink"]

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
