"""The pod asleep: dozing until the sensor's wake-up interrupt, deep sleep, a
flat cell, and the clocks kept in RTC memory across all of them.

A part of app.Pod (its base class), apart because it is a role of its own: the
awake pod's sensor path never calls into it but through these methods.
"""

import asyncio

from micropython import const

from heavylegs_pod import power

_DOZE_MS = const(60000)  # a sleeping pod still looks at its battery this often


class PodSleep:
    def check_battery(self):
        """Below low_battery_mv: close the session and flush the journal while the
        cell still holds the voltage to write, then sleep until a charger resets us."""
        board = self.board
        mv = board.battery_mv()
        if mv is None or mv >= self.settings["low_battery_mv"]:
            return False
        # the state first: the centrals hear "low battery" as the session closes
        self.state = power.LOW_BATTERY
        self.stop_session()
        self.update_status()
        self.live.pump(self.now_n)
        self.imu.power_down()
        board.deep_sleep()
        return True

    async def _doze(self):
        """Asleep: the sensor watches for movement at 26 Hz, the radio is silent, and
        the MCU sleeps: deep where INT1 can wake it (a wake is then a reboot), else
        light, looking at its battery every minute."""
        imu = self.imu
        gatt = self.services.gatt
        self.sleeps += 1
        self.update_status()
        imu.sleep(self.settings["wake_threshold_lsb"])
        gatt.set_advertising(0)
        if self.board.deep_sleep_wake:
            self._deep_sleep()  # main() resumes
        while True:
            self.board.sleep_until_int1(_DOZE_MS)
            timestamp = imu.count_sleep()
            self.keep_clock(timestamp, imu.sample_count + imu.slept_samples())
            if imu.woken() or gatt.connected():
                break
            if self.check_battery():
                return
            # Let the radio and the simulated board have their turn.
            await asyncio.sleep_ms(0)
        gatt.set_advertising(power.ADV_AWAKE_US)
        imu.wake()
        # The movement that woke us began before the FIFO ran again, so the first
        # samples are mid-step: the engine must not join them to the stillness before
        # the sleep, nor take that step's rotation for the heel rise that gives the
        # uncalibrated frame its forward sign.
        engine = self.engine
        engine.reset()
        if not engine.cal.ready:
            engine.cal.reset()
        # Days asleep would carry the sample clock past 2**30, where a 32-bit port's
        # small ints end and every sample would allocate. No session is open, so the
        # clock restarts at the wake, its whole seconds moved into the time base.
        whole_s = imu.sample_count // self.odr
        imu.sample_count -= whole_s * self.odr
        if self._unix_at_zero >= 0:
            self._unix_at_zero += whole_s
        self._clock_at_zero += whole_s
        self.now_n = imu.sample_count
        self.live.clock_restarted(self.now_n)
        self._last_activity_n = self.now_n
        self._last_run_n = self.now_n
        self.state = power.AWAKE
        self.update_status()

    def _deep_sleep(self):
        """Radio silent, no session: deep sleep until INT1, with the time of day, the
        boot id and the pod clock kept in RTC memory against the sensor's clock,
        which runs on."""
        imu = self.imu
        timestamp = imu.count_sleep()
        self.keep_clock(timestamp, imu.sample_count + imu.slept_samples())
        board = self.board
        board.deep_sleep_until_int1(self.settings["deep_sleep_check_s"] * 1000)

    def keep_clock_now(self):
        try:
            timestamp = self.imu.timestamp()
        except OSError:
            return
        self.keep_clock(timestamp, self.now_n)

    def keep_clock(self, timestamp, elapsed_n):
        """RTC memory keeps the time of day, the boot id and the pod clock at a sensor
        timestamp, elapsed_n samples after sample 0: a deep sleep resumes from it, and
        the USB tools, which stop the app with a soft reset, read the clocks on from
        it. The timestamp kept is that of the last whole second, so the fraction
        carries over instead of being dropped at every sleep."""
        whole_s = (elapsed_n + self._clock_frac_n) // self.odr
        rest_n = elapsed_n + self._clock_frac_n - whole_s * self.odr
        timestamp = (timestamp - rest_n * self.imu.ts_per_sample) & 0xFFFFFFFF
        unix_s = -1
        if self._unix_at_zero >= 0:
            unix_s = self._unix_at_zero + (elapsed_n - rest_n) // self.odr
        record = power.rtc_record(unix_s, timestamp, self.boot_id, self._clock_at_zero + whole_s)
        try:
            self.board.rtc_memory(record)
        except (AttributeError, OSError):
            pass  # a port without RTC memory (rp2): a deep sleep is not woken there
