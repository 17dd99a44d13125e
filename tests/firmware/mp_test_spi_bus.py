# The sensor on SPI: the board file's spi section -> hal/spi_regs.py -> the simulated
# SPI bus, framed on the chip-select pin -> the emulated LSM6DS's SPI interface. The
# reference is the same trace read over I2C by the unchanged I2C path.
import machine
from fwtest_util import check, data_path, drive, locked
from lsm6ds_emu import LSM6DSEmulator, TraceFileSource

from heavylegs_pod.gait import detector as d
from heavylegs_pod.hal.board import Board
from heavylegs_pod.hal.lsm6ds import LSM6DS

CS = 17
SPI_BOARD = {
    "spi": {"id": 0, "cs": CS, "sck": 18, "mosi": 19, "miso": 16, "baudrate": 10000000},
    "imu": {"part": "LSM6DSOX", "int1": 20},
}
WHO_AM_I = 0x0F
FIFO_CTRL1 = 0x07
TIMESTAMP0 = 0x40


def _spi_chip(part="LSM6DSOX"):
    """A second emulated chip with the same trace, wired to SPI 0 behind pin CS."""
    chip = LSM6DSEmulator(TraceFileSource(data_path("steady_left.hltrace")), part)
    machine._get_board().wire_spi(chip, 0, CS)
    return chip


def _engine(imu):
    return d.GaitEngine(imu.odr_hz, imu.acc_lsb_per_g, imu.gyro_mdps_per_lsb)


def test_spi_reads_the_same_samples_as_i2c():
    chip = _spi_chip()
    over_spi = LSM6DS(Board(SPI_BOARD).imu_bus, 0x6A)
    i2c_chip = machine._get_board().chip
    over_i2c = LSM6DS(machine.I2C(0), 0x6A)
    bursts = 0
    while not chip.exhausted:
        chip.advance(chip.ticks_to_watermark())
        i2c_chip.advance(i2c_chip.ticks_to_watermark())
        n = over_spi.read_fifo()
        m = over_i2c.read_fifo()
        check(n == m, "burst %d: %d samples over SPI, %d over I2C" % (bursts, n, m))
        check(
            bytes(over_spi._samples_mv[: 6 * n]) == bytes(over_i2c._samples_mv[: 6 * m]),
            "burst %d: the samples differ" % bursts,
        )
        bursts += 1
    check(bursts > 100 and over_spi.sample_count > 4000, "only %d bursts" % bursts)
    check(over_spi.sample_count == over_i2c.sample_count, "sample counts differ")
    check(over_spi.overruns == 0 and chip.overruns == 0, "the FIFO overran")


def test_spi_gives_the_same_strides_as_i2c():
    chip = _spi_chip()
    imu = LSM6DS(Board(SPI_BOARD).imu_bus, 0x6A)
    strides = drive(imu, chip, _engine(imu))
    reference_imu = LSM6DS(machine.I2C(0), 0x6A)
    reference = drive(reference_imu, machine._get_board().chip, _engine(reference_imu))
    check(len(reference) > 20, "only %d strides over I2C" % len(reference))
    check(len(strides) == len(reference), "%d strides vs %d" % (len(strides), len(reference)))
    for got, want in zip(strides, reference):
        check(got == want, "stride differs: %r vs %r" % (got, want))


