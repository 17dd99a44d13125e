# The journal on an LFS2 RAM disk, inside MicroPython: power loss at every byte,
# bit flips, a full journal, ids that are never reused, no allocation per stride.
import os

import micropython
import vfs
from fwtest_util import check

from heavylegs_pod import wire
from heavylegs_pod.journal import Journal


class RAMBlockDevice:
    """The pod's flash for tests: LittleFS over a bytearray, with the erase a chip needs.

    Byte loops rather than slices: slicing would allocate, and the journal's
    append must be shown to allocate nothing, block device included.
    """

    def __init__(self, block_size=512, blocks=128):
        self.block_size = block_size
        self.data = bytearray(block_size * blocks)
        self.writes = 0

    def readblocks(self, block, buf, offset=0):
        base = block * self.block_size + offset
        data = self.data
        for i in range(len(buf)):
            buf[i] = data[base + i]

    def writeblocks(self, block, buf, offset=None):
        if offset is None:
            offset = 0
        base = block * self.block_size + offset
        data = self.data
        for i in range(len(buf)):
            data[base + i] = buf[i]
        self.writes += 1

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return len(self.data) // self.block_size
        if op == 5:  # block size
            return self.block_size
        if op == 6:  # erase
            base = arg * self.block_size
            for i in range(self.block_size):
                self.data[base + i] = 0xFF
            return 0
        return 0


_mounts = [0]


def ram_fs(blocks=128):
    """Format and mount a fresh LFS2 RAM disk; returns its mount point."""
    dev = RAMBlockDevice(blocks=blocks)
    vfs.VfsLfs2.mkfs(dev)
    _mounts[0] += 1
    point = "/ram%d" % _mounts[0]
    vfs.mount(vfs.VfsLfs2(dev), point)
    return point


def record(seq):
    buf = bytearray(wire.STRIDE_SIZE)
    wire.encode_stride(buf, seq, 3, 1000 + 700 * seq, 2500 + seq, 7000, 17000, 80, 20, 150)
    return buf


def write_session(root, n, acked=0, capacity=1 << 20):
    j = Journal(root, capacity)
    sid = j.open_session(1767225600, wire.SESSION_RIGHT | wire.SESSION_TIME_KNOWN, 0x0040, 416)
    for seq in range(n):
        check(j.append(record(seq)), "append %d" % seq)
    if acked:
        j.mark_synced(sid, acked)
    j.close_session()
    return j, sid


def read_all(j, sid):
    buf = bytearray(wire.STRIDE_SIZE)
    out = []
    index = 0
    while True:
        got = j.read(sid, index, buf)
        if got < 0:
            return out
        if got:
            out.append((index, bytes(buf)))
        index += 1


