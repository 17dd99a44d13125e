# The GATT server (ble/) and the owner's operations (owner.py) inside MicroPython against an in-process BLE stand-in: owner
# checks, replay, fuzzed writes, pacing by the sensor clock, RSC control point,
# and a send path that allocates nothing.
import os
import random
import struct

import micropython
from fwtest_util import check
from mp_test_journal import ram_fs, read_all, record

from heavylegs_pod import auth, wire
from heavylegs_pod.ble import PodServices
from heavylegs_pod.gait.detector import F_IC_N
from heavylegs_pod.journal import Journal
from heavylegs_pod.owner import OwnerOperations
from heavylegs_pod.record import encode_stride_record

KEY = bytes(range(32))
HOST = 1
OTHER = 2


class FakeBLE:
    """Enough of MicroPython's bluetooth.BLE for PodServices, recording what it sends."""

    def __init__(self):
        self.values = {}
        self.sent = []  # (kind, conn, handle, bytes)
        self.count = 0  # sends, when not recording (heap-locked tests)
        self.recording = True
        self.handler = None
        self.next_handle = 1
        self.cccd = {}  # (conn, value handle) -> CCCD bits the central wrote

    def config(self, *args, **kwargs):
        return None

    def irq(self, handler):
        self.handler = handler

    def gap_advertise(self, *args, **kwargs):
        pass

    def gap_disconnect(self, conn):
        return True

    def gatts_register_services(self, services):
        out = []
        for _, chars in services:
            handles = []
            for _c in chars:
                handles.append(self.next_handle)
                self.next_handle += 2
            out.append(tuple(handles))
        return tuple(out)

    def gatts_set_buffer(self, handle, n, append=False):
        pass

    def gatts_write(self, handle, data, send_update=False):
        if self.recording:
            self.values[handle] = bytes(data)
            if send_update:
                self.sent.append(("notify", -1, handle, bytes(data)))
                # as NimBLE's ble_gatts_chr_updated: each central its CCCD asks for
                for (conn, h), cccd in self.cccd.items():
                    if h == handle and cccd & 2:
                        self.sent.append(("indicate", conn, handle, bytes(data)))
        else:
            self.count += 1

    def gatts_read(self, handle):
        return self.values.get(handle, b"")

    def gatts_notify(self, conn, handle, data=None):
        if self.recording:
            self.sent.append(("notify", conn, handle, bytes(data)))
        else:
            self.count += 1

    def gatts_indicate(self, conn, handle, data=None):
        if self.recording:
            self.sent.append(("indicate", conn, handle, bytes(data)))
        else:
            self.count += 1

    # the central's side
    def connect(self, conn, mtu=23):
        self.handler(1, (conn, 0, b"\x00" * 6))
        if mtu != 23:
            self.handler(21, (conn, mtu))

    def write(self, conn, handle, data):
        self.values[handle] = bytes(data)
        self.handler(3, (conn, handle))


class FakePod:
    def __init__(self, journal):
        self.journal = journal
        self.now_n = 0
        self.session = 0
        self.foot_right = False
        self.boot_id = 0xB007B007
        self.clock = 1234

    def clock_s(self):
        return self.clock

    def start_session(self):
        self.session = self.journal.open_session(0, 0, 0x40, 416)
        return self.session

    def stop_session(self):
        sid = self.session
        self.journal.close_session()
        self.session = 0
        return sid

    def set_time(self, unix_s):
        self.unix_s = unix_s

    def set_foot(self, right):
        self.foot_right = right
        return True

    def session_erased(self, sid):
        self.session = 0


def make(journal=None, key=KEY):
    ble = FakeBLE()
    if journal is None:
        journal = Journal(ram_fs() + "/journal", 1 << 20)
    pod = FakePod(journal)
    services = PodServices(ble, pod, "hl-test", journal=journal, key=key, odr_hz=416)
    OwnerOperations(pod, journal, services.control, services.sync)
    handles = {
        "rsc": services.gatt.h_rsc,
        "sc": services.gatt.h_sc,
        "stride": services.gatt.h_stride,
        "status": services.gatt.h_status,
        "control": services.gatt.h_control,
        "sync": services.gatt.h_sync,
        "battery": services.gatt.h_battery,
    }
    return ble, pod, services, handles


