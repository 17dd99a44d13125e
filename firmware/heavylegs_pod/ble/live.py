"""Live notifications: stride records, RSC measurements, status and battery.

Notifications are paced at least PACE_MS apart on the *sensor* clock, so a
simulated pod running faster than real time paces the same as a real one; when
the sensor stands still the wall clock takes over, so nothing stays queued.
Strides that come faster than that share a notification when the MTU allows.
The RSC control point (cumulative distance) is answered here too: it sets what
the RSC measurements report. Nothing here allocates per stride: records are
copied into rings made once and sent through memoryviews made once per size.
"""

import struct
import time

from micropython import const

from heavylegs_pod import wire
from heavylegs_pod.gait.detector import (
    F_CADENCE_CENTI,
    F_RUNNING,
    F_SPEED_MMS,
    F_STRIDE_LEN_CM,
)

PACE_MS = const(50)
_QUEUE = const(16)  # live strides waiting for a notification slot


class LiveNotifications:
    def __init__(self, gatt, odr_hz, provisioned):
        self.gatt = gatt
        self.provisioned = provisioned
        self._pace_samples = odr_hz * PACE_MS // 1000
        self.total_cm = 0

        # Live queue: stride records and their RSC measurements, oldest first.
        self._ring = bytearray(wire.STRIDE_SIZE * _QUEUE)
        self._ring_head = 0
        self._ring_n = 0
        self._rsc_ring = bytearray(wire.RSC_MEASUREMENT_MAX * _QUEUE)
        self._rsc_len = bytearray(_QUEUE)
        self._rsc_head = 0
        self._rsc_n = 0
        self._status_due = False
        self._status_session = -1
        self._status_urgent = False
        self._status_before = 0  # strides queued before the session changed go first
        self._battery_due = False
        self._last_n = 0
        self._last_ms = time.ticks_ms()

        rsc = memoryview(self._rsc_ring)
        self._rsc_views = tuple(
            rsc[i * wire.RSC_MEASUREMENT_MAX : (i + 1) * wire.RSC_MEASUREMENT_MAX]
            for i in range(_QUEUE)
        )
        self._rsc_sized = [None] * wire.RSC_MEASUREMENT_MAX  # view per length, made on first use
        self._status_buf = bytearray(wire.STATUS_SIZE)
        self._sc_resp = bytearray(3)
        self._battery = bytearray(1)
        self._battery[0] = 100
        gatt.ble.gatts_write(gatt.h_battery, self._battery)
        gatt.on_write(gatt.h_sc, self._sc_request)

    def send_stride(self, record, stride):
        """Queue a stride record and the RSC measurement of its engine row for the centrals."""
        if not self.gatt.connected():
            # Nobody to tell: the journal has it.
            self._ring_n = 0
            self._rsc_n = 0
            self._status_before = 0
            return
        if self._ring_n == _QUEUE:
            # The oldest goes unsent; the journal has it for the next sync.
            self._ring_head = (self._ring_head + 1) % _QUEUE
            self._ring_n -= 1
            if self._status_before:
                self._status_before -= 1
        at = ((self._ring_head + self._ring_n) % _QUEUE) * wire.STRIDE_SIZE
        ring = self._ring
        for i in range(wire.STRIDE_SIZE):
            ring[at + i] = record[i]
        self._ring_n += 1

        stride_len = stride[F_STRIDE_LEN_CM]
        if stride_len > 0:
            self.total_cm += stride_len
        if self._rsc_n == _QUEUE:
            # A watch wants the latest; the oldest measurement goes.
            self._rsc_head = (self._rsc_head + 1) % _QUEUE
            self._rsc_n -= 1
        slot = (self._rsc_head + self._rsc_n) % _QUEUE
        self._rsc_len[slot] = wire.encode_rsc(
            self._rsc_views[slot],
            stride[F_RUNNING],
            stride[F_SPEED_MMS] * 32 // 125,  # mm/s -> 1/256 m/s
            (stride[F_CADENCE_CENTI] + 50) // 100,
            stride_len,
            self.total_cm // 10,
        )
        self._rsc_n += 1

    def update_status(
        self, state, flags, battery, journal_pct, overruns, session, strides, clock_ms, unsynced
    ):
        if self.provisioned:
            flags |= wire.STATUS_PROVISIONED
        wire.encode_status(
            self._status_buf,
            state,
            flags,
            battery,
            journal_pct,
            overruns,
            session,
            strides,
            clock_ms,
            unsynced,
        )
        gatt = self.gatt
        if gatt.on:
            gatt.ble.gatts_write(gatt.h_status, self._status_buf)
        self._status_due = True
        if session != self._status_session:
            # A new session is announced before its first stride, so a live
            # host files every stride under the right session.
            self._status_session = session
            self._status_urgent = True
            self._status_before = self._ring_n
        if battery != self._battery[0]:
            self._battery[0] = battery
            if gatt.on:
                gatt.ble.gatts_write(gatt.h_battery, self._battery)
            self._battery_due = True

    def rewrite(self):
        """The radio came back on with an empty table: the values a central reads."""
        gatt = self.gatt
        gatt.ble.gatts_write(gatt.h_status, self._status_buf)
        gatt.ble.gatts_write(gatt.h_battery, self._battery)

    def clock_restarted(self, now_n):
        """The pod's sample clock began again (after a sleep): pace from here."""
        self._last_n = now_n - self._pace_samples

    def pump(self, now_n):
        """Send at most one live notification if the pacing allows; no allocation."""
        now_ms = time.ticks_ms()
        if (
            now_n - self._last_n < self._pace_samples
            and time.ticks_diff(now_ms, self._last_ms) < PACE_MS
        ):
            return False
        gatt = self.gatt
        if not gatt.on:
            return False  # the radio is off: the journal keeps it all
        if self._status_urgent and not self._status_before:
            self._status_urgent = False
            self._status_due = False
            gatt.notify_all(gatt.h_status, self._status_buf)
        elif self._rsc_n:
            slot = self._rsc_head
            data = self._rsc_sized_view(slot)
            self._rsc_head = (slot + 1) % _QUEUE
            self._rsc_n -= 1
            gatt.notify_all(gatt.h_rsc, data)
        elif self._ring_n:
            k = self._ring_n if self._ring_n < gatt.batch else gatt.batch
            if self._status_urgent:
                if k > self._status_before:
                    k = self._status_before
                self._status_before -= k
            pkt = gatt.pkt
            ring = self._ring
            for j in range(k):
                at = ((self._ring_head + j) % _QUEUE) * wire.STRIDE_SIZE
                base = j * wire.STRIDE_SIZE
                for i in range(wire.STRIDE_SIZE):
                    pkt[base + i] = ring[at + i]
            self._ring_head = (self._ring_head + k) % _QUEUE
            self._ring_n -= k
            gatt.notify_all(gatt.h_stride, gatt.pkt_views[k])
        elif self._status_due:
            self._status_due = False
            gatt.notify_all(gatt.h_status, self._status_buf)
        elif self._battery_due:
            self._battery_due = False
            gatt.notify_all(gatt.h_battery, self._battery)
        else:
            return False
        self._last_n = now_n
        self._last_ms = now_ms
        return True

    def _rsc_sized_view(self, slot):
        # RSC measurements are 4 to 10 bytes: copy into the packet buffer and send
        # the view of that length, made once.
        n = self._rsc_len[slot]
        src = slot * wire.RSC_MEASUREMENT_MAX
        pkt = self.gatt.pkt
        for i in range(n):
            pkt[i] = self._rsc_ring[src + i]
        view = self._rsc_sized[n - 1]
        if view is None:
            view = memoryview(pkt)[:n]
            self._rsc_sized[n - 1] = view
        return view

    def _sc_request(self, conn, data):
        resp = self._sc_resp
        resp[0] = wire.SC_RESPONSE
        resp[1] = data[0] if len(data) else 0
        if len(data) == 0:
            result = wire.SC_INVALID_PARAMETER
        elif data[0] == wire.SC_SET_CUMULATIVE:
            if len(data) == 5:
                self.total_cm = struct.unpack_from("<I", data, 1)[0] * 10
                result = wire.SC_SUCCESS
            else:
                result = wire.SC_INVALID_PARAMETER
        else:
            # Calibration and multiple sensor locations are not claimed in the
            # feature characteristic, so their procedures are "not supported".
            result = wire.SC_NOT_SUPPORTED
        resp[2] = result
        # RSCS 1.0, 3.4: indicate only a client that enabled indications in the
        # CCCD. MicroPython never shows the CCCD to the app (NimBLE keeps it to
        # itself, BTstack hides its writes), but NimBLE indicates a value update
        # to exactly the connections whose CCCD asks for it (BTstack's binding
        # keeps one CCCD for all). The price: another subscribed client hears
        # this answer too. The write itself cannot be failed with 0xFD:
        # MicroPython acknowledges every write before the app sees it
        # (docs/protocol.md).
        self.gatt.notify_all(self.gatt.h_sc, self._sc_resp)
