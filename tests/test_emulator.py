"""The LSM6DS chip emulator against the datasheets: registers, FIFO, scaling, time.

Every expectation here is written from the datasheet's description (register
address, bit, reset value, documented behaviour), not from the emulator's code.
"""

from __future__ import annotations

import pytest

from heavylegs.sim.board.lsm6ds_emu import ArraySource, LSM6DSEmulator

TAGGED_PARTS = ("LSM6DSOX", "LSM6DSO32")
ALL_PARTS = (*TAGGED_PARTS, "LSM6DS3TR-C")

# Register addresses (the register maps of the LSM6DSOX, LSM6DSO32 and LSM6DS3TR-C datasheets)
PIN_CTRL = 0x02
FIFO_CTRL1, FIFO_CTRL2, FIFO_CTRL3, FIFO_CTRL4 = 0x07, 0x08, 0x09, 0x0A
L_FIFO_CTRL1, L_FIFO_CTRL2, L_FIFO_CTRL3, L_FIFO_CTRL4, L_FIFO_CTRL5 = 0x06, 0x07, 0x08, 0x09, 0x0A
INT1_CTRL = 0x0D
WHO_AM_I = 0x0F
CTRL1_XL, CTRL2_G, CTRL3_C, CTRL6_C, CTRL9_XL, CTRL10_C = 0x10, 0x11, 0x12, 0x15, 0x18, 0x19
STATUS_REG = 0x1E
OUT_TEMP_L, OUTX_L_G, OUTX_L_A = 0x20, 0x22, 0x28
FIFO_STATUS1, FIFO_STATUS2, FIFO_STATUS3 = 0x3A, 0x3B, 0x3C
L_FIFO_DATA_OUT_L = 0x3E
TIMESTAMP0, TIMESTAMP2 = 0x40, 0x42
WAKE_UP_DUR = 0x5C
FIFO_DATA_OUT_TAG = 0x78

ODR_12_5, ODR_104, ODR_208, ODR_416, ODR_833 = 1, 4, 5, 6, 7
TRACE_MHZ = 416_000
G = 1_000_000  # micro-g
DPS = 8000  # trace gyro units per dps


def ramp(n: int) -> list[tuple[int, ...]]:
    """Rows that identify their own index: acc x = index mg, gyro x = -index dps/8."""
    return [(1000 * i, -500 * i, G, -1000 * i, 125 * i, 7 * i) for i in range(n)]


def chip_for(part: str, rows=None, rate_mhz: int = TRACE_MHZ) -> LSM6DSEmulator:
    return LSM6DSEmulator(ArraySource(rows if rows is not None else ramp(5000), rate_mhz), part)


def rd(chip: LSM6DSEmulator, reg: int, n: int = 1) -> bytes:
    buf = bytearray(n)
    chip.read(reg, buf)
    return bytes(buf)


def wr(chip: LSM6DSEmulator, reg: int, *values: int) -> None:
    chip.write(reg, bytes(values))


