"""The simulated link's vocabulary, shared by both ends as wire.py is shared by pod and host.

The simulated board (MicroPython: _simlink.py, bluetooth.py, machine.py import it
top-level from MICROPYPATH) and the host's bridge (CPython: sim/pod_bridge.py and
sim/pod.py import heavylegs.sim.board.simlink_proto) read their numbers from here,
so the two ends cannot drift. Plain ints: the module runs unchanged in both.
Frame layouts are documented in pod_bridge.py.
"""

PROTOCOL_VERSION = 1

# Frame types, board -> host.
MSG_HELLO = 0x01
MSG_ACTIVE = 0x02
MSG_CONFIG = 0x03
MSG_ADVERTISE = 0x04
MSG_REGISTER = 0x05
MSG_WRITE_LOCAL = 0x06
MSG_NOTIFY = 0x07
MSG_INDICATE = 0x08
MSG_SET_BUFFER = 0x09
MSG_DISCONNECT = 0x0A
MSG_BEACON = 0x0B  # the radio came back on and advertises: the host may act first
# Frame types, host -> board.
MSG_HELLO_ACK = 0x41
MSG_REGISTERED = 0x45
MSG_CENTRAL_CONNECT = 0x50
MSG_CENTRAL_DISCONNECT = 0x51
MSG_CENTRAL_WRITE = 0x52
MSG_INDICATE_DONE = 0x53
MSG_MTU_EXCHANGED = 0x54
MSG_BEACON_DONE = 0x55

# MSG_CONFIG keys.
CONFIG_GAP_NAME = 1
CONFIG_MTU = 2

# Characteristic flags as MicroPython's bluetooth module numbers them.
FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020
DEFAULT_VALUE_LEN = 20  # the C port's default value buffer

# Frame types from this one up are board events (the simulated machine module's), not BLE.
BOARD_EVENT_MIN = 0x80
BOARD_EVENT_TRACE_END = 0x80  # payload: u32 chip tick
BOARD_EVENT_LIGHTSLEEP = 0x81  # payload: u32 chip tick
BOARD_EVENT_DEEPSLEEP = 0x82  # payload: "<IBI" chip tick, WOKE_*, tick when it fell asleep
# The power-state timeline: "<IBI" sensor time in ms, POWER_* kind, value.
BOARD_EVENT_POWER = 0x83

# BOARD_EVENT_POWER kinds and their values.
POWER_SLEEP = 1  # 1: light sleep begins; 0: it ended
POWER_RADIO = 2  # BLE.active: 1 on, 0 off
POWER_ADVERTISE = 3  # advertising interval in us, 0: stopped
POWER_CONNECTIONS = 4  # centrals connected now
POWER_I2C = 5  # bytes moved on the I2C bus since the last such event (sent as a sleep begins)

# What ended a deep sleep (the BOARD_EVENT_DEEPSLEEP payload).
WOKE_BY_NOTHING = 0  # no wake source: only a reset (a charger, the button) ends it
WOKE_BY_INT1 = 1
WOKE_BY_TIMER = 2
WOKE_AT_TRACE_END = 3  # the trace ran out first: the simulation is over
