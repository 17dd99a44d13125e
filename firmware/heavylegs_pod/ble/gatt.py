"""The GATT server: service table, connections, advertising, and the one BLE IRQ.

Split as micropython-lib's aioble splits core.py and server.py: this module owns
the radio's single IRQ and the table of services; live.py, control.py and
sync.py each register what they need (aioble's register_irq_handler). IRQ
handlers only record state and set the ThreadSafeFlag `flag`; writes to a
registered handle are queued here and handed to their module's handler by
poll(), outside the IRQ (a later write would overwrite the value).
"""

import struct
import sys

from micropython import const

from heavylegs_pod import VERSION, wire
from heavylegs_pod.hal.radio import uuid
from heavylegs_pod.power import ADV_AWAKE_US

IRQ_CENTRAL_CONNECT = const(1)
IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_MTU_EXCHANGED = const(21)

_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_INDICATE = const(0x0020)
_FLAG_WRITE_ENCRYPTED = const(0x1000)

MAX_CONNECTIONS = const(4)
MAX_BATCH = const(12)  # 20-byte records in one notification at MTU 247
_PREFERRED_MTU = const(247)
_REQUESTS = const(8)  # writes waiting for poll()
_CP_BUFFER = const(32)  # longer writes are cut here by the stack, and still refused


def firmware_revision():
    """Names the runtime too, so a host can tell the firmware really ran in MicroPython."""
    impl = sys.implementation
    return "heavylegs %s (%s %d.%d.%d)" % (
        VERSION,
        impl.name,
        impl.version[0],
        impl.version[1],
        impl.version[2],
    )


def firmware_version():
    parts = VERSION.split(".")
    return wire.pack_version(int(parts[0]), int(parts[1]), int(parts[2]))


