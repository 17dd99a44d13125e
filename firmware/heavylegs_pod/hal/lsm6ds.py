"""LSM6DSOX / LSM6DSO32 / LSM6DS3TR-C driver: FIFO in continuous mode, burst reads,
no allocation.

The DSOX and DSO32 share a tagged FIFO (7-byte words, gyro and accel each tagged);
the older DS3TR-C has a pattern FIFO of 16-bit words (gyro X Y Z, accel X Y Z per
sample at FIFO_DATA_OUT_L/H), which the driver reads straight into the sample
array. Wake-up sleep (sleep/woken/wake) is implemented for the DSOX family only.

The bus is injected (machine.I2C on a board, or hal/spi_regs.py's SpiRegisters
where the board file wires the chip to SPI; the simulated buses in simulation).
Samples come out as raw int16 counts in a preallocated array; sensitivities are
exposed so the gait engine can work in integers. Time is the sample count: the
sensor clock, never the MCU's ticks.
"""

from array import array

from micropython import const

from heavylegs_pod.hal.lsm6ds_words import WORD_BYTES, unpack_pairs

_FIFO_CTRL1 = const(0x07)
_FIFO_CTRL3 = const(0x09)
_FIFO_CTRL4 = const(0x0A)
_INT1_CTRL = const(0x0D)
_WHO_AM_I = const(0x0F)
_CTRL1_XL = const(0x10)
_CTRL2_G = const(0x11)
_CTRL3_C = const(0x12)
_CTRL6_C = const(0x15)
_CTRL10_C = const(0x19)
_ALL_INT_SRC = const(0x1A)
_TIMESTAMP0 = const(0x40)
_TAP_CFG0 = const(0x56)
_TAP_CFG2 = const(0x58)
_WAKE_UP_THS = const(0x5B)
_WAKE_UP_DUR = const(0x5C)
_MD1_CFG = const(0x5E)
_FIFO_STATUS1 = const(0x3A)
_FIFO_DATA_OUT_TAG = const(0x78)

_CTRL3_BDU_IF_INC = const(0x44)
_CTRL3_SW_RESET = const(0x01)
_INT1_FIFO_TH = const(0x08)
_FIFO_MODE_BYPASS = const(0)
_FIFO_MODE_CONTINUOUS = const(6)
_STATUS2_OVR = const(0x40)
_CTRL6_XL_HM_MODE = const(0x10)  # set: high-performance off, 12.5-52 Hz run in low power
_CTRL10_TIMESTAMP_EN = const(0x20)
_TAP_CFG0_LIR = const(0x01)
_TAP_CFG2_INTERRUPTS_ENABLE = const(0x80)
_MD1_INT1_WU = const(0x20)
_ALL_INT_WU_IA = const(0x02)
_LP_ODR_CODE = const(2)  # 26 Hz: the slowest rate that still sees a first step


WHO_AM_I_LSM6DSOX = const(0x6C)
WHO_AM_I_LSM6DS3TRC = const(0x6A)

# LSM6DS3TR-C pattern FIFO (datasheet DS12208 section 9)
_L_FIFO_CTRL1 = const(0x06)
_L_FIFO_CTRL3 = const(0x08)
_L_FIFO_CTRL5 = const(0x0A)
_L_FIFO_STATUS3 = const(0x3C)
_L_FIFO_DATA_OUT_L = const(0x3E)
_L_NO_DECIMATION = const(0x09)  # DEC_FIFO_GYRO = DEC_FIFO_XL = 001
_L_WORDS_PER_SAMPLE = const(6)

# ODR in Hz -> register code (CTRL1_XL/CTRL2_G and FIFO BDR share the coding).
_ODR_CODES = ((12, 1), (26, 2), (52, 3), (104, 4), (208, 5), (416, 6), (833, 7), (1666, 8))
# FS_XL codes, per part, indexed by full scale in g.
_ACC_FS = {
    "LSM6DSOX": {2: 0, 4: 2, 8: 3, 16: 1},
    "LSM6DSO32": {4: 0, 8: 2, 16: 3, 32: 1},
    "LSM6DS3TR-C": {2: 0, 4: 2, 8: 3, 16: 1},
}
_GYRO_FS = {250: 0, 500: 1, 1000: 2, 2000: 3}
# A pod's impacts reach tens of g on the laces: each part runs at its widest range
# unless the board file says otherwise.
_WIDEST_ACC_FS = {"LSM6DSO32": 32}
_DEFAULT_ACC_FS = const(16)
_DEFAULT_GYRO_FS = const(2000)


