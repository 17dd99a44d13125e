"""The simulated link's vocabulary, shared by both ends as wire.py is shared by pod and host.

The simulated board (MicroPython: _simlink.py, bluetooth.py, machine.py import it
top-level from MICROPYPATH) and the host's bridge (CPython: sim/pod_bridge.py and
sim/pod.py import heavylegs.sim.board.simlink_proto) read their numbers from here,
so the two ends cannot drift. Plain ints: the module runs unchanged in both.

Frame protocol
--------------
Every frame is `u16 LE body length` then the body: `u8 type` and the
payload. Integers are little-endian. `uuid` is `u8 n` (2, 4 or 16) then
n bytes little-endian; `addr` is `u8 type` (0 public, 1 random) then 6
bytes most significant first (MicroPython's order).

Board -> host:

====  ===========  ===================================================================
0x01  HELLO        u8 protocol version (1). Answered by HELLO_ACK.
0x02  ACTIVE       u8 0/1. 0 stops advertising and drops connections.
0x03  CONFIG       u8 key, value. 1 = GAP device name (UTF-8), 2 = preferred MTU (u16).
0x04  ADVERTISE    u32 interval_us (0 = stop), u8 connectable, u8 adv length,
                   advertising data, scan response data (the rest).
0x05  REGISTER     u8 services; per service: uuid, u8 characteristics; per
                   characteristic: uuid, u16 flags, u8 descriptors; per descriptor:
                   uuid, u16 flags. Answered by REGISTERED. Replaces all services.
0x06  WRITE_LOCAL  u16 value handle, u16 bit0 = send_update, value (gatts_write).
0x07  NOTIFY       u16 conn, u16 value handle, value.
0x08  INDICATE     u16 conn, u16 value handle, value. Answered by INDICATE_DONE.
0x09  SET_BUFFER   u16 value handle, u16 buffer length, u8 append.
0x0A  DISCONNECT   u16 conn.
0x0B  BEACON       empty: the radio came back on and advertises (a record-only
                   burst). Answered by BEACON_DONE once the host has acted.
0x80+ board event  handed to `on_board_event(type, payload)`; see BOARD_EVENT_*.
====  ===========  ===================================================================

Host -> board:

====  ==================  ==========================================================
0x41  HELLO_ACK           u8 protocol version, addr (the pod's own address).
0x45  REGISTERED          u8 status (0 or an errno), then u16 handles: per
                          characteristic its value handle, then its descriptors'.
0x50  CENTRAL_CONNECT     u16 conn, addr of the central.            -> IRQ 1
0x51  CENTRAL_DISCONNECT  u16 conn, addr of the central.            -> IRQ 2
0x52  CENTRAL_WRITE       u16 conn, u16 handle, value as written.   -> IRQ 3
0x53  INDICATE_DONE       u16 conn, u16 value handle, u8 status.    -> IRQ 20
0x54  MTU_EXCHANGED       u16 conn, u16 MTU.                        -> IRQ 21
0x55  BEACON_DONE         empty.
====  ==================  ==========================================================

Characteristic flags are MicroPython's `FLAG_*` (GATT properties in the low
byte, `0x0200`.. security bits). Descriptor flags are ATT permissions as
on NimBLE: bit 0 read, bit 1 write (aioble's `_FLAG_DESC_READ = 1`). A
CCCD is inserted right after the value of every notify/indicate
characteristic, as NimBLE does; its handle is not returned.
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
POWER_BUS = 5  # bytes moved on the sensor bus (I2C or SPI) since the last such event (sent as a sleep begins)

# What ended a deep sleep (the BOARD_EVENT_DEEPSLEEP payload).
WOKE_BY_NOTHING = 0  # no wake source: only a reset (a charger, the button) ends it
WOKE_BY_INT1 = 1
WOKE_BY_TIMER = 2
WOKE_AT_TRACE_END = 3  # the trace ran out first: the simulation is over
