"""GATT services: Device Information, Running Speed and Cadence, running dynamics.

The BLE object is injected (hal/radio.py makes the real one). IRQ handlers only
record state; nothing here allocates per stride: records are encoded into
buffers made once.
"""

import sys

from micropython import const

from heavylegs_pod import VERSION, wire
from heavylegs_pod.gait.detector import (
    F_CADENCE_CENTI,
    F_CLIPPED,
    F_GCT_01MS,
    F_IMPACT_HALF_G,
    F_RUNNING,
    F_SEQ,
    F_STRIDE_01MS,
    F_STRIKE_01DEG,
    strike_class,
)
from heavylegs_pod.hal.radio import uuid

_IRQ_CENTRAL_CONNECT = const(1)
_IRQ_CENTRAL_DISCONNECT = const(2)
_IRQ_MTU_EXCHANGED = const(21)

_FLAG_READ = const(0x0002)
_FLAG_NOTIFY = const(0x0010)

_ADV_INTERVAL_US = const(250_000)
_MAX_CONNECTIONS = const(4)


def firmware_revision():
    """Names the runtime too, so a host can tell the firmware really ran in MicroPython."""
    impl = sys.implementation
    return "heavylegs %s (%s %d.%d.%d)" % (
        VERSION,
        impl.name,
        impl.version[0],
        impl.version[1],
        impl.version[2],
    )


class PodServices:
    def __init__(self, ble, name, right_foot, session):
        self.ble = ble
        self.session = session
        self.name = name
        self.right_foot = right_foot
        self.connections = []
        self.mtu = 23
        self._stride_buf = bytearray(wire.STRIDE_SIZE)
        self._rsc_buf = bytearray(wire.RSC_MEASUREMENT_MAX)
        self._status_buf = bytearray(wire.STATUS_SIZE)
        self._rsc_view = memoryview(self._rsc_buf)

        dis = (
            uuid(wire.DIS_SERVICE_UUID16),
            (
                (uuid(wire.DIS_MANUFACTURER_UUID16), _FLAG_READ),
                (uuid(wire.DIS_MODEL_UUID16), _FLAG_READ),
                (uuid(wire.DIS_FIRMWARE_REV_UUID16), _FLAG_READ),
            ),
        )
        rsc = (
            uuid(wire.RSC_SERVICE_UUID16),
            (
                (uuid(wire.RSC_MEASUREMENT_UUID16), _FLAG_NOTIFY),
                (uuid(wire.RSC_FEATURE_UUID16), _FLAG_READ),
                (uuid(wire.SENSOR_LOCATION_UUID16), _FLAG_READ),
            ),
        )
        rd = (
            uuid(wire.RD_SERVICE_UUID),
            (
                (uuid(wire.RD_STRIDE_UUID), _FLAG_NOTIFY),
                (uuid(wire.RD_STATUS_UUID), _FLAG_READ | _FLAG_NOTIFY),
            ),
        )
        ble.config(gap_name=name)
        ble.irq(self._irq)
        handles = ble.gatts_register_services((dis, rsc, rd))
        (h_manufacturer, h_model, h_firmware) = handles[0]
        (self._h_rsc, h_feature, h_location) = handles[1]
        (self._h_stride, self._h_status) = handles[2]
        ble.gatts_write(h_manufacturer, b"heavylegs")
        ble.gatts_write(h_model, b"heavylegs pod")
        ble.gatts_write(h_firmware, firmware_revision().encode())
        ble.gatts_write(h_feature, bytes((wire.RSC_FEATURES & 0xFF, wire.RSC_FEATURES >> 8)))
        ble.gatts_write(h_location, bytes((wire.SENSOR_LOCATION_TOP_OF_SHOE,)))
        self.update_status(wire.STATE_IDLE, 0, 0, 0)
        self.advertise()

    def advertise(self):
        self.ble.gap_advertise(
            _ADV_INTERVAL_US,
            adv_data=wire.advertising_payload(self.name),
            resp_data=wire.scan_response_payload(self.name),
        )

    def _irq(self, event, data):
        if event == _IRQ_CENTRAL_CONNECT:
            conn = data[0]
            if len(self.connections) < _MAX_CONNECTIONS:
                self.connections.append(conn)
            if len(self.connections) < _MAX_CONNECTIONS:
                self.advertise()
        elif event == _IRQ_CENTRAL_DISCONNECT:
            conn = data[0]
            if conn in self.connections:
                self.connections.remove(conn)
            self.advertise()
        elif event == _IRQ_MTU_EXCHANGED:
            self.mtu = data[1]

    def update_status(self, state, overruns, samples, strides):
        wire.encode_status(
            self._status_buf, state, self.right_foot, overruns, samples, strides, self.session
        )
        self.ble.gatts_write(self._h_status, self._status_buf)

    def send_stride(self, stride, ic_ms):
        """Notify one stride on our service and the matching RSC measurement."""
        flags = wire.FLAG_RIGHT if self.right_foot else 0
        if stride[F_RUNNING]:
            flags |= wire.FLAG_RUNNING
        if stride[F_CLIPPED]:
            flags |= wire.FLAG_CLIPPED
        strike = stride[F_STRIKE_01DEG]
        flags |= strike_class(strike) << wire.STRIKE_SHIFT
        wire.encode_stride(
            self._stride_buf,
            stride[F_SEQ],
            flags,
            ic_ms,
            stride[F_GCT_01MS],
            stride[F_STRIDE_01MS],
            stride[F_CADENCE_CENTI],
            strike,
            stride[F_IMPACT_HALF_G],
            0,
        )
        cadence = (stride[F_CADENCE_CENTI] + 50) // 100
        size = wire.encode_rsc(self._rsc_buf, stride[F_RUNNING], 0, cadence, -1, -1)
        for conn in self.connections:
            self.ble.gatts_notify(conn, self._h_stride, self._stride_buf)
            self.ble.gatts_notify(conn, self._h_rsc, self._rsc_view[:size])
