"""A busio.I2C face on raw I2C transfers, so CircuitPython drivers can talk to
the emulated sensor: Adafruit's LSM6DS driver is the independent check that the
chip emulator behaves like the datasheet.

Runs under CPython and MicroPython alike (the MicroPython oracle test copies this
file next to the Adafruit packages). `I2C` wraps any bus with machine.I2C's raw
transfers (`writeto`, `readfrom_into`): the simulated board's machine.I2C on the
unix port, or `EmulatedBus` here under CPython.
"""

_ENODEV = 19


class EmulatedBus:
    """machine.I2C-style raw transfers to register devices (`read`/`write` by
    register, as LSM6DSEmulator has): the first written byte sets the register
    pointer, as on the chip."""

    def __init__(self, devices):
        self.devices = dict(devices)
        self._pointer = 0

    def _device(self, address):
        device = self.devices.get(address)
        if device is None:
            raise OSError(_ENODEV)
        return device

    def scan(self):
        return sorted(self.devices)

    def writeto(self, address, buf, stop=True):
        device = self._device(address)
        if len(buf):
            self._pointer = buf[0]
            if len(buf) > 1:
                device.write(self._pointer, memoryview(buf)[1:])
        return len(buf)

    def readfrom_into(self, address, buf, stop=True):
        self._device(address).read(self._pointer, buf)


class I2C:
    """The subset of busio.I2C that adafruit_bus_device uses."""

    def __init__(self, bus):
        self._bus = bus
        self._locked = False

    def try_lock(self):
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        self._locked = False

    def scan(self):
        return self._bus.scan()

    def writeto(self, address, buffer, *, start=0, end=None):
        if end is None:
            end = len(buffer)
        self._bus.writeto(address, memoryview(buffer)[start:end])

    def readfrom_into(self, address, buffer, *, start=0, end=None):
        if end is None:
            end = len(buffer)
        self._bus.readfrom_into(address, memoryview(buffer)[start:end])

    def writeto_then_readfrom(
        self,
        address,
        buffer_out,
        buffer_in,
        *,
        out_start=0,
        out_end=None,
        in_start=0,
        in_end=None,
    ):
        # A repeated start, not a stop, between the two halves.
        if out_end is None:
            out_end = len(buffer_out)
        if in_end is None:
            in_end = len(buffer_in)
        self._bus.writeto(address, memoryview(buffer_out)[out_start:out_end], False)
        self._bus.readfrom_into(address, memoryview(buffer_in)[in_start:in_end])

    def deinit(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()
        return False
