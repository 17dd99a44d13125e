"""Stand-in for MicroPython's `esp32` module on the simulated board: the deep-sleep
wake source, which the simulated `machine.deepsleep` honours."""

import machine

WAKEUP_ALL_LOW = 0
WAKEUP_ANY_HIGH = 1


def wake_on_ext0(pin, level):
    board = machine._get_board()
    board.ext0 = None if pin is None else (pin.id, level)
