"""The pod's asyncio tasks: sensor FIFO -> gait engine -> record -> journal and BLE.

The watermark IRQ only sets a ThreadSafeFlag; the sensor task drains the FIFO in
bursts through gait/stream.py, which runs the engine sample by sample. Each stride
becomes one wire record (record.py) that goes to the journal and to ble/live.py;
nothing flows back. Time is the sensor's sample count.

Sessions: the owner starts and stops them over BLE, and power.py's state
machine starts and stops them by itself: a bout at running cadence that lasts
auto_start_s opens a session dated from the bout's first contact (its strides
are journaled too), auto_stop_s of sensor time below running cadence closes
it, nap_s without a stride puts the pod to sleep until the sensor's wake-up
interrupt, and a low battery closes the session before the cell browns out. A
stride's sequence number is its index in the session, from 0, which is also its
place in the journal.

A session that opened itself with no central connected runs record-only
(record_only.py): the radio off, and the sensor task light-sleeps until INT1
instead of waiting in asyncio. sleep.py holds the pod asleep between runs.
"""

import asyncio
import struct

from micropython import const

from heavylegs_pod import power, wire
from heavylegs_pod.auth import load_key
from heavylegs_pod.ble import PodServices
from heavylegs_pod.ble.gatt import firmware_version
from heavylegs_pod.gait.detector import F_IC_N, GaitEngine, ic_ms
from heavylegs_pod.gait.stream import SampleStream
from heavylegs_pod.hal.board import Board
from heavylegs_pod.hal.lsm6ds import LSM6DS
from heavylegs_pod.hal.radio import open_radio
from heavylegs_pod.journal import Journal
from heavylegs_pod.owner import OwnerOperations
from heavylegs_pod.record import encode_stride_record
from heavylegs_pod.record_only import RecordOnly
from heavylegs_pod.sleep import PodSleep
from heavylegs_pod.startup import (
    CONFIG_FILE,
    load_config,
    new_boot_id,
    resume_from_deep_sleep,
    save_config,
)

_STATUS_EVERY_SAMPLES = const(2048)
AUTO_STOP_S = const(240)


