"""GATT services: Device Information, Battery, Running Speed and Cadence, and the
running-dynamics service with its control point and journal sync stream.

The BLE object is injected (hal/radio.py makes the real one). IRQ handlers only
record the event and set a ThreadSafeFlag; `serve()` does the work. Nothing here
allocates per stride: records are encoded into buffers made once, and sent
through memoryviews made once per size.

Live notifications (stride records, RSC, status, battery) are paced at least
PACE_MS apart on the *sensor* clock, so a simulated pod running faster than real
time paces the same as a real one; when the sensor stands still the wall clock
takes over, so nothing stays queued. Strides that come faster than that share a
notification when the MTU allows. The sync stream is not paced but flow-controlled:
it sends or declares (as gaps, when damaged) at most SYNC_WINDOW record indices
beyond what the host acknowledged.

The app (`pod`) provides: start_session() -> id, stop_session() -> id or 0,
set_time(unix_s), set_foot(right) -> bool, session_erased(id), `now_n`, the
sensor sample count, `boot_id` and clock_s(), the pod clock (seconds since the
cold boot that boot_id names).
"""

import asyncio
import os
import struct
import sys
import time

from micropython import const

from heavylegs_pod import VERSION, auth, wire
from heavylegs_pod.gait import detector as _detector
from heavylegs_pod.hal.radio import uuid
from heavylegs_pod.power import ADV_AWAKE_US

F_CADENCE_CENTI = _detector.F_CADENCE_CENTI
F_CLIPPED = _detector.F_CLIPPED
F_GCT_01MS = _detector.F_GCT_01MS
F_IMPACT_HALF_G = _detector.F_IMPACT_HALF_G
F_RUNNING = _detector.F_RUNNING
F_STRIDE_01MS = _detector.F_STRIDE_01MS
F_STRIKE_01DEG = _detector.F_STRIKE_01DEG
# The gait engine gains these when it integrates foot motion; until then RSC
# leaves speed at 0 and stride length and total distance out.
F_STRIDE_LEN_CM = getattr(_detector, "F_STRIDE_LEN_CM", -1)
F_SPEED_MMS = getattr(_detector, "F_SPEED_MMS", -1)
strike_class = _detector.strike_class

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_GATTS_INDICATE_DONE = const(20)
_IRQ_MTU_EXCHANGED = const(21)

_FLAG_READ = const(0x0002)
_FLAG_WRITE = const(0x0008)
_FLAG_NOTIFY = const(0x0010)
_FLAG_INDICATE = const(0x0020)
_FLAG_WRITE_ENCRYPTED = const(0x1000)

_MAX_CONNECTIONS = const(4)
_PREFERRED_MTU = const(247)
_MAX_BATCH = const(12)  # 20-byte records in one notification at MTU 247
_QUEUE = const(16)  # live strides waiting for a notification slot
_REQUESTS = const(8)  # control writes waiting for serve()
_CP_BUFFER = const(32)  # longer writes are cut here by the stack, and still refused
PACE_MS = const(50)
SYNC_WINDOW = const(256)
_IDLE_WAIT_MS = const(50)


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


