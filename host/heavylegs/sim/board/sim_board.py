"""The simulated pod board, described once: its wiring as the board stand-ins implement it.

The stand-in `machine` (MicroPython) takes its defaults from here, and SimPod
(CPython, heavylegs.sim.board.sim_board) writes board_json() onto the simulated
pod's flash, so the firmware's Board is built from the same wiring the emulated
chip is on. hardware/boards/sim-unix.json, the board file `heavylegs flash`
offers, must say the same (tests/test_hardware.py checks it).
"""

I2C_ID = 0
I2C_FREQ_HZ = 400000
IMU_ADDRESS = 0x6A
IMU_PART = "LSM6DSOX"
INT1_PIN = 4
# The sensor on SPI instead (HEAVYLEGS_SIM_BUS=spi): bus, chip select and clock.
SPI_ID = 0
SPI_CS_PIN = 17
SPI_BAUDRATE = 10000000
# A cell read by ADC on this pin through a divider of this ratio (when the pod has one).
BATTERY_ADC_PIN = 26
BATTERY_DIVIDER = 2.0


# Each part at its widest ranges, as the real board files set them.
ACC_FS_G = {"LSM6DSOX": 16, "LSM6DSO32": 32, "LSM6DS3TR-C": 16}
GYRO_FS_DPS = 2000


def board_json(part=IMU_PART, deep_sleep_wake=False, battery=False, bus="i2c"):
    """board.json for a simulated pod (what firmware/heavylegs_pod/hal/board.py reads);
    bus "spi" wires the sensor as machine.py does under HEAVYLEGS_SIM_BUS=spi."""
    imu = {
        "part": part,
        "int1": INT1_PIN,
        "acc_fs_g": ACC_FS_G[part],
        "gyro_fs_dps": GYRO_FS_DPS,
    }
    if deep_sleep_wake:
        imu["deep_sleep_wake"] = True
    board = {"name": "simulated pod", "imu": imu}
    if bus == "spi":
        board["spi"] = {"id": SPI_ID, "cs": SPI_CS_PIN, "baudrate": SPI_BAUDRATE}
    else:
        board["i2c"] = {"id": I2C_ID, "freq": I2C_FREQ_HZ}
        imu["address"] = IMU_ADDRESS  # on SPI chip select picks the chip
    if battery:
        board["battery"] = {"adc": BATTERY_ADC_PIN, "divider": BATTERY_DIVIDER}
    return board