def nearest(x: float) -> int:
    """Round half away from zero, as the chip's conversion does."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def i16(lo: int, hi: int) -> int:
    v = lo | hi << 8
    return v - 65536 if v > 32767 else v


def axes(data: bytes) -> tuple[int, int, int]:
    return i16(data[0], data[1]), i16(data[2], data[3]), i16(data[4], data[5])


def start_tagged(
    chip: LSM6DSEmulator,
    odr_xl=ODR_416,
    odr_g=ODR_416,
    bdr_xl=None,
    bdr_g=None,
    fs_xl=0,
    fs_g=0,
    wtm=64,
    mode=6,
) -> None:
    """What a driver does: ODRs and ranges, watermark, batch rates, continuous mode."""
    wr(chip, CTRL1_XL, odr_xl << 4 | fs_xl << 2)
    wr(chip, CTRL2_G, odr_g << 4 | fs_g << 2)
    wr(chip, FIFO_CTRL1, wtm & 0xFF)
    wr(chip, FIFO_CTRL2, wtm >> 8 & 1)
    bdr_xl = odr_xl if bdr_xl is None else bdr_xl
    bdr_g = odr_g if bdr_g is None else bdr_g
    wr(chip, FIFO_CTRL3, bdr_g << 4 | bdr_xl)
    wr(chip, FIFO_CTRL4, mode)
    wr(chip, INT1_CTRL, 0x08)


def words(chip: LSM6DSEmulator, n: int) -> list[tuple[int, int, int, tuple[int, int, int]]]:
    """n tagged words as (tag sensor, TAG_CNT, tag byte, axes), one burst read."""
    data = rd(chip, FIFO_DATA_OUT_TAG, 7 * n)
    out = []
    for k in range(n):
        w = data[7 * k : 7 * k + 7]
        out.append((w[0] >> 3, w[0] >> 1 & 3, w[0], axes(w[1:])))
    return out


def level(chip: LSM6DSEmulator) -> int:
    s1, s2 = rd(chip, FIFO_STATUS1, 2)
    return s1 | (s2 & 0x03) << 8


# -- identity and register semantics --------------------------------------------------


@pytest.mark.parametrize(
    ("part", "who"), [("LSM6DSOX", 0x6C), ("LSM6DSO32", 0x6C), ("LSM6DS3TR-C", 0x6A)]
)
def test_who_am_i_and_reset_values(part, who):
    chip = chip_for(part)
    assert rd(chip, WHO_AM_I) == bytes([who])
    assert rd(chip, CTRL3_C) == b"\x04"  # IF_INC set after power-on
    assert rd(chip, CTRL9_XL) == b"\xe0"  # DEN_X/Y/Z
    assert rd(chip, CTRL1_XL, 2) == b"\x00\x00"  # both sensors powered down
    assert rd(chip, INT1_CTRL) == b"\x00"
    if part in TAGGED_PARTS:
        assert rd(chip, PIN_CTRL) == b"\x3f"
        assert rd(chip, FIFO_CTRL1, 4) == b"\x00" * 4
    wr(chip, WHO_AM_I, 0x00)
    assert rd(chip, WHO_AM_I) == bytes([who])


def test_part_names():
    assert chip_for("LSM6DS3TRC").part == "LSM6DS3TR-C"
    with pytest.raises(ValueError, match="unknown part"):
        chip_for("LSM6DS33")


def test_fifo_depths_from_the_datasheets():
    # 3 kbyte of 6-byte data words (the "9 kbyte" headline counts compression)
    assert chip_for("LSM6DSOX").fifo_capacity == 512
    assert chip_for("LSM6DSO32").fifo_capacity == 512
    # 4 kbyte of 16-bit words
    assert chip_for("LSM6DS3TR-C").fifo_capacity == 2048


@pytest.mark.parametrize("part", ALL_PARTS)
def test_if_inc_controls_burst_addressing(part):
    chip = chip_for(part)
    chip.write(CTRL1_XL, bytes([0x40, 0x4C]))  # one burst: CTRL1_XL then CTRL2_G
    assert rd(chip, CTRL1_XL, 3) == b"\x40\x4c\x04"
    wr(chip, CTRL3_C, 0x00)  # IF_INC off: the address stays put
    assert rd(chip, CTRL1_XL, 3) == b"\x40\x40\x40"
    chip.write(CTRL2_G, bytes([0x11, 0x22]))
    assert rd(chip, CTRL2_G) == b"\x22"
    assert rd(chip, CTRL1_XL) == b"\x40"


@pytest.mark.parametrize("part", ALL_PARTS)
def test_sw_reset_restores_defaults_and_clears_itself(part):
    chip = chip_for(part)
    if part in TAGGED_PARTS:
        start_tagged(chip, wtm=8)
    else:
        start_legacy(chip, fth=48)
    chip.advance(20)
    assert chip.fifo_level() > 0
    wr(chip, CTRL3_C, 0x01)
    assert rd(chip, CTRL3_C) == b"\x04"  # SW_RESET reads back 0, IF_INC default
    assert rd(chip, CTRL1_XL, 2) == b"\x00\x00"
    assert rd(chip, INT1_CTRL) == b"\x00"
    assert chip.fifo_level() == 0
    assert chip.odr_mhz == 0
    assert chip.advance(10) == 0  # everything powered down
    assert chip.tick == 20


@pytest.mark.parametrize("part", ALL_PARTS)
def test_boot_reloads_trimming_only(part):
    chip = chip_for(part)
    wr(chip, CTRL1_XL, 0x60)
    wr(chip, CTRL3_C, 0xC4)  # BOOT with BDU and IF_INC
    assert rd(chip, CTRL3_C) == b"\x44"  # BOOT cleared itself; the rest stays
    assert rd(chip, CTRL1_XL) == b"\x60"


@pytest.mark.parametrize("part", ALL_PARTS)
def test_output_registers_hold_the_latest_sample(part):
    chip = chip_for(part)
    wr(chip, CTRL1_XL, ODR_416 << 4)  # +-2 g (4 g on the LSM6DSO32)
    wr(chip, CTRL2_G, ODR_416 << 4 | 0x0C)  # 2000 dps
    chip.advance(11)
    acc = axes(rd(chip, OUTX_L_A, 6))
    gyr = axes(rd(chip, OUTX_L_G, 6))
    per_ug = 122 if part == "LSM6DSO32" else 61
    assert acc == (nearest(10_000 / per_ug), nearest(-5000 / per_ug), nearest(G / per_ug))
    assert gyr == (nearest(-10 * 1000 / 560), nearest(1250 / 560), nearest(70 / 560))
    assert rd(chip, OUT_TEMP_L, 2) == b"\x00\x00"  # 25 degC
    # One burst from OUTX_L_G covers gyro then accel, as the register map lies.
    assert rd(chip, OUTX_L_G, 12) == rd(chip, OUTX_L_G, 6) + rd(chip, OUTX_L_A, 6)


@pytest.mark.parametrize("part", ALL_PARTS)
def test_status_reg_data_ready_until_read(part):
    chip = chip_for(part)
    assert rd(chip, STATUS_REG) == b"\x00"
    wr(chip, CTRL1_XL, ODR_416 << 4)
    wr(chip, CTRL2_G, ODR_416 << 4)
    chip.advance(1)
    assert rd(chip, STATUS_REG)[0] & 0x03 == 0x03  # XLDA, GDA
    rd(chip, OUTX_L_A, 6)
    assert rd(chip, STATUS_REG)[0] & 0x03 == 0x02
    rd(chip, OUTX_L_G, 6)
    assert rd(chip, STATUS_REG)[0] & 0x03 == 0x00
    chip.advance(1)
    assert rd(chip, STATUS_REG)[0] & 0x03 == 0x03


@pytest.mark.parametrize("part", ALL_PARTS)
def test_bdu_holds_a_pair_until_both_bytes_are_read(part):
    rows = [(0, 0, 0, 0, 0, 0), (255 * 61, 0, 0, 0, 0, 0), (256 * 61, 0, 0, 0, 0, 0)] * 10
    if part == "LSM6DSO32":
        rows = [(2 * r[0], 0, 0, 0, 0, 0) for r in rows]
    for bdu, expected_high in ((0x44, 0x00), (0x04, 0x01)):
        chip = chip_for(part, rows)
        wr(chip, CTRL3_C, bdu)
        wr(chip, CTRL1_XL, ODR_416 << 4)
        chip.advance(2)  # latest sample: 255 LSB
        assert rd(chip, OUTX_L_A) == b"\xff"
        chip.advance(1)  # the next sample, 256 LSB, arrives between the two reads
        assert rd(chip, OUTX_L_A + 1) == bytes([expected_high])
        assert axes(rd(chip, OUTX_L_A, 6))[0] == 256


# -- full scale, rounding and clipping -------------------------------------------------

ACC_RANGES = {
    # part: [(FS_XL code, full scale g, micro-g per LSB)]
    "LSM6DSOX": [(0, 2, 61), (2, 4, 122), (3, 8, 244), (1, 16, 488)],
    "LSM6DSO32": [(0, 4, 122), (2, 8, 244), (3, 16, 488), (1, 32, 976)],
    "LSM6DS3TR-C": [(0, 2, 61), (2, 4, 122), (3, 8, 244), (1, 16, 488)],
}
# (CTRL2_G bits 3:1 = FS_G and FS_125, dps, 1/8 mdps per LSB): 4.375..70 mdps/LSB
GYRO_RANGES = [(0b001, 125, 35), (0b000, 250, 70), (0b010, 500, 140), (0b100, 1000, 280)]
GYRO_RANGES.append((0b110, 2000, 560))


@pytest.mark.parametrize("part", ALL_PARTS)
def test_accel_rounds_to_nearest_and_clips_at_each_full_scale(part):
    for code, fs_g, per in ACC_RANGES[part]:
        below = (per - 1) // 2  # just under half an LSB
        rows = [
            (below, -below, 3 * per + below, 0, 0, 0),
            (below + 1, -(below + 1), -(5 * per) - below - 1, 0, 0, 0),  # half or just over
            (fs_g * G + G, -(fs_g * G + G), fs_g * G - per, 0, 0, 0),  # beyond full scale
        ]
        chip = chip_for(part, rows)
        wr(chip, CTRL1_XL, ODR_416 << 4 | code << 2)
        chip.advance(1)
        assert axes(rd(chip, OUTX_L_A, 6)) == (0, 0, 3), fs_g
        chip.advance(1)
        assert axes(rd(chip, OUTX_L_A, 6)) == (1, -1, -6), fs_g
        chip.advance(1)
        top = nearest(fs_g * G / per) - 1
        assert axes(rd(chip, OUTX_L_A, 6)) == (32767, -32768, min(top, 32767)), fs_g


@pytest.mark.parametrize("part", ALL_PARTS)
def test_gyro_rounds_to_nearest_and_clips_at_each_full_scale(part):
    for bits, dps, per in GYRO_RANGES:
        rows = [
            (0, 0, 0, 1000 * per + per // 2 + 1, -((per - 1) // 2), per // 2 + 1),
            (0, 0, 0, dps * DPS * 2, -dps * DPS * 2, 0),
        ]
        chip = chip_for(part, rows)
        wr(chip, CTRL2_G, ODR_416 << 4 | bits << 1)
        chip.advance(1)
        assert axes(rd(chip, OUTX_L_G, 6)) == (1001, 0, 1), dps
        chip.advance(1)
        assert axes(rd(chip, OUTX_L_G, 6))[:2] == (32767, -32768)


def test_heel_strike_of_20_g_clips_at_16_g_but_not_at_32_g():
    rows = [(0, 0, 20 * G, 0, 0, 0)] * 4
    dsox = chip_for("LSM6DSOX", rows)
    wr(dsox, CTRL1_XL, ODR_416 << 4 | 1 << 2)  # +-16 g
    dsox.advance(1)
    assert axes(rd(dsox, OUTX_L_A, 6))[2] == 32767  # 15.99 g
    dso32 = chip_for("LSM6DSO32", rows)
    wr(dso32, CTRL1_XL, ODR_416 << 4 | 1 << 2)  # +-32 g
    dso32.advance(1)
    z = axes(rd(dso32, OUTX_L_A, 6))[2]
    assert z == nearest(20 * G / 976) == 20492
    assert abs(z * 0.976 - 20_000) <= 0.976 / 2


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_fifo_words_are_quantised_and_clipped_like_the_outputs(part):
    rows = [(20 * G, -20 * G, 0, 0, 0, 0), (0, 0, 20 * G, 0, -2500 * DPS, 0)] * 8
    chip = chip_for(part, rows)
    start_tagged(chip, fs_xl=1, fs_g=3)  # +-16 g (32 g on the O32), 2000 dps
    chip.advance(2)
    got = words(chip, 4)
    if part == "LSM6DSO32":
        assert got[1][3] == (20492, -20492, 0)
        assert got[3][3] == (0, 0, 20492)
    else:
        assert got[1][3] == (32767, -32768, 0)
        assert got[3][3] == (0, 0, 32767)
    assert got[2][3] == (0, -32768, 0)


# -- time: ODR, decimation, different rates, timestamp ------------------------------


@pytest.mark.parametrize("part", ALL_PARTS)
def test_lower_odr_takes_every_nth_trace_sample(part):
    chip = chip_for(part)
    wr(chip, CTRL1_XL, ODR_104 << 4)
    assert chip.odr_mhz == 104_000
    for k in range(1, 6):
        chip.advance(1)
        per = 122 if part == "LSM6DSO32" else 61
        assert axes(rd(chip, OUTX_L_A, 6))[0] == nearest(4 * (k - 1) * 1000 / per)


def test_odr_code_1011_is_12_5_hz_unless_low_power():
    chip = chip_for("LSM6DSOX")
    wr(chip, CTRL1_XL, 0xB0)
    assert chip.odr_mhz == 12_500  # high-performance mode
    wr(chip, CTRL6_C, 0x10)  # XL_HM_MODE: low-power
    assert chip.odr_mhz == 1600


def test_different_odrs_each_sensor_at_its_own_rate():
    chip = chip_for("LSM6DSOX")
    wr(chip, CTRL1_XL, ODR_104 << 4)
    wr(chip, CTRL2_G, ODR_416 << 4 | 0x0C)
    assert chip.odr_mhz == 416_000
    chip.advance(7)  # trace samples 0..6 have passed
    assert axes(rd(chip, OUTX_L_G, 6))[0] == nearest(-6 * 1000 / 560)
    assert axes(rd(chip, OUTX_L_A, 6))[0] == nearest(4 * 1000 / 61)  # the sample at 4


def test_changing_odr_keeps_sensor_time():
    chip = chip_for("LSM6DSOX")
    wr(chip, CTRL1_XL, ODR_104 << 4)
    chip.advance(10)  # 10 / 104 Hz
    wr(chip, CTRL1_XL, ODR_416 << 4)
    assert chip.tick == 40
    chip.advance(1)
    assert axes(rd(chip, OUTX_L_A, 6))[0] == nearest(40 * 1000 / 61)


@pytest.mark.parametrize(("odr", "lsb_per_sample"), [(ODR_416, 96), (ODR_104, 384), (ODR_833, 48)])
def test_timestamp_counts_25_us_on_the_sensor_clock(odr, lsb_per_sample):
    chip = chip_for("LSM6DSOX")
    wr(chip, CTRL1_XL, odr << 4)
    chip.advance(5)
    assert rd(chip, TIMESTAMP0, 4) == b"\x00" * 4  # not enabled
    wr(chip, CTRL10_C, 0x20)
    chip.advance(100)
    stamp = int.from_bytes(rd(chip, TIMESTAMP0, 4), "little")
    assert stamp == 100 * lsb_per_sample  # 6667 Hz / 2**n: 2.4 ms per 416 Hz sample
    wr(chip, CTRL10_C, 0x00)
    chip.advance(50)
    assert int.from_bytes(rd(chip, TIMESTAMP0, 4), "little") == stamp  # held
    wr(chip, TIMESTAMP2, 0xAA)  # reset
    wr(chip, CTRL10_C, 0x20)
    chip.advance(3)
    assert int.from_bytes(rd(chip, TIMESTAMP0, 4), "little") == 3 * lsb_per_sample


def test_timestamp_lsm6ds3trc_24_bit_and_resolution():
    chip = chip_for("LSM6DS3TR-C")
    wr(chip, CTRL1_XL, ODR_416 << 4)
    wr(chip, CTRL10_C, 0x20)  # TIMER_EN
    chip.advance(1000)
    assert int.from_bytes(rd(chip, TIMESTAMP0, 3), "little") == 96_000 // 256  # 6.4 ms LSB
    wr(chip, WAKE_UP_DUR, 0x10)  # TIMER_HR: 25 us LSB
    assert int.from_bytes(rd(chip, TIMESTAMP0, 3), "little") == 96_000


# -- tagged FIFO (LSM6DSOX, LSM6DSO32) -------------------------------------------------


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_fifo_words_tags_counter_and_parity(part):
    chip = chip_for(part)
    start_tagged(chip, fs_g=3)
    chip.advance(6)
    assert level(chip) == 12
    got = words(chip, 12)
    assert [w[0] for w in got] == [1, 2] * 6  # gyro NC, accel NC, per time slot
    assert [w[1] for w in got] == [0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1]
    for _, _, tag, _ in got:
        assert bin(tag).count("1") % 2 == 0  # TAG_PARITY
    per_acc = 122 if part == "LSM6DSO32" else 61
    for k in range(6):
        assert got[2 * k][3][0] == nearest(-k * 1000 / 560)
        assert got[2 * k + 1][3][0] == nearest(k * 1000 / per_acc)
    assert level(chip) == 0


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_fifo_address_rounding_and_split_reads(part):
    reference = chip_for(part)
    start_tagged(reference)
    reference.advance(10)
    burst = rd(reference, FIFO_DATA_OUT_TAG, 7 * 20)

    split = chip_for(part)
    start_tagged(split)
    split.advance(10)
    pieces = b""
    for _ in range(4):  # tag, then the six data bytes, as ST's own driver reads
        pieces += rd(split, FIFO_DATA_OUT_TAG, 1) + rd(split, FIFO_DATA_OUT_TAG + 1, 6)
    pieces += rd(split, FIFO_DATA_OUT_TAG, 10)  # a burst that stops mid-word
    pieces += rd(split, FIFO_DATA_OUT_TAG + 3, 4)  # and is finished later
    pieces += rd(split, FIFO_DATA_OUT_TAG, 7 * 14)
    assert pieces == burst
    assert level(split) == 0


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_watermark_flag_int1_and_ticks_to_watermark(part):
    chip = chip_for(part)
    start_tagged(chip, wtm=10)
    assert chip.ticks_to_watermark() == 5  # two words per tick
    chip.advance(4)
    assert not chip.int1()
    assert not rd(chip, FIFO_STATUS2)[0] & 0x80
    chip.advance(1)
    assert chip.int1()
    assert rd(chip, FIFO_STATUS2)[0] & 0x80  # FIFO_WTM_IA
    assert chip.ticks_to_watermark() == 0
    words(chip, 1)
    assert not chip.int1()  # 9 words: below the watermark again
    wr(chip, INT1_CTRL, 0x00)
    chip.advance(3)
    assert not chip.int1()  # not routed
    wr(chip, INT1_CTRL, 0x08)
    assert chip.int1()
    wr(chip, CTRL3_C, 0x24)  # H_LACTIVE: the pin is active low
    assert not chip.int1()


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_continuous_mode_overrun_discards_oldest_and_latches(part):
    chip = chip_for(part)
    start_tagged(chip, wtm=64)
    chip.advance(300)  # 600 words into a 512-word FIFO
    assert chip.overruns == 88
    assert chip.fifo_level() == 512
    assert rd(chip, FIFO_STATUS1) == b"\x00"
    status2 = rd(chip, FIFO_STATUS2)[0]
    assert status2 & 0x03 == 0x02  # DIFF_FIFO bit 9: 512
    assert status2 & 0x40  # FIFO_OVR_IA: completely filled
    assert status2 & 0x20  # FIFO_FULL_IA
    assert status2 & 0x08  # FIFO_OVR_LATCHED
    status2 = rd(chip, FIFO_STATUS2)[0]
    assert status2 & 0x40  # still full
    assert not status2 & 0x08  # the latch cleared when it was read
    oldest = words(chip, 2)
    assert oldest[0][3][0] == nearest(-44 * 1000 / 70)  # ticks 0..43 were overwritten
    assert oldest[1][3][0] == nearest(44 * 1000 / (122 if part == "LSM6DSO32" else 61))
    assert not rd(chip, FIFO_STATUS2)[0] & 0x40


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_latched_overrun_survives_until_status2_is_read(part):
    chip = chip_for(part)
    start_tagged(chip, wtm=64)
    chip.advance(260)
    words(chip, 100)  # drained below full before anyone looked
    status2 = rd(chip, FIFO_STATUS2)[0]
    assert not status2 & 0x40
    assert status2 & 0x08
    assert not rd(chip, FIFO_STATUS2)[0] & 0x08
    assert rd(chip, FIFO_STATUS1, 2)  # reading STATUS1 alone does not clear a new latch
    chip.advance(200)
    rd(chip, FIFO_STATUS1)
    assert rd(chip, FIFO_STATUS2)[0] & 0x08


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_fifo_mode_stops_when_full_until_bypass(part):
    chip = chip_for(part)
    start_tagged(chip, mode=1)
    chip.advance(300)
    assert level(chip) == 512
    assert chip.overruns == 88  # refused, not stored
    first = words(chip, 2)
    assert first[0][3][0] == 0  # FIFO mode keeps the oldest data
    chip.advance(50)
    assert level(chip) == 510  # no longer collecting
    wr(chip, FIFO_CTRL4, 0)  # bypass empties it
    assert level(chip) == 0
    wr(chip, FIFO_CTRL4, 1)
    chip.advance(2)
    assert level(chip) == 4


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_bypass_collects_nothing_and_empty_reads_are_zero(part):
    chip = chip_for(part)
    start_tagged(chip, mode=0)
    chip.advance(20)
    assert level(chip) == 0
    assert chip.ticks_to_watermark() == -1
    assert rd(chip, FIFO_DATA_OUT_TAG, 7) == bytes(7)


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_no_watermark_never_raises_int1(part):
    chip = chip_for(part)
    start_tagged(chip, wtm=0)
    assert chip.ticks_to_watermark() == -1  # the board must not wait for it
    chip.advance(100)
    assert chip.fifo_level() == 200
    assert not chip.int1()
    assert not rd(chip, FIFO_STATUS2)[0] & 0x80


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_stop_on_wtm_limits_the_depth(part):
    chip = chip_for(part)
    start_tagged(chip, wtm=40)
    wr(chip, FIFO_CTRL2, 0x80)  # STOP_ON_WTM
    chip.advance(30)
    assert level(chip) == 40
    assert rd(chip, FIFO_STATUS2)[0] & 0xC0 == 0xC0
    assert words(chip, 1)[0][3][0] == nearest(-10 * 1000 / 70)  # continuous: oldest dropped


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_highest_watermark_is_reachable(part):
    chip = chip_for(part)
    start_tagged(chip, wtm=511)  # WTM[8:0] maximum
    assert chip.watermark() == 511
    chip.advance(chip.ticks_to_watermark())
    assert level(chip) >= 511
    assert chip.int1()


@pytest.mark.parametrize("part", TAGGED_PARTS)
@pytest.mark.parametrize(("bdr_xl", "bdr_g", "tag"), [(ODR_416, 0, 2), (0, ODR_416, 1)])
def test_single_sensor_batching(part, bdr_xl, bdr_g, tag):
    chip = chip_for(part)
    start_tagged(chip, bdr_xl=bdr_xl, bdr_g=bdr_g, wtm=10)
    assert chip.ticks_to_watermark() == 10
    chip.advance(10)
    assert chip.int1()
    got = words(chip, 10)
    assert {w[0] for w in got} == {tag}
    assert [w[1] for w in got] == [0, 1, 2, 3] * 2 + [0, 1]


@pytest.mark.parametrize("part", TAGGED_PARTS)
def test_batch_rate_below_odr_decimates(part):
    chip = chip_for(part)
    start_tagged(chip, bdr_xl=ODR_104, bdr_g=ODR_104)
    chip.advance(16)
    got = words(chip, level(chip))
    assert len(got) == 8
    per_acc = 122 if part == "LSM6DSO32" else 61
    assert [w[3][0] for w in got[1::2]] == [nearest(4 * k * 1000 / per_acc) for k in range(4)]
    assert [w[3][0] for w in got[0::2]] == [nearest(-4 * k * 1000 / 70) for k in range(4)]


def test_different_batch_rates_interleave():
    chip = chip_for("LSM6DSOX")
    start_tagged(chip, bdr_xl=ODR_208, bdr_g=ODR_416)
    chip.advance(4)
    got = words(chip, level(chip))
    assert [w[0] for w in got] == [1, 2, 1, 1, 2, 1]  # gyro every slot, accel every other
    assert [w[1] for w in got] == [0, 0, 1, 2, 2, 3]
    assert [w[3][0] for w in got if w[0] == 2] == [0, nearest(2 * 1000 / 61)]


def test_stored_words_keep_the_full_scale_they_were_written_with():
    chip = chip_for("LSM6DSOX", [(1_000_000, 0, 0, 0, 0, 0)] * 100)
    start_tagged(chip, bdr_g=0, wtm=4)
    chip.advance(2)
    wr(chip, CTRL1_XL, ODR_416 << 4 | 1 << 2)  # +-2 g -> +-16 g with 2 words stored
    chip.advance(2)
    assert [w[3][0] for w in words(chip, 4)] == [16393, 16393, 2049, 2049]


# -- pattern FIFO (LSM6DS3TR-C) ---------------------------------------------------------


def start_legacy(chip, fth=60, dec_g=1, dec_xl=1, odr_fifo=ODR_416, mode=6, fs_g=3):
    """A continuous-mode FIFO with a threshold, both sensors at the same rate."""
    wr(chip, CTRL1_XL, ODR_416 << 4)
    wr(chip, CTRL2_G, ODR_416 << 4 | fs_g << 2)
    wr(chip, L_FIFO_CTRL1, fth & 0xFF)
    wr(chip, L_FIFO_CTRL2, fth >> 8 & 0x07)
    wr(chip, L_FIFO_CTRL3, dec_g << 3 | dec_xl)
    wr(chip, L_FIFO_CTRL5, odr_fifo << 3 | mode)
    wr(chip, INT1_CTRL, 0x08)  # INT1_FTH


def legacy_words(chip, n):
    data = rd(chip, L_FIFO_DATA_OUT_L, 2 * n)
    return [i16(data[2 * k], data[2 * k + 1]) for k in range(n)]


def legacy_status(chip):
    s1, s2, s3, s4 = rd(chip, FIFO_STATUS1, 4)
    return s1 | (s2 & 0x07) << 8, s2 & 0xF0, s3 | (s4 & 0x03) << 8


def test_lsm6ds3trc_pattern_fifo_in_continuous_mode():
    chip = chip_for("LSM6DS3TR-C")
    start_legacy(chip, fth=60)
    assert chip.ticks_to_watermark() == 10  # six 16-bit words per ODR
    chip.advance(9)
    assert not chip.int1()
    chip.advance(1)
    assert chip.int1()
    count, flags, pattern = legacy_status(chip)
    assert (count, flags, pattern) == (60, 0x80, 0)  # WaterM
    data = legacy_words(chip, 60)  # one burst: 0x3F rolls back to 0x3E
    for k in range(10):
        gx, gy, gz, ax, ay, az = data[6 * k : 6 * k + 6]
        assert (gx, gy, gz) == (
            nearest(-k * 1000 / 560),
            nearest(k * 125 / 560),
            nearest(7 * k / 560),
        )
        assert (ax, ay, az) == (nearest(k * 1000 / 61), nearest(-k * 500 / 61), nearest(G / 61))
    count, flags, pattern = legacy_status(chip)
    assert (count, flags, pattern) == (0, 0x10, 0)  # FIFO_EMPTY


def test_lsm6ds3trc_pattern_register_tracks_partial_reads():
    chip = chip_for("LSM6DS3TR-C")
    start_legacy(chip)
    chip.advance(3)
    legacy_words(chip, 4)
    assert legacy_status(chip)[2] == 4  # next word: accel Y
    lo = rd(chip, L_FIFO_DATA_OUT_L)  # a word read byte by byte
    assert legacy_status(chip)[2] == 5  # already taken out of the FIFO
    hi = rd(chip, L_FIFO_DATA_OUT_L + 1)
    assert i16(lo[0], hi[0]) == nearest(-0 * 500 / 61)
    assert legacy_words(chip, 1) == [nearest(G / 61)]


def test_lsm6ds3trc_decimation_pattern():
    chip = chip_for("LSM6DS3TR-C")
    start_legacy(chip, dec_xl=2)  # accel every 2nd FIFO ODR period
    chip.advance(4)
    count, _, _ = legacy_status(chip)
    assert count == 4 * 3 + 2 * 3
    data = legacy_words(chip, count)
    # G G+XL pattern: Gx Gy Gz XLx XLy XLz Gx Gy Gz, repeated
    assert data[3] == 0 and data[12] == nearest(2 * 1000 / 61)
    assert data[6] == nearest(-1 * 1000 / 560) and data[9] == nearest(-2 * 1000 / 560)


def test_lsm6ds3trc_fifo_odr_below_sensor_odr():
    chip = chip_for("LSM6DS3TR-C")
    start_legacy(chip, odr_fifo=ODR_104)
    chip.advance(8)  # eight 416 Hz periods, two 104 Hz FIFO writes
    data = legacy_words(chip, legacy_status(chip)[0])
    assert len(data) == 12
    assert data[3] == 0 and data[9] == nearest(4 * 1000 / 61)


def test_lsm6ds3trc_overrun_drops_oldest_words_and_counter_wraps():
    chip = chip_for("LSM6DS3TR-C")
    start_legacy(chip, fth=600)
    chip.advance(342)  # 2052 words into 2048
    assert chip.overruns == 4
    count, flags, pattern = legacy_status(chip)
    assert flags & 0x40  # OVER_RUN: completely filled
    assert count == 0  # DIFF_FIFO[10:0] cannot show 2048
    assert not flags & 0x10  # but it is not empty
    assert pattern == 4  # the four oldest words (Gx Gy Gz XLx) were overwritten
    assert legacy_words(chip, 2) == [nearest(-0 * 500 / 61), nearest(G / 61)]
    count, flags, pattern = legacy_status(chip)
    assert (count, flags & 0x40, pattern) == (2046, 0, 0)


def test_lsm6ds3trc_fifo_needs_a_fifo_odr():
    chip = chip_for("LSM6DS3TR-C")
    start_legacy(chip, odr_fifo=0)
    chip.advance(20)
    assert legacy_status(chip)[0] == 0
    assert chip.ticks_to_watermark() == -1


def test_lsm6ds3trc_fifo_mode_and_stop_on_fth():
    chip = chip_for("LSM6DS3TR-C")
    start_legacy(chip, fth=30, mode=1)
    wr(chip, L_FIFO_CTRL4, 0x80)  # STOP_ON_FTH
    chip.advance(20)
    count, flags, _ = legacy_status(chip)
    assert (count, flags & 0xC0) == (30, 0xC0)
    assert legacy_words(chip, 1) == [0]  # FIFO mode: the oldest kept


# -- the same emulator under MicroPython ------------------------------------------------

# A pseudo-random session of register writes, time steps and reads of every kind.
# It prints every byte it reads; CPython and the unix port must print the same.
DIFFERENTIAL_SCRIPT = """
from lsm6ds_emu import ArraySource, LSM6DSEmulator