def responses(ble, handle, conn=HOST):
    out = [s[3] for s in ble.sent if s[0] == "indicate" and s[2] == handle and s[1] == conn]
    ble.sent.clear()
    return out


def control(ble, services, handles, data, conn=HOST):
    ble.sent.clear()
    ble.write(conn, handles["control"], data)
    services.poll()
    got = responses(ble, handles["control"], conn)
    check(len(got) == 1, "one response to %s, got %r" % (bytes(data).hex(), got))
    return wire.decode_cp_response(got[0])


def authenticate(ble, services, handles, conn=HOST, key=KEY):
    r = control(ble, services, handles, bytes((wire.OP_CHALLENGE,)), conn)
    check(r["status"] == wire.CP_SUCCESS and len(r["params"]) == 16, "challenge")
    mac = auth.response_for(key, r["params"])
    return control(ble, services, handles, bytes((wire.OP_AUTH,)) + mac, conn)


def journal_with_strides(n=5):
    journal = Journal(ram_fs() + "/journal", 1 << 20)
    sid = journal.open_session(0, 0, 0x40, 416)
    for seq in range(n):
        journal.append(record(seq))
    journal.close_session()
    return journal, sid


def test_owner_operations_need_the_challenge_response():
    journal, sid = journal_with_strides()
    ble, pod, services, h = make(journal)
    ble.connect(HOST)
    for op in (
        bytes((wire.OP_START_SESSION,)),
        bytes((wire.OP_ERASE_SYNCED,)),
        bytes((wire.OP_LIST_SESSIONS,)),
        struct.pack("<BII", wire.OP_START_SYNC, sid, 0),
        struct.pack("<BII", wire.OP_ACK, sid, 5),
        struct.pack("<BI", wire.OP_ERASE_SESSION, sid),
    ):
        r = control(ble, services, h, op)
        check(r["status"] == wire.CP_NOT_AUTHORISED, "op %02x: %r" % (op[0], r))
    check(journal.sessions() == [sid] and journal.acked(sid) == 0, "nothing changed")
    check(pod.session == 0, "no session started")
    # a wrong key is refused, the right one accepted
    check(authenticate(ble, services, h, key=bytes(32))["status"] == wire.CP_NOT_AUTHORISED, "k")
    check(authenticate(ble, services, h)["status"] == wire.CP_SUCCESS, "owner")
    r = control(ble, services, h, struct.pack("<BII", wire.OP_ACK, sid, 5))
    check(r["status"] == wire.CP_SUCCESS and journal.acked(sid) == 5, "ack as owner")


def test_replayed_and_second_hand_answers_are_refused():
    ble, pod, services, h = make()
    ble.connect(HOST)
    ble.connect(OTHER)
    r = control(ble, services, h, bytes((wire.OP_CHALLENGE,)))
    mac = auth.response_for(KEY, r["params"])
    good = bytes((wire.OP_AUTH,)) + mac
    check(control(ble, services, h, good)["status"] == wire.CP_SUCCESS, "first use")
    # the same answer again, on this link or another, meets a used or different nonce
    check(control(ble, services, h, good)["status"] == wire.CP_NOT_AUTHORISED, "replay")
    check(control(ble, services, h, good, OTHER)["status"] == wire.CP_NOT_AUTHORISED, "other")
    control(ble, services, h, bytes((wire.OP_CHALLENGE,)), OTHER)
    check(control(ble, services, h, good, OTHER)["status"] == wire.CP_NOT_AUTHORISED, "stale")
    r = control(ble, services, h, bytes((wire.OP_START_SESSION,)), OTHER)
    check(r["status"] == wire.CP_NOT_AUTHORISED, "other link stays unauthorised")
    # authorisation ends with the link
    ble.handler(2, (HOST, 0, b"\x00" * 6))
    ble.connect(HOST)
    r = control(ble, services, h, bytes((wire.OP_START_SESSION,)))
    check(r["status"] == wire.CP_NOT_AUTHORISED, "new link must authenticate again")


