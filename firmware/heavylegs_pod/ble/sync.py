"""Journal sync over the sync characteristic: session listing and record streaming.

One sync at a time. The stream is not paced but flow-controlled: it sends or
declares (as gap records, when damaged) at most SYNC_WINDOW record indices
beyond what the host acknowledged. The journal is only read here, never written
but for the host's acknowledgements.
"""

import struct

from micropython import const

from heavylegs_pod import wire
from heavylegs_pod.ble.gatt import IRQ_CENTRAL_DISCONNECT

SYNC_WINDOW = const(256)


class JournalSync:
    def __init__(self, gatt, control, journal, right_foot=False):
        self.gatt = gatt
        self.control = control
        self.journal = journal
        self.right_foot = right_foot  # the pod's foot: a damaged header's best guess
        self.conn = -1  # the connection syncing, or -1
        self.sid = 0
        self.next = 0
        self.acked = 0
        gatt.register_irq_handler(self._irq)
        control.on(wire.OP_LIST_SESSIONS, self._list_sessions)
        control.on(wire.OP_START_SYNC, self._start)
        control.on(wire.OP_ACK, self._ack)
        control.on(wire.OP_STOP_SYNC, self._stop)

    def _irq(self, event, data):
        if event == IRQ_CENTRAL_DISCONNECT and self.conn == data[0]:
            self.conn = -1

    def busy(self, sid=-1):
        """True while a sync runs (of session sid, when sid is given)."""
        return self.conn >= 0 and (sid < 0 or self.sid == sid)

    def _start(self, conn, data, resp):
        sid, start = struct.unpack_from("<II", data, 1)
        journal = self.journal
        if self.conn >= 0 and self.conn != conn:
            return wire.CP_BUSY, 0
        if journal.info(sid) is None:
            return wire.CP_NOT_FOUND, 0
        if start > journal.count(sid):
            return wire.CP_INVALID_PARAMETER, 0
        # The answer comes when the stream reaches the end of the session.
        self.conn = conn
        self.sid = sid
        self.next = start
        self.acked = start
        return None

    def _ack(self, conn, data, resp):
        sid, count = struct.unpack_from("<II", data, 1)
        acked = self.journal.mark_synced(sid, count)
        if acked < 0:
            return wire.CP_NOT_FOUND, 0
        if self.conn == conn and self.sid == sid and count > self.acked:
            self.acked = count
        struct.pack_into("<I", resp, 3, acked)
        return wire.CP_SUCCESS, 4

    def _stop(self, conn, data, resp):
        if self.conn == conn:
            self.conn = -1
            self.journal.close_reader()
        return wire.CP_SUCCESS, 0

    def _list_sessions(self, conn, data, resp):
        gatt = self.gatt
        journal = self.journal
        pkt = gatt.pkt
        per = gatt.records_per_packet(gatt.slot(conn))
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
            acc_fs_g, gyro_fs_dps = journal.ranges(sid)
            wire.encode_session(pkt, k * wire.RECORD_SIZE, flags, sid, start_s, count, acked, fw)
            k += 1
            if k == per:
                gatt.notify_one(conn, gatt.h_sync, gatt.pkt_views[k])
                k = 0
            wire.encode_identity(
                pkt,
                k * wire.RECORD_SIZE,
                sid,
                epoch,
                boot,
                start_clock_s,
                clock_known,
                acc_fs_g,
                gyro_fs_dps,
            )
            k += 1
            sent += 1
            if k == per:
                gatt.notify_one(conn, gatt.h_sync, gatt.pkt_views[k])
                k = 0
        if k:
            gatt.notify_one(conn, gatt.h_sync, gatt.pkt_views[k])
        struct.pack_into("<H", resp, 3, sent)
        return wire.CP_SUCCESS, 2

    def step(self):
        """Send one sync packet if the window allows; True if there is more to do now.

        A run of damaged records goes out as one gap record in their place. The
        window counts indices sent or declared, so the host, which acknowledges
        through a declared gap, moves it past any amount of damage."""
        conn = self.conn
        gatt = self.gatt
        i = gatt.slot(conn)
        if i < 0:
            self.conn = -1
            return False
        journal = self.journal
        sid = self.sid
        pkt = gatt.pkt
        per = gatt.records_per_packet(i)
        count = journal.count(sid)
        limit = self.acked + SYNC_WINDOW
        if limit > count:
            limit = count
        index = self.next
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
            if not gatt.notify_one(conn, gatt.h_sync, gatt.pkt_views[k]):
                return False  # the stack's buffers are full: the same records again later
            self.next = index
            return True
        self.next = index
        if index >= count:
            self.conn = -1
            journal.close_reader()
            struct.pack_into("<II", self.control.resp, 3, sid, index)
            self.control.respond(conn, wire.OP_START_SYNC, wire.CP_SUCCESS, 8)
        return False