class Gatt:
    def __init__(self, ble, flag, name, *, bond=False):
        self.ble = ble
        self.flag = flag  # set by every IRQ handler: serve() has work
        self.name = name
        self._adv_interval_us = ADV_AWAKE_US
        self._irq_handlers = []
        self._write_handlers = {}

        # Per-connection state, in parallel arrays sized once.
        self.conn = [-1] * MAX_CONNECTIONS
        self.mtu = [23] * MAX_CONNECTIONS
        self.batch = 1  # records per live notification: the smallest MTU decides

        self._req_conn = [0] * _REQUESTS
        self._req_handle = [0] * _REQUESTS
        self._req_data = [b""] * _REQUESTS
        self._req_head = 0
        self._req_n = 0

        # One packet buffer for every module's notifications: serve() sends one at a time.
        self.pkt = bytearray(wire.RECORD_SIZE * MAX_BATCH)
        pkt = memoryview(self.pkt)
        self.pkt_views = tuple(pkt[: wire.RECORD_SIZE * k] for k in range(MAX_BATCH + 1))

        self.bond = bond
        self.on = False  # the radio: off while record-only running sleeps
        self._register()
        self.advertise()

    def _handles(self):
        return (
            self.h_battery,
            self.h_rsc,
            self.h_sc,
            self.h_stride,
            self.h_status,
            self.h_control,
            self.h_sync,
        )

    def _register(self):
        """The service table, registered afresh whenever the radio comes on: a stack
        that went inactive forgot it. The same table gets the same handles (NimBLE
        and BTstack number attributes in order), so the handlers keep theirs."""
        ble = self.ble
        name = self.name
        self.on = True
        control_flags = _FLAG_WRITE | _FLAG_INDICATE
        if self.bond:
            # Stacks with bonding (NimBLE on ESP32) also demand an encrypted link;
            # the simulated radio has no pairing, so the sim runs with bond off.
            control_flags |= _FLAG_WRITE_ENCRYPTED
            ble.config(bond=True, le_secure=True)
        dis = (
            uuid(wire.DIS_SERVICE_UUID16),
            (
                (uuid(wire.DIS_MANUFACTURER_UUID16), _FLAG_READ),
                (uuid(wire.DIS_MODEL_UUID16), _FLAG_READ),
                (uuid(wire.DIS_FIRMWARE_REV_UUID16), _FLAG_READ),
                (uuid(wire.DIS_SOFTWARE_REV_UUID16), _FLAG_READ),
            ),
        )
        bas = (
            uuid(wire.BATTERY_SERVICE_UUID16),
            ((uuid(wire.BATTERY_LEVEL_UUID16), _FLAG_READ | _FLAG_NOTIFY),),
        )
        rsc = (
            uuid(wire.RSC_SERVICE_UUID16),
            (
                (uuid(wire.RSC_MEASUREMENT_UUID16), _FLAG_NOTIFY),
                (uuid(wire.RSC_FEATURE_UUID16), _FLAG_READ),
                (uuid(wire.SENSOR_LOCATION_UUID16), _FLAG_READ),
                (uuid(wire.SC_CONTROL_POINT_UUID16), _FLAG_WRITE | _FLAG_INDICATE),
            ),
        )
        rd = (
            uuid(wire.RD_SERVICE_UUID),
            (
                (uuid(wire.RD_STRIDE_UUID), _FLAG_NOTIFY),
                (uuid(wire.RD_STATUS_UUID), _FLAG_READ | _FLAG_NOTIFY),
                (uuid(wire.RD_CONTROL_UUID), control_flags),
                (uuid(wire.RD_SYNC_UUID), _FLAG_NOTIFY),
            ),
        )
        ble.config(gap_name=name, mtu=_PREFERRED_MTU)
        ble.irq(self._irq)
        handles = ble.gatts_register_services((dis, bas, rsc, rd))
        (h_manufacturer, h_model, h_firmware, h_software) = handles[0]
        (self.h_battery,) = handles[1]
        (self.h_rsc, h_feature, h_location, self.h_sc) = handles[2]
        (self.h_stride, self.h_status, self.h_control, self.h_sync) = handles[3]
        ble.gatts_write(h_manufacturer, b"heavylegs")
        ble.gatts_write(h_model, b"heavylegs pod")
        ble.gatts_write(h_firmware, firmware_revision().encode())
        ble.gatts_write(h_software, ("protocol %d" % wire.PROTOCOL_VERSION).encode())
        features = (
            wire.RSC_FEATURE_RUNNING_STATUS
            | wire.RSC_FEATURE_STRIDE_LENGTH
            | wire.RSC_FEATURE_TOTAL_DISTANCE
        )
        ble.gatts_write(h_feature, struct.pack("<H", features))
        ble.gatts_write(h_location, bytes((wire.SENSOR_LOCATION_TOP_OF_SHOE,)))
        ble.gatts_set_buffer(self.h_control, _CP_BUFFER)
        ble.gatts_set_buffer(self.h_sc, _CP_BUFFER)

    def radio_off(self):
        """BLE inactive, so the MCU may light-sleep (MicroPython's ESP32 BLE does not
        survive one, micropython#6396). Only with no central connected: links
        would drop without their IRQs."""
        if not self.on:
            return
        self.on = False
        self.ble.active(False)
        for i in range(MAX_CONNECTIONS):
            self.conn[i] = -1
        self._req_n = 0
        self._update_batch()

    def radio_on(self, interval_us):
        """BLE active again, the table registered again, advertising every interval_us.
        The caller writes the values it keeps (LiveNotifications.rewrite)."""
        self._adv_interval_us = interval_us
        if self.on:
            self.advertise()
            return
        old = self._handles()
        self.ble.active(True)
        self.ble.irq(self._irq)
        self._register()
        new = self._handles()
        if new != old:
            # a stack that numbered the table anew: the handlers follow their handles
            handlers = self._write_handlers
            self._write_handlers = {new[old.index(h)]: f for h, f in handlers.items()}
        self.advertise()

    # --- registration ---------------------------------------------------------------

    def register_irq_handler(self, handler):
        """handler(event, data) sees every BLE event after the connection table does.
        It runs in the IRQ: it may only record state."""
        self._irq_handlers.append(handler)

    def on_write(self, handle, handler):
        """handler(conn, data) gets each write to handle, from poll(), in order."""
        self._write_handlers[handle] = handler

    # --- advertising ----------------------------------------------------------------

    def advertise(self):
        if not self.on:
            return
        if not self._adv_interval_us:
            self.ble.gap_advertise(None)
            return
        self.ble.gap_advertise(
            self._adv_interval_us,
            adv_data=wire.advertising_payload(self.name),
            resp_data=wire.scan_response_payload(self.name),
        )

    def set_advertising(self, interval_us):
        """Advertise every interval_us from now on; 0 stops (a movement wakes the pod)."""
        if interval_us != self._adv_interval_us:
            self._adv_interval_us = interval_us
            if self.slot(-1) >= 0:
                self.advertise()

    # --- IRQ: record and wake serve() ----------------------------------------------

    def slot(self, conn):
        for i in range(MAX_CONNECTIONS):
            if self.conn[i] == conn:
                return i
        return -1

    def _irq(self, event, data):
        if event == _IRQ_GATTS_WRITE:
            conn, handle = data[0], data[1]
            if handle in self._write_handlers:
                if self._req_n >= _REQUESTS:
                    return  # lost, unanswered: the central times out and asks again
                at = (self._req_head + self._req_n) % _REQUESTS
                self._req_conn[at] = conn
                self._req_handle[at] = handle
                self._req_data[at] = self.ble.gatts_read(handle)
                self._req_n += 1
                self.flag.set()
            return
        if event == IRQ_CENTRAL_CONNECT:
            conn = data[0]
            free = self.slot(-1)
            if free < 0:
                self.ble.gap_disconnect(conn)
                return
            self.conn[free] = conn
            self.mtu[free] = 23
            self._update_batch()
            if self.slot(-1) >= 0:
                self.advertise()
        elif event == IRQ_CENTRAL_DISCONNECT:
            i = self.slot(data[0])
            if i >= 0:
                self.conn[i] = -1
            self._update_batch()
            self.advertise()
        elif event == _IRQ_MTU_EXCHANGED:
            i = self.slot(data[0])
            if i >= 0:
                self.mtu[i] = data[1]
                self._update_batch()
        for handler in self._irq_handlers:
            handler(event, data)

    def _update_batch(self):
        # Live notifications go to every central, so the smallest MTU decides.
        smallest = 517
        for i in range(MAX_CONNECTIONS):
            if self.conn[i] >= 0 and self.mtu[i] < smallest:
                smallest = self.mtu[i]
        batch = (smallest - 3) // wire.RECORD_SIZE
        self.batch = 1 if batch < 1 else (MAX_BATCH if batch > MAX_BATCH else batch)

    def records_per_packet(self, i):
        """Records one notification to the central in slot i holds."""
        per = (self.mtu[i] - 3) // wire.RECORD_SIZE
        return 1 if per < 1 else (MAX_BATCH if per > MAX_BATCH else per)

    def connected(self):
        for i in range(MAX_CONNECTIONS):
            if self.conn[i] >= 0:
                return True
        return False

    # --- outside the IRQ ------------------------------------------------------------

    def poll(self):
        """Hand every queued write to its handler."""
        while self._req_n:
            at = self._req_head
            conn = self._req_conn[at]
            handle = self._req_handle[at]
            data = self._req_data[at]
            self._req_data[at] = b""
            self._req_head = (at + 1) % _REQUESTS
            self._req_n -= 1
            if self.slot(conn) < 0:
                continue  # written just before the link went down
            self._write_handlers[handle](conn, data)

    # A send the stack refuses (its buffers full, the link gone) is lost: live data
    # is superseded by the next, and the sync stream retries what notify_one lost.

    def notify_all(self, handle, data):
        # send_update notifies the centrals that subscribed, and no others.
        try:
            self.ble.gatts_write(handle, data, True)
        except OSError:
            pass

    def notify_one(self, conn, handle, data):
        try:
            self.ble.gatts_notify(conn, handle, data)
            return True
        except OSError:
            return False

    def indicate(self, conn, handle, data):
        try:
            self.ble.gatts_indicate(conn, handle, data)
        except OSError:
            pass
