"""The activity/inactivity detector of the LSM6DSOX and LSM6DSO32 (slope filter, wake-up, sleep).

A mixin of LSM6DSEmulator, as lsm6ds_fifo.py is. Modelled:
- LSM6DSOX / LSM6DSO32 activity/inactivity: the slope filter on the
  accelerometer, slope(n) = (acc(n) - acc(n-1)) / 2 per axis at the accel ODR
  (in low power too); a wake-up event when |slope| on any axis exceeds
  WK_THS x FS/64 (FS/256 with WAKE_THS_W) for WAKE_DUR + 1 samples; with
  INACT_EN, the sleep state after SLEEP_DUR x 512 samples (16 when 0) without
  one. WAKE_UP_THS, WAKE_UP_DUR, TAP_CFG0 LIR (latched until WAKE_UP_SRC or
  ALL_INT_SRC is read), TAP_CFG2 INTERRUPTS_ENABLE and INACT_EN, MD1_CFG
  INT1_WU and INT1_SLEEP_CHANGE, WAKE_UP_SRC and ALL_INT_SRC. Not modelled:
  the ODR change of INACT_EN 01/10/11 (the rates stay as written), the
  high-pass SLOPE_FDS choice, USR_OFF_ON_WU, free-fall, tap and 6D.
"""

import sys

# MicroPython loads the board's modules top-level from MICROPYPATH; CPython as a package.
if sys.implementation.name == "micropython":
    import lsm6ds_parts as parts
    import lsm6ds_registers as registers
else:
    from heavylegs.sim.board import lsm6ds_parts as parts
    from heavylegs.sim.board import lsm6ds_registers as registers


class ActivityMixin:
    def _activity(self, before):
        """Run the slope filter over the accel samples taken since tick `before`."""
        d = self._div_xl
        if not d:
            return
        regs = self.regs
        dur_reg = regs[registers.WAKE_UP_DUR]
        step = 128 if dur_reg & 0x10 else 512  # counts per WK_THS LSB: FS/256 or FS/64
        threshold = (regs[registers.WAKE_UP_THS] & 0x3F) * step
        need = ((dur_reg >> 5) & 0x03) + 1
        sleep_dur = dur_reg & 0x0F
        inact_after = sleep_dur * 512 if sleep_dur else 16
        inact = (regs[registers.TAP_CFG2] >> 5) & 0x03
        latched = regs[registers.TAP_CFG0] & registers.TAP_CFG0_LIR
        s = ((before + d - 1) // d) * d
        if s <= self._wu_last:
            s = self._wu_last + d
        prev = self._wu_prev
        per = self._acc_per
        while s < self.tick:
            self._load(s)
            over = 0
            for axis in range(3):
                v = parts.quantise(self._sample[axis], per)
                if self._wu_last >= 0 and abs(v - prev[axis]) // 2 > threshold and threshold:
                    over |= 4 >> axis  # X_WU bit2, Y_WU bit1, Z_WU bit0
                prev[axis] = v
            self._wu_last = s
            if not latched and not over:
                self._wu_src &= ~(registers.WU_IA | 0x07)
            self._wu_run = self._wu_run + 1 if over else 0
            if self._wu_run >= need:
                self._wu_src |= registers.WU_IA | over
                self._wu_quiet = 0
                if self._wu_sleeping:
                    self._wu_sleeping = False
                    self._wu_src |= registers.WU_SLEEP_CHANGE_IA
            else:
                self._wu_quiet += 1
                if inact and not self._wu_sleeping and self._wu_quiet >= inact_after:
                    self._wu_sleeping = True
                    self._wu_src |= registers.WU_SLEEP_CHANGE_IA
            s += d

    def _wake_up_src(self):
        value = self._wu_src | (registers.WU_SLEEP_STATE if self._wu_sleeping else 0)
        self._wu_src = 0  # reading clears the latched events
        return value
