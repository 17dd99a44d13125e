"""The running-dynamics control point: request parsing, the owner's challenge and
response, and dispatch to the operations other modules register.

Every request is checked for its opcode and exact size before anything runs;
only OP_CHALLENGE and OP_AUTH are open to a connection that has not answered a
challenge with the owner's key. Operations live where their state does (owner.py
beside the app, sync.py for the journal); each registers a handler here with
on(op, handler): handler(conn, data, resp) writes its answer's parameters into
resp[3:] and returns (status, parameter bytes), or None when it answers later
through respond().
"""

import os

from heavylegs_pod import auth, wire
from heavylegs_pod.ble.gatt import IRQ_CENTRAL_CONNECT, MAX_CONNECTIONS


class ControlPoint:
    def __init__(self, gatt, key):
        self.gatt = gatt
        self.key = key
        self._ops = {}
        self._authed = bytearray(MAX_CONNECTIONS)
        self._nonce_ok = bytearray(MAX_CONNECTIONS)
        self._nonce = [bytearray(wire.NONCE_SIZE) for _ in range(MAX_CONNECTIONS)]
        self.resp = bytearray(wire.CP_MAX_RESPONSE)
        self._resp_views = tuple(memoryview(self.resp)[:k] for k in range(wire.CP_MAX_RESPONSE + 1))
        gatt.register_irq_handler(self._irq)
        gatt.on_write(gatt.h_control, self._request)

    def on(self, op, handler):
        self._ops[op] = handler

    def _irq(self, event, data):
        if event == IRQ_CENTRAL_CONNECT:
            # A new link starts unauthenticated, whoever held its slot before.
            i = self.gatt.slot(data[0])
            if i >= 0:
                self._authed[i] = 0
                self._nonce_ok[i] = 0

    def respond(self, conn, op, status, extra=0):
        """Indicate the answer to op, with `extra` parameter bytes already in resp[3:]."""
        wire.encode_cp_response(self.resp, op, status)
        self.gatt.indicate(conn, self.gatt.h_control, self._resp_views[3 + extra])

    def _request(self, conn, data):
        i = self.gatt.slot(conn)
        n = len(data)
        if n == 0:
            self.respond(conn, 0, wire.CP_INVALID_PARAMETER)
            return
        op = data[0]
        size = wire.cp_request_size(op)
        if size < 0:
            self.respond(conn, op, wire.CP_NOT_SUPPORTED)
            return
        if n != size:
            self.respond(conn, op, wire.CP_INVALID_PARAMETER)
            return
        if op == wire.OP_CHALLENGE:
            nonce = self._nonce[i]
            nonce[:] = os.urandom(wire.NONCE_SIZE)
            self._nonce_ok[i] = 1
            self.resp[3 : 3 + wire.NONCE_SIZE] = nonce
            self.respond(conn, op, wire.CP_SUCCESS, wire.NONCE_SIZE)
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
            self.respond(conn, op, wire.CP_SUCCESS if ok else wire.CP_NOT_AUTHORISED)
            return
        if not self._authed[i]:
            self.respond(conn, op, wire.CP_NOT_AUTHORISED)
            return
        handler = self._ops.get(op)
        if handler is None:
            self.respond(conn, op, wire.CP_NOT_SUPPORTED)
            return
        answer = handler(conn, data, self.resp)
        if answer is not None:
            self.respond(conn, op, answer[0], answer[1])