def peek_asleep(i2c, address=0x6A):
    """(timestamp, woken) of a chip left in wake-up mode across the MCU's deep sleep,
    read before a driver resets it. Reading clears the latched wake-up."""
    ts = bytearray(4)
    i2c.readfrom_mem_into(address, _TIMESTAMP0, ts)
    src = bytearray(1)
    i2c.readfrom_mem_into(address, _ALL_INT_SRC, src)
    return ts[0] | (ts[1] << 8) | (ts[2] << 16) | (ts[3] << 24), bool(src[0] & _ALL_INT_WU_IA)


class LSM6DS:
    """FIFO-driven driver. Call `read_fifo()` after the watermark interrupt."""

    def __init__(
        self,
        i2c,
        address=0x6A,
        part="LSM6DSOX",
        odr_hz=416,
        acc_fs_g=None,
        gyro_fs_dps=None,
        watermark=64,
        max_samples=128,
    ):
        self.i2c = i2c
        self.address = address
        self.part = part
        self._reg1 = bytearray(1)
        self._status = bytearray(2)
        self._ts = bytearray(4)
        self.legacy_fifo = part == "LSM6DS3TR-C"
        expected = WHO_AM_I_LSM6DS3TRC if self.legacy_fifo else WHO_AM_I_LSM6DSOX
        who = self._read_u8(_WHO_AM_I)
        if who != expected:
            raise OSError(
                "%s at 0x%02x: WHO_AM_I 0x%02x, expected 0x%02x" % (part, address, who, expected)
            )
        odr_code = 0
        for hz, code in _ODR_CODES:
            if hz == odr_hz:
                odr_code = code
        if not odr_code:
            raise ValueError("unsupported ODR %r Hz" % odr_hz)
        fs_table = _ACC_FS.get(part)
        if fs_table is None:
            raise ValueError("unsupported part %r" % part)
        if acc_fs_g is None:
            acc_fs_g = _WIDEST_ACC_FS.get(part, _DEFAULT_ACC_FS)
        if gyro_fs_dps is None:
            gyro_fs_dps = _DEFAULT_GYRO_FS
        if acc_fs_g not in fs_table:
            raise ValueError("%s cannot do +-%r g" % (part, acc_fs_g))
        if gyro_fs_dps not in _GYRO_FS:
            raise ValueError("unsupported gyro range %r dps" % gyro_fs_dps)
        if not 2 <= watermark <= 2 * max_samples or watermark > 511:
            raise ValueError("watermark %r words does not fit the buffer" % watermark)
        self.odr_hz = odr_hz
        self.acc_fs_g = acc_fs_g
        self.gyro_fs_dps = gyro_fs_dps
        # Counts per g and per dps, for integer thresholds downstream.
        self.acc_lsb_per_g = 32768 // acc_fs_g
        self.gyro_mdps_per_lsb = gyro_fs_dps * 35 // 1000  # 70 at 2000 dps
        self.watermark = watermark  # words per read chunk, and INT1's default threshold
        self.int1_words = watermark  # FIFO words that raise INT1 (set_int1_watermark)
        self.max_samples = max_samples
        # Raw words land here; samples (gx gy gz ax ay az) are assembled below.
        self._raw = bytearray(WORD_BYTES * 2 * max_samples)
        self._raw_mv = memoryview(self._raw)
        self.samples = array("h", bytes(12 * max_samples))
        self._samples_mv = memoryview(self.samples)
        # Reads come in whole watermarks, through views made here: slicing a
        # memoryview per burst would allocate. Words short of a watermark wait in the
        # FIFO for the next interrupt (one watermark period, 77 ms at the defaults).
        self._word_views = [
            self._raw_mv[: k * watermark * WORD_BYTES]
            for k in range(1, 2 * max_samples // watermark + 1)
        ]
        per_view = watermark // 2  # samples (the legacy FIFO's threshold is set to match)
        self._sample_views = [
            self._samples_mv[: 6 * k * per_view] for k in range(1, max_samples // per_view + 1)
        ]
        self._pattern = bytearray(2)
        self.sample_count = 0  # samples delivered since start: the sensor clock
        self.overruns = 0  # FIFO overrun events seen (data was lost)
        self._have_gyro = False
        self._slept_at = 0
        self._slept_ts = 0

        self._write_u8(_CTRL3_C, _CTRL3_SW_RESET)
        self._write_u8(_CTRL3_C, _CTRL3_BDU_IF_INC)
        # The chip's timestamp keeps the sensor clock across sleep, when no samples flow.
        self._write_u8(_CTRL10_C, _CTRL10_TIMESTAMP_EN)
        self._odr_code = odr_code
        self._ctrl1 = (odr_code << 4) | (fs_table[acc_fs_g] << 2)
        self._ctrl2 = (odr_code << 4) | (_GYRO_FS[gyro_fs_dps] << 2)
        # Asleep the chip runs at +-16 g whatever the board's range, so a wake-up
        # threshold (in FS/64 steps) is the same slope in g on every part.
        self._sleep_ctrl1 = (_LP_ODR_CODE << 4) | (fs_table[_DEFAULT_ACC_FS] << 2)
        # 25 us timestamp units per sample: the chip derives both from one clock.
        self.ts_per_sample = 6 << (10 - odr_code)
        self.asleep = False
        self._start_full_rate()

    def _start_full_rate(self):
        self._write_u8(_MD1_CFG, 0)
        self._write_u8(_TAP_CFG2, 0)
        self._write_u8(_CTRL6_C, 0)
        self._write_u8(_CTRL1_XL, self._ctrl1)
        self._write_u8(_CTRL2_G, self._ctrl2)
        self._write_int1_threshold()
        if self.legacy_fifo:
            self._write_u8(_L_FIFO_CTRL3, _L_NO_DECIMATION)
            self._write_u8(_L_FIFO_CTRL5, (self._odr_code << 3) | _FIFO_MODE_BYPASS)
            self._write_u8(_L_FIFO_CTRL5, (self._odr_code << 3) | _FIFO_MODE_CONTINUOUS)
            self._write_u8(_INT1_CTRL, _INT1_FIFO_TH)
            return
        self._write_u8(_FIFO_CTRL3, (self._odr_code << 4) | self._odr_code)
        self._write_u8(_FIFO_CTRL4, _FIFO_MODE_BYPASS)
        self._write_u8(_FIFO_CTRL4, _FIFO_MODE_CONTINUOUS)
        self._write_u8(_INT1_CTRL, _INT1_FIFO_TH)
        self._have_gyro = False

    def set_int1_watermark(self, words):
        """FIFO words that raise INT1 from now on (record-only running sleeps between
        long bursts); reads still come in chunks of `watermark` words, so words
        already in the FIFO stay there, and nothing is lost by the change."""
        if not self.watermark <= words <= 2 * self.max_samples or words > 511:
            raise ValueError("INT1 watermark %r words does not fit the buffer" % words)
        self.int1_words = words
        if not self.asleep:  # else wake() sets it
            self._write_int1_threshold()

    def _write_int1_threshold(self):
        words = self.int1_words
        if self.legacy_fifo:
            # the threshold counts 16-bit words: the same number of samples as the
            # tagged FIFO's watermark (two words per sample there, six here)
            words = words // 2 * _L_WORDS_PER_SAMPLE
            self._write_u8(_L_FIFO_CTRL1, words & 0xFF)
            self._write_u8(_L_FIFO_CTRL1 + 1, (words >> 8) & 0x07)
        else:
            self._write_u8(_FIFO_CTRL1, words & 0xFF)
            self._write_u8(_FIFO_CTRL1 + 1, (words >> 8) & 0x01)

    # --- power modes ------------------------------------------------------------------
    def timestamp(self):
        """The chip's free-running clock, 25 us per count (wraps after 29 hours)."""
        self.i2c.readfrom_mem_into(self.address, _TIMESTAMP0, self._ts)
        ts = self._ts
        return ts[0] | (ts[1] << 8) | (ts[2] << 16) | (ts[3] << 24)

    def sleep(self, threshold_lsb=2, duration_samples=1):
        """Wake-up mode: accelerometer alone at 26 Hz in low power at +-16 g, gyro and
        FIFO off, INT1 latched high once a slope beyond `threshold_lsb` x 0.25 g lasts
        `duration_samples` + 1 samples. Returns the timestamp it fell asleep at."""
        if not 1 <= threshold_lsb <= 63 or not 0 <= duration_samples <= 3:
            raise ValueError("wake-up threshold 1..63, duration 0..3")
        if self.legacy_fifo:
            raise OSError("wake-up sleep is not implemented for the LSM6DS3TR-C")
        self._write_u8(_INT1_CTRL, 0)
        self._write_u8(_FIFO_CTRL4, _FIFO_MODE_BYPASS)
        self._write_u8(_CTRL2_G, 0)
        self._write_u8(_CTRL6_C, _CTRL6_XL_HM_MODE)
        self._write_u8(_CTRL1_XL, self._sleep_ctrl1)
        self._write_u8(_WAKE_UP_THS, threshold_lsb)
        self._write_u8(_WAKE_UP_DUR, duration_samples << 5)
        self._write_u8(_TAP_CFG0, _TAP_CFG0_LIR)
        self._write_u8(_TAP_CFG2, _TAP_CFG2_INTERRUPTS_ENABLE)
        self.woken()  # a stale latch would wake the MCU at once
        self._write_u8(_MD1_CFG, _MD1_INT1_WU)
        self.asleep = True
        self._slept_at = self.timestamp()
        self._slept_ts = 0
        return self._slept_at

    def count_sleep(self):
        """Adds the time asleep so far. The chip's 32-bit timestamp wraps every 29.8 h,
        so a sleep of days is counted in pieces shorter than that: call this at least
        once a day while asleep (the pod does every minute)."""
        now = self.timestamp()
        self._slept_ts += (now - self._slept_at) & 0xFFFFFFFF
        self._slept_at = now
        return now

    def woken(self):
        """True when the wake-up interrupt fired; reading clears the latch (LIR)."""
        return bool(self._read_u8(_ALL_INT_SRC) & _ALL_INT_WU_IA)

    def slept_samples(self):
        """Samples' worth of time asleep, up to the last count_sleep()."""
        return self._slept_ts // self.ts_per_sample

    def wake(self):
        """Back to full rate; the sensor clock (`sample_count`) moves on by the time
        slept, so sample indices stay sensor time. Returns the samples skipped."""
        self.count_sleep()
        slept = self.slept_samples()
        self._start_full_rate()
        self.sample_count += slept
        self.asleep = False
        return slept

    def power_down(self):
        """Everything off (low battery): a few uA until the next boot."""
        self._write_u8(_MD1_CFG, 0)
        self._write_u8(_INT1_CTRL, 0)
        self._write_u8(_FIFO_CTRL4, _FIFO_MODE_BYPASS)
        self._write_u8(_CTRL2_G, 0)
        self._write_u8(_CTRL1_XL, 0)

    def _read_u8(self, reg):
        self.i2c.readfrom_mem_into(self.address, reg, self._reg1)
        return self._reg1[0]

    def _write_u8(self, reg, value):
        self._reg1[0] = value
        self.i2c.writeto_mem(self.address, reg, self._reg1)

    def fifo_level(self):
        """Unread FIFO words; also notes an overrun the chip latched."""
        self.i2c.readfrom_mem_into(self.address, _FIFO_STATUS1, self._status)
        status2 = self._status[1]
        if status2 & _STATUS2_OVR:
            self.overruns += 1
        if self.legacy_fifo:
            return self._status[0] | ((status2 & 0x07) << 8)
        return self._status[0] | ((status2 & 0x03) << 8)

    def read_fifo(self):
        """Burst-read whole gyro+accel pairs into `samples`; returns how many samples.

        A sample is complete when its accelerometer word follows a gyro word; an
        unpaired word (after an overrun) is dropped rather than mixed with another
        instant's data.
        """
        if self.legacy_fifo:
            return self._read_pattern_fifo()
        views = self._word_views
        chunks = self.fifo_level() // self.watermark
        if chunks > len(views):
            chunks = len(views)
        if chunks <= 0:
            return 0
        words = chunks * self.watermark
        self.i2c.readfrom_mem_into(self.address, _FIFO_DATA_OUT_TAG, views[chunks - 1])
        n = unpack_pairs(self._raw, words, self.samples, 1 if self._have_gyro else 0)
        # The pairing state carries over when a batch ends between gyro and accel.
        self._have_gyro = n < 0
        if n < 0:
            n = -n - 1
        self.sample_count += n
        return n

    def _read_pattern_fifo(self):
        words = self.fifo_level()
        # after an overrun the next word may sit mid-pattern: skip to a gyro X
        self.i2c.readfrom_mem_into(self.address, _L_FIFO_STATUS3, self._pattern)
        pattern = self._pattern[0] | ((self._pattern[1] & 0x03) << 8)
        while pattern and words:
            self.i2c.readfrom_mem_into(self.address, _L_FIFO_DATA_OUT_L, self._pattern)
            words -= 1
            pattern = (pattern + 1) % _L_WORDS_PER_SAMPLE
        views = self._sample_views
        per_view = self.watermark // 2
        chunks = words // _L_WORDS_PER_SAMPLE // per_view
        if chunks > len(views):
            chunks = len(views)
        if chunks <= 0:
            return 0
        n = chunks * per_view
        # gyro X Y Z, accel X Y Z, little-endian: exactly the sample array's layout
        self.i2c.readfrom_mem_into(self.address, _L_FIFO_DATA_OUT_L, views[chunks - 1])
        self.sample_count += n
        return n
