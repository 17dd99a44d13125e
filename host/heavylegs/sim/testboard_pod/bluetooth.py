# Stand-in for MicroPython's `bluetooth` on the heavylegs test board: a radio
# that nobody is in range of. The firmware can register services, advertise
# and write values, but no central ever connects. USB is all the test board
# is for; heavylegs.sim's bluetooth.py is the one with a simulated radio.

import hashlib
import os

from micropython import const

# The real module's flag constants, as the simulated pod's bluetooth.py gives them
# (simlink_proto sits on the test board's path after this folder).
from simlink_proto import FLAG_INDICATE as FLAG_INDICATE
from simlink_proto import FLAG_NOTIFY as FLAG_NOTIFY
from simlink_proto import FLAG_READ as FLAG_READ
from simlink_proto import FLAG_WRITE as FLAG_WRITE
from simlink_proto import FLAG_WRITE_NO_RESPONSE as FLAG_WRITE_NO_RESPONSE

_ENODEV = const(19)
_EINVAL = const(22)
_ENOTCONN = const(107)
_ADV_MAX = const(31)


class UUID:
    def __init__(self, value):
        self.value = value.value if isinstance(value, UUID) else value

    def __eq__(self, other):
        return isinstance(other, UUID) and other.value == self.value

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return "UUID(" + repr(self.value) + ")"


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
        self._config = {"gap_name": b"MPY TESTBOARD", "mtu": 23, "rxbuf": 1024}
        self._values = {}
        self._next_handle = 1

    def active(self, active=None):
        if active is not None:
            self._active = bool(active)
            if not self._active:
                self._values = {}
        return self._active

    def _check_active(self):
        if not self._active:
            raise OSError(_ENODEV)

    def config(self, *args, **kwargs):
        if args:
            if args[0] == "mac":
                self._check_active()
                # A public address of its own per test pod, as each real pod has.
                pod = os.getenv("HEAVYLEGS_SIM_POD") or "testboard"
                return (0, hashlib.sha256(pod.encode()).digest()[:6])
            if args[0] not in self._config:
                raise ValueError("unknown config param")
            return self._config[args[0]]
        for name, value in kwargs.items():
            if name == "gap_name" and isinstance(value, str):
                value = value.encode()
            self._config[name] = value
        return None

    def irq(self, handler):
        self._handler = handler

    def gap_advertise(self, interval_us, adv_data=None, *, resp_data=None, connectable=True):
        self._check_active()
        if adv_data is not None and len(adv_data) > _ADV_MAX:
            raise OSError(_EINVAL)
        if resp_data is not None and len(resp_data) > _ADV_MAX:
            raise OSError(_EINVAL)

    def gap_disconnect(self, conn_handle):
        return False

    def gatts_register_services(self, services_definition):
        self._check_active()
        result = []
        for service in services_definition:
            handles = []
            for characteristic in service[1]:
                descriptors = characteristic[2] if len(characteristic) > 2 else ()
                for _ in range(1 + len(descriptors)):
                    handles.append(self._next_handle)
                    self._values[self._next_handle] = b""
                    self._next_handle += 1
            result.append(tuple(handles))
        return tuple(result)

    def _check_handle(self, value_handle):
        if value_handle not in self._values:
            raise OSError(_EINVAL)

    def gatts_read(self, value_handle):
        self._check_handle(value_handle)
        return self._values[value_handle]

    def gatts_write(self, value_handle, data, send_update=False):
        self._check_handle(value_handle)
        self._values[value_handle] = bytes(data)

    def gatts_notify(self, conn_handle, value_handle, data=None):
        raise OSError(_ENOTCONN)

    def gatts_indicate(self, conn_handle, value_handle, data=None):
        raise OSError(_ENOTCONN)

    def gatts_set_buffer(self, value_handle, buf_len, append=False):
        self._check_handle(value_handle)