def test_unprovisioned_pod_refuses_everyone():
    ble, pod, services, h = make(key=None)
    ble.connect(HOST)
    check(authenticate(ble, services, h)["status"] == wire.CP_NOT_AUTHORISED, "no key")


def test_malformed_and_oversized_requests_change_nothing():
    journal, sid = journal_with_strides()
    ble, pod, services, h = make(journal)
    ble.connect(HOST)
    authenticate(ble, services, h)
    for data, status in (
        (b"", wire.CP_INVALID_PARAMETER),
        (b"\x7f", wire.CP_NOT_SUPPORTED),
        (bytes((wire.OP_ACK, 1, 2)), wire.CP_INVALID_PARAMETER),
        (struct.pack("<BIIB", wire.OP_ACK, sid, 5, 0), wire.CP_INVALID_PARAMETER),
        (bytes((wire.OP_ERASE_SYNCED,)) + bytes(31), wire.CP_INVALID_PARAMETER),
        (bytes((wire.OP_SET_FOOT, 7)), wire.CP_INVALID_PARAMETER),
        (struct.pack("<BII", wire.OP_START_SYNC, sid + 9, 0), wire.CP_NOT_FOUND),
        (struct.pack("<BII", wire.OP_START_SYNC, sid, 99), wire.CP_INVALID_PARAMETER),
    ):
        r = control(ble, services, h, data)
        check(r["status"] == status, "%s: %r" % (bytes(data).hex(), r))
    check(journal.acked(sid) == 0 and journal.sessions() == [sid], "journal unchanged")
    check(len(read_all(journal, sid)) == 5, "records intact")


def test_sync_streams_in_order_and_waits_for_acks():
    journal, sid = journal_with_strides(30)
    ble, pod, services, h = make(journal)
    ble.connect(HOST, mtu=247)
    authenticate(ble, services, h)
    r = control(ble, services, h, bytes((wire.OP_LIST_SESSIONS,)))
    check(r["status"] == wire.CP_SUCCESS and r["params"] == b"\x01\x00", "list %r" % r)
    ble.write(HOST, h["control"], struct.pack("<BII", wire.OP_START_SYNC, sid, 4))
    services.poll()
    while services.sync.step():
        pass
    packets = [s[3] for s in ble.sent if s[2] == h["sync"]]
    seqs = []
    for p in packets:
        check(len(p) <= 244 and len(p) % 20 == 0, "packet size %d" % len(p))
        seqs.extend(wire.decode_stride(p, o)["seq"] for _, o in wire.split_records(p))
    check(seqs == list(range(4, 30)), "seqs %r" % seqs)
    done = [wire.decode_cp_response(s[3]) for s in ble.sent if s[2] == h["control"]]
    check(done[-1]["op"] == wire.OP_START_SYNC, "sync answered at the end")
    check(struct.unpack("<II", done[-1]["params"]) == (sid, 30), "end index")


