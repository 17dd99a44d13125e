"""Power-loss-safe session journal on the pod's flash (LittleFS on a board).

Every stride goes here as well as onto the air, so a run with no phone nearby
loses nothing. Persistent data is only ever appended (with a CRC written last,
its commit mark), or written to a new file and renamed; nothing is rewritten in
place. The byte layouts are in wire.py and docs/protocol.md ("Journal").

API, for the app, BLE sync (ble/sync.py) and USB pull (deploy/):

    j = Journal("journal", capacity_bytes=512 * 1024)
    j.epoch                         # this journal's epoch: random u32, drawn when it was created
    sid = j.open_session(start_s, flags, firmware, odr_hz, calibration=None,
                         boot=0, start_clock_s=0, clock_known=False,
                         acc_fs_g=0, gyro_fs_dps=0)
    ok = j.append(record)           # a 20-byte wire stride record; False if not journaled
    j.close_session()
    j.sessions()                    # session ids, oldest first
    j.info(sid)                     # (flags, start_s, count, acked, firmware) or None
    j.identity(sid)                 # (epoch, boot, start_clock_s, clock_known) or None
    j.ranges(sid)                   # (acc_fs_g, gyro_fs_dps) recorded at, 0 unknown; or None
    j.read(sid, index, buf, offset) # 1 read into buf, 0 record damaged, -1 past the end
    j.mark_synced(sid, count)       # the host committed every record below count
    j.erase_synced()                # removes fully synced closed sessions; returns how many
    j.erase(sid)                    # explicit erase, synced or not

`flags` are wire.SESSION_* bits; `firmware` is wire.pack_version(...). A record's
index in its session is its sequence number (the wire carries it modulo 65536).

Files under the root: `<id:08x>.hls` holds the session header frame and then one
stride frame per record at a fixed offset (index k at J_HEADER_SIZE + k *
J_STRIDE_SIZE; an older pod's session has a shorter header, J_HEADER_V2_SIZE or
J_HEADER_V1_SIZE, and its strides start there), so a damaged record costs only itself and sync can seek; the
`<id:08x>.hla` file collects ack frames, the last intact one counts; `next` holds
the next session id, replaced through `next.tmp` and a rename; `epoch` holds the
journal's epoch, written once through `epoch.tmp` and a rename. A session is never
appended to after a reboot: a torn tail stays where it is, unread.

Session ids restart at 1 whenever a journal is created, so a session is named
for ever by (journal epoch, id): each header carries the epoch it was written
under. When the epoch file is lost a new epoch is drawn, and the old sessions
keep the one in their headers. A session whose header is damaged has the
journal's epoch only when an older session's intact header carries it (epochs
never come back, so nothing changed in between); else its epoch is 0, unknown.

When the journal is full it drops the oldest fully synced closed session; it
never drops data the host has not acknowledged: with nothing left to drop it
stops journaling (`full`) until the owner syncs or erases.
"""

import os
import struct

from heavylegs_pod import wire
from heavylegs_pod.journal_scan import ACK_SUFFIX, SESSION_SUFFIX, JournalFiles, remove


