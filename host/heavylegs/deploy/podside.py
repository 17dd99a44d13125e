"""MicroPython code the host runs on a pod through the raw REPL.

Kept as text here rather than as pod modules: it must work on a pod with no
firmware yet, or a broken one. Every snippet prints one JSON line (or base64
lines) for the host to parse; nothing here allocates more than a few buffers.
HELPERS is run once per connection and defines _hl_* functions in the REPL's
globals, which live until the next soft reset.
"""

HELPERS = r"""
import os, sys, json, gc, binascii
def _hl_mkdirs(p):
    d = ''
    for part in p.split('/')[:-1]:
        d = d + '/' + part if d else part
        try:
            os.mkdir(d)
        except OSError:
            pass
def _hl_walk(d, out):
    try:
        entries = list(os.ilistdir(d) if d else os.ilistdir())
    except OSError:
        return
    for e in entries:
        p = d + '/' + e[0] if d else e[0]
        if e[1] == 0x4000:
            _hl_walk(p, out)
        else:
            out.append(p)
def _hl_chunks(p, b):
    with open(p, 'rb') as f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            yield n
def _hl_sha(p):
    import hashlib
    h = hashlib.sha256()
    b = bytearray(512)
    m = memoryview(b)
    for n in _hl_chunks(p, b):
        h.update(m[:n])
    return binascii.hexlify(h.digest()).decode()
def _hl_files(paths):
    r = {}
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        if st[0] & 0x4000:
            continue
        r[p] = [st[6], _hl_sha(p)]
    return r
def _hl_remove(p):
    try:
        os.remove(p)
        return 1
    except OSError:
        return 0
def _hl_rename(a, b):
    try:
        os.rename(a, b)
    except OSError:
        _hl_remove(b)
        os.rename(a, b)
def _hl_fs():
    st = os.statvfs('.')
    return [st[1] or st[0], st[2], st[4]]
def _hl_cat(p, n):
    b = bytearray(n)
    for k in _hl_chunks(p, b):
        sys.stdout.write(binascii.b2a_base64(memoryview(b)[:k]))
"""

PROBE = r"""
def _hl_probe():
    impl = sys.implementation
    r = {'impl': impl.name, 'version': list(impl.version[:3]),
         'mpy': getattr(impl, '_mpy', 0), 'machine': getattr(impl, '_machine', sys.platform),
         'platform': sys.platform, 'cwd': os.getcwd(), 'fs': _hl_fs()}
    try:
        import machine
        r['uid'] = binascii.hexlify(machine.unique_id()).decode()
    except Exception:
        r['uid'] = ''
    files = ['main.py', 'board.json', 'pod.json', KEY_FILE]
    files += [e[0] for e in os.ilistdir() if e[0].endswith('.hl-new')]
    _hl_walk('heavylegs_pod', files)
    r['files'] = _hl_files(files)
    gc.collect()
    r['ram_free'] = gc.mem_free()
    r['ram_used'] = gc.mem_alloc()
    print(json.dumps(r))
_hl_probe()
"""

VERIFY = r"""
def _hl_verify():
    r = {}
    import heavylegs_pod
    r['version'] = heavylegs_pod.VERSION
    import heavylegs_pod.app
    from heavylegs_pod.hal.board import Board
    b = Board.from_file('board.json')
    r['board'] = b.name
    buf = bytearray(1)
    try:
        b.imu_bus.readfrom_mem_into(b.imu_address, 0x0F, buf)
        r['who_am_i'] = buf[0]
    except OSError as e:
        r['sensor_error'] = repr(e)
        try:
            r['i2c_scan'] = b.i2c.scan() if b.i2c else []
        except OSError:
            r['i2c_scan'] = []
    print(json.dumps(r))
_hl_verify()
"""

