"""Record-only running: the radio off and the MCU light-asleep between FIFO bursts.

Most runs have no phone or watch listening, and the journal keeps every stride
anyway. So a session that started by itself (power.AutoStart) with no central
connected runs with BLE inactive, which is what lets an ESP32 light-sleep at
all (MicroPython's BLE does not survive machine.lightsleep, micropython#6396),
and the sensor's FIFO holds half a second of samples between INT1 wakes:

    LIVE     -- auto-started session, no central ---------> RADIO_OFF
    RADIO_OFF -- beacon_s passed --------------------------> BEACON (radio on,
                                                              advertising fast)
    BEACON   -- a central connected -----------------------> LIVE (streaming)
    BEACON   -- burst over, nobody came -------------------> RADIO_OFF
    LIVE     -- the central left, the session goes on -----> RADIO_OFF
    any      -- the session closed -------------------------> LIVE (radio on: the
                                                              sync window as ever)

Nothing is lost across a transition: the FIFO keeps what was not read yet (only
the threshold that raises INT1 changes), and every stride goes to the journal
whatever the radio does. A session the owner started over BLE keeps its radio.
"""

from micropython import const

from heavylegs_pod.power import ADV_AWAKE_US

LIVE = const(0)
RADIO_OFF = const(1)
BEACON = const(2)

# A beacon burst: connectable advertising every 100 ms for 1.5 s, so a central
# that is scanning (a watch looking for its sensors, a phone app) sees about 15
# advertisements, enough for one whose scan window is a third of its interval.
ADV_BEACON_US = const(100_000)
_BURST_MS = const(1500)
# The FIFO holds this much between wakes in record-only running; the
# LSM6DSO32's 3 KB FIFO holds 438 words, so 0.5 s (416 words at 416 Hz) leaves
# 26 ms to wake and start reading before it overruns.
_LONG_BURST_MS = const(500)
_MAX_INT1_WORDS = const(416)
# At least a few samples long, so a sleep that ends by its timer has always let
# the sensor's clock move: one that did not means the sensor stopped.
_MIN_SLEEP_MS = const(8)


class RecordOnly:
    def __init__(self, pod, beacon_s):
        self.pod = pod
        self.mode = LIVE
        self.enabled = beacon_s > 0  # beacon_s 0: the radio stays on for every run
        odr = pod.odr
        self._beacon_n = beacon_s * odr
        self._burst_n = _BURST_MS * odr // 1000
        words = 2 * (_LONG_BURST_MS * odr // 1000)  # a gyro and an accel word per sample
        self._long_words = _MAX_INT1_WORDS if words > _MAX_INT1_WORDS else words
        self._due_n = 0
        self._burst_end_n = 0
        self.bursts = 0  # beacon bursts, for the status log and tests
        self.radio_offs = 0
        self._stalled_n = -1  # the sensor clock stood still across a sleep at this sample

    def radio_off(self):
        return self.mode == RADIO_OFF

    def sleep(self):
        """Light sleep until INT1 (the FIFO reached its long watermark) or the next
        beacon is due; the sensor keeps sampling into its FIFO meanwhile."""
        pod = self.pod
        ms = (self._due_n - pod.now_n) * 1000 // pod.odr
        before = pod.imu.timestamp()
        if pod.board.sleep_until_int1(ms if ms > _MIN_SLEEP_MS else _MIN_SLEEP_MS):
            return
        # The timer ended it, so a beacon is due, unless the sensor's clock stood
        # still: then the sensor delivers nothing (or the simulated run is over),
        # no stride can come, and the pod keeps its radio on to stay reachable
        # until samples flow again.
        if pod.imu.timestamp() == before:
            self._stalled_n = pod.now_n
            self._live(ADV_AWAKE_US)

    def step(self, now_n):
        """After each FIFO burst: move between the modes."""
        pod = self.pod
        gatt = pod.services.gatt
        mode = self.mode
        if not pod.session:
            if mode != LIVE:
                self._live(ADV_AWAKE_US)
            return
        if mode == LIVE:
            if (
                self.enabled
                and pod.auto_started
                and not gatt.connected()
                and now_n != self._stalled_n
            ):
                self._off(now_n)
        elif mode == RADIO_OFF:
            if now_n >= self._due_n:
                self.bursts += 1
                self._burst_end_n = now_n + self._burst_n
                self.mode = BEACON
                gatt.radio_on(ADV_BEACON_US)
                pod.live.rewrite()
        elif gatt.connected():
            self._live(ADV_AWAKE_US)
        elif now_n >= self._burst_end_n:
            self._off(now_n)

    def _off(self, now_n):
        pod = self.pod
        self.mode = RADIO_OFF
        self.radio_offs += 1
        self._due_n = now_n + self._beacon_n
        pod.services.gatt.radio_off()
        pod.imu.set_int1_watermark(self._long_words)

    def _live(self, interval_us):
        pod = self.pod
        self.mode = LIVE
        pod.imu.set_int1_watermark(pod.imu.watermark)
        pod.services.gatt.radio_on(interval_us)
        pod.live.rewrite()
