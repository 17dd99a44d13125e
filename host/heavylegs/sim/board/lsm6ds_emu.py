"""Register-level emulator of ST's LSM6DSOX, LSM6DSO32 and LSM6DS3TR-C.

Runs unchanged under MicroPython (inside the simulated board, behind machine.I2C)
and under CPython (behind a busio-like I2C for Adafruit's independent driver).

Sources of the facts below: the ST datasheets (LSM6DSOX DS12814, LSM6DSO32
DocID032891, LSM6DS3TR-C) as transcribed in ST's own register headers
(github.com/STMicroelectronics lsm6dsox-pid, lsm6dso32-pid, lsm6ds3tr-c-pid) and
the mainline Linux st_lsm6dsx driver, which encodes FIFO depths and field widths
(512 words for the 0x6C parts; 4 kbyte and an 11-bit DIFF_FIFO for the 3TR-C).

Modelled here (the FIFO in lsm6ds_fifo.py, output registers and timestamp in
lsm6ds_outputs.py, activity in lsm6ds_activity.py):
- Both: WHO_AM_I, CTRL1_XL/CTRL2_G ODR and full scale (FS_125 too), XL_HM_MODE
  (ODR code 1011 is 1.6 Hz in low-power mode, 12.5 Hz in high-performance
  mode), CTRL3_C BOOT, BDU, H_LACTIVE, IF_INC and SW_RESET, STATUS_REG
  XLDA/GDA, OUT_TEMP and the output registers, INT1 routing of the FIFO
  threshold, overrun, full and data-ready flags; bypass, FIFO (stops when full,
  until bypass) and continuous (oldest words discarded) modes.

How time works: every ODR in the chip is the internal 6667 Hz clock divided by a
power of two, so `tick` counts periods of the fastest active rate (`odr_mhz`,
nominal) and a slower sensor samples every 2**k ticks. Trace samples are picked
at each sensor's own rate (the trace decimated, nearest earlier sample), then
rounded to the nearest LSB and saturated to int16 at the configured full scale.
The timestamp counts 6 * 2**(10 - code) LSB of 25 us per tick, as the chip's
shared clock does, so it reads 2.4 ms per sample at "416 Hz" (really 416.7 Hz).
Sensor time only moves while some rate is on; `advance(ticks)` moves it, who
calls it is the simulated board's business.

Simplified or left out (no firmware relies on them): FIFO compression,
temperature/timestamp/step batching, the trigger-driven modes (bypass-to-
continuous and bypass-to-FIFO act as bypass, continuous-to-FIFO as continuous),
COUNTER_BDR, the 3TR-C BLE and 8-bit FIFO formats, CTRL5_C output rounding,
CTRL8_XL XL_FS_MODE, filters, offsets and self-test, sensor turn-on time, INT2.
A batch rate above the sensor's ODR is treated as the ODR (the pattern-FIFO
datasheets require the FIFO ODR to be at most both sensor ODRs). With
different ODRs the slower sensor's samples fall on multiples of its period from
time zero, and within one time slot the gyro word precedes the accel word; TAG_CNT
counts slots of the fastest batch rate from 0 when the FIFO starts. TAG_PARITY
makes the tag byte's bit count even. FIFO mode, once full, stays stopped until
bypass even if words are read. A watermark of 0 never raises the flag. BOOT only
reloads trimming on the chip, so it changes nothing here; OUT_TEMP always reads
25 degC. The 3TR-C's 11-bit DIFF_FIFO reads 0 when all 2048 words are full
(OVER_RUN tells the two apart), as users report for the same FIFO on the LSM6DSM.
"""

import sys

# MicroPython loads the board's modules top-level from MICROPYPATH; CPython as a package.
if sys.implementation.name == "micropython":
    import lsm6ds_parts as parts
    import lsm6ds_registers as registers
    from lsm6ds_activity import ActivityMixin
    from lsm6ds_fifo import FifoMixin
    from lsm6ds_outputs import OutputsMixin
    from sample_sources import ArraySource, TraceFileSource
else:
    from heavylegs.sim.board import lsm6ds_parts as parts
    from heavylegs.sim.board import lsm6ds_registers as registers
    from heavylegs.sim.board.lsm6ds_activity import ActivityMixin
    from heavylegs.sim.board.lsm6ds_fifo import FifoMixin
    from heavylegs.sim.board.lsm6ds_outputs import OutputsMixin
    from heavylegs.sim.board.sample_sources import ArraySource, TraceFileSource

# Callers take the sample sources from here too.
__all__ = ["ArraySource", "LSM6DSEmulator", "TraceFileSource"]


