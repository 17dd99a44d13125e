"""Register-level emulator of the ST LSM6DSOX family (LSM6DSOX, LSM6DSO32).

Runs unchanged under MicroPython (inside the simulated board, behind machine.I2C)
and under CPython (behind a busio-like I2C for Adafruit's independent driver).

What is modelled, as the datasheets describe it: WHO_AM_I, CTRL1_XL/CTRL2_G (ODR,
full scale), CTRL3_C (BDU, IF_INC, SW_RESET), the output registers, the FIFO
(watermark, batch data rates, bypass/FIFO/continuous modes, 7-byte tagged words,
address rounding from FIFO_DATA_OUT_Z_H back to the tag, overrun that discards
the oldest words and latches FIFO_OVR_LATCHED), FIFO_STATUS1/2, the timestamp
counter (25 us per LSB) and watermark routing to INT1.

Samples are produced lazily: the FIFO is a window [read, produced) over the
sample stream, so the emulator keeps no sample buffer of its own and advancing
time by any amount costs nothing. `advance(ticks)` moves sensor time on; who
calls it (real-time or as-fast-as-consumed) is the simulated board's business.
"""

import struct

# Register map (LSM6DSOX datasheet DS12814, section 8)
_FIFO_CTRL1 = 0x07
_FIFO_CTRL2 = 0x08
_FIFO_CTRL3 = 0x09
_FIFO_CTRL4 = 0x0A
_INT1_CTRL = 0x0D
_WHO_AM_I = 0x0F
_CTRL1_XL = 0x10
_CTRL2_G = 0x11
_CTRL3_C = 0x12
_CTRL10_C = 0x19
_STATUS_REG = 0x1E
_OUT_TEMP_L = 0x20
_OUTX_L_G = 0x22
_OUTX_L_A = 0x28
_FIFO_STATUS1 = 0x3A
_FIFO_STATUS2 = 0x3B
_TIMESTAMP0 = 0x40
_FIFO_DATA_OUT_TAG = 0x78
_FIFO_DATA_OUT_Z_H = 0x7E

_CTRL3_SW_RESET = 0x01
_CTRL3_IF_INC = 0x04
_CTRL3_BOOT = 0x80
_CTRL10_TIMESTAMP_EN = 0x20
_INT1_FIFO_TH = 0x08

_TAG_GYRO = 0x01
_TAG_ACCEL = 0x02

_FIFO_MODE_BYPASS = 0
_FIFO_MODE_FIFO = 1
_FIFO_MODE_CONTINUOUS = 6

# ODR codes (CTRL1_XL/CTRL2_G bits 7:4) in mHz, so the arithmetic stays integer.
ODR_MHZ = (0, 12500, 26000, 52000, 104000, 208000, 416000, 833000, 1666000, 3332000, 6664000)

# Per part: WHO_AM_I, accel full scale (g) for FS_XL codes 0..3, FIFO depth in words.
PARTS = {
    # LSM6DSOX: 9 kbyte FIFO -> 1316 words of 7 bytes; FS_XL 00=2g 01=16g 10=4g 11=8g
    "LSM6DSOX": (0x6C, (2, 16, 4, 8), 1316),
    # LSM6DSO32: same register map, doubled accel ranges, 3 kbyte FIFO
    "LSM6DSO32": (0x6C, (4, 32, 8, 16), 438),
}
# Gyro full scale (dps) for FS_G codes 0..3; FS_125 selects 125 dps.
GYRO_FS_DPS = (250, 500, 1000, 2000)
# Sensitivities in trace units: accel micro-g per LSB at 2 g is 61; gyro 1/8 mdps
# per LSB at 125 dps is 35 (4.375 mdps). Both double with each range step.
_ACC_UG_PER_LSB_2G = 61
_GYR_UNITS_PER_LSB_125 = 35


