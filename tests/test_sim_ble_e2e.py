"""End to end over the simulated radio: a MicroPython GATT server in the real
`micropython` binary, bumble in between, and bleak's own front end on the host.

The pod is tests/sim_peripherals/echo_pod.py.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode
from bumble.hci import OwnAddressType

from heavylegs.sim.bleak_backend import SimBleakClient, SimBleakScanner
from heavylegs.sim.board import simlink_proto
from heavylegs.sim.pod_bridge import MsgType, PodBridge
from heavylegs.sim.radio import SimRadio, use_radio

ECHO_POD = Path(__file__).parent / "sim_peripherals" / "echo_pod.py"
POD_ADDRESS = "F0:00:00:00:00:01"
SERVICE = "8d1f0001-6c1e-4bba-9c4c-2b2f2f7c1a10"
TX = "8d1f0002-6c1e-4bba-9c4c-2b2f2f7c1a10"
IND = "8d1f0003-6c1e-4bba-9c4c-2b2f2f7c1a10"
RX = "8d1f0004-6c1e-4bba-9c4c-2b2f2f7c1a10"
INFO = "8d1f0005-6c1e-4bba-9c4c-2b2f2f7c1a10"
STATE = "8d1f0006-6c1e-4bba-9c4c-2b2f2f7c1a10"
SMALL = "8d1f0007-6c1e-4bba-9c4c-2b2f2f7c1a10"
RSC_SERVICE = "00001814-0000-1000-8000-00805f9b34fb"
USER_DESCRIPTION = "00002901-0000-1000-8000-00805f9b34fb"
EVENT_WRITE_SEEN = 0x81
EVENT_DISCONNECTED = 0x82
EVENT_SMALL_WRITE = 0x83
EVENT_HEAP = 0x84
BOUND_S = 5.0


@dataclass
class Pod:
    bridge: PodBridge
    process: asyncio.subprocess.Process
    events: asyncio.Queue[tuple[int, bytes]]

    async def event(self) -> tuple[int, bytes]:
        return await asyncio.wait_for(self.events.get(), BOUND_S)


@dataclass
class PodState:
    connects: int
    disconnects: int
    mtu: int
    indications_done: int
    indication_status: int

    @classmethod
    def parse(cls, raw: bytearray) -> PodState:
        return cls(*struct.unpack("<BBHBB", raw))


@pytest.fixture(params=[247, 23], ids=["mtu247", "mtu23"])
async def radio(request: pytest.FixtureRequest) -> AsyncIterator[SimRadio]:
    async with SimRadio(central_mtu=request.param) as radio:
        with use_radio(radio):
            yield radio


@pytest.fixture
async def pod(radio: SimRadio) -> AsyncIterator[Pod]:
    # Unix socket paths are limited to ~100 bytes; pytest's tmp_path can be longer.
    workdir = Path(tempfile.mkdtemp(prefix="hlble-"))
    events: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    bridge = PodBridge(
        radio,
        workdir / "pod.sock",
        POD_ADDRESS,
        on_board_event=lambda t, p: events.put_nowait((t, p)),
    )
    await bridge.start()
    process = await bridge.spawn(
        ECHO_POD, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        await asyncio.wait_for(bridge.attached.wait(), BOUND_S)
        yield Pod(bridge, process, events)
    finally:
        if process.returncode is None:
            process.kill()
        output, _ = await process.communicate()
        await bridge.close()
        shutil.rmtree(workdir, ignore_errors=True)
        assert b"Traceback" not in output, output.decode(errors="replace")


async def pod_state(client: BleakClient, ready: Callable[[PodState], bool]) -> PodState:
    """The pod's STATE once `ready` holds: the pod publishes it after handling its IRQs."""
    async with asyncio.timeout(BOUND_S):
        while not ready(state := PodState.parse(await client.read_gatt_char(STATE))):
            await asyncio.sleep(0.001)
    return state


