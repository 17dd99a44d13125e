"""The LSM6DS emulator's output registers, data-ready bits and timestamp.

A mixin of LSM6DSEmulator, as lsm6ds_fifo.py is. Output registers convert a
sample with the full scale in force when it is first read; BDU holds a pair
until both bytes are read. The timestamp counts 25 us LSBs of sensor time
(6.4 ms on the LSM6DS3TR-C unless TIMER_HR).
"""

import sys

# MicroPython loads the board's modules top-level from MICROPYPATH; CPython as a package.
if sys.implementation.name == "micropython":
    import lsm6ds_parts as parts
    import lsm6ds_registers as registers
else:
    from heavylegs.sim.board import lsm6ds_parts as parts
    from heavylegs.sim.board import lsm6ds_registers as registers


class OutputsMixin:
    def _time25(self):
        """Sensor time in 25 us units since power-on (stands still when all is off)."""
        if not self.odr_mhz:
            return self._t25_base
        return self._t25_base + (self.tick - self._t25_tick) * self._t25_per_tick

    def _fold_time(self):
        self._t25_base = self._time25()
        self._t25_tick = self.tick

    def _timestamp(self):
        value = self._ts_acc
        if self._ts_on:
            value += self._time25() - self._ts_start
        if self._legacy:
            if not self.regs[registers.WAKE_UP_DUR] & 0x10:
                value >>= 8  # TIMER_HR = 0: 6.4 ms per LSB
            return value & 0xFFFFFF
        return value & 0xFFFFFFFF

    def _data_ready(self):
        """STATUS_REG bits XLDA, GDA: a sample newer than the last one read out."""
        value = 0
        tick = self.tick
        if tick > 0:
            d = self._div_xl
            if d and ((tick - 1) // d) * d > self._xl_seen:
                value |= 0x01
            d = self._div_g
            if d and ((tick - 1) // d) * d > self._g_seen:
                value |= 0x02
        return value

    def _read_out(self, reg):
        """Output registers: each sensor's latest sample, held under BDU."""
        pair = (reg - registers.OUT_TEMP_L) >> 1
        if pair:
            gyro = pair <= 3
            d = self._div_g if gyro else self._div_xl
            bit = 1 << pair
            if d and self.tick > 0 and not self._bdu_pending & bit:
                s = ((self.tick - 1) // d) * d
                if self._out_tick[pair] != s:
                    self._load(s)
                    if gyro:
                        v = parts.quantise(self._sample[2 + pair], self._gyr_per)
                    else:
                        v = parts.quantise(self._sample[pair - 4], self._acc_per)
                    self._out[2 * pair] = v & 0xFF
                    self._out[2 * pair + 1] = (v >> 8) & 0xFF
                    self._out_tick[pair] = s
            if reg & 1:
                self._bdu_pending &= ~bit
                if gyro:
                    self._g_seen = self._out_tick[pair]
                else:
                    self._xl_seen = self._out_tick[pair]
            elif self.regs[registers.CTRL3_C] & registers.CTRL3_BDU:
                self._bdu_pending |= bit
        return self._out[reg - registers.OUT_TEMP_L]
