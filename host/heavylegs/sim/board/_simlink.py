# The simulated board's one link to the host (heavylegs.sim.pod_bridge.PodBridge).
#
# MicroPython code for the unix port. One AF_UNIX stream socket, path from
# $HEAVYLEGS_SIM_SOCKET, carrying frames: u16 LE body length, then the body
# (u8 message type + payload). Types >= 0x80 are board events (machine.py
# and friends); the frame layouts are documented in simlink_proto.py.
#
# Sending is synchronous and complete even though the socket is
# non-blocking (asyncio needs that for receiving). Received frames go to the
# handlers registered with subscribe(), called from one asyncio task, the way
# a real port runs BLE IRQs as scheduled callbacks between bytecodes.

import os
import select
import socket
import struct
import sys
import time

from micropython import const

_ENV = "HEAVYLEGS_SIM_SOCKET"
_MAX_BODY = const(0xFFFF)
_HEAD = const(7)  # u16 length, u8 type, u16, u16
_READ_CHUNK = const(4096)
_ETIMEDOUT = const(110)

_sock = None
_poll_in = None
_poll_out = None
_head = bytearray(_HEAD)
_rx = bytearray()
_frames = []
_handlers = []
_task = None


def _connect():
    global _sock, _poll_in, _poll_out
    if _sock is not None:
        return _sock
    path = os.getenv(_ENV)
    if not path:
        raise OSError("$" + _ENV + " is not set: run this board under a heavylegs PodBridge")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(struct.pack("H", socket.AF_UNIX) + path.encode() + b"\0")
    s.setblocking(False)
    _poll_in = select.poll()
    _poll_in.register(s, select.POLLIN)
    _poll_out = select.poll()
    _poll_out.register(s, select.POLLOUT)
    _sock = s
    return s


def _host_gone():
    # Nothing can be simulated without the host: end the process rather
    # than leave firmware spinning against a dead socket.
    print("heavylegs sim: the host closed the link; exiting")
    raise SystemExit(0)


def _write(s, buf, n):
    # write(buf, off, n) copies nothing, so a notification allocates nothing.
    off = 0
    while off < n:
        try:
            w = s.write(buf, off, n - off)
        except OSError:
            _host_gone()
        if w is None:
            _poll_out.poll(1000)
        else:
            off += w


def send(msgtype, payload=b""):
    """Send one frame; returns when it is all in the socket."""
    n = len(payload)
    if n + 1 > _MAX_BODY:
        raise ValueError("frame too long")
    s = _connect()
    struct.pack_into("<HB", _head, 0, n + 1, msgtype)
    _write(s, _head, 3)
    _write(s, payload, n)


def send_hh(msgtype, a, b, data, n=-1):
    """Send a frame whose payload is u16 a, u16 b, then the first n bytes of data."""
    if n < 0:
        n = len(data)
    if n + 5 > _MAX_BODY:
        raise ValueError("frame too long")
    s = _connect()
    struct.pack_into("<HBHH", _head, 0, n + 5, msgtype, a, b)
    _write(s, _head, _HEAD)
    _write(s, data, n)


def _split():
    while len(_rx) >= 2:
        n = _rx[0] | _rx[1] << 8
        if len(_rx) < 2 + n:
            return
        if n:
            _frames.append((_rx[2], bytes(_rx[3 : 2 + n])))
        _rx[0 : 2 + n] = b""


def _pump(timeout_ms):
    if not _poll_in.poll(timeout_ms):
        return
    try:
        data = _sock.read(_READ_CHUNK)
    except OSError:
        _host_gone()
    if data is None:
        return
    if not data:
        _host_gone()
    _rx.extend(data)
    _split()


def request(msgtype, payload, reply_type, timeout_ms=5000):
    """Send a frame and wait for the first frame of reply_type; return its payload.

    Frames that arrive first stay queued for the handlers, in order.
    """
    send(msgtype, payload)
    deadline = time.ticks_add(time.ticks_ms(), timeout_ms)
    try:
        while True:
            for i in range(len(_frames)):
                if _frames[i][0] == reply_type:
                    return _frames.pop(i)[1]
            remaining = time.ticks_diff(deadline, time.ticks_ms())
            if remaining <= 0:
                raise OSError(_ETIMEDOUT)
            _pump(remaining)
    finally:
        if _frames and _task is not None:
            # The reader only wakes on new bytes; hand queued frames over now.
            import asyncio

            asyncio.create_task(_drain())


def _dispatch():
    while _frames:
        msgtype, payload = _frames.pop(0)
        for handler in _handlers:
            try:
                handler(msgtype, payload)
            except Exception as e:
                # A real port prints an IRQ handler's exception and carries on.
                print("heavylegs sim: exception in frame handler")
                sys.print_exception(e)


async def _drain():
    _dispatch()


async def _reader():
    import asyncio

    stream = asyncio.StreamReader(_sock)
    while True:
        _dispatch()
        try:
            data = await stream.read(_READ_CHUNK)
        except OSError:
            data = b""
        if not data:
            _host_gone()
        _rx.extend(data)
        _split()


def subscribe(handler):
    """Call handler(msgtype, payload) for every frame from the host, from an asyncio task.

    The task is created here (MicroPython runs tasks created before
    asyncio.run once the loop starts).
    """
    global _task
    _connect()
    if handler not in _handlers:
        _handlers.append(handler)
    if _task is None:
        import asyncio

        _task = asyncio.create_task(_reader())