# Doctor: every check reports what it found, or why it could not look.
DOCTOR = r"""
def _hl_doctor(board_json, drain_samples, drain_ms):
    r = {}
    try:
        import heavylegs_pod
        r['firmware'] = heavylegs_pod.VERSION
    except Exception as e:
        r['firmware_error'] = repr(e)
    cfg = None
    if board_json:
        cfg = json.loads(board_json)
    else:
        try:
            with open('board.json') as f:
                cfg = json.load(f)
        except (OSError, ValueError) as e:
            r['board_error'] = repr(e)
    if cfg is None:
        print(json.dumps(r))
        return
    r['board'] = cfg.get('name', '?')
    r['board_cfg'] = cfg
    from machine import I2C, Pin
    bus = cfg.get('i2c')
    imu = cfg['imu']
    i2c = None
    try:
        if bus is None:
            # SPI (mode 3): CS low, address | 0x80 reads, as hal/spi_regs.py does. Not
            # imported from there: the doctor must also diagnose a pod whose firmware
            # is missing or broken. imu.address does not apply on SPI: not read.
            from machine import SPI
            s = cfg['spi']
            pins = {}
            if 'sck' in s:
                pins = {'sck': Pin(s['sck']), 'mosi': Pin(s['mosi']), 'miso': Pin(s['miso'])}
            spi = SPI(s.get('id', 0), baudrate=s.get('baudrate', 10000000), polarity=1, phase=1, **pins)
            cs = Pin(s['cs'], Pin.OUT, value=1)
            buf = bytearray(1)
            cs.value(0)
            try:
                spi.write(b'\x8f')
                spi.readinto(buf)
            finally:
                # a transfer that raised must not leave the chip selected
                cs.value(1)
            r['who_am_i'] = buf[0]
        elif 'scl' in bus:
            i2c = I2C(bus.get('id', 0), scl=Pin(bus['scl']), sda=Pin(bus['sda']), freq=bus.get('freq', 400000))
        else:
            i2c = I2C(bus.get('id', 0), freq=bus.get('freq', 400000))
        if i2c:
            addr = imu.get('address', 0x6A)
            if isinstance(addr, str):
                addr = int(addr, 0)
            buf = bytearray(1)
            i2c.readfrom_mem_into(addr, 0x0F, buf)
            r['who_am_i'] = buf[0]
    except OSError as e:
        r['sensor_error'] = repr(e)
        try:
            r['i2c_scan'] = i2c.scan() if i2c else []
        except Exception:
            r['i2c_scan'] = []
    if 'firmware' in r and 'who_am_i' in r and drain_samples:
        try:
            r['fifo'] = _hl_drain(cfg, drain_samples, drain_ms)
        except Exception as e:
            r['fifo_error'] = repr(e)
    if 'firmware' in r:
        try:
            from heavylegs_pod.hal.board import Board
            mv = Board(cfg).battery_mv()
            r['battery_mv'] = mv
        except Exception as e:
            r['battery_error'] = repr(e)
    print(json.dumps(r))
def _hl_drain(cfg, want, limit_ms):
    import asyncio, time
    from heavylegs_pod.hal.board import Board
    from heavylegs_pod.hal.lsm6ds import LSM6DS
    b = Board(cfg)
    imu = LSM6DS(b.imu_bus, b.imu_address, b.imu_part, **b.imu_ranges)
    flag = asyncio.ThreadSafeFlag()
    seen = [0]
    def on_edge(pin):
        seen[0] += 1
        flag.set()
    b.int1.irq(on_edge, trigger=b.int1.IRQ_RISING)
    t0 = time.ticks_ms()
    async def drain():
        while imu.sample_count < want and time.ticks_diff(time.ticks_ms(), t0) < limit_ms:
            try:
                await asyncio.wait_for_ms(flag.wait(), 250)
            except asyncio.TimeoutError:
                pass
            while imu.read_fifo():
                pass
    asyncio.run(drain())
    b.int1.irq(None)
    return {'samples': imu.sample_count, 'overruns': imu.overruns, 'interrupts': seen[0],
            'ms': time.ticks_diff(time.ticks_ms(), t0), 'odr_hz': imu.odr_hz}
"""

# The pod's BLE address, as bleak reports it: the identity BLE sync and the key
# store use for a pod. Starting the radio is the only way to read it.
BLE_ADDRESS = r"""
def _hl_ble_address():
    r = {}
    try:
        import bluetooth
        ble = bluetooth.BLE()
        ble.active(True)
        r['address'] = ':'.join('%02X' % b for b in ble.config('mac')[1])
    except Exception as e:
        r['error'] = repr(e)
    print(json.dumps(r))
_hl_ble_address()
"""