class PodServices:
    def __init__(
        self,
        ble,
        pod,
        name,
        *,
        right_foot=False,
        journal=None,
        key=None,
        bond=False,
        odr_hz=416,
    ):
        self.ble = ble
        self.pod = pod
        self.name = name
        self._adv_interval_us = ADV_AWAKE_US
        self.right_foot = right_foot
        self.journal = journal
        self.key = key
        self.odr_hz = odr_hz
        self.has_stride_length = F_STRIDE_LEN_CM >= 0
        self._pace_samples = odr_hz * PACE_MS // 1000
        self.total_cm = 0
        self.notify_errors = 0
        self.live_dropped = 0
        self.rejected = 0  # control writes refused (malformed, unknown, unauthorised)

        # Per-connection state, in parallel arrays sized once.
        self._conn = [-1] * _MAX_CONNECTIONS
        self._mtu = [23] * _MAX_CONNECTIONS
        self._authed = bytearray(_MAX_CONNECTIONS)
        self._nonce_ok = bytearray(_MAX_CONNECTIONS)
        self._nonce = [bytearray(wire.NONCE_SIZE) for _ in range(_MAX_CONNECTIONS)]
        self._batch = 1

        # Control writes captured in the IRQ (a later write would overwrite the value).
        self._req_conn = [0] * _REQUESTS
        self._req_handle = [0] * _REQUESTS
        self._req_data = [b""] * _REQUESTS
        self._req_head = 0
        self._req_n = 0
        self.requests_dropped = 0
        self._flag = asyncio.ThreadSafeFlag()

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

        self._pkt = bytearray(wire.RECORD_SIZE * _MAX_BATCH)
        pkt = memoryview(self._pkt)
        self._pkt_views = tuple(pkt[: wire.RECORD_SIZE * k] for k in range(_MAX_BATCH + 1))
        rsc = memoryview(self._rsc_ring)
        self._rsc_views = tuple(
            rsc[i * wire.RSC_MEASUREMENT_MAX : (i + 1) * wire.RSC_MEASUREMENT_MAX]
            for i in range(_QUEUE)
        )
        self._rsc_sized = [None] * wire.RSC_MEASUREMENT_MAX  # view per length, made on first use
        self._status_buf = bytearray(wire.STATUS_SIZE)
        self._resp = bytearray(wire.CP_MAX_RESPONSE)
        self._resp_views = tuple(
            memoryview(self._resp)[:k] for k in range(wire.CP_MAX_RESPONSE + 1)
        )
        self._battery = bytearray(1)
        self._battery[0] = 100

        # Sync stream state: one sync at a time.
        self._sync_conn = -1
        self._sync_sid = 0
        self._sync_next = 0
        self._sync_acked = 0

        control_flags = _FLAG_WRITE | _FLAG_INDICATE
        if bond:
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
        (self._h_battery,) = handles[1]
        (self._h_rsc, h_feature, h_location, self._h_sc) = handles[2]
        (self._h_stride, self._h_status, self._h_control, self._h_sync) = handles[3]
        ble.gatts_write(h_manufacturer, b"heavylegs")
        ble.gatts_write(h_model, b"heavylegs pod")
        ble.gatts_write(h_firmware, firmware_revision().encode())
        ble.gatts_write(h_software, ("protocol %d" % wire.PROTOCOL_VERSION).encode())
        features = wire.RSC_FEATURE_RUNNING_STATUS
        if self.has_stride_length:
            features |= wire.RSC_FEATURE_STRIDE_LENGTH | wire.RSC_FEATURE_TOTAL_DISTANCE
        ble.gatts_write(h_feature, struct.pack("<H", features))
        ble.gatts_write(h_location, bytes((wire.SENSOR_LOCATION_TOP_OF_SHOE,)))
        ble.gatts_write(self._h_battery, self._battery)
        ble.gatts_set_buffer(self._h_control, _CP_BUFFER)
        ble.gatts_set_buffer(self._h_sc, _CP_BUFFER)
        self.advertise()

    def advertise(self):
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
            if self._slot(-1) >= 0:
                self.advertise()

    # --- IRQ: record and wake serve() ----------------------------------------------

    def _slot(self, conn):
        for i in range(_MAX_CONNECTIONS):
            if self._conn[i] == conn:
                return i
        return -1

    def _irq(self, event, data):
        if event == _IRQ_GATTS_WRITE:
            conn, handle = data[0], data[1]
            if handle == self._h_control or handle == self._h_sc:
                if self._req_n >= _REQUESTS:
                    self.requests_dropped += 1
                    return
                at = (self._req_head + self._req_n) % _REQUESTS
                self._req_conn[at] = conn
                self._req_handle[at] = handle
                self._req_data[at] = self.ble.gatts_read(handle)
                self._req_n += 1
                self._flag.set()
        elif event == _IRQ_CENTRAL_CONNECT:
            conn = data[0]
            free = self._slot(-1)
            if free < 0:
                self.ble.gap_disconnect(conn)
                return
            self._conn[free] = conn
            self._mtu[free] = 23
            self._authed[free] = 0
            self._nonce_ok[free] = 0
            self._update_batch()
            if self._slot(-1) >= 0:
                self.advertise()
        elif event == _IRQ_CENTRAL_DISCONNECT:
            i = self._slot(data[0])
            if i >= 0:
                self._conn[i] = -1
                self._authed[i] = 0
                self._nonce_ok[i] = 0
            if self._sync_conn == data[0]:
                self._sync_conn = -1
            self._update_batch()
            self.advertise()
        elif event == _IRQ_MTU_EXCHANGED:
            i = self._slot(data[0])
            if i >= 0:
                self._mtu[i] = data[1]
                self._update_batch()
        elif event == _IRQ_GATTS_INDICATE_DONE:
            pass

    def _update_batch(self):
        # Live notifications go to every central, so the smallest MTU decides.
        smallest = 517
        for i in range(_MAX_CONNECTIONS):
            if self._conn[i] >= 0 and self._mtu[i] < smallest:
                smallest = self._mtu[i]
        batch = (smallest - 3) // wire.RECORD_SIZE
        self._batch = 1 if batch < 1 else (_MAX_BATCH if batch > _MAX_BATCH else batch)

    def connected(self):
        for i in range(_MAX_CONNECTIONS):
            if self._conn[i] >= 0:
                return True
        return False

    # --- live stream ----------------------------------------------------------------

    def send_stride(self, record, stride):
        """Queue a stride record and the RSC measurement of its engine row for the centrals."""
        if not self.connected():
            # Nobody to tell: the journal has it.
            self._ring_n = 0
            self._rsc_n = 0
            self._status_before = 0
            return
        if self._ring_n == _QUEUE:
            self._ring_head = (self._ring_head + 1) % _QUEUE
            self._ring_n -= 1
            self.live_dropped += 1
            if self._status_before:
                self._status_before -= 1
        at = ((self._ring_head + self._ring_n) % _QUEUE) * wire.STRIDE_SIZE
        ring = self._ring
        for i in range(wire.STRIDE_SIZE):
            ring[at + i] = record[i]
        self._ring_n += 1

        stride_len = -1
        total_dm = -1
        speed_256 = 0
        if self.has_stride_length:
            stride_len = stride[F_STRIDE_LEN_CM]
            if stride_len > 0:
                self.total_cm += stride_len
            total_dm = self.total_cm // 10
        if F_SPEED_MMS >= 0:
            speed_256 = stride[F_SPEED_MMS] * 32 // 125  # mm/s -> 1/256 m/s
        if self._rsc_n == _QUEUE:
            # A watch wants the latest; the oldest measurement goes.
            self._rsc_head = (self._rsc_head + 1) % _QUEUE
            self._rsc_n -= 1
        slot = (self._rsc_head + self._rsc_n) % _QUEUE
        self._rsc_len[slot] = wire.encode_rsc(
            self._rsc_views[slot],
            stride[F_RUNNING],
            speed_256,
            (stride[F_CADENCE_CENTI] + 50) // 100,
            stride_len,
            total_dm,
        )
        self._rsc_n += 1

    def update_status(
        self, state, flags, battery, journal_pct, overruns, session, strides, clock_ms, unsynced
    ):
        if self.key is not None:
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
        self.ble.gatts_write(self._h_status, self._status_buf)
        self._status_due = True
        if session != self._status_session:
            # A new session is announced before its first stride, so a live
            # host files every stride under the right session.
            self._status_session = session
            self._status_urgent = True
            self._status_before = self._ring_n
        if battery != self._battery[0]:
            self._battery[0] = battery
            self.ble.gatts_write(self._h_battery, self._battery)
            self._battery_due = True

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
        if self._status_urgent and not self._status_before:
            self._status_urgent = False
            self._status_due = False
            self._notify_all(self._h_status, self._status_buf)
        elif self._rsc_n:
            slot = self._rsc_head
            data = self._rsc_sized_view(slot)
            self._rsc_head = (slot + 1) % _QUEUE
            self._rsc_n -= 1
            self._notify_all(self._h_rsc, data)
        elif self._ring_n:
            k = self._ring_n if self._ring_n < self._batch else self._batch
            if self._status_urgent:
                if k > self._status_before:
                    k = self._status_before
                self._status_before -= k
            pkt = self._pkt
            ring = self._ring
            for j in range(k):
                at = ((self._ring_head + j) % _QUEUE) * wire.STRIDE_SIZE
                base = j * wire.STRIDE_SIZE
                for i in range(wire.STRIDE_SIZE):
                    pkt[base + i] = ring[at + i]
            self._ring_head = (self._ring_head + k) % _QUEUE
            self._ring_n -= k
            self._notify_all(self._h_stride, self._pkt_views[k])
        elif self._status_due:
            self._status_due = False
            self._notify_all(self._h_status, self._status_buf)
        elif self._battery_due:
            self._battery_due = False
            self._notify_all(self._h_battery, self._battery)
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
        for i in range(n):
            self._pkt[i] = self._rsc_ring[src + i]
        view = self._rsc_sized[n - 1]
        if view is None:
            view = memoryview(self._pkt)[:n]
            self._rsc_sized[n - 1] = view
        return view

    def _notify_all(self, handle, data):
        # send_update notifies the centrals that subscribed, and no others.
        try:
            self.ble.gatts_write(handle, data, True)
        except OSError:
            self.notify_errors += 1

    # --- control points -------------------------------------------------------------

    async def serve(self):
        """Handle control writes, stream sync data, and keep live notifications moving."""
        while True:
            self.poll()
            if self._sync_conn >= 0 and self._sync_step():
                await asyncio.sleep_ms(0)
                continue
            try:
                await asyncio.wait_for_ms(self._flag.wait(), _IDLE_WAIT_MS)
            except asyncio.TimeoutError:
                pass

    def poll(self):
        """One round of work outside the sensor path: requests, then paced notifications."""
        while self._req_n:
            at = self._req_head
            conn = self._req_conn[at]
            handle = self._req_handle[at]
            data = self._req_data[at]
            self._req_data[at] = b""
            self._req_head = (at + 1) % _REQUESTS
            self._req_n -= 1
            if self._slot(conn) < 0:
                continue  # written just before the link went down
            if handle == self._h_sc:
                self._sc_request(conn, data)
            else:
                self._cp_request(conn, data)
        self.pump(self.pod.now_n)

    def _indicate(self, conn, handle, n):
        try:
            self.ble.gatts_indicate(conn, handle, self._resp_views[n])
        except OSError:
            self.notify_errors += 1

    def _sc_request(self, conn, data):
        resp = self._resp
        resp[0] = wire.SC_RESPONSE
        resp[1] = data[0] if len(data) else 0
        if len(data) == 0:
            result = wire.SC_INVALID_PARAMETER
        elif data[0] == wire.SC_SET_CUMULATIVE and self.has_stride_length:
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
        try:
            self.ble.gatts_write(self._h_sc, self._resp_views[3], True)
        except OSError:
            self.notify_errors += 1

    def _respond(self, conn, op, status, extra=0):
        wire.encode_cp_response(self._resp, op, status)
        if status != wire.CP_SUCCESS:
            self.rejected += 1
        self._indicate(conn, self._h_control, 3 + extra)

    def _cp_request(self, conn, data):
        i = self._slot(conn)
        n = len(data)
        if n == 0:
            self._respond(conn, 0, wire.CP_INVALID_PARAMETER)
            return
        op = data[0]
        size = wire.cp_request_size(op)
        if size < 0:
            self._respond(conn, op, wire.CP_NOT_SUPPORTED)
            return
        if n != size:
            self._respond(conn, op, wire.CP_INVALID_PARAMETER)
            return
        if op == wire.OP_CHALLENGE:
            nonce = self._nonce[i]
            nonce[:] = os.urandom(wire.NONCE_SIZE)
            self._nonce_ok[i] = 1
            self._resp[3 : 3 + wire.NONCE_SIZE] = nonce
            self._respond(conn, op, wire.CP_SUCCESS, wire.NONCE_SIZE)
            return
        if op == wire.OP_AUTH:
            ok = False
            if self.key is not None and self._nonce_ok[i]:
                expected = auth.response_for(self.key, self._nonce[i])
                ok = auth.equal(expected, memoryview(data)[1:], wire.MAC_SIZE)
            # A nonce answers one attempt, right or wrong: a recorded answer
            # cannot be replayed, and guessing costs a round trip per try.
            self._nonce_ok[i] = 0
            self._authed[i] = 1 if ok else 0
            self._respond(conn, op, wire.CP_SUCCESS if ok else wire.CP_NOT_AUTHORISED)
            return
        if not self._authed[i]:
            self._respond(conn, op, wire.CP_NOT_AUTHORISED)
            return
        self._owner_request(conn, op, data)

    def _owner_request(self, conn, op, data):
        pod = self.pod
        journal = self.journal
        resp = self._resp
        if op == wire.OP_START_SESSION:
            struct.pack_into("<I", resp, 3, pod.start_session())
            self._respond(conn, op, wire.CP_SUCCESS, 4)
        elif op == wire.OP_STOP_SESSION:
            struct.pack_into("<I", resp, 3, pod.stop_session())
            self._respond(conn, op, wire.CP_SUCCESS, 4)
        elif op == wire.OP_SET_TIME:
            pod.set_time(struct.unpack_from("<I", data, 1)[0])
            self._respond(conn, op, wire.CP_SUCCESS)
        elif op == wire.OP_SET_FOOT:
            if data[1] > 1:
                self._respond(conn, op, wire.CP_INVALID_PARAMETER)
            elif pod.set_foot(data[1] == 1):
                self._respond(conn, op, wire.CP_SUCCESS)
            else:
                self._respond(conn, op, wire.CP_FAILED)
        elif op == wire.OP_IDENTITY:
            struct.pack_into(
                wire.IDENTITY_RESPONSE_FORMAT,
                resp,
                3,
                journal.epoch if journal is not None else 0,
                pod.boot_id,
                pod.clock_s(),
            )
            self._respond(conn, op, wire.CP_SUCCESS, wire.IDENTITY_RESPONSE_SIZE)
        elif journal is None:
            self._respond(conn, op, wire.CP_NOT_SUPPORTED)
        elif op == wire.OP_ERASE_SYNCED:
            if self._sync_conn >= 0:
                self._respond(conn, op, wire.CP_BUSY)
                return
            struct.pack_into("<H", resp, 3, journal.erase_synced())
            self._respond(conn, op, wire.CP_SUCCESS, 2)
        elif op == wire.OP_ERASE_SESSION:
            sid = struct.unpack_from("<I", data, 1)[0]
            if self._sync_conn >= 0 and self._sync_sid == sid:
                self._respond(conn, op, wire.CP_BUSY)
                return
            was_open = sid == journal.open_session_id
            if journal.erase(sid):
                if was_open:
                    pod.session_erased(sid)
                self._respond(conn, op, wire.CP_SUCCESS)
            else:
                self._respond(conn, op, wire.CP_NOT_FOUND)
        elif op == wire.OP_LIST_SESSIONS:
            self._list_sessions(conn, op)
        elif op == wire.OP_START_SYNC:
            sid, start = struct.unpack_from("<II", data, 1)
            if self._sync_conn >= 0 and self._sync_conn != conn:
                self._respond(conn, op, wire.CP_BUSY)
            elif journal.info(sid) is None:
                self._respond(conn, op, wire.CP_NOT_FOUND)
            elif start > journal.count(sid):
                self._respond(conn, op, wire.CP_INVALID_PARAMETER)
            else:
                # The answer comes when the stream reaches the end of the session.
                self._sync_conn = conn
                self._sync_sid = sid
                self._sync_next = start
                self._sync_acked = start
        elif op == wire.OP_ACK:
            sid, count = struct.unpack_from("<II", data, 1)
            acked = journal.mark_synced(sid, count)
            if acked < 0:
                self._respond(conn, op, wire.CP_NOT_FOUND)
                return
            if self._sync_conn == conn and self._sync_sid == sid and count > self._sync_acked:
                self._sync_acked = count
            struct.pack_into("<I", resp, 3, acked)
            self._respond(conn, op, wire.CP_SUCCESS, 4)
        elif op == wire.OP_STOP_SYNC:
            if self._sync_conn == conn:
                self._sync_conn = -1
                journal.close_reader()
            self._respond(conn, op, wire.CP_SUCCESS)
        else:
            self._respond(conn, op, wire.CP_NOT_SUPPORTED)

    def _list_sessions(self, conn, op):
        journal = self.journal
        i = self._slot(conn)
        per = (self._mtu[i] - 3) // wire.RECORD_SIZE
        per = 1 if per < 1 else (_MAX_BATCH if per > _MAX_BATCH else per)
        if per > 1:
            per -= per % 2  # a session record and its identity share a packet
        k = 0
        sent = 0
        right = wire.SESSION_RIGHT if self.right_foot else 0
        for sid in journal.sessions():
            flags, start_s, count, acked, fw = journal.info(sid)
            if flags & wire.SESSION_DAMAGED:
                flags |= right  # the header is gone; the pod's foot is the best guess
            epoch, boot, start_clock_s, clock_known = journal.identity(sid)
            wire.encode_session(
                self._pkt, k * wire.RECORD_SIZE, flags, sid, start_s, count, acked, fw
            )
            k += 1
            if k == per:
                self._notify_one(conn, self._h_sync, self._pkt_views[k])
                k = 0
            wire.encode_identity(
                self._pkt, k * wire.RECORD_SIZE, sid, epoch, boot, start_clock_s, clock_known
            )
            k += 1
            sent += 1
            if k == per:
                self._notify_one(conn, self._h_sync, self._pkt_views[k])
                k = 0
        if k:
            self._notify_one(conn, self._h_sync, self._pkt_views[k])
        struct.pack_into("<H", self._resp, 3, sent)
        self._respond(conn, op, wire.CP_SUCCESS, 2)

    def _notify_one(self, conn, handle, data):
        try:
            self.ble.gatts_notify(conn, handle, data)
            return True
        except OSError:
            self.notify_errors += 1
            return False

    def _sync_step(self):
        """Send one sync packet if the window allows; True if there is more to do now.

        A run of damaged records goes out as one gap record in their place. The
        window counts indices sent or declared, so the host, which acknowledges
        through a declared gap, moves it past any amount of damage."""
        conn = self._sync_conn
        i = self._slot(conn)
        if i < 0:
            self._sync_conn = -1
            return False
        journal = self.journal
        sid = self._sync_sid
        pkt = self._pkt
        per = (self._mtu[i] - 3) // wire.RECORD_SIZE
        per = 1 if per < 1 else (_MAX_BATCH if per > _MAX_BATCH else per)
        count = journal.count(sid)
        limit = self._sync_acked + SYNC_WINDOW
        if limit > count:
            limit = count
        index = self._sync_next
        k = 0
        while k < per and index < limit:
            at = k * wire.RECORD_SIZE
            got = journal.read(sid, index, pkt, at)
            if got < 0:
                break
            if got:
                k += 1
                index += 1
                continue
            first = index
            index += 1
            while index < limit:
                got = journal.read(sid, index, pkt, at)
                if got:
                    break
                index += 1
            if got > 0 and k + 1 < per:
                # The intact record that ended the gap follows it in this packet.
                for b in range(wire.RECORD_SIZE):
                    pkt[at + wire.RECORD_SIZE + b] = pkt[at + b]
                wire.encode_gap(pkt, at, sid, first, index - first)
                k += 2
                index += 1
            else:
                wire.encode_gap(pkt, at, sid, first, index - first)
                k += 1
                if got < 0:
                    break
        if k:
            if not self._notify_one(conn, self._h_sync, self._pkt_views[k]):
                return False  # the stack's buffers are full: the same records again later
            self._sync_next = index
            return True
        self._sync_next = index
        if index >= count:
            self._sync_conn = -1
            journal.close_reader()
            struct.pack_into("<II", self._resp, 3, sid, index)
            self._respond(conn, wire.OP_START_SYNC, wire.CP_SUCCESS, 8)
        return False
