"""Stand-in for MicroPython's `machine` on the unix port: a simulated pod board.

Only on MICROPYPATH when simulating. The I2C bus carries an emulated LSM6DS chip
that serves a trace file; the chip's INT1 is wired to a Pin whose IRQ fires on the
rising edge of the FIFO watermark, as on the real board. Configuration comes from
the environment the simulator sets:

  HEAVYLEGS_SIM_TRACE   trace file the sensor experiences (required for a sensor)
  HEAVYLEGS_SIM_PART    LSM6DSOX (default) or LSM6DSO32
  HEAVYLEGS_SIM_ADDR    I2C address of the sensor (default 0x6A)
  HEAVYLEGS_SIM_INT1    pin number INT1 is wired to (default 4)
  HEAVYLEGS_SIM_PACE    "fast": sensor time runs as fast as the firmware consumes
                        samples (CI); "realtime": at the sensor's own rate (demos)
  HEAVYLEGS_SIM_GO      if set, sensor time stands still until this file exists:
                        the run starts when the simulator says so (after the host
                        has connected), like a runner who starts once the watch is ready

  HEAVYLEGS_SIM_BATTERY "MV,MV_PER_HOUR[,PIN[,DIVIDER]]": a cell that starts at MV
                        and loses MV_PER_HOUR per hour of sensor time, read by
                        ADC on PIN (default 26) through DIVIDER (default 2)

Power timeline: light sleeps (begin, end, and the I2C bytes moved while awake),
and from bluetooth.py the radio going on and off, advertising and connections,
go to the host as board events 0x83 stamped with sensor time (power_event), so
the simulator knows which state the pod was in for how long. While BLE is
inactive and the firmware light-sleeps, only its light sleeps move sensor time
(the pump stands still): record-only running is asleep between FIFO bursts,
not idling awake.

lightsleep(ms) and deepsleep(ms) let sensor time pass (the chip runs on while the
MCU sleeps) until ms have gone by or INT1 rises, as a wake pin would end them.
deepsleep then ends the process, as a reset would; both tell the simulator
(board events 0x81 light sleep: u32 tick; 0x82 deep sleep: u32 tick at the wake,
u8 what woke it, u32 tick it fell asleep at).
A deep sleep with INT1 as its wake source (esp32.wake_on_ext0, see esp32.py)
or with a timer keeps the chip's state and the RTC memory in the pod's folder;
the simulator boots the firmware again, whose reset_cause() is then
DEEPSLEEP_RESET and whose chip carries on where it was.

When the trace is used up and the firmware has drained the FIFO, the board
sends a board event (0x80, u32 ticks produced) over the simulator link so the
host knows every sample has been through the firmware.
"""

import asyncio
import os
import struct
import sys
import time

import sim_board
from lsm6ds_emu import LSM6DSEmulator
from sample_sources import TraceFileSource
from simlink_proto import (
    BOARD_EVENT_DEEPSLEEP,
    BOARD_EVENT_LIGHTSLEEP,
    BOARD_EVENT_POWER,
    BOARD_EVENT_TRACE_END,
    POWER_I2C,
    POWER_SLEEP,
    WOKE_AT_TRACE_END,
    WOKE_BY_INT1,
    WOKE_BY_NOTHING,
    WOKE_BY_TIMER,
)

_DEEP_SLEEP_FILE = "sim_deepsleep.json"  # what survives a deep sleep: chip and RTC memory
PWRON_RESET = 1
DEEPSLEEP_RESET = 4
_IDLE_STEP_TICKS = 32
_NAP_ODR_MHZ = 26000  # up to the wake-up mode's 26 Hz, the sensor naps with the MCU
_ENODEV = 19


def _env_int(name, default):
    value = os.getenv(name)
    return int(value, 0) if value else default


class _Board:
    def __init__(self):
        self.devices = {}
        self.chip = None
        path = os.getenv("HEAVYLEGS_SIM_TRACE")
        if path:
            part = os.getenv("HEAVYLEGS_SIM_PART") or sim_board.IMU_PART
            self.chip = LSM6DSEmulator(TraceFileSource(path), part)
            self.devices[_env_int("HEAVYLEGS_SIM_ADDR", sim_board.IMU_ADDRESS)] = self.chip
        self.reset_cause = PWRON_RESET
        self.rtc_memory = b""
        self.ext0 = None  # (pin id, level) that ends a deep sleep, from esp32.wake_on_ext0
        if _exists(_DEEP_SLEEP_FILE):
            import json

            with open(_DEEP_SLEEP_FILE) as f:
                kept = json.load(f)
            os.remove(_DEEP_SLEEP_FILE)  # one boot consumes it, as RTC memory is read once
            self.reset_cause = DEEPSLEEP_RESET
            self.rtc_memory = bytes.fromhex(kept["rtc"])
            if self.chip is not None:
                self.chip.restore(kept["chip"])
        self.int1_pin = _env_int("HEAVYLEGS_SIM_INT1", sim_board.INT1_PIN)
        self.pace = os.getenv("HEAVYLEGS_SIM_PACE") or "fast"
        self.pins = {}
        self.pump_started = False
        self.radio_on = True  # bluetooth.py says when BLE goes inactive
        self.paced_by_sleep = False  # radio off and light-sleeping: sleeps move time
        self.i2c_bytes = 0
        self.trace_end_sent = False
        self.battery = None
        spec = os.getenv("HEAVYLEGS_SIM_BATTERY")
        if spec:
            parts = [float(x) for x in spec.split(",")]
            parts += [sim_board.BATTERY_ADC_PIN, sim_board.BATTERY_DIVIDER][len(parts) - 2 :]
            self.battery = parts  # start mV, mV per hour, pin, divider

    def sensor_s(self):
        chip = self.chip
        return chip._time25() / 40000 if chip is not None else 0.0

    def battery_mv(self):
        start, per_hour, _, _ = self.battery
        return start - per_hour * self.sensor_s() / 3600