# USB pull: the journal's sessions as the same 20-byte records BLE sync lists,
# then stride records in batches. The app is not running (the raw REPL took
# over after a soft reset), so the journal's files are closed and quiet.
#
# _hl_journal_open() prints one JSON line (protocol 3):
#   {"name": str, "firmware": str,
#    "sessions": [hex of the 20-byte 0x81 session record, ...],
#    "identities": [{"session": int, "epoch": int, "boot": int, "start_clock_s": int,
#                    "clock_known": bool, "record": hex of the 0x83 identity record},
#                   ...],          # one per session, in the same order
#    "pod": {"epoch": int, "boot": int|null, "clock_s": int|null, "unix_s": int|null,
#            "clock_error": str (only when the clocks could not be read)}}
# A session is named for ever by (pod, epoch, session id); epoch 0 means a session
# journaled before protocol 3 (or a damaged header whose epoch cannot be proved).
# boot/start_clock_s are 0 when clock_known is false. "pod" is the pod's identity
# now: the journal's epoch, and the boot id and pod clock that the app keeps in RTC
# memory against the sensor's running timestamp (null where the port has no RTC
# memory or no app ran since the pod was powered); a session with the same boot id
# started (clock_s - start_clock_s) seconds before this answer.
#
# _hl_journal_send(sid, start, limit) prints a pull batch (wire.write_pull_batch)
# of every intact record with start <= index < start + limit; its gaps are the
# damaged (unreadable) records in that range, consecutive ones coalesced (a run
# of damage crossing a batch boundary is declared once per batch). Every index in
# [start, next) is either sent or in a gap, so the host may acknowledge up to next.
JOURNAL_OPEN = r"""
def _hl_pod_clock(epoch):
    r = {'epoch': epoch, 'boot': None, 'clock_s': None, 'unix_s': None}
    try:
        import machine
        from heavylegs_pod import power
        from heavylegs_pod.hal.board import Board
        kept = machine.RTC().memory()
        b = Board.from_file('board.json')
        ts = bytearray(4)
        b.imu_bus.readfrom_mem_into(b.imu_address, 0x40, ts)
        now = ts[0] | (ts[1] << 8) | (ts[2] << 16) | (ts[3] << 24)
        got = power.resume_after_sleep(kept, now)
        if got is not None and got[2]:
            r['boot'] = got[2]
            r['clock_s'] = got[3]
            if got[0] >= 0:
                r['unix_s'] = got[0]
    except Exception as e:
        r['clock_error'] = repr(e)
    return r
def _hl_journal_open():
    global _hl_j
    from heavylegs_pod import wire
    from heavylegs_pod.startup import load_config
    from heavylegs_pod.journal import Journal
    from heavylegs_pod.ble.gatt import firmware_revision
    cfg = load_config()
    _hl_j = Journal(cfg.get('journal_dir', 'journal'), cfg['journal_kb'] * 1024)
    buf = bytearray(wire.SESSION_SIZE)
    out = []
    ids = []
    for sid in _hl_j.sessions():
        info = _hl_j.info(sid)
        wire.encode_session(buf, 0, info[0], sid, info[1], info[2], info[3], info[4])
        out.append(binascii.hexlify(buf).decode())
        epoch, boot, clock_s, known = _hl_j.identity(sid)
        acc_fs_g, gyro_fs_dps = _hl_j.ranges(sid)
        wire.encode_identity(buf, 0, sid, epoch, boot, clock_s, known, acc_fs_g, gyro_fs_dps)
        ids.append({'session': sid, 'epoch': epoch, 'boot': boot, 'start_clock_s': clock_s,
                    'clock_known': known, 'record': binascii.hexlify(buf).decode()})
    print(json.dumps({'name': cfg['name'], 'firmware': firmware_revision(), 'sessions': out,
                      'identities': ids, 'pod': _hl_pod_clock(_hl_j.epoch)}))
_hl_journal_open()
"""

JOURNAL_HELPERS = r"""
def _hl_journal_send(sid, start, limit):
    from heavylegs_pod import wire
    j = _hl_j
    rec = bytearray(wire.PULL_ENTRY_SIZE)
    out = bytearray()
    gaps = []
    total = j.count(sid)
    i = start
    while i < total and i - start < limit:
        got = j.read(sid, i, rec, wire.encode_pull_index(rec, 0, i))
        if got < 0:
            break
        if got:
            out.extend(rec)
        elif gaps and gaps[-1][0] + gaps[-1][1] == i:
            gaps[-1][1] += 1
        else:
            gaps.append([i, 1])
        i += 1
    j.close_reader()
    wire.write_pull_batch(sys.stdout.write, out, i, total, gaps)
def _hl_journal_ack(sid, count):
    print(json.dumps({'acked': _hl_j.mark_synced(sid, count)}))
def _hl_journal_erase_synced():
    print(json.dumps({'erased': _hl_j.erase_synced()}))
"""