rows = [(1000 * i - 700000, -1537 * i, 3000000 - 2000 * i, -1000 * i, 125 * i, 7 * i - 5000)
        for i in range(3000)]
seed = 12345


def rand(n):
    global seed
    seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
    return (seed >> 8) % n


CONFIG = {
    "LSM6DSOX": ((0x10, (0x00, 0x40, 0x44, 0x4C, 0x60, 0x64, 0x68, 0x6C, 0x70, 0xB0)),
                 (0x11, (0x00, 0x40, 0x42, 0x4C, 0x60, 0x6C, 0x70)),
                 (0x09, (0x00, 0x44, 0x66, 0x46, 0x64, 0x06, 0x60, 0x55, 0xBB)),
                 (0x0A, (0, 1, 1, 6, 6, 3)), (0x07, (0, 8, 40, 200, 255)),
                 (0x08, (0, 1, 0x80)), (0x0D, (0x08, 0x10, 0x20, 0x03)),
                 (0x12, (0x04, 0x44, 0x24, 0x04, 0x44, 0x05)), (0x19, (0x00, 0x20)),
                 (0x15, (0x00, 0x10)), (0x42, (0xAA, 0x00)), (0x3A, (0x12,)), (0x78, (1,))),
}
CONFIG["LSM6DSO32"] = CONFIG["LSM6DSOX"]
CONFIG["LSM6DS3TR-C"] = ((0x10, (0x00, 0x40, 0x44, 0x4C, 0x60, 0x6C, 0x70)),
                         (0x11, (0x00, 0x40, 0x4C, 0x60, 0x6C)),
                         (0x08, (0x00, 0x09, 0x0A, 0x11, 0x19, 0x01, 0x08, 0x1B)),
                         (0x0A, (0x00, 0x36, 0x31, 0x26, 0x3E, 0x30)),
                         (0x06, (0, 30, 60, 255)), (0x07, (0, 1, 7)), (0x09, (0x00, 0x80)),
                         (0x0D, (0x08, 0x10, 0x20)), (0x12, (0x04, 0x44, 0x04, 0x05)),
                         (0x19, (0x00, 0x20)), (0x5C, (0x00, 0x10)), (0x42, (0xAA,)))