def test_frames_follow_chip_select_and_the_read_bit():
    from heavylegs_pod.hal.spi_regs import SpiRegisters

    chip = _spi_chip()
    spi = machine.SPI(0, baudrate=10000000, polarity=1, phase=1)
    cs = machine.Pin(CS, machine.Pin.OUT, value=1)
    LSM6DS(SpiRegisters(spi, cs), 0x6A)  # sensors and timestamp running
    one = bytearray(1)
    # CS high: the chip is not listening, MISO floats high
    spi.write(bytes([WHO_AM_I | 0x80]))
    spi.readinto(one)
    check(one[0] == 0xFF, "a deselected chip answered 0x%02x" % one[0])
    cs(0)
    spi.write(bytes([WHO_AM_I | 0x80]))
    spi.readinto(one)
    cs(1)
    check(one[0] == 0x6C, "WHO_AM_I 0x%02x" % one[0])
    # a write frame (bit 7 clear), then a read of the same register
    cs(0)
    spi.write(bytes([FIFO_CTRL1, 0x2A]))
    cs(1)
    check(chip.regs[FIFO_CTRL1] == 0x2A, "the write did not land")
    cs(0)
    got = spi.read(2, 0x00)
    cs(1)
    check(got == b"\xff\xff", "a frame starting with 0x00 writes register 0: nothing comes out")
    # full duplex: command and data in one transfer, the pointer moving on
    out = bytearray(3)
    cs(0)
    spi.write_readinto(bytes([FIFO_CTRL1 | 0x80, 0, 0]), out)
    cs(1)
    check(out[1] == 0x2A, "full-duplex read 0x%02x" % out[1])
    # one frame read in two pieces continues where the first stopped
    chip.advance(500)
    whole = bytearray(4)
    cs(0)
    spi.write(bytes([TIMESTAMP0 | 0x80]))
    spi.readinto(whole)
    cs(1)
    pieces = bytearray(4)
    head = bytearray(1)
    cs(0)
    spi.write(bytes([TIMESTAMP0 | 0x80]))
    spi.readinto(head)
    spi.readinto(memoryview(pieces)[1:])
    cs(1)
    pieces[0] = head[0]
    check(whole == pieces and whole != bytearray(4), "split read %r vs %r" % (pieces, whole))


def test_fifo_words_split_across_reads_pop_the_fifo_as_one_read():
    chip = _spi_chip()
    reference_chip = machine._get_board().chip
    over_spi = LSM6DS(Board(SPI_BOARD).imu_bus, 0x6A)
    over_i2c = LSM6DS(machine.I2C(0), 0x6A)
    for c in (chip, reference_chip):
        c.advance(100)
    spi = over_spi.i2c.spi
    cs = over_spi.i2c.cs
    # 3 words in pieces of 5 and 16 bytes: the pointer wraps FIFO_DATA_OUT_Z_H -> TAG
    words = bytearray(21)
    view = memoryview(words)
    cs(0)
    spi.write(b"\xf8")  # FIFO_DATA_OUT_TAG | 0x80
    spi.readinto(view[:5])
    spi.readinto(view[5:])
    cs(1)
    reference = bytearray(21)
    machine.I2C(0).readfrom_mem_into(0x6A, 0x78, reference)
    check(words == reference, "split SPI read %r vs I2C %r" % (bytes(words), bytes(reference)))
    check(over_spi.fifo_level() == over_i2c.fifo_level(), "the FIFOs popped differently")


def test_a_wrong_spi_mode_or_bus_is_refused_by_who_am_i():
    _spi_chip()
    for spi_id, polarity, phase in ((0, 0, 1), (0, 1, 0), (1, 1, 1)):
        from heavylegs_pod.hal.spi_regs import SpiRegisters

        spi = machine.SPI(spi_id, baudrate=10000000, polarity=polarity, phase=phase)
        bus = SpiRegisters(spi, machine.Pin(CS, machine.Pin.OUT, value=1))
        try:
            LSM6DS(bus, 0x6A)
        except OSError as err:
            check("WHO_AM_I 0xff" in str(err), "unclear: %s" % err)
            continue
        raise AssertionError("SPI %d mode %d%d reached the chip" % (spi_id, polarity, phase))
    # mode 0 also samples on the rising edge: the chip answers
    bus = SpiRegisters(machine.SPI(0, polarity=0, phase=0), machine.Pin(CS, machine.Pin.OUT))
    LSM6DS(bus, 0x6A)