class Pod(PodSleep):
    def __init__(self, board, config, ble, journal=None, key=None, config_path=CONFIG_FILE):
        self.board = board
        self.config = config
        self.config_path = config_path
        self.imu = LSM6DS(
            board.imu_bus,
            board.imu_address,
            board.imu_part,
            # room for a record-only burst (record_only.py) and a wake's latency
            max_samples=256,
            **board.imu_ranges,
        )
        self.engine = GaitEngine(
            self.imu.odr_hz, self.imu.acc_lsb_per_g, self.imu.gyro_mdps_per_lsb
        )
        self.stream = SampleStream(self.imu, self.engine, self.on_stride)
        self.record = bytearray(wire.STRIDE_SIZE)  # the stride being journaled and sent
        self.odr = self.imu.odr_hz
        self.right_foot = config["foot"] == "right"
        if journal is None:
            journal = Journal(config.get("journal_dir", "journal"), config["journal_kb"] * 1024)
        self.journal = journal
        self.now_n = 0  # samples processed: the sensor clock
        self.session = 0
        self.session_start_n = 0
        self.auto_started = False  # the session opened itself: record-only may run it
        self.seq = 0
        self._unix_at_zero = -1  # unix seconds at sample 0, once the owner set the time
        # The pod clock: whole seconds since the cold boot that boot_id names. It
        # runs on through light and deep sleep, so it dates a run recorded while
        # the pod had no time of day, once a host asks the clock's reading now.
        self.boot_id = new_boot_id()
        self._clock_at_zero = 0  # pod clock seconds at sample 0 ...
        self._clock_frac_n = 0  # ... plus this many samples (under a second)
        settings = power.power_settings(config)
        self.settings = settings
        self._auto_stop = settings["auto_stop_s"] * self.odr
        self._nap = settings["nap_s"] * self.odr
        self._window = settings["sync_window_s"] * self.odr
        self._auto_start = power.AutoStart(
            self.odr, settings["auto_start_spm"], settings["auto_start_s"]
        )
        self._last_run_n = 0  # last stride at running cadence (or the last wake)
        self._last_activity_n = 0  # last stride of any kind (or the last wake)
        self.state = power.AWAKE
        self.sleeps = 0  # times the pod fell asleep, for tests and the status log
        self._calibration = bytearray(wire.J_CALIBRATION_SIZE)
        self.services = PodServices(
            ble,
            self,
            config["name"],
            right_foot=self.right_foot,
            journal=journal,
            key=key,
            bond=config.get("bond", False),
            odr_hz=self.odr,
        )
        self.live = self.services.live
        OwnerOperations(self, journal, self.services.control, self.services.sync)
        self.running = RecordOnly(self, settings["beacon_s"])
        self._fifo_ready = asyncio.ThreadSafeFlag()
        board.int1.irq(self._on_watermark, trigger=board.int1.IRQ_RISING)
        # A record a former boot left in RTC memory no longer matches the sensor's
        # clock, which the driver just reset: replace it at once.
        self.keep_clock_now()
        self.update_status()

    def _on_watermark(self, pin):
        self._fifo_ready.set()

    # --- sessions (also called by owner.py for the owner's control point) ----------

    def _calibrated(self):
        return bool(self.engine.cal.ready)

    def start_session(self, start_n=-1):
        self.auto_started = start_n >= 0
        if start_n < 0:
            start_n = self.now_n
        flags = wire.SESSION_RIGHT if self.right_foot else 0
        start_s = 0
        if self._unix_at_zero >= 0:
            flags |= wire.SESSION_TIME_KNOWN
            start_s = self._unix_at_zero + start_n // self.odr
        start_clock_s = self._clock_at_zero + (start_n + self._clock_frac_n) // self.odr
        calibration = None
        if self._calibrated():
            flags |= wire.SESSION_CALIBRATED
            # The foot's y and z axes in sensor coordinates (Q13); x is their cross product.
            struct.pack_into("<6h", self._calibration, 0, *self.engine.cal.rows[3:9])
            calibration = self._calibration
        self.session = self.journal.open_session(
            start_s,
            flags,
            firmware_version(),
            self.odr,
            calibration,
            boot=self.boot_id,
            start_clock_s=start_clock_s,
            clock_known=True,
            acc_fs_g=self.imu.acc_fs_g,
            gyro_fs_dps=self.imu.gyro_fs_dps,
        )
        self.session_start_n = start_n
        self._last_run_n = self.now_n
        self._auto_start.count = 0
        self.seq = 0
        self.state = power.RECORDING
        self.update_status()
        return self.session

    def stop_session(self):
        sid = self.session
        if sid:
            self.journal.close_session()
            self.session = 0
            self._last_activity_n = self.now_n  # the nap and sync window count from here
            if self.state == power.RECORDING:
                self.state = power.AWAKE
            self.update_status()
        return sid

    def session_erased(self, sid):
        if sid == self.session:
            self.session = 0
            self.update_status()

    def set_time(self, unix_s):
        self._unix_at_zero = unix_s - self.now_n // self.odr
        self.keep_clock_now()
        self.update_status()

    def clock_s(self):
        """The pod clock now: whole seconds since the cold boot."""
        return self._clock_at_zero + (self.now_n + self._clock_frac_n) // self.odr

    def resume_clock(self, boot_id, clock_s, fraction_t25=0):
        """After a deep sleep: the boot and its clock go on from what RTC memory kept
        (clock_s and a fraction of a second in 25 us counts, at sample 0)."""
        self.boot_id = boot_id
        self._clock_at_zero = clock_s
        self._clock_frac_n = fraction_t25 // self.imu.ts_per_sample
        if self._clock_frac_n >= self.odr:
            self._clock_frac_n = self.odr - 1
        self.keep_clock_now()

    def set_foot(self, right):
        config = dict(self.config)
        config["foot"] = "right" if right else "left"
        try:
            save_config(config, self.config_path)
        except OSError:
            return False
        self.config = config
        self.right_foot = right
        self.services.sync.right_foot = right
        self.update_status()
        return True

    # --- the sensor path ------------------------------------------------------------

    def on_stride(self, stride, now_n):
        """One stride from the engine: journal it and queue it for the centrals."""
        self.now_n = now_n
        ic_n = stride[F_IC_N]
        self._last_activity_n = now_n
        auto = self._auto_start
        if not self.session:
            if self.state == power.LOW_BATTERY:
                return
            proved = auto.offer(stride)
            if auto.count and not proved:
                # Live at once, numbered and timed as the session will journal it,
                # so a listening central loses nothing and waits for nothing.
                encode_stride_record(
                    self.record, stride, auto.count - 1, auto.first_ic(), self.odr, self.right_foot
                )
                self.live.send_stride(self.record, stride)
            if not proved:
                return
            # A run started without a phone: the session begins at the bout's
            # first contact, and the strides that proved it a run go in first.
            kept = auto.count
            self.start_session(auto.first_ic())
            for k in range(kept):
                self._record(auto.slots[k], k == kept - 1)
            return
        if ic_n < self.session_start_n:
            return  # its contact came before the owner started the session
        if auto.running(stride):
            self._last_run_n = self.now_n
        self._record(stride, True)

    def _record(self, stride, live):
        record = encode_stride_record(
            self.record, stride, self.seq, self.session_start_n, self.odr, self.right_foot
        )
        self.seq += 1
        self.journal.append(record)
        if live:
            self.live.send_stride(record, stride)

    def update_status(self):
        flags = wire.STATUS_RIGHT if self.right_foot else 0
        if self._calibrated():
            flags |= wire.STATUS_CALIBRATED
        if self._unix_at_zero >= 0:
            flags |= wire.STATUS_TIME_SET
        if self.journal.full:
            flags |= wire.STATUS_JOURNAL_FULL
        if self.session:
            clock = ic_ms(self.now_n - self.session_start_n, 0, self.odr)
        else:
            clock = ic_ms(self.now_n, 0, self.odr)
        board = self.board
        mv = board.battery_mv()
        battery = board.battery_percent(mv)
        if mv is not None and mv < self.settings["low_battery_mv"]:
            flags |= wire.STATUS_BATTERY_LOW
        self.battery = battery
        self.live.update_status(
            self.state,
            flags,
            battery,
            self.journal.usage_pct(),
            self.imu.overruns,
            self.session,
            self.seq,
            clock,
            self.journal.unsynced(),
        )

    async def sensor_task(self):
        stream = self.stream
        live = self.live
        gatt = self.services.gatt
        running = self.running
        next_status = _STATUS_EVERY_SAMPLES
        while True:
            if self.state == power.ASLEEP:
                await self._doze()
                next_status = self.now_n
            if running.radio_off():
                # Light sleep until INT1; then the other tasks get their turn (the
                # radio is off, so they have nothing to send).
                running.sleep()
                await asyncio.sleep_ms(0)
            else:
                await self._fifo_ready.wait()
            while stream.drain():
                self.now_n = stream.now_n
                live.pump(self.now_n)
            now = self.now_n
            if self.session and now - self._last_run_n > self._auto_stop:
                self.stop_session()
            running.step(now)
            if now >= next_status:
                next_status = now + _STATUS_EVERY_SAMPLES
                self.update_status()
                self.keep_clock_now()
                self.check_battery()
            if self.state == power.AWAKE or self.state == power.SYNCING:
                state = power.SYNCING if gatt.connected() else power.AWAKE
                quiet = now - self._last_activity_n
                if quiet <= self._nap:
                    gatt.set_advertising(power.ADV_AWAKE_US)
                else:
                    gatt.set_advertising(power.ADV_WINDOW_US)
                    if state == power.AWAKE and quiet > self._nap + self._window:
                        state = power.ASLEEP
                if state != self.state:
                    self.state = state
                    if state != power.ASLEEP:  # _doze tells the centrals itself
                        self.update_status()

    async def run(self):
        asyncio.create_task(self.services.serve())
        await self.sensor_task()


def main():
    board = Board.from_file("board.json")
    config = load_config(CONFIG_FILE)
    unix_s, boot, clock_s, fraction = resume_from_deep_sleep(board, config)
    pod = Pod(board, config, open_radio(), key=load_key())
    if boot:
        pod.resume_clock(boot, clock_s, fraction)
    if unix_s >= 0:
        pod.set_time(unix_s)
    asyncio.run(pod.run())
