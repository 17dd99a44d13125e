"""The BLE controller. Kept apart so nothing else imports `bluetooth` directly."""

import bluetooth


def open_radio():
    ble = bluetooth.BLE()
    ble.active(True)
    return ble


def uuid(value):
    return bluetooth.UUID(value)
