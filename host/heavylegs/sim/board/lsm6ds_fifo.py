"""The FIFO half of the LSM6DS emulator: batching schedule, levels, flags and word reads.

A mixin of LSM6DSEmulator: it reads and writes the emulator's state (registers,
rates, tick), which lsm6ds_emu.py sets up.

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

The FIFO is lazy: a window [read, produced) over the deterministic stream of
batch events since the FIFO started, so advancing time costs nothing and no
sample is copied until it is read. Words already stored when the configuration
changes are frozen into a small byte buffer first, so they keep the full scale,
rate and tags they were written with, as on the chip.
"""

import sys

# MicroPython loads the board's modules top-level from MICROPYPATH; CPython as a package.
if sys.implementation.name == "micropython":
    import lsm6ds_parts as parts
    import lsm6ds_registers as registers
else:
    from heavylegs.sim.board import lsm6ds_parts as parts
    from heavylegs.sim.board import lsm6ds_registers as registers


class FifoMixin:
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

    def _build_schedule(self, pg, pa):
        """One period of the batch pattern: the words written in each tick."""
        axes = 3 if self._legacy else 1
        period = 1
        shortest = 0
        rates = []
        for p in (pg, pa):
            if p:
                period = period * p // parts.gcd(period, p)
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

    def _capacity(self):
        if self._legacy:
            stop_on_wtm = self.regs[registers.L_FIFO_CTRL4] & 0x80
        else:
            stop_on_wtm = self.regs[registers.X_FIFO_CTRL2] & 0x80
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
        if self._mode == registers.MODE_FIFO:
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
            return regs[registers.L_FIFO_CTRL1] | ((regs[registers.L_FIFO_CTRL2] & 0x07) << 8)
        return regs[registers.X_FIFO_CTRL1] | ((regs[registers.X_FIFO_CTRL2] & 0x01) << 8)

    def _next_tick_words(self):
        if self._stop >= 0 or not self._collecting:
            return 0
        elapsed = self.tick - self._fstart
        return self._words_before(elapsed + 1) - self._words_before(elapsed)

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
            aper = self._acc_per
            smp = self._sample
            sample = self._source.sample
            odr = self.odr_mhz
            cached = self._sample_tick
            tags = parts.TAGS
            quantise = parts.quantise
            for _ in range(avail):
                q = rd // n
                r = rd - q * n
                t = fstart + q * period + offs[r]
                if kinds[r]:
                    kind = 1
                    d = div_xl
                    first = 0
                    per = aper
                else:
                    kind = 0
                    d = div_g
                    first = 3
                    per = gper
                if d > 1:
                    t -= t % d
                if t != cached:
                    sample(t if t > 0 else 0, odr, smp)
                    cached = t
                buf[o] = tags[(kind << 2) | ((q * spp + slots[r]) & 3)]
                for axis in range(3):
                    v = quantise(smp[first + axis], per)
                    buf[o + 1 + 2 * axis] = v & 0xFF
                    buf[o + 2 + 2 * axis] = (v >> 8) & 0xFF
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
            v = parts.quantise(self._sample[first + self._pat_axis[r]], per)
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

    def _reconfigure(self, reg, value):
        """A rate, full scale or FIFO mode changes: keep what the chip keeps."""
        was_collecting = self._collecting
        was_bypass = self._mode not in registers.COLLECTING_MODES
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
            if frozen and self._mode == registers.MODE_FIFO:
                self._stop = 0
