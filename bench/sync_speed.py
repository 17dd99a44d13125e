"""Journal sync throughput over the simulated radio, at MTU 23 and at MTU 247.

A simulated pod runs a 10-minute run with no host in reach, so every stride is
only in its journal; then the host syncs it into a fresh store at each MTU.
Reported: strides per second (wall clock, connection and authentication
included) and the share of stride payload (20 bytes a stride) in all L2CAP bytes
both ways on the link during the sync (ATT and L2CAP headers, requests,
acknowledgements and responses included).

The simulated link has no radio timing (no connection interval, no air time), so
strides/s measures the pod and host software, not a radio; the payload share is
what a real link would carry.

Last line: one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from heavylegs.cli.simulated import SIM_BACKENDS
from heavylegs.link.keys import KeyStore
from heavylegs.link.pods import find_pods
from heavylegs.link.sync import Syncer
from heavylegs.sim.pod import SimPod, run_alone
from heavylegs.sim.radio import SimRadio, use_radio
from heavylegs.sim.scenarios import write_scenario
from heavylegs.store import Store
from heavylegs_pod import wire

ADDRESS = "F0:00:00:00:00:01"
KEY = bytes(range(32))
MINUTES = 10.0


async def sync_once(trace: Path, flash: Path, db: Path, mtu: int) -> dict[str, float]:
    async with SimRadio(central_mtu=mtu) as radio:
        with use_radio(radio):
            async with SimPod(
                radio, trace, foot="left", name="bench", address=ADDRESS, key=KEY, workdir=flash
            ):
                (device,) = await find_pods(1, 10, SIM_BACKENDS)
                with Store(db) as store:
                    syncer = Syncer(store, SIM_BACKENDS, KeyStore(keys={ADDRESS: KEY}))
                    before = radio.link.acl_bytes
                    started = time.perf_counter()
                    report = await syncer.sync(device)
                    elapsed = time.perf_counter() - started
                    sent = radio.link.acl_bytes - before
    strides = report.received
    return {
        "strides": strides,
        "seconds": elapsed,
        "strides_per_s": strides / elapsed,
        "link_bytes": sent,
        "payload_share": strides * wire.STRIDE_SIZE / sent,
    }


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="hlbench-"))
    try:
        traces = write_scenario("easy", work / "traces", minutes=MINUTES, seed=11)
        recorded = work / "recorded"
        pod_options = {"foot": "left", "name": "bench", "address": ADDRESS, "key": KEY}
        asyncio.run(run_alone(traces["left"], recorded, bound_s=600, settle_s=0.5, **pod_options))
        results = {}
        for mtu in (23, 247):
            flash = work / f"flash{mtu}"
            shutil.copytree(recorded, flash)
            results[mtu] = asyncio.run(
                sync_once(traces["left"], flash, work / f"db{mtu}.sqlite", mtu)
            )
            r = results[mtu]
            print(
                f"MTU {mtu:3d}: {r['strides']} strides in {r['seconds']:.2f} s "
                f"= {r['strides_per_s']:.0f} strides/s; {r['link_bytes']} bytes on the link, "
                f"payload share {r['payload_share']:.3f}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "payload_share_mtu23": round(results[23]["payload_share"], 3),
                "payload_share_mtu_large": round(results[247]["payload_share"], 3),
                "strides_per_s_mtu23": round(results[23]["strides_per_s"], 1),
                "strides_per_s_mtu_large": round(results[247]["strides_per_s"], 1),
                "mtu_large": 247,
                "strides": results[23]["strides"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
