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
    check(j.dropped >= 1, "dropped counted")
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