def _lsb(value, per_lsb):
    """Round-to-nearest division, then saturate to int16 as the ADC does."""
    if value >= 0:
        out = (value + per_lsb // 2) // per_lsb
    else:
        out = -((-value + per_lsb // 2) // per_lsb)
    if out > 32767:
        return 32767
    if out < -32768:
        return -32768
    return out


class LSM6DSEmulator:
    def __init__(self, source, part="LSM6DSOX"):
        if part not in PARTS:
            raise ValueError("unknown part %s" % part)
        self.part = part
        self._who, self._acc_fs_table, self.fifo_capacity = PARTS[part]
        self._source = source
        self._sample = [0, 0, 0, 0, 0, 0]
        self._word = bytearray(7)
        self.regs = bytearray(128)
        self.reset()

    # -- state -------------------------------------------------------------------
    def reset(self):
        for i in range(len(self.regs)):
            self.regs[i] = 0
        self.regs[_WHO_AM_I] = self._who
        self.regs[_CTRL3_C] = _CTRL3_IF_INC
        self.tick = 0  # ODR periods since the accelerometer/gyro started
        self._fifo_first_tick = 0
        self._fifo_read = 0  # words read or discarded since the FIFO (re)started
        self._fifo_produced = 0
        self._ovr_latched = False
        self.overruns = 0  # words discarded because nobody read them in time
        self.exhausted = False

    @property
    def odr_mhz(self):
        xl = ODR_MHZ[min(self.regs[_CTRL1_XL] >> 4, 10)]
        g = ODR_MHZ[min(self.regs[_CTRL2_G] >> 4, 10)]
        return xl if xl >= g else g

    def acc_fs_g(self):
        return self._acc_fs_table[(self.regs[_CTRL1_XL] >> 2) & 0x03]

    def gyro_fs_dps(self):
        if self.regs[_CTRL2_G] & 0x02:
            return 125
        return GYRO_FS_DPS[(self.regs[_CTRL2_G] >> 2) & 0x03]

    def _acc_per_lsb(self):
        return _ACC_UG_PER_LSB_2G * self.acc_fs_g() // 2

    def _gyr_per_lsb(self):
        return _GYR_UNITS_PER_LSB_125 * self.gyro_fs_dps() // 125

    def _fifo_mode(self):
        return self.regs[_FIFO_CTRL4] & 0x07

    def _words_per_tick(self):
        # Both batched at the same rate is what the firmware uses; each ODR period
        # then yields a gyro word followed by an accel word.
        bdr = self.regs[_FIFO_CTRL3]
        return (1 if bdr & 0x0F else 0) + (1 if bdr & 0xF0 else 0)

    def watermark(self):
        return self.regs[_FIFO_CTRL1] | ((self.regs[_FIFO_CTRL2] & 0x01) << 8)

    def fifo_level(self):
        return self._fifo_produced - self._fifo_read

    def int1(self):
        """Level of the INT1 pin: the FIFO watermark flag when routed there."""
        if not self.regs[_INT1_CTRL] & _INT1_FIFO_TH:
            return False
        wtm = self.watermark()
        return wtm > 0 and self.fifo_level() >= wtm

    def ticks_to_watermark(self):
        """ODR periods until INT1 would rise (0 if already there, -1 if never)."""
        per = self._words_per_tick()
        wtm = self.watermark()
        if per == 0 or wtm == 0 or self._fifo_mode() == _FIFO_MODE_BYPASS:
            return -1
        missing = wtm - self.fifo_level()
        if missing <= 0:
            return 0
        return (missing + per - 1) // per

    # -- time ----------------------------------------------------------------------
    def advance(self, ticks):
        """Let `ticks` ODR periods pass. Returns how many could be produced."""
        if ticks <= 0 or self.odr_mhz == 0:
            return 0
        available = self._source.n_ticks(self.odr_mhz) - self.tick
        if ticks >= available:
            ticks = available if available > 0 else 0
            self.exhausted = True
        self.tick += ticks
        mode = self._fifo_mode()
        per = self._words_per_tick()
        if mode == _FIFO_MODE_BYPASS or per == 0:
            return ticks
        self._fifo_produced += ticks * per
        level = self._fifo_produced - self._fifo_read
        if level > self.fifo_capacity:
            if mode == _FIFO_MODE_FIFO:
                # FIFO mode stops collecting when full.
                self._fifo_produced = self._fifo_read + self.fifo_capacity
            else:
                lost = level - self.fifo_capacity
                self._fifo_read += lost
                self.overruns += lost
            self._ovr_latched = True
        return ticks

    # -- sample access -----------------------------------------------------------
    def _load(self, tick):
        self._source.sample(tick, self.odr_mhz, self._sample)

    def _put_axes(self, buf, offset, first, per_lsb):
        s = self._sample
        for axis in range(3):
            struct.pack_into("<h", buf, offset + 2 * axis, _lsb(s[first + axis], per_lsb))

    def _fifo_word(self):
        word = self._word
        if self.fifo_level() <= 0:
            for i in range(7):
                word[i] = 0
            return word
        index = self._fifo_read
        per = self._words_per_tick()
        tick = self._fifo_first_tick + index // per
        self._load(tick)
        gyro_first = self.regs[_FIFO_CTRL3] & 0xF0
        is_gyro = gyro_first and (per == 1 or index % per == 0)
        tag = _TAG_GYRO if is_gyro else _TAG_ACCEL
        cnt = (tick & 0x03) << 1
        byte = (tag << 3) | cnt
        parity = 0
        b = byte
        while b:
            parity ^= b & 1
            b >>= 1
        word[0] = byte | parity
        if is_gyro:
            self._put_axes(word, 1, 3, self._gyr_per_lsb())
        else:
            self._put_axes(word, 1, 0, self._acc_per_lsb())
        self._fifo_read += 1
        return word

    # -- bus ----------------------------------------------------------------------
    def read(self, reg, buf):
        """A burst read starting at `reg` into `buf` (auto-increment as configured)."""
        n = len(buf)
        i = 0
        inc = self.regs[_CTRL3_C] & _CTRL3_IF_INC
        while i < n:
            if _FIFO_DATA_OUT_TAG <= reg <= _FIFO_DATA_OUT_Z_H:
                if reg == _FIFO_DATA_OUT_TAG:
                    word = self._fifo_word()
                take = _FIFO_DATA_OUT_Z_H - reg + 1
                if take > n - i:
                    take = n - i
                for k in range(take):
                    buf[i + k] = word[reg - _FIFO_DATA_OUT_TAG + k]
                i += take
                # Address rounding: after Z_H the pointer returns to the tag.
                reg = _FIFO_DATA_OUT_TAG
                continue
            buf[i] = self._read_reg(reg)
            i += 1
            if inc:
                reg = (reg + 1) & 0x7F

    def _read_reg(self, reg):
        if _OUTX_L_G <= reg < _OUTX_L_A + 6:
            out = bytearray(12)
            self._load(self.tick - 1 if self.tick > 0 else 0)
            self._put_axes(out, 0, 3, self._gyr_per_lsb())
            self._put_axes(out, 6, 0, self._acc_per_lsb())
            return out[reg - _OUTX_L_G]
        if reg == _OUT_TEMP_L or reg == _OUT_TEMP_L + 1:
            return 0  # 25 degC
        if reg == _STATUS_REG:
            return 0x03 if self.odr_mhz else 0
        if reg == _FIFO_STATUS1:
            return self.fifo_level() & 0xFF
        if reg == _FIFO_STATUS2:
            level = self.fifo_level()
            wtm = self.watermark()
            value = (level >> 8) & 0x03
            if wtm and level >= wtm:
                value |= 0x80
            if self._ovr_latched:
                value |= 0x48  # FIFO_OVR_IA and FIFO_OVR_LATCHED
            if level >= self.fifo_capacity:
                value |= 0x20
            self._ovr_latched = False
            return value
        if _TIMESTAMP0 <= reg < _TIMESTAMP0 + 4:
            if not self.regs[_CTRL10_C] & _CTRL10_TIMESTAMP_EN or not self.odr_mhz:
                return 0
            # 25 us per LSB: ticks * 1e6 / odr_hz / 25, in integer mHz arithmetic
            stamp = (self.tick * 40000000 // self.odr_mhz) & 0xFFFFFFFF
            return (stamp >> (8 * (reg - _TIMESTAMP0))) & 0xFF
        return self.regs[reg]

    def write(self, reg, data):
        inc = self.regs[_CTRL3_C] & _CTRL3_IF_INC
        for value in data:
            self._write_reg(reg, value)
            if inc:
                reg = (reg + 1) & 0x7F

    def _write_reg(self, reg, value):
        if reg == _WHO_AM_I or reg == _STATUS_REG or reg >= _FIFO_STATUS1 and reg < 0x40:
            return  # read-only
        if reg == _CTRL3_C and value & (_CTRL3_SW_RESET | _CTRL3_BOOT):
            tick = self.tick
            self.reset()
            self.tick = tick  # the trace keeps running; only the registers reset
            return
        if reg == _FIFO_CTRL4:
            old = self._fifo_mode()
            self.regs[reg] = value
            new = value & 0x07
            if new == _FIFO_MODE_BYPASS or old == _FIFO_MODE_BYPASS:
                # Entering or leaving bypass empties the FIFO.
                self._fifo_first_tick = self.tick
                self._fifo_read = 0
                self._fifo_produced = 0
            return
        self.regs[reg] = value


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
