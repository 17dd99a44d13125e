"""Random writes at every characteristic of a real (simulated) pod, over the air.

The pod must answer each with the right ATT error or control-point status, stay
up, and leave its journal exactly as it was.
"""

from __future__ import annotations

import asyncio
import random
import shutil
from pathlib import Path

import pytest
from bleak import BleakClient
from bleak.exc import BleakGATTProtocolError, BleakGATTProtocolErrorCode

from heavylegs.link.client import Backends
from heavylegs.link.pods import find_pods
from heavylegs.sim.bleak_backend import SimBleakClient, SimBleakScanner
from heavylegs.sim.pod import SimPod, run_alone
from heavylegs.sim.radio import SimRadio, use_radio
from heavylegs.sim.scenarios import write_scenario
from heavylegs_pod import wire
from heavylegs_pod.journal import Journal

ADDRESS = "F0:00:00:00:00:03"
KEY = bytes(range(7, 39))
BACKENDS = Backends(scanner=SimBleakScanner, client=SimBleakClient)
CCCD = "00002902-0000-1000-8000-00805f9b34fb"


def journal_bytes(flash: Path) -> dict[str, bytes]:
    root = flash / "journal"
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


@pytest.fixture(scope="module")
def flash_with_session(tmp_path_factory) -> tuple[Path, Path]:
    traces = write_scenario("easy", tmp_path_factory.mktemp("tr"), minutes=0.3, seed=9)
    flash = tmp_path_factory.mktemp("flash") / "pod"

    pod_options = {"foot": "left", "name": "fuzz", "address": ADDRESS, "key": KEY}
    asyncio.run(run_alone(traces["left"], flash, bound_s=60, **pod_options))
    return flash, traces["left"]


@pytest.mark.parametrize("mtu", [23, 247])
async def test_random_writes_at_every_characteristic(flash_with_session, tmp_path, mtu):
    source, trace = flash_with_session
    flash = tmp_path / "pod"
    shutil.copytree(source, flash)
    before = journal_bytes(flash)
    assert any(name.endswith(".hls") for name in before)
    rng = random.Random(mtu)
    answers: list[bytes] = []
    async with SimRadio(central_mtu=mtu) as radio:
        with use_radio(radio):
            async with SimPod(
                radio, trace, foot="left", name="fuzz", address=ADDRESS, key=KEY, workdir=flash
            ) as pod:
                (device,) = await find_pods(1, 10, BACKENDS)
                async with BleakClient(device, backend=SimBleakClient) as client:
                    # The firmware's services; GAP and GATT (0x1800, 0x1801) are the
                    # simulated stack's own, which bumble does not guard.
                    stack = ("00001800-", "00001801-")
                    chars = [
                        c
                        for s in client.services
                        if not s.uuid.startswith(stack)
                        for c in s.characteristics
                    ]
                    for c in chars:
                        if "indicate" in c.properties:
                            await client.start_notify(c, lambda _c, d: answers.append(bytes(d)))
                    writes = refused = 0
                    for _ in range(400):
                        c = rng.choice(chars)
                        data = rng.randbytes(rng.randint(0, 60))
                        if c.uuid == wire.RD_CONTROL_UUID and data and rng.random() < 0.5:
                            data = bytes([rng.randint(1, 12)]) + data[1:18]
                        try:
                            await client.write_gatt_char(c, data, response=True)
                            writes += 1
                            assert "write" in c.properties, c.uuid
                        except BleakGATTProtocolError as exc:
                            refused += 1
                            assert "write" not in c.properties, c.uuid
                            assert exc.code == BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED
                    assert writes and refused
                    # the pod is alive and answers as before
                    status = wire.decode_status(await client.read_gatt_char(wire.RD_STATUS_UUID))
                    assert status["provisioned"] and status["state"] in (
                        "idle",
                        "recording",
                        "syncing",
                    )
                    assert pod.process is not None and pod.process.returncode is None
                    await asyncio.sleep(0.2)
    # every control-point answer was a refusal (nothing authorised) or a challenge
    for answer in answers:
        if answer[0] == wire.CP_RESPONSE:
            assert answer[2] in (
                wire.CP_NOT_AUTHORISED,
                wire.CP_INVALID_PARAMETER,
                wire.CP_NOT_SUPPORTED,
            ) or (answer[1], answer[2]) == (wire.OP_CHALLENGE, wire.CP_SUCCESS), answer.hex()
        else:
            assert answer[0] == wire.SC_RESPONSE, answer.hex()
    assert journal_bytes(flash) == before, "the journal changed"
    journal = Journal(str(flash / "journal"), 1 << 30)
    for sid in journal.sessions():
        assert len(list(journal.records(sid))) == journal.count(sid)
