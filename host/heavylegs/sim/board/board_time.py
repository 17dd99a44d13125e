"""How sensor time passes on the simulated board, and what the board tells the host.

Part of the simulated `machine` (machine.py re-exports lightsleep, deepsleep and
power_event): the pump that moves sensor time while the firmware waits, light
and deep sleep, and the board events (trace end, sleeps, the power timeline)
sent over the simulator link. Every function takes machine's board object.
"""

import asyncio
import os
import struct
import sys
import time

from simlink_proto import (
    BOARD_EVENT_DEEPSLEEP,
    BOARD_EVENT_LIGHTSLEEP,
    BOARD_EVENT_POWER,
    BOARD_EVENT_TRACE_END,
    POWER_BUS,
    POWER_SLEEP,
    WOKE_AT_TRACE_END,
    WOKE_BY_INT1,
    WOKE_BY_NOTHING,
    WOKE_BY_TIMER,
)

DEEP_SLEEP_FILE = "sim_deepsleep.json"  # what survives a deep sleep: chip and RTC memory
_IDLE_STEP_TICKS = 32
_NAP_ODR_MHZ = 26000  # up to the wake-up mode's 26 Hz, the sensor naps with the MCU


def _sleep(board, ms):
    """Sensor time passes for up to ms, or until INT1 rises; True if INT1 ended it."""
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


def power_event(board, kind, value):
    """One entry of the power timeline, stamped with sensor time (ms)."""
    if board.chip is None:
        return
    ms = board.chip._time25() // 40
    send_board_event(BOARD_EVENT_POWER, struct.pack("<IBI", ms & 0xFFFFFFFF, kind, value))


def lightsleep(board, ms=0):
    if board.chip is not None:
        # u8: the FIFO runs through this sleep (a record-only burst), not a nap
        fifo = 1 if board.chip.odr_mhz > _NAP_ODR_MHZ else 0
        send_board_event(BOARD_EVENT_LIGHTSLEEP, struct.pack("<IB", board.chip.tick, fifo))
        power_event(board, POWER_BUS, board.bus_bytes)
        board.bus_bytes = 0
        power_event(board, POWER_SLEEP, 1)
    if not board.radio_on:
        board.paced_by_sleep = True
    _sleep(board, ms)
    power_event(board, POWER_SLEEP, 0)


def deepsleep(board, ms=0):
    chip = board.chip
    woke = WOKE_BY_NOTHING
    entered = chip.tick if chip is not None else 0
    on_int1 = board.ext0 is not None and board.ext0[0] == board.int1_pin and board.ext0[1]
    if chip is not None and (on_int1 or (ms and ms > 0)):
        if on_int1:
            int1 = _sleep(board, ms)
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

        with open(DEEP_SLEEP_FILE, "w") as f:
            json.dump({"chip": chip.snapshot(), "rtc": board.rtc_memory.hex()}, f)
    if chip is not None:
        send_board_event(BOARD_EVENT_DEEPSLEEP, struct.pack("<IBI", chip.tick, woke, entered))
    # Waking from deep sleep is a reset: the process ends here.
    sys.exit(0)


async def sensor_pump(board, pin):
    """Moves sensor time on and raises INT1 edges; runs as a task beside the firmware."""
    chip = board.chip
    if chip is None:
        return
    go = os.getenv("HEAVYLEGS_SIM_GO")
    while go and not exists(go):
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
            send_board_event(BOARD_EVENT_TRACE_END, struct.pack("<I", chip.tick))
        return True
    return False


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def send_board_event(kind, payload):
    if not os.getenv("HEAVYLEGS_SIM_SOCKET"):
        names = {0x80: "trace-end", 0x81: "lightsleep", 0x82: "deepsleep", 0x83: "power"}
        sys.stdout.write("SIM %s %d\n" % (names[kind], struct.unpack("<I", payload)[0]))
        return
    import _simlink

    _simlink.send(kind, payload)