async def find_pod() -> BLEDevice:
    device = await BleakScanner.find_device_by_name(
        "echo-pod", timeout=BOUND_S, backend=SimBleakScanner
    )
    assert device is not None
    return device


async def test_scan_sees_advertising_and_scan_response_fields(pod: Pod, radio: SimRadio) -> None:
    device = await find_pod()
    assert device.address == POD_ADDRESS

    async with BleakScanner(
        backend=SimBleakScanner, service_uuids=[SERVICE], radio=radio
    ) as scanner:
        found, adv = await asyncio.wait_for(anext(scanner.advertisement_data()), BOUND_S)
    assert found.address == POD_ADDRESS
    assert adv.local_name == "echo-pod"
    assert adv.service_uuids == [
        RSC_SERVICE,
        SERVICE,
    ]  # from the advertisement, then the scan response
    assert adv.manufacturer_data == {0xFFFF: b"HL"}
    assert adv.rssi == -50

    async with BleakScanner(
        service_uuids=["1814"], scanning_mode="passive", backend=SimBleakScanner
    ) as scanner:
        _, passive = await asyncio.wait_for(anext(scanner.advertisement_data()), BOUND_S)
    assert passive.local_name == "echo-pod"
    assert passive.service_uuids == [RSC_SERVICE]
    assert passive.manufacturer_data == {}


async def test_gatt_round_trip(pod: Pod, radio: SimRadio) -> None:
    device = await find_pod()
    notified: asyncio.Queue[tuple[str, bytearray]] = asyncio.Queue()
    async with BleakClient(device, backend=SimBleakClient) as client:
        assert client.mtu_size == radio.central_mtu
        assert client.services.get_service(SERVICE) is not None
        info = client.services.get_characteristic(INFO)
        assert info is not None and info.properties == ["read"]
        rx = client.services.get_characteristic(RX)
        assert rx is not None and rx.properties == ["write-without-response", "write"]
        assert await client.read_gatt_char(INFO) == b"echo-pod v1"
        description = info.get_descriptor(USER_DESCRIPTION)
        assert description is not None
        assert await client.read_gatt_descriptor(description) == b"info"

        await client.start_notify(TX, lambda _, data: notified.put_nowait(("tx", data)))
        await client.start_notify(IND, lambda _, data: notified.put_nowait(("ind", data)))
        await client.write_gatt_char(RX, b"hello pod", response=True)
        assert await pod.event() == (EVENT_WRITE_SEEN, b"hello pod")
        tx = await asyncio.wait_for(notified.get(), BOUND_S)
        ind = await asyncio.wait_for(notified.get(), BOUND_S)
        assert {tx[0], ind[0]} == {"tx", "ind"}
        assert tx[1] == ind[1] == b"hello pod"
        assert type(tx[1]) is bytearray

        # A write longer than the MTU goes out as a long write, and without response too.
        long = bytes(range(100))
        await client.write_gatt_char(RX, long, response=True)
        assert await pod.event() == (EVENT_WRITE_SEEN, long)
        await client.write_gatt_char(RX, b"quiet", response=False)
        assert await pod.event() == (EVENT_WRITE_SEEN, b"quiet")
        # Reads return what the firmware last wrote (the echo of b"quiet").
        async with asyncio.timeout(BOUND_S):
            while (await client.read_gatt_char(TX)) != b"quiet":
                await asyncio.sleep(0)

        state = await pod_state(client, lambda st: st.indications_done == 3)
        assert state.connects == 1
        assert state.indication_status == 0
        assert state.mtu == (radio.central_mtu if radio.central_mtu > 23 else 0)

        await client.stop_notify(TX)
        await client.stop_notify(IND)


async def test_notification_is_truncated_to_the_mtu(pod: Pod, radio: SimRadio) -> None:
    device = await find_pod()
    received: asyncio.Queue[bytearray] = asyncio.Queue()
    async with BleakClient(device, backend=SimBleakClient) as client:
        await client.start_notify(TX, lambda _, data: received.put_nowait(data))
        await client.write_gatt_char(RX, b"big", response=True)
        data = await asyncio.wait_for(received.get(), BOUND_S)
    assert len(data) == radio.central_mtu - 3
    assert data == bytes(i & 0xFF for i in range(len(data)))