def test_fuzzed_writes_never_crash_or_touch_the_journal():
    journal, sid = journal_with_strides(8)
    before = read_all(journal, sid)
    ble, pod, services, h = make(journal)
    ble.connect(HOST)
    ble.connect(OTHER, mtu=100)
    authenticate(ble, services, h, conn=OTHER)
    random.seed(5)
    targets = (h["control"], h["sc"])
    for i in range(600):
        n = random.randint(0, 40)
        data = bytes(random.getrandbits(8) for _ in range(n))
        if i % 3 == 0 and n:
            # a known op with the wrong length or random parameters
            data = bytes((random.randint(1, 12),)) + data[1:]
        ble.write(HOST, targets[i % 2], data[:32])
        services.poll()
        while services.sync.conn >= 0 and services.sync.step():
            pass
    check(journal.sessions() == [sid], "the unauthorised fuzzer changed the sessions")
    check(journal.acked(sid) == 0, "the unauthorised fuzzer acknowledged records")
    check(read_all(journal, sid) == before, "records changed")
    check(pod.session == 0, "a session was started")
    # the owner's link, fuzzed with ops it may use: the journal stays readable
    for _ in range(300):
        n = random.randint(1, 17)
        data = bytes((random.randint(3, 12),)) + bytes(random.getrandbits(8) for _ in range(n - 1))
        ble.write(OTHER, h["control"], data)
        services.poll()
        while services.sync.conn >= 0 and services.sync.step():
            pass
    for s in journal.sessions():
        got = read_all(journal, s)
        check(len(got) == journal.count(s), "session %d lost records" % s)
    fresh = Journal(journal.root, journal.capacity_bytes)
    check(fresh.sessions() == journal.sessions(), "journal reopens the same")


def test_rsc_control_point_answers_per_the_specification():
    ble, pod, services, h = make()
    ble.connect(HOST)
    ble.connect(OTHER)
    ble.cccd[(HOST, h["sc"])] = 2  # HOST enabled indications; OTHER did not
    for data in (bytes((wire.SC_REQUEST_LOCATIONS,)), b""):
        ble.sent.clear()
        ble.write(OTHER, h["sc"], data)
        services.poll()
        check(responses(ble, h["sc"], OTHER) == [], "indicated a client that did not ask")
    cases = (
        (struct.pack("<BI", wire.SC_SET_CUMULATIVE, 12345), wire.SC_SUCCESS),
        (bytes((wire.SC_SET_CUMULATIVE, 1)), wire.SC_INVALID_PARAMETER),
        (bytes((wire.SC_START_CALIBRATION,)), wire.SC_NOT_SUPPORTED),
        (bytes((wire.SC_UPDATE_LOCATION, 1)), wire.SC_NOT_SUPPORTED),
        (bytes((wire.SC_REQUEST_LOCATIONS,)), wire.SC_NOT_SUPPORTED),
        (bytes((0x55,)), wire.SC_NOT_SUPPORTED),
    )
    for data, result in cases:
        ble.sent.clear()
        ble.write(HOST, h["sc"], data)
        services.poll()
        got = responses(ble, h["sc"])
        check(len(got) == 1, "one indication")
        r = wire.decode_sc_response(got[0])
        check((r["op"], r["result"]) == (data[0], result), "%s -> %r" % (data.hex(), r))
    check(services.live.total_cm == 123450, "cumulative distance set")


def _stride():
    from heavylegs_pod.gait import detector

    s = [0] * detector.N_FIELDS
    s[detector.F_GCT_01MS] = 2500
    s[detector.F_STRIDE_01MS] = 7000
    s[detector.F_CADENCE_CENTI] = 17143
    s[detector.F_RUNNING] = 1
    s[detector.F_STRIKE_01DEG] = 90
    s[detector.F_STRIDE_LEN_CM] = 210
    s[detector.F_SPEED_MMS] = 3000
    from array import array

    return array("i", s)


