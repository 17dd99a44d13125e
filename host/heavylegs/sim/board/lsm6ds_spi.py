"""The emulated LSM6DS's 4-wire SPI interface: the chip side of the simulated SPI bus.

Frames are cut by the chip-select pin, as on the chip (ST LSM6DSO32 DocID032891 and
LSM6DSOX DS12814, "SPI bus interface"): CS falling starts a transaction, the first
byte clocked in is the command (bit 7 set: read; bits 6-0: register address), and
every byte after it reads or writes the register the pointer is at, the pointer
moving as the chip's auto-increment moves it (CTRL3_C.IF_INC, FIFO_DATA_OUT
wrapping onto itself), so FIFO_DATA_OUT reads pop the FIFO as they do over I2C.
CS rising ends the transaction; bytes clocked while CS is high reach nothing.

The chip samples SDI on the rising clock edge and shifts SDO on the falling one,
which mode 3 (CPOL=1, CPHA=1, the datasheet's timing diagram) and mode 0 both
satisfy; in modes 1 and 2 it would see shifted bits, modelled as a frame it does
not decode: nothing is written and MISO stays high (0xFF). MSB first only.
"""

_IDLE_MISO = 0xFF  # SDO is high impedance outside a read; the line floats high
_READ = 0x80


class LSM6DSSpiPort:
    def __init__(self, chip, bus_id, cs_pin):
        self.chip = chip
        self.bus_id = bus_id
        self.cs_pin = cs_pin
        self.selected = False
        self._command = False  # the frame's command byte has arrived
        self._reading = False
        self._reg = 0
        self.bytes = 0  # bytes clocked while selected: the power timeline's bus bytes

    def select(self, level):
        """The CS pin was driven to `level` (0 selects)."""
        low = not level
        if low and not self.selected:
            self._command = False
        self.selected = low

    def clock(self, mosi, miso, n, fill, decodes):
        """n bytes clocked: MOSI bytes from `mosi` (or `fill` when None), MISO bytes
        into `miso` (None: clocked out and dropped, as SPI.write does)."""
        if not self.selected:
            return
        self.bytes += n
        if not decodes:
            if miso is not None:
                for k in range(n):
                    miso[k] = _IDLE_MISO
            return
        i = 0
        if not self._command and n:
            command = mosi[0] if mosi is not None else fill
            self._command = True
            self._reading = bool(command & _READ)
            self._reg = command & 0x7F
            if miso is not None:
                miso[0] = _IDLE_MISO
            i = 1
        rest = n - i
        if not rest:
            return
        chip = self.chip
        if self._reading:
            if miso is not None and i == 0 and isinstance(miso, bytearray):
                chip.read(self._reg, miso)  # the FIFO burst: whole words at once
            else:
                data = bytearray(rest)
                chip.read(self._reg, data)
                if miso is not None:
                    for k in range(rest):
                        miso[i + k] = data[k]
            self._reg = chip.pointer_after(self._reg, rest)
            return
        if mosi is not None:
            data = bytes(mosi[i:n])
        else:
            data = bytes([fill]) * rest
        if miso is not None:
            for k in range(rest):
                miso[i + k] = _IDLE_MISO
        chip.write(self._reg, data)
        self._reg = chip.pointer_after(self._reg, rest, False)
