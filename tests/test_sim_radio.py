"""Regression tests for the bumble 0.0.236 link-layer faults that `SimLink`/`SimController` fix.

Each fault is shown twice: on bumble's own LocalLink/Controller, where the
test pins down the failure (so a bumble upgrade that fixes it is noticed),
and on ours, where it is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

import pytest
from bumble import core
from bumble.controller import Controller
from bumble.device import Advertisement, AdvertisingType, Device
from bumble.hci import Address, OwnAddressType
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from heavylegs.sim.radio import SimController, SimLink, SimRadio, current_radio, use_radio

POD = "F0:00:00:00:00:01"
POD_PUBLIC = Address(POD, Address.PUBLIC_DEVICE_ADDRESS)
# Flags + complete local name "pod" / manufacturer data for company 0xFFFF.
ADV_DATA = bytes([2, 0x01, 0x06, 4, 0x09]) + b"pod"
RESP_DATA = bytes([5, 0xFF, 0xFF, 0xFF]) + b"HL"
BOUND_S = 2.0

STACKS = [
    pytest.param((LocalLink, Controller, False), id="bumble"),
    pytest.param((SimLink, SimController, True), id="sim"),
]


@asynccontextmanager
async def two_devices(
    link_cls: type[LocalLink], controller_cls: type[Controller]
) -> AsyncIterator[tuple[Device, Device]]:
    link = link_cls()
    central_controller = controller_cls("central", link=link)
    pod_controller = controller_cls("pod", link=link, public_address=POD_PUBLIC)
    central = Device(
        name="central",
        address=Address("C0:00:00:00:00:01"),
        host=Host(central_controller, AsyncPipeSink(central_controller)),
    )
    pod = Device(
        name="pod",
        address=Address("C0:00:00:00:00:02"),
        host=Host(pod_controller, AsyncPipeSink(pod_controller)),
    )
    await central.power_on()
    await pod.power_on()
    try:
        yield central, pod
    finally:
        for device in (central, pod):
            with suppress(Exception):
                await device.stop_advertising()
            for connection in list(device.connections.values()):
                with suppress(Exception):
                    await connection.disconnect()
            await device.power_off()


@pytest.fixture(params=STACKS)
async def devices(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Device, Device, bool]]:
    """A central and a pod on bumble's stack and on ours, and whether it is ours (fixed)."""
    link_cls, controller_cls, fixed = request.param
    async with two_devices(link_cls, controller_cls) as (central, pod):
        yield central, pod, fixed


async def advertise(
    pod: Device, kind: AdvertisingType = AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE
) -> None:
    await pod.start_advertising(
        advertising_type=kind,
        own_address_type=OwnAddressType.PUBLIC,
        advertising_data=ADV_DATA,
        scan_response_data=RESP_DATA,
        advertising_interval_min=20,
        advertising_interval_max=20,
    )


async def collect(
    central: Device,
    *,
    active: bool,
    count: int = 1_000,
    until: Callable[[Advertisement], bool] = lambda _: False,
) -> list[Advertisement]:
    """Advertisements the central's host reports, up to `count` or the first that matches `until`."""
    seen: list[Advertisement] = []
    enough = asyncio.Event()

    def on_advertisement(advertisement: Advertisement) -> None:
        seen.append(advertisement)
        if len(seen) >= count or until(advertisement):
            enough.set()

    central.on(central.EVENT_ADVERTISEMENT, on_advertisement)
    await central.start_scanning(active=active)
    try:
        await asyncio.wait_for(enough.wait(), BOUND_S)
    finally:
        await central.stop_scanning()
        central.remove_listener(central.EVENT_ADVERTISEMENT, on_advertisement)
    return seen


async def test_public_address_peripheral_answers_the_mtu_exchange(
    devices: tuple[Device, Device, bool],
) -> None:
    central, pod, fixed = devices
    await advertise(pod)
    connection = await central.connect(
        POD_PUBLIC, own_address_type=OwnAddressType.RANDOM, timeout=BOUND_S
    )
    exchange = connection.gatt_client.request_mtu(247)
    if fixed:
        assert await asyncio.wait_for(exchange, BOUND_S) == 247
    else:
        # The pod's response leaves with its random address and is dropped.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(exchange, 0.3)


async def test_active_scan_gets_the_real_scan_response(
    devices: tuple[Device, Device, bool],
) -> None:
    central, pod, fixed = devices
    await advertise(pod)
    seen = await collect(central, active=True, until=lambda a: a.is_scan_response)
    merged = seen[-1]
    manufacturer = merged.data.get(merged.data.Type.MANUFACTURER_SPECIFIC_DATA)
    if fixed:
        assert manufacturer == (0xFFFF, b"HL")
        assert merged.data_bytes == RESP_DATA
    else:
        # The receiving controller answered itself with the advertising data.
        assert manufacturer is None
        assert merged.data_bytes == ADV_DATA


async def test_passive_scan_gets_no_scan_response(devices: tuple[Device, Device, bool]) -> None:
    central, pod, fixed = devices
    await advertise(pod)
    seen = await collect(central, active=False, count=4)
    assert any(a.is_scan_response for a in seen) is not fixed


async def test_non_scannable_advertiser_gets_no_scan_request_nor_a_connectable_report() -> None:
    async with two_devices(SimLink, SimController) as (central, pod):
        await advertise(pod, AdvertisingType.UNDIRECTED)
        seen = await collect(central, active=True, count=3)
        assert not any(a.is_scan_response or a.is_connectable for a in seen)


async def test_connect_to_an_absent_peripheral_times_out(
    devices: tuple[Device, Device, bool],
) -> None:
    central, _pod, fixed = devices
    attempt = central.connect(POD_PUBLIC, own_address_type=OwnAddressType.RANDOM, timeout=0.1)
    if fixed:
        with pytest.raises(core.TimeoutError):
            await asyncio.wait_for(attempt, BOUND_S)
    else:
        # bumble cancels, but the controller never ends the attempt.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(attempt, 0.5)


async def test_use_radio_nests_and_restores() -> None:
    outer, inner = SimRadio(), SimRadio(central_mtu=23)
    assert current_radio() is None
    with use_radio(outer):
        with use_radio(inner):
            assert current_radio() is inner
        assert current_radio() is outer
    assert current_radio() is None


def test_central_mtu_is_checked() -> None:
    with pytest.raises(ValueError, match="central_mtu"):
        SimRadio(central_mtu=22)


async def test_radio_resolves_pod_addresses_with_their_type() -> None:
    async with SimRadio() as radio:
        await radio.add_peripheral(POD)
        await radio.add_peripheral("C1:00:00:00:00:02", public=False)
        assert radio.resolve(POD.lower()) == POD_PUBLIC
        assert radio.resolve("C1:00:00:00:00:02") == Address(
            "C1:00:00:00:00:02", Address.RANDOM_DEVICE_ADDRESS
        )
        assert radio.resolve("F0:00:00:00:00:99") is None
        with pytest.raises(ValueError, match="static random"):
            await radio.add_peripheral("01:00:00:00:00:03", public=False)