def test_notifications_are_paced_on_the_sensor_clock_and_batched():
    ble, pod, services, h = make()
    ble.connect(HOST, mtu=247)
    stride = _stride()
    sent_at = []
    # 6 strides arrive at once (a replay after calibration), then samples move on
    record = bytearray(wire.STRIDE_SIZE)
    for seq in range(6):
        encode_stride_record(record, stride, seq, 0, 416, False)
        services.live.send_stride(record, stride)
    for n in range(0, 4000, 8):
        pod.now_n = n
        before = len(ble.sent)
        services.live.pump(n)
        if len(ble.sent) > before:
            sent_at.append(n)
    gaps = [b - a for a, b in zip(sent_at, sent_at[1:])]
    check(min(gaps) >= 416 * 50 // 1000, "gaps %r" % gaps)
    strides = [s[3] for s in ble.sent if s[2] == h["stride"]]
    seqs = []
    for p in strides:
        seqs.extend(wire.decode_stride(p, o)["seq"] for _, o in wire.split_records(p))
    check(seqs == list(range(6)), "every stride once, in order: %r" % seqs)
    check(len(strides) < 6, "batched: %d notifications" % len(strides))
    rsc = [wire.decode_rsc(s[3]) for s in ble.sent if s[2] == h["rsc"]]
    check(len(rsc) == 6 and rsc[0]["cadence_spm"] == 171, "rsc %r" % rsc[:1])
    check(rsc[0]["stride_len_m"] == 2.1 and rsc[-1]["total_distance_m"] == 12.6, "len")
    check(abs(rsc[0]["speed_mps"] - 3.0) < 0.01, "speed %r" % rsc[0]["speed_mps"])


def test_stride_path_allocates_nothing():
    ble, pod, services, h = make()
    ble.connect(HOST, mtu=247)
    stride = _stride()
    record = bytearray(wire.STRIDE_SIZE)
    encode_stride_record(record, stride, 0, 0, 416, False)
    services.live.send_stride(record, stride)
    services.live.pump(1000)
    ble.recording = False
    micropython.heap_lock()
    try:
        for k in range(40):
            stride[F_IC_N] = 300 * k
            encode_stride_record(record, stride, k, 0, 416, False)
            services.live.send_stride(record, stride)
            services.live.pump(2000 + 30 * k)
    finally:
        micropython.heap_unlock()
    check(ble.count > 0, "something was sent")


def test_urandom_nonces_differ():
    a = os.urandom(16)
    check(a != os.urandom(16), "urandom repeats")


def _damage(journal, sid, indices):
    """Flip one payload byte of each stride frame at indices, in the session file."""
    path = "%s/%08x.hls" % (journal.root, sid)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    for k in indices:
        data[wire.J_HEADER_SIZE + k * wire.J_STRIDE_SIZE + 6] ^= 0x40
    with open(path, "wb") as f:
        f.write(data)


def _sync_as_the_host_does(mtu, total, damaged):
    journal, sid = journal_with_strides(total)
    journal.close_reader()
    _damage(journal, sid, damaged)
    ble, pod, services, h = make(journal)
    ble.connect(HOST, mtu=mtu)
    authenticate(ble, services, h)
    ble.sent.clear()
    ble.write(HOST, h["control"], struct.pack("<BII", wire.OP_START_SYNC, sid, 0))
    services.poll()
    seqs = []
    gaps = []
    covered = 0  # the host acknowledges what it received or was told is gone
    acks = 0
    while True:
        while services.sync.step():
            pass
        for _kind, _, handle, p in ble.sent:
            if handle != h["sync"]:
                continue
            for tag, o in wire.split_records(p):
                if tag == wire.GAP_TAG:
                    gap = wire.decode_gap(p, o)
                    check(gap["session"] == sid, "gap of another session")
                    check(
                        gap["first"] == covered, "gap at %d, expected %d" % (gap["first"], covered)
                    )
                    gaps.append((gap["first"], gap["count"]))
                    covered = gap["first"] + gap["count"]
                else:
                    seq = wire.decode_stride(p, o)["seq"]
                    check(seq == covered, "record %d, expected %d" % (seq, covered))
                    seqs.append(seq)
                    covered = seq + 1
        done = [
            wire.decode_cp_response(s[3])
            for s in ble.sent
            if s[2] == h["control"] and s[3][1] == wire.OP_START_SYNC
        ]
        ble.sent.clear()
        if done:
            check(struct.unpack("<II", done[0]["params"]) == (sid, total), "end %r" % done)
            break
        # The stream stalled on the window: the host acknowledges, or sync hangs.
        check(acks < total, "sync does not end")
        before = services.sync.next
        r = control(ble, services, h, struct.pack("<BII", wire.OP_ACK, sid, covered))
        check(r["status"] == wire.CP_SUCCESS, "ack %r" % r)
        acks += 1
        check(services.sync.step() or services.sync.next > before or covered == total, "stuck")
    return seqs, gaps


def test_any_amount_of_damage_streams_through_as_declared_gaps():
    total = 620
    damaged = [0, 1, 2] + list(range(100, 400)) + [450] + list(range(616, 620))
    for mtu in (23, 67, 247):
        seqs, gaps = _sync_as_the_host_does(mtu, total, damaged)
        check(seqs == [k for k in range(total) if k not in damaged], "mtu %d: records" % mtu)
        declared = []
        for first, count in gaps:
            check(1 <= count <= 256, "mtu %d: gap of %d exceeds the window" % (mtu, count))
            declared.extend(range(first, first + count))
        check(declared == damaged, "mtu %d: gaps %r" % (mtu, gaps))
        # consecutive damage is coalesced: a gap ends only at an intact record or a window
        check(len(gaps) <= 6, "mtu %d: %d gaps for 4 runs of damage" % (mtu, len(gaps)))


def test_identity_answers_the_owner_and_follows_every_session_record():
    journal = Journal(ram_fs() + "/journal", 1 << 20)
    first = journal.open_session(
        0,
        0,
        0x40,
        416,
        boot=0xB007B007,
        start_clock_s=77,
        clock_known=True,
        acc_fs_g=32,
        gyro_fs_dps=2000,
    )
    journal.append(record(0))
    second = journal.open_session(0, 0, 0x40, 416)  # opened with no pod clock
    journal.close_session()
    ble, pod, services, h = make(journal)
    ble.connect(HOST, mtu=23)
    r = control(ble, services, h, bytes((wire.OP_IDENTITY,)))
    check(r["status"] == wire.CP_NOT_AUTHORISED, "identity without the owner's key")
    authenticate(ble, services, h)
    pod.clock = 4321
    r = control(ble, services, h, bytes((wire.OP_IDENTITY,)))
    check(r["status"] == wire.CP_SUCCESS, "identity %r" % r)
    got = wire.decode_identity_response(r["params"])
    check(got == {"epoch": journal.epoch, "boot": 0xB007B007, "clock_s": 4321}, "%r" % got)
    check(journal.epoch != 0, "a journal without an epoch")
    for mtu in (23, 67, 247):
        ble.connect(OTHER, mtu=mtu)
        authenticate(ble, services, h, conn=OTHER)
        ble.sent.clear()
        ble.write(OTHER, h["control"], bytes((wire.OP_LIST_SESSIONS,)))
        services.poll()
        stream = [
            (tag, p[o : o + 20])
            for kind, c, handle, p in ble.sent
            if handle == h["sync"]
            for tag, o in wire.split_records(p)
        ]
        tags = [t for t, _ in stream]
        check(tags == [0x81, 0x83, 0x81, 0x83], "mtu %d: stream %r" % (mtu, tags))
        ids = [wire.decode_identity(rec) for t, rec in stream if t == wire.IDENTITY_TAG]
        check(
            ids[0]
            == {
                "session": first,
                "epoch": journal.epoch,
                "boot": 0xB007B007,
                "start_clock_s": 77,
                "acc_fs_g": 32,
                "gyro_fs_dps": 2000,
            },
            "first %r" % ids[0],
        )
        check(
            ids[1]
            == {
                "session": second,
                "epoch": journal.epoch,
                "boot": None,
                "start_clock_s": None,
                "acc_fs_g": None,
                "gyro_fs_dps": None,
            },
            "second %r" % ids[1],
        )
        r = [wire.decode_cp_response(s[3]) for s in ble.sent if s[2] == h["control"]][-1]
        check(r["params"] == b"\x02\x00", "count is sessions, not records: %r" % r)
        ble.handler(2, (OTHER, 0, b"\x00" * 6))
