# A tiny GATT server for the simulated radio's end-to-end tests.
#
# Written against MicroPython's `bluetooth` module as a pod would be: the
# IRQ handler records and sets a ThreadSafeFlag, an asyncio task does the
# work. Writes to RX come back as a notification on TX, an indication on
# IND and a board event 0x81 to the host; b"big" notifies 300 bytes on TX;
# b"upd" updates TX and IND with send_update; b"heap" reports (event 0x84)
# whether gatts_write/gatts_notify allocate; b"bye" makes the pod
# disconnect. SMALL keeps the default 20-byte buffer and reports what it got
# as board event 0x83. STATE tells the host which IRQs arrived.

import asyncio
import struct

import _simlink
import bluetooth
import micropython
from micropython import const

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_GATTS_INDICATE_DONE = const(20)
_IRQ_MTU_EXCHANGED = const(21)

_FLAG_DESC_READ = const(1)
_EVENT_WRITE_SEEN = const(0x81)
_EVENT_DISCONNECTED = const(0x82)
_EVENT_SMALL_WRITE = const(0x83)
_EVENT_HEAP = const(0x84)

_ADV_INTERVAL_US = const(30000)
_NAME = b"echo-pod"
_SERVICE = bluetooth.UUID("8d1f0001-6c1e-4bba-9c4c-2b2f2f7c1a10")
_RSC_UUID16 = const(0x1814)
_COMPANY = const(0xFFFF)

_TX = (
    bluetooth.UUID("8d1f0002-6c1e-4bba-9c4c-2b2f2f7c1a10"),
    bluetooth.FLAG_READ | bluetooth.FLAG_NOTIFY,
)
_IND = (
    bluetooth.UUID("8d1f0003-6c1e-4bba-9c4c-2b2f2f7c1a10"),
    bluetooth.FLAG_READ | bluetooth.FLAG_INDICATE,
)
_RX = (
    bluetooth.UUID("8d1f0004-6c1e-4bba-9c4c-2b2f2f7c1a10"),
    bluetooth.FLAG_WRITE | bluetooth.FLAG_WRITE_NO_RESPONSE,
)
_INFO = (
    bluetooth.UUID("8d1f0005-6c1e-4bba-9c4c-2b2f2f7c1a10"),
    bluetooth.FLAG_READ,
    ((bluetooth.UUID(0x2901), _FLAG_DESC_READ),),
)
_STATE = (bluetooth.UUID("8d1f0006-6c1e-4bba-9c4c-2b2f2f7c1a10"), bluetooth.FLAG_READ)
_SMALL = (bluetooth.UUID("8d1f0007-6c1e-4bba-9c4c-2b2f2f7c1a10"), bluetooth.FLAG_WRITE)
_ECHO_SERVICE = (_SERVICE, (_TX, _IND, _RX, _INFO, _STATE, _SMALL))


def _field(kind, data):
    return struct.pack("BB", len(data) + 1, kind) + data


def _adv_payload():
    return (
        _field(0x01, b"\x06") + _field(0x03, struct.pack("<H", _RSC_UUID16)) + _field(0x09, _NAME)
    )


def _resp_payload():
    return _field(0x07, bytes(_SERVICE)) + _field(0xFF, struct.pack("<H", _COMPANY) + b"HL")


class EchoPod:
    def __init__(self, ble):
        self._ble = ble
        self._flag = asyncio.ThreadSafeFlag()
        self._conn = None
        self._connects = 0
        self._disconnects = 0
        self._mtu = 0
        self._indicated = 0
        self._indicate_status = 0xFF
        self._writes = []
        self._disconnected = False
        self._sample = bytearray(20)
        ble.active(True)
        ble.config(gap_name=_NAME)
        ble.irq(self._irq)
        (
            (self._tx, self._ind, self._rx, self._info, self._info_desc, self._state, self._small),
        ) = ble.gatts_register_services((_ECHO_SERVICE,))
        ble.gatts_write(self._info, b"echo-pod v1")
        ble.gatts_write(self._info_desc, b"info")
        # Room for writes longer than the 20-byte default.
        ble.gatts_set_buffer(self._rx, 200)
        self._publish_state()

    def _irq(self, event, data):
        if event == _IRQ_CENTRAL_CONNECT:
            self._conn = data[0]
            self._connects += 1
        elif event == _IRQ_CENTRAL_DISCONNECT:
            self._conn = None
            self._disconnects += 1
            self._disconnected = True
        elif event == _IRQ_GATTS_WRITE:
            self._writes.append(data[1])
        elif event == _IRQ_GATTS_INDICATE_DONE:
            self._indicated += 1
            self._indicate_status = data[2]
        elif event == _IRQ_MTU_EXCHANGED:
            self._mtu = data[1]
        self._flag.set()

    def _publish_state(self):
        state = struct.pack(
            "<BBHBB",
            self._connects,
            self._disconnects,
            self._mtu,
            self._indicated,
            self._indicate_status,
        )
        self._ble.gatts_write(self._state, state)

    def _advertise(self):
        self._ble.gap_advertise(
            _ADV_INTERVAL_US, adv_data=_adv_payload(), resp_data=_resp_payload()
        )

    def _on_write(self, handle):
        if handle == self._small:
            _simlink.send(_EVENT_SMALL_WRITE, self._ble.gatts_read(self._small))
        if handle != self._rx or self._conn is None:
            return
        value = self._ble.gatts_read(self._rx)
        _simlink.send(_EVENT_WRITE_SEEN, value)
        if value == b"bye":
            self._ble.gap_disconnect(self._conn)
        elif value == b"heap":
            _simlink.send(_EVENT_HEAP, self._notify_heap_locked())
        elif value == b"upd":
            self._ble.gatts_write(self._tx, b"upd-notify", True)
            self._ble.gatts_write(self._ind, b"upd-indicate", True)
        elif value == b"big":
            self._ble.gatts_notify(self._conn, self._tx, bytes(i & 0xFF for i in range(300)))
        else:
            self._ble.gatts_write(self._tx, value)
            self._ble.gatts_notify(self._conn, self._tx)
            self._ble.gatts_indicate(self._conn, self._ind, value)

    def _notify_heap_locked(self):
        # Firmware proves its sample path allocation-free under heap_lock;
        # the stand-in must not be what breaks that.
        sample = self._sample
        micropython.heap_lock()
        try:
            self._ble.gatts_write(self._tx, sample)
            self._ble.gatts_notify(self._conn, self._tx)
            self._ble.gatts_notify(self._conn, self._tx, sample)
            result = b"ok"
        except MemoryError:
            result = b"alloc"
        micropython.heap_unlock()
        return result

    async def run(self):
        self._advertise()
        while True:
            await self._flag.wait()
            while self._writes:
                self._on_write(self._writes.pop(0))
            if self._disconnected:
                self._disconnected = False
                _simlink.send(_EVENT_DISCONNECTED, struct.pack("<B", self._disconnects))
                self._advertise()
            self._publish_state()


asyncio.run(EchoPod(bluetooth.BLE()).run())
