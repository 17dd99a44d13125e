"""The LSM6DS's registers over 4-wire SPI, through the two calls the driver makes
on machine.I2C (readfrom_mem_into, writeto_mem), so hal/lsm6ds.py reads the FIFO
the same way on either bus.

Why SPI at all: MicroPython's rp2 machine.I2C polls the controller, so the CPU is
busy for every bit of a FIFO burst, and at 400 kHz that is most of the pod's CPU
time; the chip's SPI runs up to 10 MHz with 8 clocks a byte and no ACK.

The chip's SPI protocol (ST LSM6DSO32/LSM6DSOX datasheets, "SPI bus interface"):
CS low frames one transaction; the first byte is the register address with bit 7
set to read; data follows, the address moving on by itself while CTRL3_C.IF_INC
is set (the driver sets it), and FIFO_DATA_OUT reads pop the FIFO as over I2C.
Mode 3 (idle clock high, data sampled on the rising edge).
"""

from micropython import const

_READ = const(0x80)
_ADDRESS_MASK = const(0x7F)


class SpiRegisters:
    """Register reads and writes framed by a chip-select pin; allocates nothing, so
    the driver's FIFO burst stays allocation-free. The I2C address argument is
    accepted and ignored: chip select is the address on SPI."""

    def __init__(self, spi, cs):
        self.spi = spi
        self.cs = cs
        self._command = bytearray(1)
        cs.value(1)

    def readfrom_mem_into(self, addr, reg, buf):
        self._command[0] = reg | _READ
        cs = self.cs
        cs.value(0)
        try:
            self.spi.write(self._command)
            self.spi.readinto(buf)
        finally:
            # a transfer that raised must not leave the chip listening to the next one
            cs.value(1)

    def writeto_mem(self, addr, reg, buf):
        self._command[0] = reg & _ADDRESS_MASK
        cs = self.cs
        cs.value(0)
        try:
            self.spi.write(self._command)
            self.spi.write(buf)
        finally:
            cs.value(1)