_board = None


def _get_board():
    global _board
    if _board is None:
        _board = _Board()
    return _board


class I2C:
    def __init__(self, id=0, *, scl=None, sda=None, freq=400000, timeout=50000):
        self._board = _get_board()
        self._pointer = 0

    def _device(self, addr):
        dev = self._board.devices.get(addr)
        if dev is None:
            raise OSError(_ENODEV)
        return dev

    def scan(self):
        return sorted(self._board.devices)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        raw = _bytes_of(buf)
        self._device(addr).read(memaddr, raw)
        self._board.i2c_bytes += len(raw) + 2  # the address and register bytes too

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self._device(addr).read(memaddr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._device(addr).write(memaddr, buf)

    # Raw transfers: the first written byte is the register pointer, as on the chip.
    def writeto(self, addr, buf, stop=True):
        dev = self._device(addr)
        if len(buf):
            self._pointer = buf[0]
            if len(buf) > 1:
                dev.write(self._pointer, memoryview(buf)[1:])
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._device(addr).read(self._pointer, buf)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)


def _bytes_of(buf):
    """The bytes behind any buffer, as the real bus sees them (an array('h') or a
    memoryview of one is filled byte by byte, not element by element)."""
    if isinstance(buf, bytearray):
        return buf
    import uctypes

    return uctypes.bytearray_at(uctypes.addressof(buf), len(bytes(buf)))


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._value = value or 0
        self._handler = None
        self._board = _get_board()
        self._board.pins[id] = self

    def init(self, mode=-1, pull=-1, value=None):
        if value is not None:
            self._value = value

    def value(self, v=None):
        if v is not None:
            self._value = 1 if v else 0
            return None
        if self.id == self._board.int1_pin and self._board.chip is not None:
            return 1 if self._board.chip.int1() else 0
        return self._value

    def on(self):
        self._value = 1

    def off(self):
        self._value = 0

    def irq(self, handler=None, trigger=IRQ_RISING, hard=False):
        self._handler = handler
        board = self._board
        if handler is not None and self.id == board.int1_pin and not board.pump_started:
            board.pump_started = True
            asyncio.create_task(_sensor_pump(board, self))


class ADC:
    """The battery sense: the cell through the board's divider, 12-bit steps."""

    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self._board = _get_board()
        self._id = pin.id if isinstance(pin, Pin) else pin

    def atten(self, value):
        pass

    def read_u16(self):
        board = self._board
        if board.battery is None or int(board.battery[2]) != self._id:
            return 0
        pin_mv = board.battery_mv() / board.battery[3]
        code = int(pin_mv * 4095 / 3300)
        code = 0 if code < 0 else (4095 if code > 4095 else code)
        return code << 4


def _sleep(ms):
    """Sensor time passes for up to ms, or until INT1 rises; True if INT1 ended it."""
    board = _get_board()
    chip = board.chip
    if chip is None or not chip.odr_mhz:
        return False
    ticks = ms * chip.odr_mhz // 1000000 if ms and ms > 0 else 1 << 40
    done = 0
    while done < ticks:
        if chip.int1():
            return True
        if chip.exhausted:
            # The trace is over: let wall time pass so a sleeping pod does not spin.
            time.sleep_ms(20)
            return False
        done += chip.advance(1) or 1
    return bool(chip.int1())


def power_event(kind, value):
    """One entry of the power timeline, stamped with sensor time (ms)."""
    board = _get_board()
    if board.chip is None:
        return
    ms = board.chip._time25() // 40
    _send_board_event(BOARD_EVENT_POWER, struct.pack("<IBI", ms & 0xFFFFFFFF, kind, value))


