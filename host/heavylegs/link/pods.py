"""Finding pods and recording their strides live, through bleak.

Host code here never knows whether the radio is real: the bleak backend classes
are passed in (None means bleak's platform default), exactly as `BleakScanner`
and `BleakClient` take them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice

from heavylegs.errors import HeavylegsError
from heavylegs.store import Store, Stride
from heavylegs_pod import wire

log = logging.getLogger(__name__)

RSC_MEASUREMENT = "00002a53-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION = "00002a26-0000-1000-8000-00805f9b34fb"
FLUSH_EVERY_S = 1.0  # a killed host loses at most this much, well inside the 2 s promise


class LinkError(HeavylegsError):
    """A pod could not be found, connected or understood."""


@dataclass(frozen=True, slots=True)
class Backends:
    """bleak backend classes; both None selects the platform's real radio."""

    scanner: type | None = None
    client: type | None = None
    client_kwargs: dict[str, Any] = field(default_factory=dict)


async def find_pods(count: int, timeout_s: float, backends: Backends) -> list[BLEDevice]:
    """Scan until `count` pods advertise our service, or fail after `timeout_s`."""
    found: dict[str, BLEDevice] = {}
    done = asyncio.Event()

    def seen(device: BLEDevice, adv: Any) -> None:
        if wire.RD_SERVICE_UUID in adv.service_uuids and device.address not in found:
            found[device.address] = device
            if len(found) >= count:
                done.set()

    scanner_kwargs: dict[str, Any] = {"detection_callback": seen}
    if backends.scanner is not None:
        scanner_kwargs["backend"] = backends.scanner
    async with BleakScanner(**scanner_kwargs):
        try:
            await asyncio.wait_for(done.wait(), timeout_s)
        except TimeoutError:
            pass
    if len(found) < count:
        raise LinkError(f"found {len(found)} heavylegs pod(s) in {timeout_s:.0f} s, wanted {count}")
    return sorted(found.values(), key=lambda d: d.address)


@dataclass(slots=True)
class PodLink:
    """One connected pod during a live recording."""

    device: BLEDevice
    client: BleakClient
    foot: str
    firmware: str
    session: int
    recording_id: int
    pending: list[Stride] = field(default_factory=list)
    received: int = 0
    bad_records: int = 0
    last: Stride | None = None
    last_rsc: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.device.name or self.device.address


class Recorder:
    """Connects to pods, subscribes, and writes strides to the store about once a second."""

    def __init__(
        self,
        store: Store,
        backends: Backends,
        *,
        run_name: str,
        source: str,
        on_stride: Callable[[PodLink, Stride], None] | None = None,
    ) -> None:
        self.store = store
        self.backends = backends
        self.run_name = run_name
        self.source = source
        self.on_stride = on_stride
        self.pods: list[PodLink] = []
        self.run_id: int | None = None

    async def connect(self, devices: list[BLEDevice]) -> None:
        self.run_id = self.store.start_run(self.run_name, self.source, time.time())
        for device in devices:
            kwargs = dict(self.backends.client_kwargs)
            if self.backends.client is not None:
                kwargs["backend"] = self.backends.client
            client = BleakClient(device, **kwargs)
            await client.connect()
            firmware = (await client.read_gatt_char(FIRMWARE_REVISION)).decode(errors="replace")
            try:
                status = wire.decode_status(await client.read_gatt_char(wire.RD_STATUS_UUID))
            except ValueError as exc:
                await client.disconnect()
                raise LinkError(f"{device.address}: unreadable status: {exc}") from exc
            recording_id = self.store.add_recording(
                self.run_id,
                pod_address=device.address,
                pod_name=device.name or device.address,
                foot=status["foot"],
                pod_session=status["session"],
                firmware=firmware,
            )
            pod = PodLink(device, client, status["foot"], firmware, status["session"], recording_id)
            self.pods.append(pod)
            await client.start_notify(wire.RD_STRIDE_UUID, self._stride_handler(pod))
            await client.start_notify(RSC_MEASUREMENT, self._rsc_handler(pod))

    def _stride_handler(self, pod: PodLink) -> Callable[[Any, bytearray], None]:
        def handle(_char: Any, data: bytearray) -> None:
            try:
                stride = Stride.from_wire(wire.decode_stride(data), host_time=time.time())
            except ValueError as exc:
                pod.bad_records += 1
                log.warning("%s: dropped a malformed stride record: %s", pod.name, exc)
                return
            pod.pending.append(stride)
            pod.received += 1
            pod.last = stride
            if self.on_stride is not None:
                self.on_stride(pod, stride)

        return handle

    def _rsc_handler(self, pod: PodLink) -> Callable[[Any, bytearray], None]:
        def handle(_char: Any, data: bytearray) -> None:
            try:
                pod.last_rsc = wire.decode_rsc(data)
            except ValueError as exc:
                log.warning("%s: malformed RSC measurement: %s", pod.name, exc)

        return handle

    def flush(self) -> int:
        """Commit what arrived so far; returns the number of new strides stored."""
        stored = 0
        for pod in self.pods:
            if pod.pending:
                batch = pod.pending[:]
                stored += self.store.add_strides(pod.recording_id, batch)
                # only what is committed leaves memory; a failed write is retried
                del pod.pending[: len(batch)]
        return stored

    async def run_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), FLUSH_EVERY_S)
            except TimeoutError:
                pass
            self.flush()

    async def barrier(self) -> None:
        """A GATT read per pod: every notification sent before it has then arrived."""
        for pod in self.pods:
            if pod.client.is_connected:
                await pod.client.read_gatt_char(wire.RD_STATUS_UUID)

    async def close(self) -> None:
        self.flush()
        for pod in self.pods:
            if pod.client.is_connected:
                await pod.client.disconnect()
        if self.run_id is not None:
            self.store.finish_run(self.run_id, time.time())
