"""Stand-in for MicroPython's `machine` on the unix port: a simulated pod board.

Only on MICROPYPATH when simulating. The I2C bus carries an emulated LSM6DS chip
that serves a trace file; the chip's INT1 is wired to a Pin whose IRQ fires on the
rising edge of the FIFO watermark, as on the real board. Configuration comes from
the environment the simulator sets:

  HEAVYLEGS_SIM_TRACE   trace file the sensor experiences (required for a sensor)
  HEAVYLEGS_SIM_PART    LSM6DSOX (default) or LSM6DSO32
  HEAVYLEGS_SIM_ADDR    I2C address of the sensor (default 0x6A)
  HEAVYLEGS_SIM_BUS     "i2c" (default) or "spi": the sensor on machine.SPI(SPI_ID)
                        with its chip select on HEAVYLEGS_SIM_CS (sim_board.py's
                        defaults), framed on CS edges (lsm6ds_spi.py)
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
import sys

import board_time
import sim_board
from lsm6ds_emu import LSM6DSEmulator
from lsm6ds_spi import LSM6DSSpiPort
from sample_sources import TraceFileSource

PWRON_RESET = 1
DEEPSLEEP_RESET = 4
_ENODEV = 19


def _env_int(name, default):
    value = os.getenv(name)
    return int(value, 0) if value else default


class _Board:
    def __init__(self):
        self.devices = {}
        self.spi_ports = {}  # chip-select pin -> the chip's SPI interface behind it
        self.chip = None
        path = os.getenv("HEAVYLEGS_SIM_TRACE")
        if path:
            part = os.getenv("HEAVYLEGS_SIM_PART") or sim_board.IMU_PART
            self.chip = LSM6DSEmulator(TraceFileSource(path), part)
            if (os.getenv("HEAVYLEGS_SIM_BUS") or "i2c") == "spi":
                cs = _env_int("HEAVYLEGS_SIM_CS", sim_board.SPI_CS_PIN)
                self.wire_spi(self.chip, sim_board.SPI_ID, cs)
            else:
                self.devices[_env_int("HEAVYLEGS_SIM_ADDR", sim_board.IMU_ADDRESS)] = self.chip
        self.reset_cause = PWRON_RESET
        self.rtc_memory = b""
        self.ext0 = None  # (pin id, level) that ends a deep sleep, from esp32.wake_on_ext0
        if board_time.exists(board_time.DEEP_SLEEP_FILE):
            import json

            with open(board_time.DEEP_SLEEP_FILE) as f:
                kept = json.load(f)
            os.remove(
                board_time.DEEP_SLEEP_FILE
            )  # one boot consumes it, as RTC memory is read once
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
        self.bus_bytes = 0
        self.trace_end_sent = False
        self.battery = None
        spec = os.getenv("HEAVYLEGS_SIM_BATTERY")
        if spec:
            parts = [float(x) for x in spec.split(",")]
            parts += [sim_board.BATTERY_ADC_PIN, sim_board.BATTERY_DIVIDER][len(parts) - 2 :]
            self.battery = parts  # start mV, mV per hour, pin, divider

    def wire_spi(self, chip, bus_id, cs_pin):
        """Puts a chip on SPI bus `bus_id`, selected by pin `cs_pin`."""
        port = LSM6DSSpiPort(chip, bus_id, cs_pin)
        self.spi_ports[cs_pin] = port
        return port

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
        self._board.bus_bytes += len(raw) + 2  # the address and register bytes too

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


class SPI:
    """A controller on one of the board's SPI buses; the chips on it answer while
    their chip-select pin is low (lsm6ds_spi.py)."""

    MSB = 0
    LSB = 1

    def __init__(
        self,
        id=0,
        baudrate=1000000,
        *,
        polarity=0,
        phase=0,
        bits=8,
        firstbit=0,
        sck=None,
        mosi=None,
        miso=None,
    ):
        self._board = _get_board()
        self._id = id
        self.init(baudrate, polarity=polarity, phase=phase, bits=bits, firstbit=firstbit)

    def init(self, baudrate=1000000, *, polarity=0, phase=0, bits=8, firstbit=0, **pins):
        if bits != 8 or firstbit != SPI.MSB:
            raise ValueError("the LSM6DS speaks 8-bit words, MSB first")
        self.baudrate = baudrate
        # the chip latches on the rising edge: modes 0 and 3
        self._decodes = polarity == phase

    def deinit(self):
        pass

    def _clock(self, mosi, miso, n, fill):
        for port in self._board.spi_ports.values():
            if port.bus_id == self._id and port.selected:
                before = port.bytes
                port.clock(mosi, miso, n, fill, self._decodes)
                self._board.bus_bytes += port.bytes - before
                return
        if miso is not None:
            for k in range(n):
                miso[k] = 0xFF  # nothing selected drives MISO

    def write(self, buf):
        self._clock(buf, None, len(bytes(buf)), 0)

    def readinto(self, buf, write=0):
        raw = _bytes_of(buf)
        self._clock(None, raw, len(raw), write)

    def read(self, nbytes, write=0):
        buf = bytearray(nbytes)
        self._clock(None, buf, nbytes, write)
        return bytes(buf)

    def write_readinto(self, write_buf, read_buf):
        raw = _bytes_of(read_buf)
        self._clock(write_buf, raw, len(raw), 0)


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
        self._value = 0
        self._handler = None
        self._board = _get_board()
        self._board.pins[id] = self
        if value is not None or mode == Pin.OUT:
            self._drive(value or 0)

    def init(self, mode=-1, pull=-1, value=None):
        if value is not None:
            self._drive(value)

    def _drive(self, level):
        self._value = 1 if level else 0
        port = self._board.spi_ports.get(self.id)
        if port is not None:
            port.select(self._value)

    def value(self, v=None):
        if v is not None:
            self._drive(v)
            return None
        if self.id == self._board.int1_pin and self._board.chip is not None:
            return 1 if self._board.chip.int1() else 0
        return self._value

    def on(self):
        self._drive(1)

    def off(self):
        self._drive(0)

    def __call__(self, v=None):
        return self.value(v)

    def irq(self, handler=None, trigger=IRQ_RISING, hard=False):
        self._handler = handler
        board = self._board
        if handler is not None and self.id == board.int1_pin and not board.pump_started:
            board.pump_started = True
            asyncio.create_task(board_time.sensor_pump(board, self))


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


def power_event(kind, value):
    """One entry of the power timeline (bluetooth.py reports the radio's)."""
    board_time.power_event(_get_board(), kind, value)


def lightsleep(ms=0):
    board_time.lightsleep(_get_board(), ms)


def deepsleep(ms=0):
    board_time.deepsleep(_get_board(), ms)


def reset_cause():
    return _get_board().reset_cause


class RTC:
    """Only its memory: what firmware keeps across deep sleep (lost on power loss)."""

    def memory(self, data=None):
        board = _get_board()
        if data is None:
            return board.rtc_memory
        board.rtc_memory = bytes(data)


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