async def test_send_update_follows_the_subscriptions(pod: Pod) -> None:
    received: asyncio.Queue[tuple[str, bytearray]] = asyncio.Queue()
    async with BleakClient(await find_pod(), backend=SimBleakClient) as client:
        await client.start_notify(TX, lambda _, data: received.put_nowait(("tx", data)))
        await client.write_gatt_char(RX, b"upd", response=True)
        assert await asyncio.wait_for(received.get(), BOUND_S) == ("tx", b"upd-notify")
        # IND was not subscribed, so nothing was indicated; now it is.
        await client.start_notify(IND, lambda _, data: received.put_nowait(("ind", data)))
        await client.write_gatt_char(RX, b"upd", response=True)
        got = [await asyncio.wait_for(received.get(), BOUND_S) for _ in range(2)]
        assert sorted((kind, bytes(data)) for kind, data in got) == [
            ("ind", b"upd-indicate"),
            ("tx", b"upd-notify"),
        ]
        state = await pod_state(client, lambda st: st.indications_done == 1)
        assert state.indication_status == 0


async def test_remote_write_is_truncated_to_the_value_buffer(pod: Pod) -> None:
    async with BleakClient(await find_pod(), backend=SimBleakClient) as client:
        await client.write_gatt_char(SMALL, bytes(range(30)), response=True)
        assert await pod.event() == (EVENT_SMALL_WRITE, bytes(range(20)))


async def test_notify_allocates_nothing_on_the_pod(pod: Pod) -> None:
    async with BleakClient(await find_pod(), backend=SimBleakClient) as client:
        await client.write_gatt_char(RX, b"heap", response=True)
        assert await pod.event() == (EVENT_WRITE_SEEN, b"heap")
        assert await pod.event() == (EVENT_HEAP, b"ok")


async def test_write_to_read_only_characteristic_is_a_protocol_error(pod: Pod) -> None:
    async with BleakClient(await find_pod(), backend=SimBleakClient) as client:
        with pytest.raises(BleakGATTProtocolError) as caught:
            await client.write_gatt_char(INFO, b"nope", response=True)
        assert caught.value.code == BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED
        with pytest.raises(BleakGATTProtocolError) as caught:
            await client.read_gatt_char(RX)
        assert caught.value.code == BleakGATTProtocolErrorCode.READ_NOT_PERMITTED
        with pytest.raises(BleakError, match="neither notify nor indicate"):
            await client.start_notify(INFO, lambda _, __: None)


async def test_disconnects_are_seen_on_both_sides(pod: Pod) -> None:
    device = await find_pod()
    lost = asyncio.Event()
    client = BleakClient(device, disconnected_callback=lambda _: lost.set(), backend=SimBleakClient)

    await client.connect()
    await client.disconnect()
    assert lost.is_set() and not client.is_connected
    assert await pod.event() == (EVENT_DISCONNECTED, b"\x01")

    # The pod advertises again; now it hangs up itself.
    lost.clear()
    await client.connect()
    await client.write_gatt_char(RX, b"bye", response=True)
    await asyncio.wait_for(lost.wait(), BOUND_S)
    assert not client.is_connected
    assert await pod.event() == (EVENT_WRITE_SEEN, b"bye")
    assert await pod.event() == (EVENT_DISCONNECTED, b"\x02")
    with pytest.raises(BleakError):
        await client.read_gatt_char(INFO)


async def test_pod_process_killed_mid_connection(pod: Pod, radio: SimRadio) -> None:
    lost = asyncio.Event()
    async with BleakClient(
        POD_ADDRESS, disconnected_callback=lambda _: lost.set(), backend=SimBleakClient, radio=radio
    ) as client:
        received: asyncio.Queue[bytearray] = asyncio.Queue()
        await client.start_notify(TX, lambda _, data: received.put_nowait(data))
        pod.process.kill()
        await asyncio.wait_for(lost.wait(), BOUND_S)
        assert not client.is_connected
        await asyncio.wait_for(pod.bridge.detached.wait(), BOUND_S)
    # A dead pod stops advertising.
    assert (
        await BleakScanner.find_device_by_address(POD_ADDRESS, timeout=0.2, backend=SimBleakScanner)
        is None
    )