class LSM6DSEmulator(FifoMixin, OutputsMixin, ActivityMixin):
    def __init__(self, source, part="LSM6DSOX"):
        part = parts.ALIASES.get(part, part)
        if part not in parts.PARTS:
            raise ValueError("unknown part %s" % part)
        self.part = part
        self._who, self._acc_fs_table, self._legacy = parts.PARTS[part]
        if self._legacy:
            self.fifo_capacity = parts.LEGACY_WORDS
            self._ws = 2  # bytes per FIFO word
            self._fifo_first = registers.L_FIFO_DATA_OUT_L
            self._fifo_last = registers.L_FIFO_DATA_OUT_H
            fifo_ctrl3 = registers.L_FIFO_CTRL3
            self._ts_last = registers.TIMESTAMP2
        else:
            self.fifo_capacity = parts.TAGGED_WORDS
            self._ws = 7
            self._fifo_first = registers.X_FIFO_DATA_OUT_TAG
            self._fifo_last = registers.X_FIFO_DATA_OUT_Z_H
            fifo_ctrl3 = registers.X_FIFO_CTRL3
            self._ts_last = registers.TIMESTAMP0 + 3
        self._production_regs = (
            fifo_ctrl3,
            registers.FIFO_CTRL4,
            registers.CTRL1_XL,
            registers.CTRL2_G,
            registers.CTRL6_C,
        )
        self._source = source
        self._sample = [0, 0, 0, 0, 0, 0]
        self._cur = bytearray(self._ws)  # the FIFO word latched in FIFO_DATA_OUT
        self._out = bytearray(14)  # OUT_TEMP_L .. OUTZ_H_A
        self._out_tick = [-1] * 7
        self.regs = bytearray(128)
        self.reset()

    # -- state -------------------------------------------------------------------
    # What the part fixes at construction; everything else is the chip's state.
    _STATIC = (
        "part",
        "_who",
        "_acc_fs_table",
        "_legacy",
        "fifo_capacity",
        "_ws",
        "_fifo_first",
        "_fifo_last",
        "_production_regs",
        "_ts_last",
        "_source",
    )

    def snapshot(self):
        """The chip's state as JSON-able data: the chip is powered on its own, so it
        runs on through the MCU's deep sleep and reboot (the simulated board keeps
        this across the firmware process it restarts)."""
        out = {}
        for name, value in self.__dict__.items():
            if name in self._STATIC:
                continue
            if isinstance(value, (bytearray, bytes)):
                value = {"hex": bytes(value).hex()}
            out[name] = value
        return out

    def restore(self, state):
        for name, value in state.items():
            if isinstance(value, dict):
                value = bytearray(bytes.fromhex(value["hex"]))
            setattr(self, name, value)

    def reset(self):
        """Power-on: registers to defaults, sensor time back to zero."""
        self.tick = 0  # periods of the fastest active rate since power-on
        self._tick_level = None  # the rate `tick` counts in
        self._t25_base = 0  # 25 us units elapsed up to _t25_tick
        self._t25_tick = 0
        self._t25_per_tick = 0
        self.exhausted = False
        self.overruns = 0  # words discarded or refused because nobody read them
        self._out_tick = [-1] * 7
        self._soft_reset()

    def _soft_reset(self):
        regs = self.regs
        for i in range(len(regs)):
            regs[i] = 0
        regs[registers.WHO_AM_I] = self._who
        regs[registers.CTRL3_C] = registers.CTRL3_IF_INC
        regs[registers.CTRL9_XL] = 0xE0
        if not self._legacy:
            regs[registers.PIN_CTRL] = 0x3F
        self._ts_acc = 0
        self._ts_start = 0
        self._ts_on = False
        self._wu_src = 0  # WAKE_UP_SRC as latched
        self._wu_run = 0  # consecutive samples over the threshold
        self._wu_quiet = 0  # samples since the last wake-up event
        self._wu_sleeping = False
        self._wu_last = -1  # accel tick the activity filter has seen
        self._wu_prev = [0, 0, 0]
        self._bdu_pending = 0
        self._xl_seen = -1
        self._g_seen = -1
        self._derive()
        self._fifo_clear()

    def _derive(self):
        """Recompute rates, scales and the FIFO schedule from the registers."""
        regs = self.regs
        lx = parts.xl_level(
            regs[registers.CTRL1_XL] >> 4, regs[registers.CTRL6_C] & registers.CTRL6_XL_HM_MODE
        )
        lg = parts.g_level(regs[registers.CTRL2_G] >> 4)
        lf = None
        if self._legacy:
            lf = parts.g_level((regs[registers.FIFO_CTRL4] >> 3) & 0x0F)
        base = None
        for level in (lx, lg, lf):
            if level is not None and (base is None or level > base):
                base = level
        self._div_xl = 0
        self._div_g = 0
        self._sample_tick = -1
        self._wu_last = -1  # the slope filter restarts with the new rate
        if base is None:
            self.odr_mhz = 0
        else:
            old = self._tick_level
            if old is not None and old != base:
                if base > old:
                    self.tick <<= base - old
                else:
                    self.tick >>= old - base
                # Tick numbers now mean other instants: forget what they named.
                self._out_tick = [-1] * 7
                self._xl_seen = -1
                self._g_seen = -1
            self._tick_level = base
            self._t25_tick = self.tick
            self._t25_per_tick = 6 << (10 - base)
            self.odr_mhz = parts.LEVEL_MHZ[base + 2]
            if lx is not None:
                self._div_xl = 1 << (base - lx)
            if lg is not None:
                self._div_g = 1 << (base - lg)
        fs_xl = self._acc_fs_table[(regs[registers.CTRL1_XL] >> 2) & 0x03]
        self._acc_per = parts.ACC_UG_PER_LSB_2G * fs_xl // 2
        fs_g = (
            125
            if regs[registers.CTRL2_G] & 0x02
            else parts.GYRO_FS_DPS[(regs[registers.CTRL2_G] >> 2) & 0x03]
        )
        self._gyr_per = parts.GYR_UNITS_PER_LSB_125 * fs_g // 125
        self._mode = regs[registers.FIFO_CTRL4] & 0x07
        # Batch periods in ticks: gyro, accel (0 = not batched).
        pg = 0
        pa = 0
        if base is not None and not self._legacy:
            bg = parts.bdr_level(regs[registers.X_FIFO_CTRL3] >> 4)
            bx = parts.bdr_level(regs[registers.X_FIFO_CTRL3] & 0x0F)
            if bg is not None and lg is not None:
                pg = 1 << (base - (bg if bg < lg else lg))
            if bx is not None and lx is not None:
                pa = 1 << (base - (bx if bx < lx else lx))
        elif base is not None and lf is not None:
            fifo_period = 1 << (base - lf)
            dg = parts.DECIMATION[(regs[registers.L_FIFO_CTRL3] >> 3) & 0x07]
            dx = parts.DECIMATION[regs[registers.L_FIFO_CTRL3] & 0x07]
            if dg and lg is not None:
                pg = max(fifo_period * dg, self._div_g)
            if dx and lx is not None:
                pa = max(fifo_period * dx, self._div_xl)
        self._build_schedule(pg, pa)
        self._collecting = self._mode in registers.COLLECTING_MODES and (
            not self._legacy or lf is not None
        )

    # -- interrupts ----------------------------------------------------------------
    def int1(self):
        """Level of the INT1 pin (electrical: inverted when H_LACTIVE is set)."""
        route = self.regs[registers.INT1_CTRL]
        active = False
        if route & registers.INT1_FIFO_TH:
            # The board polls this around every watermark: keep it cheap.
            wtm = self.watermark()
            active = wtm > 0 and self._level() >= wtm
        if not active and route & (registers.INT1_FIFO_OVR | registers.INT1_FIFO_FULL):
            _, ovr, full = self._flags()
            active = (route & registers.INT1_FIFO_OVR and ovr) or (
                route & registers.INT1_FIFO_FULL and full
            )
        md1 = self.regs[registers.MD1_CFG]
        if (
            not active
            and md1
            and self.regs[registers.TAP_CFG2] & registers.TAP_CFG2_INTERRUPTS_ENABLE
        ):
            src = self._wu_src
            active = (md1 & registers.MD1_INT1_WU and src & registers.WU_IA) or (
                md1 & registers.MD1_INT1_SLEEP_CHANGE and src & registers.WU_SLEEP_CHANGE_IA
            )
        if not active and route & (registers.INT1_DRDY_XL | registers.INT1_DRDY_G):
            active = self._data_ready() & route & 0x03
        active = bool(active)
        if self.regs[registers.CTRL3_C] & registers.CTRL3_H_LACTIVE:
            return not active
        return active

    # -- time ----------------------------------------------------------------------
    def advance(self, ticks):
        """Let `ticks` periods of `odr_mhz` pass. Returns how many could be produced."""
        if ticks <= 0 or not self.odr_mhz:
            return 0
        available = self._source.n_ticks(self.odr_mhz) - self.tick
        if ticks >= available:
            ticks = available if available > 0 else 0
            self.exhausted = True
        before = self.tick
        self.tick += ticks
        if (
            not self._legacy
            and self.regs[registers.TAP_CFG2] & registers.TAP_CFG2_INTERRUPTS_ENABLE
        ):
            self._activity(before)
        if self._collecting and self._rates:
            self._produced = self._words_before(self.tick - self._fstart)
            self._settle()
        return ticks

    # -- sample access -----------------------------------------------------------
    def _load(self, tick):
        if tick != self._sample_tick:
            self._source.sample(tick if tick > 0 else 0, self.odr_mhz, self._sample)
            self._sample_tick = tick

    # -- bus ----------------------------------------------------------------------
    def read(self, reg, buf):
        """A burst read starting at `reg` into `buf` (auto-increment as configured)."""
        n = len(buf)
        inc = self.regs[registers.CTRL3_C] & registers.CTRL3_IF_INC
        i = 0
        first = self._fifo_first
        if inc and reg == first and not self._cur_valid:
            whole = n // self._ws
            if whole:
                self._words_into(buf, 0, whole)
                i = whole * self._ws
        last = self._fifo_last
        while i < n:
            buf[i] = self._read_reg(reg)
            i += 1
            if inc:
                # Pointer rounding: the FIFO output registers wrap onto themselves.
                reg = first if reg == last else (reg + 1) & 0x7F

    def pointer_after(self, reg, n, reading=True):
        """Where the register pointer stands after `n` bytes from `reg`: an SPI frame
        goes on from there (read and write above advance it the same way)."""
        if not self.regs[registers.CTRL3_C] & registers.CTRL3_IF_INC:
            return reg
        first, last = self._fifo_first, self._fifo_last
        if reading and first <= reg <= last:
            return first + (reg - first + n) % (last - first + 1)
        if reading and reg < first < reg + n:
            return self.pointer_after(first, n - (first - reg))
        return (reg + n) & 0x7F

    def _read_reg(self, reg):
        if self._fifo_first <= reg <= self._fifo_last:
            if not self._cur_valid:
                self._words_into(self._cur, 0, 1)
                self._cur_valid = True
            if reg == self._fifo_last:
                self._cur_valid = False  # the next access loads the next word
            return self._cur[reg - self._fifo_first]
        if registers.OUT_TEMP_L <= reg <= registers.OUTZ_H_A:
            return self._read_out(reg)
        if reg == registers.STATUS_REG:
            return self._data_ready()
        if not self._legacy and reg == registers.WAKE_UP_SRC:
            return self._wake_up_src()
        if not self._legacy and reg == registers.ALL_INT_SRC:
            src = self._wake_up_src()
            return (0x02 if src & registers.WU_IA else 0) | (
                0x20 if src & registers.WU_SLEEP_CHANGE_IA else 0
            )
        if reg == registers.FIFO_STATUS1:
            return self._level() & 0xFF
        if reg == registers.FIFO_STATUS2:
            return self._fifo_status2()
        if self._legacy and reg == registers.FIFO_STATUS3:
            return self._pattern() & 0xFF
        if self._legacy and reg == registers.FIFO_STATUS4:
            return (self._pattern() >> 8) & 0x03
        if registers.TIMESTAMP0 <= reg <= self._ts_last:
            return (self._timestamp() >> (8 * (reg - registers.TIMESTAMP0))) & 0xFF
        return self.regs[reg]

    def write(self, reg, data):
        inc = self.regs[registers.CTRL3_C] & registers.CTRL3_IF_INC
        for value in data:
            self._write_reg(reg, value)
            if inc:
                reg = (reg + 1) & 0x7F

    def _write_reg(self, reg, value):
        if reg == registers.WHO_AM_I or 0x1A <= reg <= 0x3F:
            return  # read-only: sources, status, outputs, FIFO status and data
        if registers.TIMESTAMP0 <= reg <= registers.TIMESTAMP0 + 3:
            if reg == registers.TIMESTAMP2 and value == 0xAA:
                self._ts_acc = 0
                self._ts_start = self._time25()
            return
        if (
            not self._legacy
            and registers.X_FIFO_DATA_OUT_TAG <= reg <= registers.X_FIFO_DATA_OUT_Z_H
        ):
            return
        if reg == registers.CTRL3_C:
            if value & registers.CTRL3_SW_RESET:
                self._fold_time()
                self._soft_reset()
                return
            # BOOT reloads trimming only; both bits clear themselves.
            self.regs[reg] = value & ~(registers.CTRL3_SW_RESET | registers.CTRL3_BOOT)
            return
        if reg == registers.CTRL10_C:
            now = self._time25()
            if self._ts_on:
                self._ts_acc += now - self._ts_start
            self._ts_on = bool(value & registers.CTRL10_TIMESTAMP_EN)
            self._ts_start = now
            self.regs[reg] = value
            return
        if reg in self._production_regs:
            if self.regs[reg] != value:
                self._reconfigure(reg, value)
            return
        self.regs[reg] = value
