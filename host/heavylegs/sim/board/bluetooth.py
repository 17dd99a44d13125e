# Stand-in for MicroPython's `bluetooth` module on the unix port: the GATT
# server subset, carried over _simlink to a bumble peripheral run by the
# host's heavylegs.sim.pod_bridge.PodBridge.
#
# Behaviour follows the NimBLE port (ESP32): 20-byte default value buffers
# that grow on local writes and truncate remote writes, notify/indicate sent
# whatever the client subscribed to, IRQs delivered from an asyncio task
# rather than inside API calls. The radio's power states (active, advertising,
# connections) go to the host's power timeline through machine.power_event;
# when the radio comes back on after being off (a record-only beacon), its
# first advertising waits for the host's MSG_BEACON_DONE, so a simulated
# central can connect during a burst that lasts no wall time. Not simulated: central role, scanning,
# pairing, L2CAP, read-request IRQs.

import struct

import _simlink
from micropython import const
from simlink_proto import (
    CONFIG_GAP_NAME,
    CONFIG_MTU,
    DEFAULT_VALUE_LEN,
    MSG_ACTIVE,
    MSG_ADVERTISE,
    MSG_BEACON,
    MSG_BEACON_DONE,
    MSG_CENTRAL_CONNECT,
    MSG_CENTRAL_DISCONNECT,
    MSG_CENTRAL_WRITE,
    MSG_CONFIG,
    MSG_DISCONNECT,
    MSG_HELLO,
    MSG_HELLO_ACK,
    MSG_INDICATE,
    MSG_INDICATE_DONE,
    MSG_MTU_EXCHANGED,
    MSG_NOTIFY,
    MSG_REGISTER,
    MSG_REGISTERED,
    MSG_SET_BUFFER,
    MSG_WRITE_LOCAL,
    POWER_ADVERTISE,
    POWER_CONNECTIONS,
    POWER_RADIO,
    PROTOCOL_VERSION,
)

# The real module's flag constants, from the numbers both ends of the link share.
from simlink_proto import FLAG_INDICATE as FLAG_INDICATE
from simlink_proto import FLAG_NOTIFY as FLAG_NOTIFY
from simlink_proto import FLAG_READ as FLAG_READ
from simlink_proto import FLAG_WRITE as FLAG_WRITE
from simlink_proto import FLAG_WRITE_NO_RESPONSE as FLAG_WRITE_NO_RESPONSE

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_GATTS_WRITE = const(3)
_IRQ_GATTS_INDICATE_DONE = const(20)
_IRQ_MTU_EXCHANGED = const(21)

_MAX_VALUE_LEN = const(512)
_ADV_MAX = const(31)
_ADV_INTERVAL_MIN_US = const(20000)
_ADV_INTERVAL_MAX_US = const(10240000)
_ENODEV = const(19)  # what the real module raises when BLE is not active
_EINVAL = const(22)
_ENOTCONN = const(107)


def _parse_uuid128(text):
    digits = text.replace("-", "")
    if len(digits) != 32:
        raise ValueError("invalid UUID")
    return bytes(reversed(bytes.fromhex(digits)))


class UUID:
    # bytes cannot be subclassed in MicroPython; iteration gives bytes(uuid)
    # the little-endian form that the real UUID's buffer protocol exposes.
    def __init__(self, value):
        if isinstance(value, UUID):
            self._b = value._b
        elif isinstance(value, int):
            if value < 0 or value > 0xFFFFFFFF:
                raise ValueError("invalid UUID")
            self._b = struct.pack("<H", value) if value <= 0xFFFF else struct.pack("<I", value)
        elif isinstance(value, str):
            self._b = _parse_uuid128(value)
        else:
            b = bytes(value)
            if len(b) not in (2, 4, 16):
                raise ValueError("invalid UUID")
            self._b = b

    def __iter__(self):
        return iter(self._b)

    def __len__(self):
        return len(self._b)

    def __eq__(self, other):
        return isinstance(other, UUID) and self._b == other._b

    def __hash__(self):
        return hash(self._b)

    def __repr__(self):
        if len(self._b) == 2:
            return "UUID(0x%04x)" % struct.unpack("<H", self._b)[0]
        if len(self._b) == 4:
            return "UUID(0x%08x)" % struct.unpack("<I", self._b)[0]
        h = bytes(reversed(self._b)).hex()
        return "UUID('%s-%s-%s-%s-%s')" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def _wire_uuid(uuid, out):
    if not isinstance(uuid, UUID):
        raise TypeError("expected bluetooth.UUID")
    out.append(len(uuid._b))
    out.extend(uuid._b)