PARTS = ("LSM6DSOX", "LSM6DSO32", "LSM6DS3TR-C")
for part, start in [(p, s) for s in (12345, 777, 4242, 99, 31337) for p in PARTS]:
    seed = start
    chip = LSM6DSEmulator(ArraySource(rows, 416000), part)
    fifo = 0x3E if part == "LSM6DS3TR-C" else 0x78
    out = []
    for step in range(400):
        op = rand(10)
        if op < 3:
            reg, values = CONFIG[part][rand(len(CONFIG[part]))]
            chip.write(reg, bytes([values[rand(len(values))]]))
        elif op < 5:
            chip.advance(rand(300))
        elif op < 8:
            buf = bytearray(rand(90) + 1)
            chip.read(fifo + (rand(7) if rand(4) == 0 else 0), buf)
            out.extend(buf)
        else:
            buf = bytearray(rand(40) + 1)
            chip.read(0x1E + rand(0x28), buf)
            out.extend(buf)
        out.append(chip.fifo_level() & 0xFF)
        out.append(1 if chip.int1() else 0)
        out.append(chip.ticks_to_watermark() & 0xFF)
    print(part, start, chip.tick, chip.overruns, len(out), sum(i * b for i, b in enumerate(out)))
"""


def test_micropython_and_cpython_emulators_agree(tmp_path):
    import os
    import subprocess
    import sys

    from heavylegs import paths

    script = tmp_path / "differential.py"
    script.write_text(DIFFERENTIAL_SCRIPT)
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([str(paths.SIM_BOARD_DIR), ".frozen"])
    env["PYTHONPATH"] = str(paths.SIM_BOARD_DIR)
    results = []
    for binary in (paths.micropython_binary(), sys.executable):
        proc = subprocess.run(
            [binary, str(script)], capture_output=True, text=True, env=env, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        results.append(proc.stdout)
    assert results[0] == results[1]
    assert len(results[0].splitlines()) == 15