async def test_closing_the_bridge_ends_the_pod_process(pod: Pod) -> None:
    await pod.bridge.close()
    assert await asyncio.wait_for(pod.process.wait(), BOUND_S) == 0


async def test_pod_reboots_on_the_same_bridge(pod: Pod) -> None:
    pod.process.kill()
    await asyncio.wait_for(pod.bridge.detached.wait(), BOUND_S)
    reborn = await pod.bridge.spawn(ECHO_POD, stdout=asyncio.subprocess.DEVNULL)
    try:
        async with BleakClient(await find_pod(), backend=SimBleakClient) as client:
            assert await client.read_gatt_char(INFO) == b"echo-pod v1"
            assert (await pod_state(client, lambda st: st.connects > 0)).connects == 1
    finally:
        reborn.kill()
        await reborn.wait()


async def test_cancelled_connect_leaves_the_central_usable(radio: SimRadio) -> None:
    address = "F0:00:00:00:00:05"
    quiet = await radio.add_peripheral(address)
    client = BleakClient(address, backend=SimBleakClient, timeout=BOUND_S)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.connect(), 0.1)
    await quiet.start_advertising(
        own_address_type=OwnAddressType.PUBLIC,
        advertising_interval_min=20,
        advertising_interval_max=20,
    )
    await asyncio.wait_for(client.connect(), BOUND_S)
    assert client.is_connected
    await client.disconnect()


async def test_two_pods_at_once(pod: Pod, radio: SimRadio) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hlble-"))
    async with PodBridge(radio, workdir / "pod2.sock", "F0:00:00:00:00:02") as bridge:
        second = await bridge.spawn(ECHO_POD, stdout=asyncio.subprocess.DEVNULL)
        try:
            clients = [
                BleakClient(address, backend=SimBleakClient)
                for address in (POD_ADDRESS, "F0:00:00:00:00:02")
            ]
            await asyncio.wait_for(bridge.attached.wait(), BOUND_S)
            await asyncio.gather(*(client.connect() for client in clients))
            queues: list[asyncio.Queue[bytearray]] = [asyncio.Queue(), asyncio.Queue()]
            for client, queue in zip(clients, queues, strict=True):
                await client.start_notify(TX, lambda _, data, q=queue: q.put_nowait(data))
            await asyncio.gather(
                clients[0].write_gatt_char(RX, b"left", response=True),
                clients[1].write_gatt_char(RX, b"right", response=True),
            )
            echoes = [await asyncio.wait_for(q.get(), BOUND_S) for q in queues]
            assert echoes == [b"left", b"right"]
            await asyncio.gather(*(client.disconnect() for client in clients))
        finally:
            second.kill()
            await second.wait()
    shutil.rmtree(workdir, ignore_errors=True)


async def test_connecting_to_an_unknown_address_says_so(radio: SimRadio) -> None:
    with pytest.raises(BleakError, match="not found"):
        await BleakClient("F0:00:00:00:00:99", backend=SimBleakClient).connect()


async def test_no_radio_is_bluetooth_not_available() -> None:
    from bleak.exc import BleakBluetoothNotAvailableError

    with pytest.raises(BleakBluetoothNotAvailableError):
        await BleakScanner.discover(timeout=0.01, backend=SimBleakScanner)


def test_the_bridge_names_every_frame_type_of_the_shared_link_module() -> None:
    # Both ends read the numbers from simlink_proto; the enum must not leave one out.
    shared = {k[4:]: v for k, v in vars(simlink_proto).items() if k.startswith("MSG_")}
    assert {m.name: m.value for m in MsgType} == shared
