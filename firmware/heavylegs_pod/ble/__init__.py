"""The pod's GATT server, in one module per role, as aioble splits its own.

gatt.py owns the radio, the service table and the one IRQ; live.py sends the
live notifications (strides, RSC, status, battery); control.py checks and
dispatches the control point; sync.py streams the journal. PodServices builds
them and runs serve(), their one task. Data comes in from the app (a stride's
record and engine row, the status) and goes out on the air; nothing here writes
the journal but for the host's acknowledgements and erasures.
"""

import asyncio

from micropython import const

from heavylegs_pod.ble.control import ControlPoint
from heavylegs_pod.ble.gatt import Gatt
from heavylegs_pod.ble.live import LiveNotifications
from heavylegs_pod.ble.sync import JournalSync

_IDLE_WAIT_MS = const(50)


class PodServices:
    def __init__(
        self, ble, pod, name, *, journal, right_foot=False, key=None, bond=False, odr_hz=416
    ):
        self.pod = pod  # `now_n`, the sensor sample count, paces the live notifications
        self.gatt = Gatt(ble, asyncio.ThreadSafeFlag(), name, bond=bond)
        self.live = LiveNotifications(self.gatt, odr_hz, key is not None)
        self.control = ControlPoint(self.gatt, key)
        self.sync = JournalSync(self.gatt, self.control, journal, right_foot)

    async def serve(self):
        """Handle control writes, stream sync data, and keep live notifications moving."""
        sync = self.sync
        while True:
            self.poll()
            if sync.conn >= 0 and sync.step():
                await asyncio.sleep_ms(0)
                continue
            try:
                await asyncio.wait_for_ms(self.gatt.flag.wait(), _IDLE_WAIT_MS)
            except asyncio.TimeoutError:
                pass

    def poll(self):
        """One round of work outside the sensor path: requests, then paced notifications."""
        self.gatt.poll()
        self.live.pump(self.pod.now_n)
