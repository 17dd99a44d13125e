"""The RSC SC Control Point of the real firmware over the simulated radio: the pod
indicates a response only to a client whose CCCD enabled indications (RSCS 1.0,
3.4), as MicroPython's stacks do for a value update; a write is always accepted,
as they accept every write (no 0xFD: docs/protocol.md says why)."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient
from bumble import gatt_client

from heavylegs.link.client import SC_CONTROL_POINT, Backends
from heavylegs.link.pods import find_pods
from heavylegs.sim.bleak_backend import SimBleakClient, SimBleakScanner
from heavylegs.sim.pod import SimPod
from heavylegs.sim.radio import SimRadio, use_radio
from heavylegs.sim.scenarios import write_scenario
from heavylegs_pod import wire

ADDRESS = "F0:00:00:00:00:01"
BACKENDS = Backends(scanner=SimBleakScanner, client=SimBleakClient)


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    return write_scenario("easy", tmp_path_factory.mktemp("sc"), minutes=1.0, seed=5)["left"]


@pytest.mark.parametrize("mtu", [23, 247])
async def test_no_indication_reaches_a_client_that_did_not_enable_them(trace, mtu, monkeypatch):
    # What the central's own ATT layer received, subscribed or not.
    on_air: list[tuple[int, bytes]] = []
    real = gatt_client.Client.on_att_handle_value_indication

    def record(self, indication):
        on_air.append((indication.attribute_handle, bytes(indication.attribute_value)))
        return real(self, indication)

    monkeypatch.setattr(gatt_client.Client, "on_att_handle_value_indication", record)
    async with SimRadio(central_mtu=mtu) as radio:
        with use_radio(radio):
            async with SimPod(radio, trace, foot="left", name="hl-left", address=ADDRESS):
                (device,) = await find_pods(1, 10, BACKENDS)
                async with BleakClient(device, backend=SimBleakClient) as client:
                    handle = client.services.get_characteristic(SC_CONTROL_POINT).handle
                    control: asyncio.Queue[bytes] = asyncio.Queue()
                    await client.start_notify(
                        wire.RD_CONTROL_UUID, lambda _c, d: control.put_nowait(bytes(d))
                    )

                    async def handled_so_far() -> None:
                        # The pod answers writes in the order they came: once this
                        # challenge is answered, every earlier write was handled.
                        await client.write_gatt_char(
                            wire.RD_CONTROL_UUID, bytes((wire.OP_CHALLENGE,)), response=True
                        )
                        answer = wire.decode_cp_response(await asyncio.wait_for(control.get(), 5))
                        assert answer["op"] == wire.OP_CHALLENGE

                    # not subscribed: the write is accepted, its answer not indicated
                    await client.write_gatt_char(
                        SC_CONTROL_POINT, bytes((wire.SC_REQUEST_LOCATIONS,)), response=True
                    )
                    await handled_so_far()
                    answers: asyncio.Queue[bytes] = asyncio.Queue()
                    await client.start_notify(
                        SC_CONTROL_POINT, lambda _c, d: answers.put_nowait(bytes(d))
                    )
                    await client.write_gatt_char(
                        SC_CONTROL_POINT, bytes((wire.SC_START_CALIBRATION,)), response=True
                    )
                    first = wire.decode_sc_response(await asyncio.wait_for(answers.get(), 5))
                    assert (first["op"], first["result"]) == (
                        wire.SC_START_CALIBRATION,
                        wire.SC_NOT_SUPPORTED,
                    )
                    # unsubscribed again: silence; subscribed: answered
                    await client.stop_notify(SC_CONTROL_POINT)
                    await client.write_gatt_char(SC_CONTROL_POINT, b"\x55", response=True)
                    await handled_so_far()
                    await client.start_notify(
                        SC_CONTROL_POINT, lambda _c, d: answers.put_nowait(bytes(d))
                    )
                    await client.write_gatt_char(
                        SC_CONTROL_POINT, bytes((wire.SC_UPDATE_LOCATION, 1)), response=True
                    )
                    last = wire.decode_sc_response(await asyncio.wait_for(answers.get(), 5))
                    assert last["op"] == wire.SC_UPDATE_LOCATION
    # Each unsubscribed write was handled before the client subscribed again: had
    # the pod indicated its answer, the central's ATT layer would have received it.
    assert [value for h, value in on_air if h == handle] == [
        bytes((wire.SC_RESPONSE, wire.SC_START_CALIBRATION, wire.SC_NOT_SUPPORTED)),
        bytes((wire.SC_RESPONSE, wire.SC_UPDATE_LOCATION, wire.SC_NOT_SUPPORTED)),
    ]
