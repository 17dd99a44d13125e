"""The owner's operations on the pod, as the control point asks for them.

Session start and stop, the time of day, the foot, the pod's identity and the
journal's erasure: each decodes its request, calls the app (`pod`) or the
journal, and writes its answer's parameters. The control point (ble/control.py)
has already checked the request's size and the owner's authentication.

The app provides: start_session() -> id, stop_session() -> id or 0,
set_time(unix_s), set_foot(right) -> bool, session_erased(id), `boot_id` and
clock_s(), the pod clock (seconds since the cold boot that boot_id names).
"""

import struct

from heavylegs_pod import wire


class OwnerOperations:
    def __init__(self, pod, journal, control, sync):
        self.pod = pod
        self.journal = journal
        self.sync = sync
        control.on(wire.OP_START_SESSION, self._start_session)
        control.on(wire.OP_STOP_SESSION, self._stop_session)
        control.on(wire.OP_SET_TIME, self._set_time)
        control.on(wire.OP_SET_FOOT, self._set_foot)
        control.on(wire.OP_IDENTITY, self._identity)
        control.on(wire.OP_ERASE_SYNCED, self._erase_synced)
        control.on(wire.OP_ERASE_SESSION, self._erase_session)

    def _start_session(self, conn, data, resp):
        struct.pack_into("<I", resp, 3, self.pod.start_session())
        return wire.CP_SUCCESS, 4

    def _stop_session(self, conn, data, resp):
        struct.pack_into("<I", resp, 3, self.pod.stop_session())
        return wire.CP_SUCCESS, 4

    def _set_time(self, conn, data, resp):
        self.pod.set_time(struct.unpack_from("<I", data, 1)[0])
        return wire.CP_SUCCESS, 0

    def _set_foot(self, conn, data, resp):
        if data[1] > 1:
            return wire.CP_INVALID_PARAMETER, 0
        if not self.pod.set_foot(data[1] == 1):
            return wire.CP_FAILED, 0
        return wire.CP_SUCCESS, 0

    def _identity(self, conn, data, resp):
        pod = self.pod
        struct.pack_into(
            wire.IDENTITY_RESPONSE_FORMAT, resp, 3, self.journal.epoch, pod.boot_id, pod.clock_s()
        )
        return wire.CP_SUCCESS, wire.IDENTITY_RESPONSE_SIZE

    def _erase_synced(self, conn, data, resp):
        if self.sync.busy():
            return wire.CP_BUSY, 0
        struct.pack_into("<H", resp, 3, self.journal.erase_synced())
        return wire.CP_SUCCESS, 2

    def _erase_session(self, conn, data, resp):
        sid = struct.unpack_from("<I", data, 1)[0]
        if self.sync.busy(sid):
            return wire.CP_BUSY, 0
        journal = self.journal
        was_open = sid == journal.open_session_id
        if not journal.erase(sid):
            return wire.CP_NOT_FOUND, 0
        if was_open:
            self.pod.session_erased(sid)
        return wire.CP_SUCCESS, 0