def lightsleep(ms=0):
    board = _get_board()
    if board.chip is not None:
        # u8: the FIFO runs through this sleep (a record-only burst), not a nap
        fifo = 1 if board.chip.odr_mhz > _NAP_ODR_MHZ else 0
        _send_board_event(BOARD_EVENT_LIGHTSLEEP, struct.pack("<IB", board.chip.tick, fifo))
        power_event(POWER_I2C, board.i2c_bytes)
        board.i2c_bytes = 0
        power_event(POWER_SLEEP, 1)
    if not board.radio_on:
        board.paced_by_sleep = True
    _sleep(ms)
    power_event(POWER_SLEEP, 0)


def deepsleep(ms=0):
    board = _get_board()
    chip = board.chip
    woke = WOKE_BY_NOTHING
    entered = chip.tick if chip is not None else 0
    on_int1 = board.ext0 is not None and board.ext0[0] == board.int1_pin and board.ext0[1]
    if chip is not None and (on_int1 or (ms and ms > 0)):
        if on_int1:
            int1 = _sleep(ms)
        else:
            # a timer alone: the chip's INT1 is not wired to wake the MCU
            ticks = ms * chip.odr_mhz // 1000000 if chip.odr_mhz else 0
            if ticks:
                chip.advance(ticks)
            int1 = False
        if int1:
            woke = WOKE_BY_INT1
        elif chip.exhausted:
            woke = WOKE_AT_TRACE_END
        else:
            woke = WOKE_BY_TIMER
    if woke in (WOKE_BY_INT1, WOKE_BY_TIMER):
        # only a boot that will happen may find the chip and RTC memory kept
        import json

        with open(_DEEP_SLEEP_FILE, "w") as f:
            json.dump({"chip": chip.snapshot(), "rtc": board.rtc_memory.hex()}, f)
    if chip is not None:
        _send_board_event(BOARD_EVENT_DEEPSLEEP, struct.pack("<IBI", chip.tick, woke, entered))
    # Waking from deep sleep is a reset: the process ends here.
    sys.exit(0)


def reset_cause():
    return _get_board().reset_cause


class RTC:
    """Only its memory: what firmware keeps across deep sleep (lost on power loss)."""

    def memory(self, data=None):
        board = _get_board()
        if data is None:
            return board.rtc_memory
        board.rtc_memory = bytes(data)


async def _sensor_pump(board, pin):
    """Moves sensor time on and raises INT1 edges; runs as a task beside the firmware."""
    chip = board.chip
    if chip is None:
        return
    go = os.getenv("HEAVYLEGS_SIM_GO")
    while go and not _exists(go):
        await asyncio.sleep_ms(10)
    start_us = time.ticks_us()
    base_tick = chip.tick
    while True:
        if board.paced_by_sleep and not board.radio_on:
            # Radio off, the MCU light-sleeping between bursts: only its sleeps move
            # sensor time, which then counts as asleep, not as awake and idle.
            await asyncio.sleep_ms(1)
            _check_trace_end(board, chip)
            continue
        board.paced_by_sleep = False
        if board.pace == "realtime":
            await asyncio.sleep_ms(5)
            # The level before time moves on: the firmware may have drained the
            # FIFO since we last looked, which is a falling edge we must not miss.
            before = chip.int1()
            elapsed = time.ticks_diff(time.ticks_us(), start_us)
            target = base_tick + elapsed * (chip.odr_mhz // 1000) // 1000000
            chip.advance(target - chip.tick)
        else:
            # Yield so the firmware can drain what is there before time moves on.
            await asyncio.sleep_ms(0)
            before = chip.int1()
            needed = chip.ticks_to_watermark()
            if needed < 0:
                # No watermark can rise (bypass, no batching, FIFO mode full):
                # time still passes for the output registers and the timestamp.
                needed = _IDLE_STEP_TICKS
            if needed > 0:
                chip.advance(needed)
        if chip.int1() and not before and pin._handler is not None:
            pin._handler(pin)
        if _check_trace_end(board, chip):
            await asyncio.sleep_ms(50)


def _check_trace_end(board, chip):
    if chip.exhausted and chip.fifo_level() < max(chip.watermark(), 1):
        if not board.trace_end_sent:
            board.trace_end_sent = True
            _send_board_event(BOARD_EVENT_TRACE_END, struct.pack("<I", chip.tick))
        return True
    return False


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _send_board_event(kind, payload):
    if not os.getenv("HEAVYLEGS_SIM_SOCKET"):
        names = {0x80: "trace-end", 0x81: "lightsleep", 0x82: "deepsleep", 0x83: "power"}
        sys.stdout.write("SIM %s %d\n" % (names[kind], struct.unpack("<I", payload)[0]))
        return
    import _simlink

    _simlink.send(kind, payload)


def freq():
    return 64000000


def unique_id():
    return (os.getenv("HEAVYLEGS_SIM_POD") or "simpod").encode()


def idle():
    pass


def reset():
    sys.exit(0)


def soft_reset():
    sys.exit(0)
