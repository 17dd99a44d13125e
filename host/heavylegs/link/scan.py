"""Finding heavylegs pods: every device that advertises our running-dynamics service.

Host code never knows whether the radio is real: the bleak backend classes are
passed in (None means bleak's platform default), exactly as `BleakScanner` takes them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bleak import BleakScanner
from bleak.backends.device import BLEDevice

from heavylegs.link.client import Backends, LinkError
from heavylegs_pod import wire


@dataclass(frozen=True, slots=True)
class ScanResult:
    device: BLEDevice
    name: str
    rssi: int | None


async def scan(timeout_s: float, backends: Backends, want: int | None = None) -> list[ScanResult]:
    """Every heavylegs pod heard within timeout_s (or until `want` were heard)."""
    found: dict[str, ScanResult] = {}
    done = asyncio.Event()

    def seen(device: BLEDevice, adv: Any) -> None:
        if wire.RD_SERVICE_UUID in adv.service_uuids:
            found[device.address] = ScanResult(
                device, adv.local_name or device.name or device.address, adv.rssi
            )
            if want is not None and len(found) >= want:
                done.set()

    scanner_kwargs: dict[str, Any] = {"detection_callback": seen}
    if backends.scanner is not None:
        scanner_kwargs["backend"] = backends.scanner
    async with BleakScanner(**scanner_kwargs):
        try:
            await asyncio.wait_for(done.wait(), timeout_s)
        except TimeoutError:
            pass
    return sorted(found.values(), key=lambda r: r.device.address)


async def find_pods(count: int, timeout_s: float, backends: Backends) -> list[BLEDevice]:
    """Scan until `count` pods advertise our service, or fail after `timeout_s`."""
    found = await scan(timeout_s, backends, want=count)
    if len(found) < count:
        raise LinkError(f"found {len(found)} heavylegs pod(s) in {timeout_s:.0f} s, wanted {count}")
    return [r.device for r in found[:count]]
