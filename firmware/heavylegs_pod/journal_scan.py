"""The journal's files and its recovery: what is on the flash, read back after any reset.

Journal (journal.py) builds on this; the layouts and the recovery rules are in its
docstring. Nothing here runs per stride.
"""

import os
import struct

from heavylegs_pod import wire

SESSION_SUFFIX = ".hls"
ACK_SUFFIX = ".hla"
# every session header layout, newest first
_HEADER_SIZES = (wire.J_HEADER_SIZE, wire.J_HEADER_V2_SIZE, wire.J_HEADER_V1_SIZE)


class JournalFiles:
    # --- recovery ----------------------------------------------------------------

    def _path(self, sid, suffix):
        return "%s/%08x%s" % (self.root, sid, suffix)

    def _scan(self):
        """Rebuild the index from the files: this is the whole of power-loss recovery."""
        names = os.listdir(self.root)
        for name in names:
            sid = sid_of(name, SESSION_SUFFIX)
            if sid is not None:
                path = self._path(sid, SESSION_SUFFIX)
                size = self._size(path)
                self.usage_bytes += size
                header = self._layout(path, size)
                self._header_size[sid] = header
                self._counts[sid] = records_in(size, header)
                if sid >= self._next:
                    self._next = sid + 1
        for name in names:
            sid = sid_of(name, ACK_SUFFIX)
            if sid is not None:
                path = self._path(sid, ACK_SUFFIX)
                if sid not in self._counts:
                    # Left behind by an erase cut short; it guards no data.
                    remove(path)
                    continue
                self.usage_bytes += self._size(path)
                self._acked[sid] = min(self._read_acked(path), self._counts[sid])
        stored = self._read_u32_file(self.root + "/next", wire.J_COUNTER)
        if stored > self._next:
            self._next = stored
        remove(self.root + "/next.tmp")
        self.epoch = self._read_u32_file(self.root + "/epoch", wire.J_EPOCH)
        if not self.epoch:
            self.epoch = self._new_epoch()

    def _new_epoch(self):
        epoch = 0
        while not epoch:
            epoch = struct.unpack("<I", os.urandom(4))[0]
        # On a full flash the write fails: this run's sessions still carry the epoch
        # in their headers, and the next start draws another, which names no one else.
        self._replace_u32_file("epoch", wire.J_EPOCH, epoch)
        return epoch

    def _replace_u32_file(self, name, kind, value):
        """Write one u32 frame to `name` through `name.tmp` and a rename; never in place."""
        tmp = self.root + "/" + name + ".tmp"
        struct.pack_into("<I", self._frame, 3, value)
        wire.frame_seal(self._frame, kind, 4)
        try:
            with open(tmp, "wb") as f:
                f.write(self._u32_frame)
            os.rename(tmp, self.root + "/" + name)
        except OSError:
            remove(tmp)

    def _layout(self, path, size):
        """Header size of a session file: its length byte, else where the first
        stride frame is intact, else which layout leaves no ragged tail."""
        frame = self._fmv
        try:
            with open(path, "rb") as f:
                n = f.readinto(frame)
                if n >= 3:
                    for header in _HEADER_SIZES:
                        if frame[2] == header - wire.J_OVERHEAD:
                            return header
                for header in _HEADER_SIZES:
                    f.seek(header)
                    if f.readinto(self._stride_frame) == wire.J_STRIDE_SIZE and wire.frame_check(
                        self._stride_frame, 0, wire.J_STRIDE, wire.STRIDE_SIZE
                    ):
                        return header
        except OSError:
            pass
        # The sizes differ by 2, 12 and 14 bytes, never a whole stride frame: at
        # most one of them leaves no ragged tail.
        for header in _HEADER_SIZES:
            if size > header and (size - header) % wire.J_STRIDE_SIZE == 0:
                return header
        return wire.J_HEADER_SIZE

    @staticmethod
    def _size(path):
        try:
            return os.stat(path)[6]
        except OSError:
            return 0

    def _read_u32_file(self, path, kind):
        try:
            with open(path, "rb") as f:
                n = f.readinto(self._u32_frame)
        except OSError:
            return 0
        if n == wire.J_U32_SIZE and wire.frame_check(self._u32_frame, 0, kind, 4):
            return struct.unpack_from("<I", self._frame, 3)[0]
        return 0

    def _read_acked(self, path):
        acked = 0
        try:
            with open(path, "rb") as f:
                while f.readinto(self._u32_frame) == wire.J_U32_SIZE:
                    if wire.frame_check(self._u32_frame, 0, wire.J_ACK, 4):
                        value = struct.unpack_from("<I", self._frame, 3)[0]
                        if value > acked:
                            acked = value
        except OSError:
            pass
        return acked

    def _header(self, sid):
        """Parse the session's header into self._frame: (flags, start_s, firmware,
        epoch, boot, start_clock_s, acc_fs_g, gyro_fs_dps) with SESSION_DAMAGED and
        epoch 0 when it is unreadable (ranges 0: unknown), or None for an unknown
        session."""
        if sid not in self._counts:
            return None
        size = self._header_size.get(sid, wire.J_HEADER_SIZE)
        payload = size - wire.J_OVERHEAD
        try:
            with open(self._path(sid, SESSION_SUFFIX), "rb") as f:
                n = f.readinto(self._fmv[:size])
        except OSError:
            n = 0
        if n != size or not wire.frame_check(self._frame, 0, wire.J_HEADER, payload):
            return wire.SESSION_DAMAGED, 0, 0, 0, 0, 0, 0, 0
        acc_fs_g = gyro_fs = 0
        if size == wire.J_HEADER_V1_SIZE:
            _, start_s, flags, major, minor, patch, _ = struct.unpack_from(
                wire.J_HEADER_V1_FORMAT, self._frame, 3
            )
            epoch = boot = clock_s = 0
            flags &= ~wire.J_HEADER_CLOCK_KNOWN
        elif size == wire.J_HEADER_V2_SIZE:
            _, start_s, flags, major, minor, patch, _, epoch, boot, clock_s = struct.unpack_from(
                wire.J_HEADER_V2_FORMAT, self._frame, 3
            )
        else:
            (_, start_s, flags, major, minor, patch, _, epoch, boot, clock_s, acc_fs_g, gyro_fs) = (
                struct.unpack_from(wire.J_HEADER_FORMAT, self._frame, 3)
            )
        return (
            flags,
            start_s,
            wire.pack_version(major, minor, patch),
            epoch,
            boot,
            clock_s,
            acc_fs_g,
            gyro_fs * wire.GYRO_FS_UNIT_DPS,
        )


def records_in(size, header=wire.J_HEADER_SIZE):
    if size <= header:
        return 0
    return (size - header) // wire.J_STRIDE_SIZE


def sid_of(name, suffix):
    """The session id a journal file name `<id:08x><suffix>` carries, else None."""
    if not (name.endswith(suffix) and len(name) == 12):
        return None
    try:
        return int(name[:8], 16)
    except ValueError:
        return None


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