def test_a_malformed_bus_in_the_board_file_says_what_is_wrong():
    cases = (
        ({"imu": {"int1": 20}}, "'i2c' or 'spi', is missing"),
        (dict(SPI_BOARD, i2c={"id": 0}), "not both"),
        ({"spi": {"id": 0}, "imu": {"int1": 20}}, "spi.cs"),
        ({"spi": {"cs": CS, "sck": 18}, "imu": {"int1": 20}}, "all of sck, mosi and miso"),
        ({"spi": {"cs": CS, "mosi": 19, "miso": 16}, "imu": {"int1": 20}}, "or none"),
    )
    for config, words in cases:
        try:
            Board(config)
        except ValueError as err:
            check(words in str(err), "%r: %s" % (config, err))
            check(str(err).startswith("board.json: "), "not a board.json error: %s" % err)
            continue
        raise AssertionError("%r was accepted" % config)
    board = Board(SPI_BOARD)
    check(board.bus_kind == "spi" and board.i2c is None, "an SPI board with an I2C bus")
    i2c_board = Board({"i2c": {"id": 0}, "imu": {"int1": 4}})
    check(i2c_board.imu_bus is i2c_board.i2c, "the I2C path must be machine.I2C itself")


def test_an_imu_address_on_an_spi_board_is_not_read():
    # the host refuses one; a pod flashed before that must still boot
    _spi_chip()
    config = {"spi": SPI_BOARD["spi"], "imu": dict(SPI_BOARD["imu"], address="cs")}
    board = Board(config)
    imu = LSM6DS(board.imu_bus, board.imu_address)
    check(imu.odr_hz > 0, "the sensor did not start")


class _RecordingSpi:
    """Passes transfers through to the simulated SPI bus and keeps what came back."""

    def __init__(self, spi):
        self.spi = spi
        self.commands = []
        self.reads = []

    def write(self, buf):
        self.spi.write(buf)
        self.commands.append(bytes(buf))

    def readinto(self, buf):
        self.spi.readinto(buf)
        self.reads.append(bytes(buf))


class _ReplaySpi:
    """Answers the same transfers from preallocated bytes, as a port's SPI driver in C
    does (the simulated bus is Python and allocates)."""

    def __init__(self, recorder):
        self.commands = bytearray(b"".join(recorder.commands))
        self.data = bytearray(b"".join(recorder.reads))
        self.command = 0
        self.offset = 0

    def write(self, buf):
        for k in range(len(buf)):
            check(self.commands[self.command] == buf[k], "the driver sent another command")
            self.command += 1

    def readinto(self, buf):
        data = self.data
        o = self.offset
        for k in range(len(buf)):
            buf[k] = data[o + k]
        self.offset = o + len(buf)


class _CountingPin:
    def __init__(self):
        self.level = 1
        self.frames = 0

    def value(self, v):
        if self.level and not v:
            self.frames += 1
        self.level = v


def test_fifo_bursts_over_spi_allocate_nothing():
    chip = _spi_chip()
    imu = LSM6DS(Board(SPI_BOARD).imu_bus, 0x6A)
    transport = imu.i2c
    recorder = _RecordingSpi(transport.spi)
    transport.spi = recorder
    expected = []
    for ticks in (40, 70, 33, 90, 64, 128, 20, 200):
        chip.advance(ticks)
        count = imu.read_fifo()
        expected.append((count, bytes(imu._samples_mv[: 6 * count])))
    check(sum(c for c, _ in expected) > 200, "the bursts read too little to prove anything")
    transport.spi = _ReplaySpi(recorder)
    pin = _CountingPin()
    transport.cs = pin
    imu._have_gyro = False
    for count, samples in expected:
        got = locked(imu.read_fifo)
        check(got == count, "replayed burst read %d samples, not %d" % (got, count))
        check(bytes(imu._samples_mv[: 6 * got]) == samples, "replayed samples differ")
    # a status read per burst and a FIFO read per burst that had words
    frames = len(expected) + sum(1 for c, _ in expected if c)
    check(pin.frames == frames and pin.level == 1, "%d CS frames, not %d" % (pin.frames, frames))
