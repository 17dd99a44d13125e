"""The frames a simulated board sends its PodBridge, and what the bridge does with each.

Each handler takes the bridge and the frame's payload and acts on the bumble
device: advertising, the GATT table, notifications, disconnections. The layouts
are in sim/board/simlink_proto.py, which the board's side imports too.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bumble import gatt, hci
from bumble.device import AdvertisingType

from heavylegs.sim.board import simlink_proto as proto
from heavylegs.sim.gatt_table import BLE_HS_ENOTCONN, Reader, address_bytes

if TYPE_CHECKING:
    from heavylegs.sim.pod_bridge import PodBridge

logger = logging.getLogger("heavylegs.sim.pod_bridge")


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


async def _hello(bridge: PodBridge, frame: Reader) -> None:
    version = frame.u8()
    if version != proto.PROTOCOL_VERSION:
        logger.warning(
            "%s: board speaks protocol %d, bridge %d",
            bridge.address,
            version,
            proto.PROTOCOL_VERSION,
        )
    await bridge.reset_radio()
    bridge.table.reset()
    identity = bridge.radio.identity_address(bridge.device)
    bridge.send_to_board(
        MsgType.HELLO_ACK, bytes((proto.PROTOCOL_VERSION,)) + address_bytes(identity)
    )
    bridge.attached.set()


async def _active(bridge: PodBridge, frame: Reader) -> None:
    if not frame.u8():
        await bridge.reset_radio()
        bridge.table.reset()


async def _config(bridge: PodBridge, frame: Reader) -> None:
    key = frame.u8()
    if key == proto.CONFIG_GAP_NAME:
        name = frame.rest()
        bridge.device.name = name.decode("utf-8", "replace")
        for attribute in bridge.device.gatt_server.attributes:
            if attribute.type == gatt.GATT_DEVICE_NAME_CHARACTERISTIC:
                attribute.value = name
    elif key == proto.CONFIG_MTU:
        bridge.device.gatt_server.max_mtu = frame.u16()


async def _advertise(bridge: PodBridge, frame: Reader) -> None:
    (interval_us,) = struct.unpack("<I", frame.take(4))
    connectable = bool(frame.u8())
    adv_data = frame.take(frame.u8())
    resp_data = frame.rest()
    device = bridge.device
    bridge.advertising_log.append(interval_us)
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
        own_address_type=hci.OwnAddressType.PUBLIC if bridge.public else hci.OwnAddressType.RANDOM,
        advertising_data=adv_data,
        scan_response_data=resp_data,
        advertising_interval_min=interval_us / 1000,
        advertising_interval_max=interval_us / 1000,
    )


async def _register(bridge: PodBridge, frame: Reader) -> None:
    try:
        handles = bridge.table.register(frame)
    except (ValueError, KeyError) as error:
        logger.warning("%s: bad REGISTER frame: %s", bridge.address, error)
        bridge.send_to_board(MsgType.REGISTERED, bytes((22,)))  # EINVAL
        return
    bridge.send_to_board(MsgType.REGISTERED, b"\x00" + handles)


async def _write_local(bridge: PodBridge, frame: Reader) -> None:
    handle, options = frame.u16(), frame.u16()
    value = frame.rest()
    slot = bridge.table.slots.get(handle)
    if slot is None or slot.attribute is None:
        return
    slot.write_local(value)
    if not options & 1:
        return
    server = bridge.device.gatt_server
    for connection in list(bridge.device.connections.values()):
        cccd = server.subscribers.get(connection, {}).get(handle, b"\x00\x00")
        if cccd[0] & 0x01:
            await server.notify_subscriber(connection, slot.attribute, value, force=True)
        elif cccd[0] & 0x02:
            bridge.table.start_indication(connection, slot.attribute, value)


async def _notify(bridge: PodBridge, frame: Reader) -> None:
    conn, handle = frame.u16(), frame.u16()
    connection = bridge.device.connections.get(conn)
    attribute = bridge.device.gatt_server.get_attribute(handle)
    if connection is None or attribute is None:
        return
    value = frame.rest()
    # MicroPython notifies whatever the CCCD says; bumble truncates to MTU-3.
    await bridge.device.gatt_server.notify_subscriber(connection, attribute, value, force=True)


async def _indicate(bridge: PodBridge, frame: Reader) -> None:
    conn, handle = frame.u16(), frame.u16()
    connection = bridge.device.connections.get(conn)
    attribute = bridge.device.gatt_server.get_attribute(handle)
    if connection is None or attribute is None:
        bridge.send_to_board(
            MsgType.INDICATE_DONE, struct.pack("<HHB", conn, handle, BLE_HS_ENOTCONN)
        )
        return
    bridge.table.start_indication(connection, attribute, frame.rest())


async def _set_buffer(bridge: PodBridge, frame: Reader) -> None:
    handle, buffer_len, append = frame.u16(), frame.u16(), frame.u8()
    slot = bridge.table.slots.get(handle)
    if slot is not None:
        slot.buffer_len, slot.append, slot.value = buffer_len, bool(append), b""


async def _disconnect(bridge: PodBridge, frame: Reader) -> None:
    connection = bridge.device.connections.get(frame.u16())
    if connection is not None:
        with contextlib.suppress(Exception):
            await connection.disconnect()


async def _beacon(bridge: PodBridge, frame: Reader) -> None:
    try:
        if bridge.on_beacon is not None:
            await bridge.on_beacon()
    except Exception:
        logger.exception("%s: on_beacon failed", bridge.address)
    finally:
        bridge.send_to_board(MsgType.BEACON_DONE)


FRAME_HANDLERS: dict[int, Callable[[PodBridge, Reader], Awaitable[None]]] = {
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