class _Value:
    # One entry of the local GATT database, shaped like the C port's:
    # a buffer whose size bounds remote writes, and the current length.
    def __init__(self):
        self.buf = bytearray(DEFAULT_VALUE_LEN)
        self.n = 0
        self.append = False

    def set_local(self, data):
        n = len(data)
        if n > len(self.buf):
            self.buf = bytearray(n)
        self.buf[0:n] = data
        self.n = n

    def set_remote(self, data):
        off = self.n if self.append else 0
        n = min(len(self.buf) - off, len(data))
        self.buf[off : off + n] = data[:n]
        self.n = off + n


class BLE:
    _instance = None

    def __new__(cls):
        if BLE._instance is None:
            BLE._instance = super().__new__(cls)
            BLE._instance._setup()
        return BLE._instance

    def _setup(self):
        self._active = False
        self._handler = None
        self._mac = None
        self._gap_name = b"MPY SIM"
        self._mtu = 256
        self._other_config = {
            "rxbuf": 1024,
            "addr_mode": 0,
            "bond": False,
            "mitm": False,
            "io": 3,
            "le_secure": False,
        }
        self._adv = b""
        self._resp = b""
        self._db = {}
        self._conns = {}
        self._beacon = False  # back on after being off: the next advertising is a beacon

    def active(self, active=None):
        if active is None:
            return self._active
        if active and not self._active:
            if self._mac is None:
                reply = _simlink.request(MSG_HELLO, bytes((PROTOCOL_VERSION,)), MSG_HELLO_ACK)
                self._mac = (reply[1], bytes(reply[2:8]))
            else:
                self._beacon = True
            _simlink.send(MSG_ACTIVE, b"\x01")
            self._active = True
            _power(POWER_RADIO, 1)
            self._send_config()
            if self._handler is not None:
                _simlink.subscribe(self._on_frame)
        elif not active and self._active:
            # Like the real stack going down: links drop without IRQs and
            # services must be registered again.
            _simlink.send(MSG_ACTIVE, b"\x00")
            self._active = False
            self._db = {}
            self._conns = {}
            self._beacon = False
            _power(POWER_RADIO, 0)
        return self._active

    def _check_active(self):
        if not self._active:
            raise OSError(_ENODEV)

    def _send_config(self):
        _simlink.send(MSG_CONFIG, bytes((CONFIG_GAP_NAME,)) + self._gap_name)
        _simlink.send(MSG_CONFIG, struct.pack("<BH", CONFIG_MTU, self._mtu))

    def config(self, *args, **kwargs):
        if args:
            if len(args) != 1 or kwargs:
                raise TypeError("must query one param")
            name = args[0]
            if name == "mac":
                self._check_active()
                return self._mac
            if name == "gap_name":
                return self._gap_name
            if name == "mtu":
                return self._mtu
            if name in self._other_config:
                return self._other_config[name]
            raise ValueError("unknown config param")
        for name, value in kwargs.items():
            if name == "gap_name":
                self._gap_name = value.encode() if isinstance(value, str) else bytes(value)
            elif name == "mtu":
                if value < 23 or value > 517:
                    raise ValueError("invalid mtu")
                self._mtu = value
            elif name in self._other_config:
                self._other_config[name] = value
            else:
                raise ValueError("unknown config param")
        if kwargs and self._active:
            self._send_config()

    def irq(self, handler):
        self._handler = handler
        if handler is not None and self._active:
            _simlink.subscribe(self._on_frame)

    def gap_advertise(self, interval_us, adv_data=None, *, resp_data=None, connectable=True):
        self._check_active()
        if adv_data is not None:
            self._adv = bytes(adv_data)
        if resp_data is not None:
            self._resp = bytes(resp_data)
        if interval_us is None:
            _simlink.send(MSG_ADVERTISE, struct.pack("<IBB", 0, 0, 0))
            _power(POWER_ADVERTISE, 0)
            return
        if len(self._adv) > _ADV_MAX or len(self._resp) > _ADV_MAX:
            raise OSError(_EINVAL)
        interval_us = interval_us // 625 * 625
        if interval_us < _ADV_INTERVAL_MIN_US or interval_us > _ADV_INTERVAL_MAX_US:
            raise OSError(_EINVAL)
        head = struct.pack("<IBB", interval_us, 1 if connectable else 0, len(self._adv))
        _simlink.send(MSG_ADVERTISE, head + self._adv + self._resp)
        _power(POWER_ADVERTISE, interval_us)
        if self._beacon:
            self._beacon = False
            _simlink.request(MSG_BEACON, b"", MSG_BEACON_DONE, 60000)

    def gap_disconnect(self, conn_handle):
        self._check_active()
        if conn_handle not in self._conns:
            return False
        _simlink.send(MSG_DISCONNECT, struct.pack("<H", conn_handle))
        return True

    def gatts_register_services(self, services_definition):
        self._check_active()
        wire = bytearray((len(services_definition),))
        counts = []
        for service in services_definition:
            _wire_uuid(service[0], wire)
            characteristics = service[1]
            wire.append(len(characteristics))
            count = 0
            for characteristic in characteristics:
                _wire_uuid(characteristic[0], wire)
                wire.extend(struct.pack("<H", characteristic[1]))
                descriptors = characteristic[2] if len(characteristic) > 2 else ()
                wire.append(len(descriptors))
                count += 1 + len(descriptors)
                for descriptor in descriptors:
                    _wire_uuid(descriptor[0], wire)
                    wire.extend(struct.pack("<H", descriptor[1]))
            counts.append(count)
        reply = _simlink.request(MSG_REGISTER, wire, MSG_REGISTERED)
        if reply[0]:
            raise OSError(reply[0])
        self._db = {}
        result = []
        pos = 1
        for count in counts:
            handles = []
            for _ in range(count):
                handle = struct.unpack_from("<H", reply, pos)[0]
                pos += 2
                self._db[handle] = _Value()
                handles.append(handle)
            result.append(tuple(handles))
        return tuple(result)

    def _value(self, value_handle):
        entry = self._db.get(value_handle)
        if entry is None:
            raise OSError(_EINVAL)
        return entry

    def gatts_read(self, value_handle):
        entry = self._value(value_handle)
        data = bytes(entry.buf[: entry.n])
        if entry.append:
            entry.n = 0
        return data

    def gatts_write(self, value_handle, data, send_update=False):
        entry = self._value(value_handle)
        entry.set_local(data)
        _simlink.send_hh(MSG_WRITE_LOCAL, value_handle, 1 if send_update else 0, data)

    def _send_to_central(self, msgtype, conn_handle, value_handle, data):
        self._check_active()
        if conn_handle not in self._conns:
            raise OSError(_ENOTCONN)
        if data is None:
            entry = self._value(value_handle)
            _simlink.send_hh(msgtype, conn_handle, value_handle, entry.buf, entry.n)
        else:
            n = len(data)
            _simlink.send_hh(
                msgtype,
                conn_handle,
                value_handle,
                data,
                n if n < _MAX_VALUE_LEN else _MAX_VALUE_LEN,
            )

    def gatts_notify(self, conn_handle, value_handle, data=None):
        self._send_to_central(MSG_NOTIFY, conn_handle, value_handle, data)

    def gatts_indicate(self, conn_handle, value_handle, data=None):
        self._send_to_central(MSG_INDICATE, conn_handle, value_handle, data)

    def gatts_set_buffer(self, value_handle, buf_len, append=False):
        entry = self._value(value_handle)
        entry.buf = bytearray(buf_len)
        entry.n = 0
        entry.append = bool(append)
        _simlink.send(
            MSG_SET_BUFFER, struct.pack("<HHB", value_handle, buf_len, 1 if append else 0)
        )

    def _irq(self, event, data):
        if self._handler is not None:
            self._handler(event, data)

    def _on_frame(self, msgtype, p):
        if not self._active:
            return  # an inactive stack hears nothing (frames sent before it went down)
        if msgtype == MSG_CENTRAL_WRITE:
            conn, handle = struct.unpack_from("<HH", p, 0)
            entry = self._db.get(handle)
            if entry is not None:
                # Applied before the IRQ so the handler can gatts_read it.
                entry.set_remote(memoryview(p)[4:])
                self._irq(_IRQ_GATTS_WRITE, (conn, handle))
        elif msgtype == MSG_CENTRAL_CONNECT:
            conn = struct.unpack_from("<H", p, 0)[0]
            self._conns[conn] = True
            _power(POWER_CONNECTIONS, len(self._conns))
            self._irq(_IRQ_CENTRAL_CONNECT, (conn, p[2], memoryview(p)[3:9]))
        elif msgtype == MSG_CENTRAL_DISCONNECT:
            conn = struct.unpack_from("<H", p, 0)[0]
            self._conns.pop(conn, None)
            _power(POWER_CONNECTIONS, len(self._conns))
            self._irq(_IRQ_CENTRAL_DISCONNECT, (conn, p[2], memoryview(p)[3:9]))
        elif msgtype == MSG_INDICATE_DONE:
            conn, handle, status = struct.unpack_from("<HHB", p, 0)
            self._irq(_IRQ_GATTS_INDICATE_DONE, (conn, handle, status))
        elif msgtype == MSG_MTU_EXCHANGED:
            conn, mtu = struct.unpack_from("<HH", p, 0)
            self._irq(_IRQ_MTU_EXCHANGED, (conn, mtu))


def _power(kind, value):
    import machine

    board = machine._get_board()
    if kind == POWER_RADIO:
        board.radio_on = bool(value)
    machine.power_event(kind, value)
