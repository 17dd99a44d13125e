"""Register-level emulator of ST's LSM6DSOX, LSM6DSO32 and LSM6DS3TR-C.

Runs unchanged under MicroPython (inside the simulated board, behind machine.I2C)
and under CPython (behind a busio-like I2C for Adafruit's independent driver).

Sources of the facts below: the ST datasheets (LSM6DSOX DS12814, LSM6DSO32
DocID032891, LSM6DS3TR-C) as transcribed in ST's own register headers
(github.com/STMicroelectronics lsm6dsox-pid, lsm6dso32-pid, lsm6ds3tr-c-pid) and
the mainline Linux st_lsm6dsx driver, which encodes FIFO depths and field widths
(512 words for the 0x6C parts; 4 kbyte and an 11-bit DIFF_FIFO for the 3TR-C).

Modelled, per family:
- LSM6DSOX / LSM6DSO32 (WHO_AM_I 0x6C): tagged FIFO of 512 words (3 kbyte of
  6-byte data; the "up to 9 kbyte" on the front page counts 3:1 compression,
  which is not modelled). FIFO_CTRL1/2 WTM[8:0] and STOP_ON_WTM, FIFO_CTRL3 BDR_GY
  and BDR_XL, FIFO_CTRL4 FIFO_MODE; FIFO_STATUS1/2 with DIFF_FIFO[9:0],
  FIFO_WTM_IA, FIFO_OVR_IA ("completely filled"), FIFO_FULL_IA ("full at the
  next ODR") and FIFO_OVR_LATCHED (cleared by reading FIFO_STATUS2); 7-byte
  words at 0x78..0x7E with TAG_SENSOR, TAG_CNT and TAG_PARITY, the pointer
  rounding from 0x7E back to 0x78; the 32-bit timestamp at 0x40..0x43.
- LSM6DS3TR-C (WHO_AM_I 0x6A): the older pattern FIFO of 4 kbyte = 2048 16-bit
  words. FIFO_CTRL1/2 FTH[10:0], FIFO_CTRL3 DEC_FIFO_GYRO/DEC_FIFO_XL (no
  decimation, /2, /3, /4, /8, /16, /32), FIFO_CTRL4 STOP_ON_FTH, FIFO_CTRL5
  ODR_FIFO and FIFO_MODE; FIFO_STATUS1..4 with DIFF_FIFO[10:0], WaterM,
  OVER_RUN, FIFO_FULL_SMART, FIFO_EMPTY and FIFO_PATTERN[9:0]; data sets of
  gyro X Y Z then accel X Y Z at FIFO_DATA_OUT_L/H, the pointer rolling back from
  0x3F to 0x3E; the 24-bit timestamp at 0x40..0x42 (TIMER_EN in CTRL10_C,
  6.4 ms or 25 us per LSB by TIMER_HR in WAKE_UP_DUR).
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

The FIFO is lazy: a window [read, produced) over the deterministic stream of
batch events since the FIFO started, so advancing time costs nothing and no
sample is copied until it is read. Words already stored when the configuration
changes are frozen into a small byte buffer first, so they keep the full scale,
rate and tags they were written with, as on the chip.

Simplified or left out (no firmware relies on them): FIFO compression,
temperature/timestamp/step batching, the trigger-driven modes (bypass-to-
continuous and bypass-to-FIFO act as bypass, continuous-to-FIFO as continuous),
COUNTER_BDR, the 3TR-C BLE and 8-bit FIFO formats, CTRL5_C output rounding,
CTRL8_XL XL_FS_MODE, filters, offsets and self-test, sensor turn-on time, INT2.
Output registers convert a sample with the full scale in force when it is first
read. A batch rate above the sensor's ODR is treated as the ODR (the pattern-FIFO
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

# Register addresses shared by both families (datasheet section 8)
_PIN_CTRL = 0x02
_INT1_CTRL = 0x0D
_WHO_AM_I = 0x0F
_CTRL1_XL = 0x10
_CTRL2_G = 0x11
_CTRL3_C = 0x12
_CTRL6_C = 0x15
_CTRL9_XL = 0x18
_CTRL10_C = 0x19
_STATUS_REG = 0x1E
_OUT_TEMP_L = 0x20
_OUTZ_H_A = 0x2D
_FIFO_STATUS1 = 0x3A
_FIFO_STATUS2 = 0x3B
_FIFO_STATUS3 = 0x3C  # LSM6DS3TR-C only
_FIFO_STATUS4 = 0x3D  # LSM6DS3TR-C only
_TIMESTAMP0 = 0x40
_TIMESTAMP2 = 0x42
_WAKE_UP_DUR = 0x5C  # LSM6DS3TR-C: TIMER_HR
_ALL_INT_SRC = 0x1A
_WAKE_UP_SRC = 0x1B
_TAP_CFG0 = 0x56
_TAP_CFG2 = 0x58
_WAKE_UP_THS = 0x5B
_MD1_CFG = 0x5E

# LSM6DSOX / LSM6DSO32 FIFO
_X_FIFO_CTRL1 = 0x07
_X_FIFO_CTRL2 = 0x08
_X_FIFO_CTRL3 = 0x09
_FIFO_CTRL4 = 0x0A  # FIFO_MODE[2:0] here for both families (3TR-C: FIFO_CTRL5)
_X_FIFO_DATA_OUT_TAG = 0x78
_X_FIFO_DATA_OUT_Z_H = 0x7E

# LSM6DS3TR-C FIFO
_L_FIFO_CTRL1 = 0x06
_L_FIFO_CTRL2 = 0x07
_L_FIFO_CTRL3 = 0x08
_L_FIFO_CTRL4 = 0x09
_L_FIFO_DATA_OUT_L = 0x3E
_L_FIFO_DATA_OUT_H = 0x3F

_CTRL3_SW_RESET = 0x01
_CTRL3_IF_INC = 0x04
_CTRL3_H_LACTIVE = 0x20
_CTRL3_BDU = 0x40
_CTRL3_BOOT = 0x80
_CTRL6_XL_HM_MODE = 0x10
_CTRL10_TIMESTAMP_EN = 0x20
_INT1_DRDY_XL = 0x01
_INT1_DRDY_G = 0x02
_INT1_FIFO_TH = 0x08
_INT1_FIFO_OVR = 0x10
_INT1_FIFO_FULL = 0x20
_TAP_CFG0_LIR = 0x01
_TAP_CFG2_INTERRUPTS_ENABLE = 0x80
_MD1_INT1_WU = 0x20
_MD1_INT1_SLEEP_CHANGE = 0x80
# WAKE_UP_SRC bits
_WU_SLEEP_CHANGE_IA = 0x40
_WU_SLEEP_STATE = 0x10
_WU_IA = 0x08

_TAG_GYRO_NC = 0x01
_TAG_XL_NC = 0x02

# FIFO_MODE: which modes collect, and which of those stop when full.
_MODE_FIFO = 1
_COLLECTING_MODES = (1, 3, 6)  # FIFO, continuous-to-FIFO, continuous

# Nominal rate in mHz by "level" (ODR code; level -2 is 1.6 Hz, 0 is 6.5 Hz),
# stored from level -2. Keeping mHz makes every conversion integer arithmetic.
_LEVEL_MHZ = (
    1600,
    3250,
    6500,
    12500,
    26000,
    52000,
    104000,
    208000,
    416000,
    833000,
    1666000,
    3332000,
    6664000,
)
# LSM6DS3TR-C DEC_FIFO codes -> decimation factor (0: not in FIFO)
_DECIMATION = (0, 1, 2, 3, 4, 8, 16, 32)

# Per part: WHO_AM_I, accel full scale (g) for FS_XL codes 0..3, legacy FIFO
PARTS = {
    "LSM6DSOX": (0x6C, (2, 16, 4, 8), False),
    "LSM6DSO32": (0x6C, (4, 32, 8, 16), False),
    "LSM6DS3TR-C": (0x6A, (2, 16, 4, 8), True),
}
_ALIASES = {"LSM6DS3TRC": "LSM6DS3TR-C"}
# Gyro full scale (dps) for FS_G codes 0..3; FS_125 selects 125 dps.
GYRO_FS_DPS = (250, 500, 1000, 2000)
# Sensitivities in trace units: 0.061 mg/LSB at +-2 g, 4.375 mdps/LSB at 125 dps
# (= 35 eighths of a mdps); both double with each range step.
_ACC_UG_PER_LSB_2G = 61
_GYR_UNITS_PER_LSB_125 = 35

_TAGGED_WORDS = 512
_LEGACY_WORDS = 2048


def _tag_table():
    table = bytearray(8)
    for kind in range(2):
        sensor = _TAG_GYRO_NC if kind == 0 else _TAG_XL_NC
        for cnt in range(4):
            byte = (sensor << 3) | (cnt << 1)
            parity = 0
            b = byte
            while b:
                parity ^= b & 1
                b >>= 1
            table[kind * 4 + cnt] = byte | parity
    return table


_TAGS = _tag_table()


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def _quantise(value, per_lsb):
    """Round-to-nearest division, then saturate to int16 as the ADC does."""
    half = per_lsb >> 1
    if value >= 0:
        out = (value + half) // per_lsb
        return out if out < 32767 else 32767
    out = -((half - value) // per_lsb)
    return out if out > -32768 else -32768


def _xl_level(code, low_power):
    if 1 <= code <= 10:
        return code
    if code == 11:
        return -2 if low_power else 1
    return None


def _g_level(code):
    return code if 1 <= code <= 10 else None


def _bdr_level(code):
    if 1 <= code <= 10:
        return code
    return 0 if code == 11 else None


class LSM6DSEmulator:
    def __init__(self, source, part="LSM6DSOX"):
        part = _ALIASES.get(part, part)
        if part not in PARTS:
            raise ValueError("unknown part %s" % part)
        self.part = part
        self._who, self._acc_fs_table, self._legacy = PARTS[part]
        if self._legacy:
            self.fifo_capacity = _LEGACY_WORDS
            self._ws = 2  # bytes per FIFO word
            self._fifo_first = _L_FIFO_DATA_OUT_L
            self._fifo_last = _L_FIFO_DATA_OUT_H
            self._production_regs = (_L_FIFO_CTRL3, _FIFO_CTRL4, _CTRL1_XL, _CTRL2_G, _CTRL6_C)
            self._ts_last = _TIMESTAMP2
        else:
            self.fifo_capacity = _TAGGED_WORDS
            self._ws = 7
            self._fifo_first = _X_FIFO_DATA_OUT_TAG
            self._fifo_last = _X_FIFO_DATA_OUT_Z_H
            self._production_regs = (_X_FIFO_CTRL3, _FIFO_CTRL4, _CTRL1_XL, _CTRL2_G, _CTRL6_C)
            self._ts_last = _TIMESTAMP0 + 3
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
        regs[_WHO_AM_I] = self._who
        regs[_CTRL3_C] = _CTRL3_IF_INC
        regs[_CTRL9_XL] = 0xE0
        if not self._legacy:
            regs[_PIN_CTRL] = 0x3F
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

    def _fifo_clear(self):
        self._fstart = self.tick
        self._rd = 0  # lazy-stream words read or discarded
        self._produced = 0  # lazy-stream words written so far
        self._stop = -1  # FIFO mode: lazy-stream index where writing stopped
        self._refused = 0
        self._carry = bytearray()  # words stored under an earlier configuration
        self._carry_pos = 0
        self._carry_pat = 0
        self._carry_n = 1
        self._cur_valid = False
        self._ovr_latched = False

    def _derive(self):
        """Recompute rates, scales and the FIFO schedule from the registers."""
        regs = self.regs
        lx = _xl_level(regs[_CTRL1_XL] >> 4, regs[_CTRL6_C] & _CTRL6_XL_HM_MODE)
        lg = _g_level(regs[_CTRL2_G] >> 4)
        lf = None
        if self._legacy:
            lf = _g_level((regs[_FIFO_CTRL4] >> 3) & 0x0F)
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
            self.odr_mhz = _LEVEL_MHZ[base + 2]
            if lx is not None:
                self._div_xl = 1 << (base - lx)
            if lg is not None:
                self._div_g = 1 << (base - lg)
        fs_xl = self._acc_fs_table[(regs[_CTRL1_XL] >> 2) & 0x03]
        self._acc_per = _ACC_UG_PER_LSB_2G * fs_xl // 2
        fs_g = 125 if regs[_CTRL2_G] & 0x02 else GYRO_FS_DPS[(regs[_CTRL2_G] >> 2) & 0x03]
        self._gyr_per = _GYR_UNITS_PER_LSB_125 * fs_g // 125
        self._mode = regs[_FIFO_CTRL4] & 0x07
        # Batch periods in ticks: gyro, accel (0 = not batched).
        pg = 0
        pa = 0
        if base is not None and not self._legacy:
            bg = _bdr_level(regs[_X_FIFO_CTRL3] >> 4)
            bx = _bdr_level(regs[_X_FIFO_CTRL3] & 0x0F)
            if bg is not None and lg is not None:
                pg = 1 << (base - (bg if bg < lg else lg))
            if bx is not None and lx is not None:
                pa = 1 << (base - (bx if bx < lx else lx))
        elif base is not None and lf is not None:
            fifo_period = 1 << (base - lf)
            dg = _DECIMATION[(regs[_L_FIFO_CTRL3] >> 3) & 0x07]
            dx = _DECIMATION[regs[_L_FIFO_CTRL3] & 0x07]
            if dg and lg is not None:
                pg = max(fifo_period * dg, self._div_g)
            if dx and lx is not None:
                pa = max(fifo_period * dx, self._div_xl)
        self._build_schedule(pg, pa)
        self._collecting = self._mode in _COLLECTING_MODES and (not self._legacy or lf is not None)

    def _build_schedule(self, pg, pa):
        """One period of the batch pattern: the words written in each tick."""
        axes = 3 if self._legacy else 1
        period = 1
        shortest = 0
        rates = []
        for p in (pg, pa):
            if p:
                period = period * p // _gcd(period, p)
                if not shortest or p < shortest:
                    shortest = p
                rates.append(p)
        offs = []
        kinds = []
        axis_of = []
        if rates:
            tg = 0
            ta = 0
            while True:
                t = period
                if pg and tg < t:
                    t = tg
                if pa and ta < t:
                    t = ta
                if t >= period:
                    break
                for kind in (0, 1):
                    if kind == 0 and pg and tg == t:
                        tg += pg
                    elif kind == 1 and pa and ta == t:
                        ta += pa
                    else:
                        continue
                    for axis in range(axes):
                        offs.append(t)
                        kinds.append(kind)
                        axis_of.append(axis)
        self._pat_p = period
        self._pat_n = len(offs)
        self._pat_off = offs
        self._pat_kind = kinds
        self._pat_axis = axis_of
        self._pat_slot = [t // shortest for t in offs] if shortest else []
        self._slots_per_p = period // shortest if shortest else 1
        self._rates = rates
        self._axes = axes

    def _words_before(self, elapsed):
        n = 0
        for p in self._rates:
            n += (elapsed + p - 1) // p
        return n * self._axes

    def _time25(self):
        """Sensor time in 25 us units since power-on (stands still when all is off)."""
        if not self.odr_mhz:
            return self._t25_base
        return self._t25_base + (self.tick - self._t25_tick) * self._t25_per_tick

    # -- FIFO bookkeeping -----------------------------------------------------------
    def _capacity(self):
        if self._legacy:
            stop_on_wtm = self.regs[_L_FIFO_CTRL4] & 0x80
        else:
            stop_on_wtm = self.regs[_X_FIFO_CTRL2] & 0x80
        wtm = self.watermark()
        if stop_on_wtm and wtm:
            return wtm
        return self.fifo_capacity

    def _carry_words(self):
        return (len(self._carry) - self._carry_pos) // self._ws

    def _settle(self):
        """Apply what the FIFO does when it fills up: stop, or drop the oldest."""
        cap = self._capacity()
        carry = self._carry_words()
        if self._stop >= 0:
            refused = self._produced - self._stop
            self.overruns += refused - self._refused
            self._refused = refused
            return
        level = carry + self._produced - self._rd
        if level < cap:
            return
        self._ovr_latched = True
        if self._mode == _MODE_FIFO:
            self._stop = self._rd + cap - carry
            if self._stop < self._rd:
                self._stop = self._rd
            self._refused = self._produced - self._stop
            self.overruns += self._refused
            return
        lost = level - cap
        self.overruns += lost
        if carry:
            drop = lost if lost < carry else carry
            self._carry_pos += drop * self._ws
            lost -= drop
        self._rd += lost

    def _freeze_pending(self):
        """Store the words still in the FIFO as bytes, before settings change."""
        pending = self._lazy_level()
        if pending <= 0:
            return
        if not self._carry_words():
            self._carry = bytearray()
            self._carry_pos = 0
            self._carry_n = self._pat_n or 1
            self._carry_pat = self._rd % self._carry_n
        chunk = bytearray(pending * self._ws)
        self._lazy_into(chunk, 0, pending)
        self._carry.extend(chunk)

    def _lazy_level(self):
        top = self._stop if self._stop >= 0 else self._produced
        return top - self._rd

    def _level(self):
        if not self._collecting:
            return 0
        return self._carry_words() + self._lazy_level()

    def fifo_level(self):
        """Unread FIFO words (tagged words, or 16-bit words on the LSM6DS3TR-C)."""
        return self._level()

    def watermark(self):
        regs = self.regs
        if self._legacy:
            return regs[_L_FIFO_CTRL1] | ((regs[_L_FIFO_CTRL2] & 0x07) << 8)
        return regs[_X_FIFO_CTRL1] | ((regs[_X_FIFO_CTRL2] & 0x01) << 8)

    def _next_tick_words(self):
        if self._stop >= 0 or not self._collecting:
            return 0
        elapsed = self.tick - self._fstart
        return self._words_before(elapsed + 1) - self._words_before(elapsed)

    def _flags(self):
        """(watermark, completely filled, full at the next ODR) as the chip reports them."""
        level = self._level()
        cap = self._capacity()
        wtm = self.watermark()
        return (
            wtm > 0 and level >= wtm,
            level >= cap,
            self._collecting and level + self._next_tick_words() >= cap,
        )

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

    def int1(self):
        """Level of the INT1 pin (electrical: inverted when H_LACTIVE is set)."""
        route = self.regs[_INT1_CTRL]
        active = False
        if route & _INT1_FIFO_TH:
            # The board polls this around every watermark: keep it cheap.
            wtm = self.watermark()
            active = wtm > 0 and self._level() >= wtm
        if not active and route & (_INT1_FIFO_OVR | _INT1_FIFO_FULL):
            _, ovr, full = self._flags()
            active = (route & _INT1_FIFO_OVR and ovr) or (route & _INT1_FIFO_FULL and full)
        md1 = self.regs[_MD1_CFG]
        if not active and md1 and self.regs[_TAP_CFG2] & _TAP_CFG2_INTERRUPTS_ENABLE:
            src = self._wu_src
            active = (md1 & _MD1_INT1_WU and src & _WU_IA) or (
                md1 & _MD1_INT1_SLEEP_CHANGE and src & _WU_SLEEP_CHANGE_IA
            )
        if not active and route & (_INT1_DRDY_XL | _INT1_DRDY_G):
            active = self._data_ready() & route & 0x03
        active = bool(active)
        if self.regs[_CTRL3_C] & _CTRL3_H_LACTIVE:
            return not active
        return active

    def ticks_to_watermark(self):
        """Ticks until the watermark flag rises (0 if already there, -1 if never)."""
        wtm = self.watermark()
        if not self._collecting or wtm == 0 or wtm > self._capacity():
            return -1
        level = self._level()
        if level >= wtm:
            return 0
        if self._stop >= 0 or not self._pat_n or not self.odr_mhz:
            return -1
        target = self._rd + wtm - self._carry_words() - 1
        q = target // self._pat_n
        r = target - q * self._pat_n
        return q * self._pat_p + self._pat_off[r] + 1 - (self.tick - self._fstart)

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
        if not self._legacy and self.regs[_TAP_CFG2] & _TAP_CFG2_INTERRUPTS_ENABLE:
            self._activity(before)
        if self._collecting and self._rates:
            self._produced = self._words_before(self.tick - self._fstart)
            self._settle()
        return ticks

    def _activity(self, before):
        """Run the slope filter over the accel samples taken since tick `before`."""
        d = self._div_xl
        if not d:
            return
        regs = self.regs
        dur_reg = regs[_WAKE_UP_DUR]
        step = 128 if dur_reg & 0x10 else 512  # counts per WK_THS LSB: FS/256 or FS/64
        threshold = (regs[_WAKE_UP_THS] & 0x3F) * step
        need = ((dur_reg >> 5) & 0x03) + 1
        sleep_dur = dur_reg & 0x0F
        inact_after = sleep_dur * 512 if sleep_dur else 16
        inact = (regs[_TAP_CFG2] >> 5) & 0x03
        latched = regs[_TAP_CFG0] & _TAP_CFG0_LIR
        s = ((before + d - 1) // d) * d
        if s <= self._wu_last:
            s = self._wu_last + d
        prev = self._wu_prev
        per = self._acc_per
        while s < self.tick:
            self._load(s)
            over = 0
            for axis in range(3):
                v = _quantise(self._sample[axis], per)
                if self._wu_last >= 0 and abs(v - prev[axis]) // 2 > threshold and threshold:
                    over |= 4 >> axis  # X_WU bit2, Y_WU bit1, Z_WU bit0
                prev[axis] = v
            self._wu_last = s
            if not latched and not over:
                self._wu_src &= ~(_WU_IA | 0x07)
            self._wu_run = self._wu_run + 1 if over else 0
            if self._wu_run >= need:
                self._wu_src |= _WU_IA | over
                self._wu_quiet = 0
                if self._wu_sleeping:
                    self._wu_sleeping = False
                    self._wu_src |= _WU_SLEEP_CHANGE_IA
            else:
                self._wu_quiet += 1
                if inact and not self._wu_sleeping and self._wu_quiet >= inact_after:
                    self._wu_sleeping = True
                    self._wu_src |= _WU_SLEEP_CHANGE_IA
            s += d

    def _wake_up_src(self):
        value = self._wu_src | (_WU_SLEEP_STATE if self._wu_sleeping else 0)
        self._wu_src = 0  # reading clears the latched events
        return value

    # -- sample access -----------------------------------------------------------
    def _load(self, tick):
        if tick != self._sample_tick:
            self._source.sample(tick if tick > 0 else 0, self.odr_mhz, self._sample)
            self._sample_tick = tick

    def _lazy_into(self, buf, o, count):
        if self._legacy:
            self._legacy_into(buf, o, count)
        else:
            self._tagged_into(buf, o, count)

    def _tagged_into(self, buf, o, count):
        """`count` tagged words into buf[o:]: the hot path of every FIFO read."""
        rd = self._rd
        avail = (self._stop if self._stop >= 0 else self._produced) - rd
        if avail > count:
            avail = count
        if avail > 0:
            n = self._pat_n
            period = self._pat_p
            offs = self._pat_off
            kinds = self._pat_kind
            slots = self._pat_slot
            spp = self._slots_per_p
            fstart = self._fstart
            div_g = self._div_g
            div_xl = self._div_xl
            gper = self._gyr_per
            ghalf = gper >> 1
            aper = self._acc_per
            ahalf = aper >> 1
            smp = self._sample
            sample = self._source.sample
            odr = self.odr_mhz
            cached = self._sample_tick
            tags = _TAGS
            for _ in range(avail):
                q = rd // n
                r = rd - q * n
                t = fstart + q * period + offs[r]
                if kinds[r]:
                    kind = 1
                    d = div_xl
                    first = 0
                    per = aper
                    half = ahalf
                else:
                    kind = 0
                    d = div_g
                    first = 3
                    per = gper
                    half = ghalf
                if d > 1:
                    t -= t % d
                if t != cached:
                    sample(t if t > 0 else 0, odr, smp)
                    cached = t
                buf[o] = tags[(kind << 2) | ((q * spp + slots[r]) & 3)]
                v = smp[first]
                if v >= 0:
                    v = (v + half) // per
                    if v > 32767:
                        v = 32767
                else:
                    v = -((half - v) // per)
                    if v < -32768:
                        v = -32768
                buf[o + 1] = v & 0xFF
                buf[o + 2] = (v >> 8) & 0xFF
                v = smp[first + 1]
                if v >= 0:
                    v = (v + half) // per
                    if v > 32767:
                        v = 32767
                else:
                    v = -((half - v) // per)
                    if v < -32768:
                        v = -32768
                buf[o + 3] = v & 0xFF
                buf[o + 4] = (v >> 8) & 0xFF
                v = smp[first + 2]
                if v >= 0:
                    v = (v + half) // per
                    if v > 32767:
                        v = 32767
                else:
                    v = -((half - v) // per)
                    if v < -32768:
                        v = -32768
                buf[o + 5] = v & 0xFF
                buf[o + 6] = (v >> 8) & 0xFF
                o += 7
                rd += 1
            self._rd = rd
            self._sample_tick = cached
        else:
            avail = 0
        for i in range(o, o + 7 * (count - avail)):
            buf[i] = 0  # reading an empty FIFO

    def _legacy_into(self, buf, o, count):
        """`count` 16-bit pattern words into buf[o:] (LSM6DS3TR-C)."""
        rd = self._rd
        avail = (self._stop if self._stop >= 0 else self._produced) - rd
        if avail > count:
            avail = count
        if avail < 0:
            avail = 0
        n = self._pat_n
        for _ in range(avail):
            q = rd // n
            r = rd - q * n
            t = self._fstart + q * self._pat_p + self._pat_off[r]
            if self._pat_kind[r]:
                d = self._div_xl
                first = 0
                per = self._acc_per
            else:
                d = self._div_g
                first = 3
                per = self._gyr_per
            if d > 1:
                t -= t % d
            self._load(t)
            v = _quantise(self._sample[first + self._pat_axis[r]], per)
            buf[o] = v & 0xFF
            buf[o + 1] = (v >> 8) & 0xFF
            o += 2
            rd += 1
        self._rd = rd
        for i in range(o, o + 2 * (count - avail)):
            buf[i] = 0

    def _words_into(self, buf, o, count):
        """Pop `count` FIFO words into buf[o:], stored ones first."""
        if not self._collecting:
            for i in range(o, o + count * self._ws):
                buf[i] = 0
            return
        carry = self._carry_words()
        if carry:
            take = carry if carry < count else count
            nbytes = take * self._ws
            pos = self._carry_pos
            buf[o : o + nbytes] = self._carry[pos : pos + nbytes]
            self._carry_pos = pos + nbytes
            if self._carry_pos >= len(self._carry):
                self._carry = bytearray()
                self._carry_pos = 0
            o += nbytes
            count -= take
        if count:
            self._lazy_into(buf, o, count)

    def _pattern(self):
        """FIFO_PATTERN: position in the pattern of the next word to be read."""
        carry = self._carry_words()
        if carry:
            done = (self._carry_pos // self._ws) % self._carry_n
            return (self._carry_pat + done) % self._carry_n
        if not self._pat_n:
            return 0
        return self._rd % self._pat_n

    # -- bus ----------------------------------------------------------------------
    def read(self, reg, buf):
        """A burst read starting at `reg` into `buf` (auto-increment as configured)."""
        n = len(buf)
        inc = self.regs[_CTRL3_C] & _CTRL3_IF_INC
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

    def _read_reg(self, reg):
        if self._fifo_first <= reg <= self._fifo_last:
            if not self._cur_valid:
                self._words_into(self._cur, 0, 1)
                self._cur_valid = True
            if reg == self._fifo_last:
                self._cur_valid = False  # the next access loads the next word
            return self._cur[reg - self._fifo_first]
        if _OUT_TEMP_L <= reg <= _OUTZ_H_A:
            return self._read_out(reg)
        if reg == _STATUS_REG:
            return self._data_ready()
        if not self._legacy and reg == _WAKE_UP_SRC:
            return self._wake_up_src()
        if not self._legacy and reg == _ALL_INT_SRC:
            src = self._wake_up_src()
            return (0x02 if src & _WU_IA else 0) | (0x20 if src & _WU_SLEEP_CHANGE_IA else 0)
        if reg == _FIFO_STATUS1:
            return self._level() & 0xFF
        if reg == _FIFO_STATUS2:
            return self._fifo_status2()
        if self._legacy and reg == _FIFO_STATUS3:
            return self._pattern() & 0xFF
        if self._legacy and reg == _FIFO_STATUS4:
            return (self._pattern() >> 8) & 0x03
        if _TIMESTAMP0 <= reg <= self._ts_last:
            return (self._timestamp() >> (8 * (reg - _TIMESTAMP0))) & 0xFF
        return self.regs[reg]

    def _fifo_status2(self):
        level = self._level()
        wtm, ovr, full = self._flags()
        if self._legacy:
            value = (level >> 8) & 0x07
            if level == 0:
                value |= 0x10  # FIFO_EMPTY
        else:
            value = (level >> 8) & 0x03
            if self._ovr_latched:
                value |= 0x08  # FIFO_OVR_LATCHED, cleared by this read
                self._ovr_latched = False
        if wtm:
            value |= 0x80
        if ovr:
            value |= 0x40
        if full:
            value |= 0x20
        return value

    def _timestamp(self):
        value = self._ts_acc
        if self._ts_on:
            value += self._time25() - self._ts_start
        if self._legacy:
            if not self.regs[_WAKE_UP_DUR] & 0x10:
                value >>= 8  # TIMER_HR = 0: 6.4 ms per LSB
            return value & 0xFFFFFF
        return value & 0xFFFFFFFF

    def _read_out(self, reg):
        """Output registers: each sensor's latest sample, held under BDU."""
        pair = (reg - _OUT_TEMP_L) >> 1
        if pair:
            gyro = pair <= 3
            d = self._div_g if gyro else self._div_xl
            bit = 1 << pair
            if d and self.tick > 0 and not self._bdu_pending & bit:
                s = ((self.tick - 1) // d) * d
                if self._out_tick[pair] != s:
                    self._load(s)
                    if gyro:
                        v = _quantise(self._sample[2 + pair], self._gyr_per)
                    else:
                        v = _quantise(self._sample[pair - 4], self._acc_per)
                    self._out[2 * pair] = v & 0xFF
                    self._out[2 * pair + 1] = (v >> 8) & 0xFF
                    self._out_tick[pair] = s
            if reg & 1:
                self._bdu_pending &= ~bit
                if gyro:
                    self._g_seen = self._out_tick[pair]
                else:
                    self._xl_seen = self._out_tick[pair]
            elif self.regs[_CTRL3_C] & _CTRL3_BDU:
                self._bdu_pending |= bit
        return self._out[reg - _OUT_TEMP_L]

    def write(self, reg, data):
        inc = self.regs[_CTRL3_C] & _CTRL3_IF_INC
        for value in data:
            self._write_reg(reg, value)
            if inc:
                reg = (reg + 1) & 0x7F

    def _write_reg(self, reg, value):
        if reg == _WHO_AM_I or 0x1A <= reg <= 0x3F:
            return  # read-only: sources, status, outputs, FIFO status and data
        if _TIMESTAMP0 <= reg <= _TIMESTAMP0 + 3:
            if reg == _TIMESTAMP2 and value == 0xAA:
                self._ts_acc = 0
                self._ts_start = self._time25()
            return
        if not self._legacy and _X_FIFO_DATA_OUT_TAG <= reg <= _X_FIFO_DATA_OUT_Z_H:
            return
        if reg == _CTRL3_C:
            if value & _CTRL3_SW_RESET:
                self._fold_time()
                self._soft_reset()
                return
            # BOOT reloads trimming only; both bits clear themselves.
            self.regs[reg] = value & ~(_CTRL3_SW_RESET | _CTRL3_BOOT)
            return
        if reg == _CTRL10_C:
            now = self._time25()
            if self._ts_on:
                self._ts_acc += now - self._ts_start
            self._ts_on = bool(value & _CTRL10_TIMESTAMP_EN)
            self._ts_start = now
            self.regs[reg] = value
            return
        if reg in self._production_regs:
            if self.regs[reg] != value:
                self._reconfigure(reg, value)
            return
        self.regs[reg] = value

    def _fold_time(self):
        self._t25_base = self._time25()
        self._t25_tick = self.tick

    def _reconfigure(self, reg, value):
        """A rate, full scale or FIFO mode changes: keep what the chip keeps."""
        was_collecting = self._collecting
        was_bypass = self._mode not in _COLLECTING_MODES
        if was_collecting:
            self._freeze_pending()
        frozen = self._stop >= 0
        carry = self._carry
        carry_pos = self._carry_pos
        latched = self._ovr_latched
        cur_valid = self._cur_valid
        self._fold_time()
        self.regs[reg] = value
        self._derive()
        self._fifo_clear()
        if self._collecting and was_collecting and not was_bypass:
            # Same FIFO, new settings: stored words stay, new ones follow them.
            self._carry = carry
            self._carry_pos = carry_pos
            self._ovr_latched = latched
            self._cur_valid = cur_valid
            if frozen and self._mode == _MODE_FIFO:
                self._stop = 0


class ArraySource:
    """Samples from an in-memory list of 6-tuples (trace units) at a given rate."""

    def __init__(self, samples, rate_mhz):
        self.samples = samples
        self.rate_mhz = rate_mhz

    def n_ticks(self, odr_mhz):
        return len(self.samples) * odr_mhz // self.rate_mhz

    def sample(self, tick, odr_mhz, out):
        index = tick * self.rate_mhz // odr_mhz
        if index >= len(self.samples):
            index = len(self.samples) - 1
        row = self.samples[index]
        for i in range(6):
            out[i] = row[i]


class TraceFileSource:
    """Samples straight from a trace file, read in blocks into a reused array."""

    _BLOCK = 512

    def __init__(self, path):
        import json
        from array import array

        self._file = open(path, "rb")
        if self._file.readline() != b"HLTRACE1\n":
            raise OSError("not a heavylegs trace: %s" % path)
        header = json.loads(self._file.readline())
        self.header = header
        self.n_samples = header["n_samples"]
        self.rate_mhz = int(header["rate_hz"] * 1000 + 0.5)
        self._data_start = self._file.tell()
        self._block = array("i", bytes(24 * self._BLOCK))
        self._block_index = -1

    def n_ticks(self, odr_mhz):
        return self.n_samples * odr_mhz // self.rate_mhz

    def sample(self, tick, odr_mhz, out):
        index = tick * self.rate_mhz // odr_mhz
        if index >= self.n_samples:
            index = self.n_samples - 1
        block = index // self._BLOCK
        if block != self._block_index:
            self._file.seek(self._data_start + block * self._BLOCK * 24)
            self._file.readinto(self._block)
            self._block_index = block
        base = (index - block * self._BLOCK) * 6
        blk = self._block
        for i in range(6):
            out[i] = blk[base + i]

    def close(self):
        self._file.close()