def copy_file(src, dst, cut=None, flip=None):
    with open(src, "rb") as f:
        data = bytearray(f.read())
    if cut is not None:
        data = data[:cut]
    if flip is not None:
        data[flip // 8] ^= 1 << (flip % 8)
    with open(dst, "wb") as f:
        f.write(data)


def test_sessions_round_trip_and_survive_a_reboot():
    root = ram_fs() + "/journal"
    j, sid = write_session(root, 5, acked=2)
    j2 = Journal(root, 1 << 20)
    check(j2.sessions() == [sid], "sessions %r" % j2.sessions())
    flags, start_s, count, acked, fw = j2.info(sid)
    check(flags & wire.SESSION_RIGHT and flags & wire.SESSION_TIME_KNOWN, "flags %x" % flags)
    check((start_s, count, acked, fw) == (1767225600, 5, 2, 0x0040), "info")
    records = read_all(j2, sid)
    check([i for i, _ in records] == [0, 1, 2, 3, 4], "indices")
    check(all(r == bytes(record(i)) for i, r in records), "record bytes")
    check(j2.read(sid, 5, bytearray(20)) == -1, "past the end")
    # a new session after the reboot gets a new id
    check(j2.open_session(0, 0, 0, 416) == sid + 1, "next id")


def test_power_cut_at_every_byte_keeps_every_committed_record():
    point = ram_fs(blocks=256)
    root = point + "/j"
    j, sid = write_session(root, 6, acked=3)
    src = "%s/%08x.hls" % (root, sid)
    ack = "%s/%08x.hla" % (root, sid)
    size = os.stat(src)[6]
    check(size == wire.J_HEADER_SIZE + 6 * wire.J_STRIDE_SIZE, "size %d" % size)
    originals = [bytes(record(i)) for i in range(6)]
    for cut in range(size + 1):
        root2 = point + "/c%d" % cut
        os.mkdir(root2)
        copy_file(src, "%s/%08x.hls" % (root2, sid), cut=cut)
        copy_file(ack, "%s/%08x.hla" % (root2, sid))
        j2 = Journal(root2, 1 << 20)
        whole = max(0, (cut - wire.J_HEADER_SIZE) // wire.J_STRIDE_SIZE)
        got = read_all(j2, sid)
        check(len(got) == whole, "cut %d: %d records, expected %d" % (cut, len(got), whole))
        for index, data in got:
            check(data == originals[index], "cut %d: record %d changed" % (cut, index))
        info = j2.info(sid)
        check(info[2] == whole, "cut %d: count %d" % (cut, info[2]))
        check(bool(info[0] & wire.SESSION_DAMAGED) == (cut < wire.J_HEADER_SIZE), "header")
        # the ack never claims more than what survived
        check(info[3] == min(3, whole), "cut %d: acked %d" % (cut, info[3]))
        # the next session never reuses the id, even with the counter file gone
        check(j2.open_session(0, 0, 0, 416) > sid, "id reused after cut %d" % cut)
        j2.close_session()
        for name in os.listdir(root2):
            os.remove(root2 + "/" + name)
        os.rmdir(root2)


def test_bit_flips_cost_only_the_record_they_hit():
    point = ram_fs(blocks=256)
    root = point + "/j"
    j, sid = write_session(root, 4)
    src = "%s/%08x.hls" % (root, sid)
    size = os.stat(src)[6]
    originals = [bytes(record(i)) for i in range(4)]
    for byte in range(size):
        root2 = point + "/f%d" % byte
        os.mkdir(root2)
        copy_file(src, "%s/%08x.hls" % (root2, sid), flip=byte * 8 + byte % 8)
        j2 = Journal(root2, 1 << 20)
        got = read_all(j2, sid)
        hit = -1 if byte < wire.J_HEADER_SIZE else (byte - wire.J_HEADER_SIZE) // wire.J_STRIDE_SIZE
        check([i for i, _ in got] == [i for i in range(4) if i != hit], "flip at %d" % byte)
        for index, data in got:
            check(data == originals[index], "flip at %d changed record %d" % (byte, index))
        damaged = bool(j2.info(sid)[0] & wire.SESSION_DAMAGED)
        check(damaged == (hit < 0), "flip at %d: header damaged %r" % (byte, damaged))
        for name in os.listdir(root2):
            os.remove(root2 + "/" + name)
        os.rmdir(root2)


def test_flash_cut_mid_write_on_the_block_device():
    # Power fails after any one of LittleFS's block writes while strides are
    # appended: the disk image at that moment must mount, and every stride whose
    # append had returned must read back intact.
    dev = RAMBlockDevice(blocks=64)
    vfs.VfsLfs2.mkfs(dev)
    vfs.mount(vfs.VfsLfs2(dev), "/cut")
    j = Journal("/cut/j", 1 << 20)
    sid = j.open_session(0, 0, 0, 416)
    images = []
    for seq in range(10):
        j.append(record(seq))
        images.append((seq + 1, bytes(dev.data)))
    j.close_session()
    vfs.umount("/cut")
    for committed, image in images:
        copy = RAMBlockDevice(blocks=64)
        copy.data[:] = image
        vfs.mount(vfs.VfsLfs2(copy), "/img")
        got = read_all(Journal("/img/j", 1 << 20), sid)
        check(len(got) >= committed, "image after %d appends has %d" % (committed, len(got)))
        check(all(data == bytes(record(i)) for i, data in got), "changed record")
        vfs.umount("/img")


def test_full_journal_drops_oldest_synced_and_never_unsynced():
    root = ram_fs() + "/journal"
    per_session = wire.J_HEADER_SIZE + 10 * wire.J_STRIDE_SIZE + wire.J_U32_SIZE
    capacity = 3 * per_session
    j = Journal(root, capacity)
    ids = []
    for _ in range(3):
        sid = j.open_session(0, 0, 0, 416)
        for seq in range(10):
            check(j.append(record(seq)), "append")
        ids.append(sid)
    j.close_session()
    j.mark_synced(ids[1], 10)  # only the middle one is synced
    fourth = j.open_session(0, 0, 0, 416)
    for seq in range(10):
        check(j.append(record(seq)), "append while a synced session can go")
    check(j.sessions() == [ids[0], ids[2], fourth], "dropped %r" % j.sessions())
    # nothing synced is left: the journal refuses rather than drop unsynced data
    j.append(record(10))
    appended = 0
    while j.append(record(11 + appended)):
        appended += 1
    check(j.full, "full")
    check(not j.append(record(99)), "a full journal refuses, and says so")
    check(j.sessions() == [ids[0], ids[2], fourth], "unsynced data kept")
    check(len(read_all(j, ids[0])) == 10, "oldest unsynced intact")
    # an explicit erase frees space again
    check(j.erase(ids[0]), "erase")
    check(not j.full, "not full after erase")
    check(j.append(record(99)), "append after erase")


def test_erase_synced_and_ids_never_reused():
    root = ram_fs() + "/journal"
    j, first = write_session(root, 3, acked=3)
    j2, second = write_session(root, 2)
    j3 = Journal(root, 1 << 20)
    check(j3.erase_synced() == 1, "one synced session erased")
    check(j3.sessions() == [second], "unsynced stays")
    check(j3.erase(second), "explicit erase")
    check(j3.sessions() == [], "empty")
    j4 = Journal(root, 1 << 20)
    check(j4.open_session(0, 0, 0, 416) == second + 1, "id after erasing everything")


def test_append_allocates_nothing():
    root = ram_fs() + "/journal"
    j = Journal(root, 1 << 20)
    j.open_session(0, 0, 0, 416)
    rec = record(1)
    j.append(rec)  # the first write may set up LittleFS caches
    micropython.heap_lock()
    try:
        for _ in range(20):
            j.append(rec)
    finally:
        micropython.heap_unlock()
    check(j.count(j.open_session_id) == 21, "count")


def _old_session_file(path, header_size, header_payload, header, calibration_at, calibration, n):
    """A session file written the way an older pod wrote it: `header` packed, then n strides."""
    out = bytearray()
    frame = bytearray(header_size)
    frame[3 : 3 + len(header)] = header
    frame[3 + calibration_at : 3 + calibration_at + len(calibration)] = calibration
    wire.frame_seal(frame, wire.J_HEADER, header_payload)
    out.extend(frame)
    for seq in range(n):
        sf = bytearray(wire.J_STRIDE_SIZE)
        sf[3 : 3 + wire.STRIDE_SIZE] = record(seq)
        wire.frame_seal(sf, wire.J_STRIDE, wire.STRIDE_SIZE)
        out.extend(sf)
    with open(path, "wb") as f:
        f.write(out)


def _journal_holding(session_file, n, calibration):
    """A new journal folder whose only file is session 1, n strides, by `session_file`."""
    root = ram_fs() + "/journal"
    os.mkdir(root)
    session_file(root + "/00000001.hls", 1, n, calibration)
    return root


def _v1_session_file(path, sid, n, calibration):
    """A session as a protocol-2 pod journaled it: the 26-byte header, no identity."""
    import struct

    header = struct.pack(
        wire.J_HEADER_V1_FORMAT, sid, 1767225600, wire.SESSION_TIME_KNOWN, 0, 4, 2, 416
    )
    _old_session_file(
        path, wire.J_HEADER_V1_SIZE, wire.J_HEADER_V1_PAYLOAD, header, 14, calibration, n
    )


def test_a_new_journal_draws_an_epoch_and_keeps_it():
    root = ram_fs() + "/journal"
    j = Journal(root, 1 << 20)
    check(j.epoch != 0, "no epoch")
    sid = j.open_session(0, 0, 0x40, 416, boot=0x12345678, start_clock_s=99, clock_known=True)
    j.close_session()
    again = Journal(root, 1 << 20)
    check(again.epoch == j.epoch, "the epoch changed on reopening")
    check(again.identity(sid) == (j.epoch, 0x12345678, 99, True), "%r" % (again.identity(sid),))
    check(again.info(sid)[0] & 0x80 == 0, "the header's clock bit leaked into the flags")
    # another journal (a wiped flash, another pod) draws another epoch, and ids restart
    other = Journal(ram_fs() + "/journal", 1 << 20)
    check(other.epoch not in (0, j.epoch), "two journals share an epoch")
    check(other.open_session(0, 0, 0, 416) == sid, "ids restart in a new journal")
    check(other.identity(sid)[0] == other.epoch, "a new session under the new epoch")
    check(other.identity(sid)[1:] == (0, 0, False), "no pod clock was given")


def test_a_lost_epoch_file_gives_new_sessions_a_new_epoch_and_old_ones_keep_theirs():
    for how in ("removed", "damaged", "cut"):
        root = ram_fs() + "/journal"
        j, old = write_session(root, 3)
        first_epoch = j.epoch
        path = root + "/epoch"
        if how == "removed":
            os.remove(path)
        elif how == "damaged":
            copy_file(path, root + "/x", flip=40)
            os.rename(root + "/x", path)
        else:
            copy_file(path, root + "/x", cut=wire.J_U32_SIZE - 1)
            os.rename(root + "/x", path)
        j2 = Journal(root, 1 << 20)
        check(j2.epoch not in (0, first_epoch), "%s: epoch %x kept" % (how, j2.epoch))
        check(j2.identity(old)[0] == first_epoch, "%s: the old session lost its epoch" % how)
        new = j2.open_session(0, 0, 0, 416)
        check(new > old and j2.identity(new)[0] == j2.epoch, "%s: new session" % how)
        check(Journal(root, 1 << 20).epoch == j2.epoch, "%s: the new epoch was not kept" % how)
        check(len(read_all(j2, old)) == 3, "%s: records lost" % how)


def test_a_damaged_header_has_the_epoch_only_when_an_older_session_proves_it():
    import struct

    root = ram_fs() + "/journal"
    j = Journal(root, 1 << 20)
    ids = []
    for _ in range(3):
        ids.append(j.open_session(0, 0, 0, 416))
        j.append(record(0))
    j.close_session()
    for sid in (ids[0], ids[2]):
        copy_file("%s/%08x.hls" % (root, sid), root + "/x", flip=5 * 8)
        os.rename(root + "/x", "%s/%08x.hls" % (root, sid))
    j2 = Journal(root, 1 << 20)
    check(j2.info(ids[0])[0] & wire.SESSION_DAMAGED, "header not damaged")
    check(j2.identity(ids[0]) == (0, 0, 0, False), "the first session's epoch is unprovable")
    check(j2.identity(ids[1])[0] == j.epoch, "intact header")
    check(j2.identity(ids[2]) == (j.epoch, 0, 0, False), "session 2 proves session 3's epoch")
    check(len(read_all(j2, ids[2])) == 1, "its record is still read")
    # under a new epoch, an older session of the old one proves nothing
    os.remove(root + "/epoch")
    j3 = Journal(root, 1 << 20)
    check(j3.identity(ids[2]) == (0, 0, 0, False), "the new epoch was given to an old session")
    check(
        struct.calcsize(wire.J_HEADER_FORMAT) + wire.J_CALIBRATION_SIZE == wire.J_HEADER_PAYLOAD,
        "layout",
    )


def test_a_protocol_2_session_is_still_read_beside_new_ones():
    calibration = bytes(range(1, 13))
    root = _journal_holding(_v1_session_file, 7, calibration)
    j = Journal(root, 1 << 20)
    check(j.sessions() == [1], "sessions %r" % j.sessions())
    flags, start_s, count, acked, fw = j.info(1)
    check(not flags & wire.SESSION_DAMAGED and flags & wire.SESSION_TIME_KNOWN, "flags %x" % flags)
    check((start_s, count, acked, fw) == (1767225600, 7, 0, wire.pack_version(0, 4, 2)), "info")
    check(j.identity(1) == (0, 0, 0, False), "a v1 session's identity is its id alone")
    check(j.calibration(1) == calibration, "calibration %r" % j.calibration(1))
    got = read_all(j, 1)
    check([i for i, _ in got] == list(range(7)), "indices %r" % [i for i, _ in got])
    check(all(r == bytes(record(i)) for i, r in got), "record bytes")
    sid = j.open_session(0, 0, 0, 416, calibration=calibration)
    j.append(record(0))
    j.close_session()
    j2 = Journal(root, 1 << 20)
    check(sid == 2 and j2.identity(2)[0] == j.epoch, "new session after a v1 one")
    check(j2.calibration(2) == calibration and j2.count(1) == 7 and j2.count(2) == 1, "both")
    # a v1 header with its length byte hit is still laid out by its first stride frame
    copy_file(root + "/00000001.hls", root + "/x", flip=2 * 8 + 1)
    os.rename(root + "/x", root + "/00000001.hls")
    j3 = Journal(root, 1 << 20)
    check(j3.info(1)[0] & wire.SESSION_DAMAGED and j3.count(1) == 7, "damaged v1 header")
    check(len(read_all(j3, 1)) == 7, "records of a damaged v1 header")


def _v2_session_file(path, sid, n, calibration):
    """A session as a protocol-3 pod journaled it: identity, but no sensor ranges."""
    import struct

    header = struct.pack(wire.J_HEADER_V2_FORMAT, sid, 0, 0x80, 0, 5, 0, 416, 0xCAFE, 0xB007, 42)
    _old_session_file(
        path, wire.J_HEADER_V2_SIZE, wire.J_HEADER_V2_PAYLOAD, header, 26, calibration, n
    )


def test_a_session_keeps_the_sensor_ranges_it_was_recorded_at():
    calibration = bytes(range(20, 32))
    root = _journal_holding(_v2_session_file, 5, calibration)
    j = Journal(root, 1 << 20)
    sid = j.open_session(0, 0, 0, 416, calibration=calibration, acc_fs_g=32, gyro_fs_dps=2000)
    j.append(record(0))
    j.close_session()
    j2 = Journal(root, 1 << 20)
    check(j2.ranges(sid) == (32, 2000), "ranges %r" % (j2.ranges(sid),))
    check(j2.calibration(sid) == calibration, "calibration after the ranges")
    # a protocol-3 session: its identity and strides as before, its ranges unknown
    check(j2.ranges(1) == (0, 0), "v2 ranges %r" % (j2.ranges(1),))
    check(j2.identity(1) == (0xCAFE, 0xB007, 42, True), "v2 identity %r" % (j2.identity(1),))
    check(j2.calibration(1) == calibration, "v2 calibration")
    check([i for i, _ in read_all(j2, 1)] == list(range(5)), "v2 records")
    check(j2.ranges(99) is None, "an unknown session has no ranges")
    # a v2 header with its length byte hit is laid out by its first stride frame
    copy_file(root + "/00000001.hls", root + "/x", flip=2 * 8 + 1)
    os.rename(root + "/x", root + "/00000001.hls")
    j3 = Journal(root, 1 << 20)
    check(j3.info(1)[0] & wire.SESSION_DAMAGED and j3.count(1) == 5, "damaged v2 header")
    check(j3.ranges(1) == (0, 0) and len(read_all(j3, 1)) == 5, "records of a damaged v2 header")