class Journal(JournalFiles):
    def __init__(self, root="journal", capacity_bytes=512 * 1024):
        self.root = root
        self.capacity_bytes = capacity_bytes
        self.full = False
        self._frame = bytearray(wire.J_HEADER_SIZE)
        self._fmv = memoryview(self._frame)
        self._stride_frame = memoryview(self._frame)[: wire.J_STRIDE_SIZE]
        self._u32_frame = memoryview(self._frame)[: wire.J_U32_SIZE]
        self._file = None
        self._open_sid = 0
        self._count = 0
        self._reader = None
        self._reader_sid = 0
        self._reader_count = 0
        self._reader_base = wire.J_HEADER_SIZE
        try:
            os.mkdir(root)
        except OSError:
            pass
        self._counts = {}
        self._acked = {}
        self._header_size = {}  # per session: a protocol-2 header is shorter
        self.usage_bytes = 0
        self._next = 1
        self.epoch = 0
        self._scan()

    # --- writing -----------------------------------------------------------------

    def open_session(
        self,
        start_s,
        flags,
        firmware,
        odr_hz,
        calibration=None,
        boot=0,
        start_clock_s=0,
        clock_known=False,
        acc_fs_g=0,
        gyro_fs_dps=0,
    ):
        """Close any open session and start a new one; returns its id.

        boot and start_clock_s date the start on the pod clock (seconds since the
        cold boot named by boot), when clock_known. acc_fs_g and gyro_fs_dps are the
        sensor's full scales, so the host knows where an impact was clipped."""
        self.close_session()
        sid = self._next
        self._next = sid + 1
        # The counter goes first: a session id is never handed out twice, even
        # if every session is erased or power fails right after this.
        self._write_counter(self._next)
        frame = self._frame
        flags &= wire.SESSION_RIGHT | wire.SESSION_TIME_KNOWN | wire.SESSION_CALIBRATED
        if clock_known:
            flags |= wire.J_HEADER_CLOCK_KNOWN
        struct.pack_into(
            wire.J_HEADER_FORMAT,
            frame,
            3,
            sid,
            start_s & 0xFFFFFFFF,
            flags,
            (firmware >> 12) & 0x0F,
            (firmware >> 6) & 0x3F,
            firmware & 0x3F,
            odr_hz,
            self.epoch,
            boot & 0xFFFFFFFF if clock_known else 0,
            start_clock_s & 0xFFFFFFFF if clock_known else 0,
            acc_fs_g & 0xFF,
            (gyro_fs_dps // wire.GYRO_FS_UNIT_DPS) & 0xFF,
        )
        calib_at = 3 + wire.J_HEADER_PAYLOAD - wire.J_CALIBRATION_SIZE
        for i in range(wire.J_CALIBRATION_SIZE):
            frame[calib_at + i] = calibration[i] if calibration else 0
        wire.frame_seal(frame, wire.J_HEADER, wire.J_HEADER_PAYLOAD)
        self._open_sid = sid
        self._count = 0
        self._counts[sid] = 0
        self._acked[sid] = 0
        self._header_size[sid] = wire.J_HEADER_SIZE
        if not self._room_for(wire.J_HEADER_SIZE):
            self.full = True
            return sid
        try:
            self._file = open(self._path(sid, SESSION_SUFFIX), "wb")
            self._file.write(frame)
            self._file.flush()
            self.usage_bytes += wire.J_HEADER_SIZE
            self.full = False
        except OSError:
            self._give_up()
        return sid

    def _write_counter(self, value):
        # On a full flash the write fails: the in-memory counter still moves on, and
        # _scan() also counts past every session file it finds.
        self._replace_u32_file("next", wire.J_COUNTER, value)

    def append(self, record):
        """Journal one 20-byte stride record; allocates nothing. False if not journaled."""
        f = self._file
        if f is None or self.full:
            return False
        if self.usage_bytes + wire.J_STRIDE_SIZE > self.capacity_bytes:
            if not self._room_for(wire.J_STRIDE_SIZE):
                self.full = True
                return False
        frame = self._frame
        for i in range(wire.STRIDE_SIZE):
            frame[3 + i] = record[i]
        wire.frame_seal(frame, wire.J_STRIDE, wire.STRIDE_SIZE)
        try:
            f.write(self._stride_frame)
            f.flush()
        except OSError:
            # The flash refused part of a frame: later frames would sit at the
            # wrong offsets, so this session takes no more.
            self._give_up()
            return False
        self._count += 1
        self.usage_bytes += wire.J_STRIDE_SIZE
        return True

    def _give_up(self):
        self.full = True
        self._close_file()

    def _close_file(self):
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None

    def close_session(self):
        if self._open_sid:
            self._counts[self._open_sid] = self._count
        self._close_file()
        self._open_sid = 0
        self._count = 0

    def _room_for(self, nbytes):
        while self.usage_bytes + nbytes > self.capacity_bytes:
            victim = 0
            for sid in self.sessions():
                if self._synced(sid):
                    victim = sid
                    break
            if not victim:
                return False
            self.erase(victim)
        return True

    # --- reading -----------------------------------------------------------------

    @property
    def open_session_id(self):
        return self._open_sid

    def sessions(self):
        ids = list(self._counts)
        ids.sort()
        return ids

    def count(self, sid):
        if sid == self._open_sid:
            return self._count
        return self._counts.get(sid, 0)

    def acked(self, sid):
        return self._acked.get(sid, 0)

    def _synced(self, sid):
        return sid != self._open_sid and self._acked.get(sid, 0) >= self._counts.get(sid, 0)

    def unsynced(self):
        n = 0
        for sid in self._counts:
            if self._acked.get(sid, 0) < self.count(sid):
                n += 1
        return n

    def info(self, sid):
        """(flags, start_s, count, acked, firmware) of a session, or None if unknown."""
        header = self._header(sid)
        if header is None:
            return None
        flags = header[0] & ~wire.J_HEADER_CLOCK_KNOWN
        if sid == self._open_sid:
            flags |= wire.SESSION_OPEN
        return flags, header[1], self.count(sid), self._acked.get(sid, 0), header[2]

    def identity(self, sid):
        """(epoch, boot, start_clock_s, clock_known) of a session, or None if unknown.

        Epoch 0: written before journals had epochs, or a damaged header whose
        epoch cannot be proved (see the module docstring)."""
        header = self._header(sid)
        if header is None:
            return None
        flags, _, _, epoch, boot, clock_s, _, _ = header
        if flags & wire.SESSION_DAMAGED:
            for older in self.sessions():
                if older >= sid:
                    break
                h = self._header(older)
                if not h[0] & wire.SESSION_DAMAGED and h[3] == self.epoch:
                    return self.epoch, 0, 0, False
            return 0, 0, 0, False
        known = bool(flags & wire.J_HEADER_CLOCK_KNOWN)
        return epoch, boot if known else 0, clock_s if known else 0, known

    def ranges(self, sid):
        """(acc_fs_g, gyro_fs_dps) the session was recorded at, 0 where unknown (an
        older pod's header, or a damaged one), or None for an unknown session."""
        header = self._header(sid)
        if header is None:
            return None
        return header[6], header[7]

    def calibration(self, sid):
        """The 12 calibration bytes of a session header, or None if damaged."""
        header = self._header(sid)
        if header is None or header[0] & wire.SESSION_DAMAGED:
            return None
        at = self._header_size.get(sid, wire.J_HEADER_SIZE) - 2 - wire.J_CALIBRATION_SIZE
        return bytes(self._frame[at : at + wire.J_CALIBRATION_SIZE])

    def read(self, sid, index, buf, offset=0):
        """Copy stride record `index` of session `sid` into buf[offset:offset + 20].

        Returns 1 when read, 0 when the record is damaged (skip it), -1 past the end.
        """
        if index < 0 or index >= self.count(sid):
            return -1
        f = self._reader
        if f is None or self._reader_sid != sid or index >= self._reader_count:
            # LittleFS shows a reader only what was flushed before it opened.
            self.close_reader()
            try:
                f = open(self._path(sid, SESSION_SUFFIX), "rb")
            except OSError:
                return -1
            self._reader = f
            self._reader_sid = sid
            self._reader_count = self.count(sid)
            self._reader_base = self._header_size.get(sid, wire.J_HEADER_SIZE)
        f.seek(self._reader_base + index * wire.J_STRIDE_SIZE)
        frame = self._stride_frame
        if f.readinto(frame) != wire.J_STRIDE_SIZE:
            return 0
        if not wire.frame_check(frame, 0, wire.J_STRIDE, wire.STRIDE_SIZE):
            return 0
        for i in range(wire.STRIDE_SIZE):
            buf[offset + i] = frame[3 + i]
        return 1

    def close_reader(self):
        if self._reader is not None:
            self._reader.close()
            self._reader = None
            self._reader_sid = 0

    # --- sync bookkeeping --------------------------------------------------------

    def mark_synced(self, sid, count):
        """Record that the host committed records [0, count); returns the acked count."""
        if sid not in self._counts:
            return -1
        total = self.count(sid)
        if count > total:
            count = total
        if count <= self._acked.get(sid, 0):
            return self._acked.get(sid, 0)
        struct.pack_into("<I", self._frame, 3, count)
        wire.frame_seal(self._frame, wire.J_ACK, 4)
        try:
            with open(self._path(sid, ACK_SUFFIX), "ab") as f:
                f.write(self._u32_frame)
        except OSError:
            return self._acked.get(sid, 0)
        self.usage_bytes += wire.J_U32_SIZE
        self._acked[sid] = count
        return count

    def erase_synced(self):
        removed = 0
        for sid in self.sessions():
            if self._synced(sid):
                self.erase(sid)
                removed += 1
        return removed

    def erase(self, sid):
        """Remove a session, synced or not. The open session is closed first."""
        if sid not in self._counts:
            return False
        if sid == self._open_sid:
            self.close_session()
        if self._reader_sid == sid:
            self.close_reader()
        for suffix in (SESSION_SUFFIX, ACK_SUFFIX):
            path = self._path(sid, suffix)
            self.usage_bytes -= self._size(path)
            remove(path)
        del self._counts[sid]
        self._acked.pop(sid, None)
        self._header_size.pop(sid, None)
        if self.usage_bytes < 0:
            self.usage_bytes = 0
        self.full = False
        return True

    def usage_pct(self):
        if self.capacity_bytes <= 0:
            return 100
        return self.usage_bytes * 100 // self.capacity_bytes

    def records(self, sid, start=0):
        """(index, record bytes) of every intact record from start; allocates, for USB pull."""
        buf = bytearray(wire.STRIDE_SIZE)
        index = start
        while True:
            got = self.read(sid, index, buf)
            if got < 0:
                self.close_reader()
                return
            if got:
                yield index, bytes(buf)
            index += 1
