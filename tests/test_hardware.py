"""Supported hardware as data: the board files, and the firmware's Board built from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from micropython_run import run_micropython

from heavylegs import paths
from heavylegs.deploy import boards
from heavylegs.deploy.build import ARCHS
from heavylegs.deploy.errors import BoardFileError
from heavylegs.sim.board import sim_board

HARDWARE_README = boards.BOARDS_DIR.parent / "README.md"
REAL_BOARDS = [n for n in boards.board_names() if not boards.load_board(n).simulated]


def test_the_sim_board_file_describes_the_board_the_simulator_wires():
    # SimPod and the stand-in machine module take their wiring from sim_board;
    # `heavylegs flash --board sim-unix` offers the board file: they must agree.
    data = boards.load_board("sim-unix").data
    wired = sim_board.board_json()
    assert data["i2c"] == wired["i2c"]
    assert dict(data["imu"], address=int(data["imu"]["address"], 0)) == wired["imu"]


def test_the_reference_boards_have_board_files():
    assert set(REAL_BOARDS) == {
        "esp32s3-devkitc-lsm6dsox",
        "esp32s3-devkitc-lsm6dso32",
        "nano-rp2040-connect",
        "pico-w-lsm6dso32-spi",
        "xiao-esp32s3-lsm6dso32",
        "xiao-esp32s3-lsm6dso32-spi",
    }
    parts = {boards.load_board(n).imu_part for n in REAL_BOARDS}
    assert parts == {"LSM6DSOX", "LSM6DSO32"}


def test_every_board_runs_its_sensor_at_the_widest_range_the_simulator_gives_it():
    # a DSO32 pod measures impacts to 32 g; the simulated pods run what the files say
    for name in boards.board_names():
        board = boards.load_board(name)
        assert board.acc_fs_g == sim_board.ACC_FS_G[board.imu_part], name
        assert board.gyro_fs_dps == sim_board.GYRO_FS_DPS, name
    assert boards.load_board("xiao-esp32s3-lsm6dso32").acc_fs_g == 32


@pytest.mark.parametrize("name", boards.board_names())
def test_board_file_is_valid_and_documented(name: str):
    board = boards.load_board(name)
    data = board.data
    if not board.simulated:
        # `make test` compiles for exactly these archs: a board outside them is untested.
        assert board.mpy_arch in ARCHS
        assert data["sources"], "say where each pin comes from"
        assert f"boards/{name}.json" in HARDWARE_README.read_text()
    pins = [data["imu"]["int1"], data["imu"].get("int2")]
    bus = data.get("i2c") or data["spi"]
    pins += [bus.get(key) for key in ("scl", "sda", "sck", "mosi", "miso", "cs")]
    pins += [(data.get(k) or {}).get(p) for k, p in (("led", "pin"), ("button", "pin"))]
    pins += [(data.get("battery") or {}).get("adc")]
    used = [p for p in pins if p is not None]
    assert len(used) == len(set(used)), f"{name}: a GPIO is wired to two things"
    pod = board.pod_json()
    assert "sources" not in pod and "title" not in pod
    assert pod["name"] == name


I2C_BOARD = "esp32s3-devkitc-lsm6dsox"
SPI_BOARD = "pico-w-lsm6dso32-spi"


@pytest.mark.parametrize(
    ("board_file", "change", "message"),
    [
        (I2C_BOARD, lambda d: d["imu"].pop("int1"), "imu.int1 is missing"),
        (
            I2C_BOARD,
            lambda d: d["imu"].update(part="MPU6050"),
            "imu.part must be one of",
        ),
        (
            I2C_BOARD,
            lambda d: d["imu"].update(address="0x6C"),
            "imu.address must be 0x6A or 0x6B",
        ),
        (I2C_BOARD, lambda d: d.update(mpy_arch="avr"), "mpy_arch must be one of"),
        (I2C_BOARD, lambda d: d["i2c"].pop("sda"), "i2c needs both scl and sda"),
        (
            I2C_BOARD,
            lambda d: d["i2c"].update(scl=99),
            "i2c.scl must be a GPIO number",
        ),
        (
            I2C_BOARD,
            lambda d: d.pop("i2c"),
            "the IMU's bus, 'i2c' or 'spi', is missing",
        ),
        (
            I2C_BOARD,
            lambda d: d.update(spi={"cs": 5}),
            "on 'i2c' or on 'spi', not both",
        ),
        (
            I2C_BOARD,
            lambda d: d["battery"].update(divider=0.5),
            "battery.divider must be a number >= 1",
        ),
        (I2C_BOARD, lambda d: d["led"].update(kind="lamp"), "led.kind must be"),
        (
            I2C_BOARD,
            lambda d: d["imu"].pop("acc_fs_g"),
            "imu.acc_fs_g must be one of 2, 4, 8, 16",
        ),
        (
            I2C_BOARD,
            lambda d: d["imu"].update(acc_fs_g=32),
            r"imu.acc_fs_g .*LSM6DSOX's ranges",
        ),
        (
            I2C_BOARD,
            lambda d: d["imu"].update(gyro_fs_dps=4000),
            "imu.gyro_fs_dps must be one of",
        ),
        (SPI_BOARD, lambda d: d["spi"].pop("cs"), "spi.cs is missing"),
        (
            SPI_BOARD,
            lambda d: d["spi"].pop("miso"),
            "spi needs all of sck, mosi and miso, or none",
        ),
        (
            SPI_BOARD,
            lambda d: d["spi"].update(cs="GP17"),
            "spi.cs must be a GPIO number",
        ),
        (
            SPI_BOARD,
            lambda d: d["spi"].update(baudrate=20_000_000),
            r"spi.baudrate must be .*SPI limit",
        ),
        (SPI_BOARD, lambda d: d["spi"].update(id="0"), "spi.id must be an integer"),
        (SPI_BOARD, lambda d: d.update(spi=[18, 19]), "'spi' must be an object"),
        # the pod ignores imu.address on SPI: a value there is a mistake, not a setting
        (
            SPI_BOARD,
            lambda d: d["imu"].update(address="cs"),
            "imu.address does not apply on SPI: the chip is chosen by spi.cs",
        ),
        (
            SPI_BOARD,
            lambda d: d["imu"].update(address="0x6A"),
            "imu.address does not apply on SPI",
        ),
        (
            SPI_BOARD,
            lambda d: d["spi"].update(cs=20),
            "GPIO 20 is wired to both spi.cs and imu.int1",
        ),
        (
            I2C_BOARD,
            lambda d: d["battery"].update(adc=8),
            "GPIO 8 is wired to both i2c.sda and battery.adc",
        ),
        (
            I2C_BOARD,
            lambda d: d["button"].update(pin=38),
            "GPIO 38 is wired to both led.pin and button.pin",
        ),
    ],
)
def test_a_malformed_board_file_names_what_is_wrong(tmp_path: Path, board_file, change, message):
    data = json.loads((boards.BOARDS_DIR / f"{board_file}.json").read_text())
    change(data)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BoardFileError, match=message) as caught:
        boards.load_board(path)
    assert str(path) in str(caught.value)


def test_the_bus_the_benches_price_is_the_board_files():
    spi = boards.load_board("pico-w-lsm6dso32-spi")
    assert (spi.bus_kind, spi.bus_hz) == ("spi", 10_000_000)
    nano = boards.load_board("nano-rp2040-connect")
    assert (nano.bus_kind, nano.bus_hz) == ("i2c", 400_000)


def test_an_unknown_board_lists_the_supported_ones():
    with pytest.raises(BoardFileError, match="supported boards: .*nano-rp2040-connect"):
        boards.load_board("esp8266")


def test_arch_from_the_pods_mpy_word():
    # sys.implementation._mpy: version 6, sub-version 3, arch index in bits 10+.
    assert boards.arch_from_mpy(6 | 3 << 8 | 10 << 10) == "xtensawin"
    assert boards.arch_from_mpy(6 | 3 << 8 | 4 << 10) == "armv6m"
    assert boards.arch_from_mpy(6 | 3 << 8) is None


# --- the firmware's Board, inside MicroPython ------------------------------------

# Stand-ins for what the simulated board's `machine` lacks: an ADC and neopixel.
_FAKES = {
    "neopixel.py": (
        "written = []\n"
        "class NeoPixel:\n"
        "    def __init__(self, pin, n):\n"
        "        self.pin = pin\n"
        "        self.px = [(0, 0, 0)] * n\n"
        "    def __setitem__(self, i, v):\n"
        "        self.px[i] = v\n"
        "    def write(self):\n"
        "        written.append(self.px[0])\n"
    ),
    "fake_adc.py": (
        "import machine\n"
        "class ADC:\n"
        "    ATTN_11DB = 3\n"
        "    uv = None\n"
        "    u16 = 0\n"
        "    def __init__(self, pin):\n"
        "        self.pin = pin\n"
        "        self.attn = None\n"
        "    def atten(self, a):\n"
        "        self.attn = a\n"
        "    def read_u16(self):\n"
        "        return ADC.u16\n"
        "class ADCuv(ADC):\n"
        "    def read_uv(self):\n"
        "        return ADC.uv\n"
    ),
}


def _run_micropython(tmp_path: Path, script: str) -> list:
    for name, text in _FAKES.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "script.py").write_text(script)
    out = run_micropython(
        [str(tmp_path / "script.py")],
        [tmp_path, paths.SIM_BOARD_DIR, paths.FIRMWARE_DIR],
        cwd=tmp_path,
        timeout=60,
    )
    return json.loads(out.strip().splitlines()[-1])


def test_firmware_board_builds_from_every_board_file(tmp_path: Path):
    configs = {n: boards.load_board(n).pod_json() for n in boards.board_names()}
    script = (
        "import json\n"
        "from heavylegs_pod.hal.board import Board\n"
        f"configs = json.loads({json.dumps(json.dumps(configs))})\n"
        "out = []\n"
        "for name in sorted(configs):\n"
        "    b = Board(configs[name])\n"
        "    out.append([b.name, b.imu_address, b.imu_part, b.int1.id, b.set_led(False),\n"
        "                [b.imu_ranges['acc_fs_g'], b.imu_ranges['gyro_fs_dps']]])\n"
        "# the simulator writes the address as a number\n"
        "b = Board({'i2c': {'id': 0}, 'imu': {'address': 0x6B, 'int1': 4}})\n"
        "out.append([b.name, b.imu_address, b.imu_part, b.int1.id, b.battery_mv(),\n"
        "            [b.imu_ranges['acc_fs_g'], b.imu_ranges['gyro_fs_dps']]])\n"
        "print(json.dumps(out))\n"
    )
    result = _run_micropython(tmp_path, script)
    expected = [
        [
            name,
            0x6A,
            cfg["imu"]["part"],
            cfg["imu"]["int1"],
            cfg.get("led") is not None,
            [cfg["imu"]["acc_fs_g"], cfg["imu"]["gyro_fs_dps"]],
        ]
        for name, cfg in sorted(configs.items())
    ]
    expected.append(["board", 0x6B, "LSM6DSOX", 4, None, [None, None]])
    assert result == expected


def test_firmware_board_reads_battery_led_and_button(tmp_path: Path):
    esp = boards.load_board("esp32s3-devkitc-lsm6dsox").pod_json()
    nano = boards.load_board("nano-rp2040-connect").pod_json()
    script = (
        "import json, machine, fake_adc, neopixel\n"
        "from heavylegs_pod.hal.board import Board\n"
        f"esp = Board(json.loads({json.dumps(json.dumps(esp))}))\n"
        f"nano = Board(json.loads({json.dumps(json.dumps(nano))}))\n"
        "out = {}\n"
        "machine.ADC = fake_adc.ADCuv\n"
        "fake_adc.ADC.uv = 1900000\n"  # 1.9 V at the pin, 3.8 V at the cell
        "out['esp_mv'] = esp.battery_mv()\n"
        "out['esp_pct'] = esp.battery_percent()\n"
        "out['esp_attn'] = esp._adc.attn\n"
        "fake_adc.ADC.uv = 2150000\n"
        "out['esp_full'] = esp.battery_percent()\n"
        "fake_adc.ADC.uv = 1500000\n"
        "out['esp_empty'] = esp.battery_percent()\n"
        "machine.ADC = fake_adc.ADC\n"  # the RP2040's ADC has no read_uv
        "fake_adc.ADC.u16 = 38000\n"
        "out['nano_mv'] = nano.battery_mv()\n"
        "out['esp_led'] = [esp.set_led(True), esp.set_led(False), neopixel.written]\n"
        "out['nano_led'] = [nano.set_led(True), nano._led.value()]\n"
        "esp.button_pressed()\n"
        "esp._button.value(1)\n"
        "out['esp_button'] = [esp._button.id, esp.button_pressed()]\n"
        "esp._button.value(0)\n"
        "out['esp_button'].append(esp.button_pressed())\n"
        "out['nano_button'] = nano.button_pressed()\n"
        "print(json.dumps(out))\n"
    )
    out = _run_micropython(tmp_path, script)
    assert out["esp_mv"] == 3800
    assert out["esp_pct"] == 43  # between 3790 mV (40 %) and 3820 mV (50 %)
    assert out["esp_attn"] == 3
    assert out["esp_full"] == 100
    assert out["esp_empty"] == 0
    assert out["nano_mv"] == 38000 * 3300 // 65535 * 2
    assert out["esp_led"] == [True, True, [[0, 0, 24], [0, 0, 0]]]
    assert out["nano_led"] == [True, 1]
    # BOOT is active low: released it reads high through its pull-up.
    assert out["esp_button"] == [0, False, True]
    assert out["nano_button"] is False  # no user button on the Nano


def test_the_doctors_spi_probe_releases_chip_select_when_the_bus_fails(tmp_path: Path):
    from heavylegs.deploy import podside

    config = boards.load_board(SPI_BOARD).pod_json()
    cs = config["spi"]["cs"]
    script = (
        "import json, machine\n"
        "class FailingSPI(machine.SPI):\n"
        "    def write(self, buf):\n"
        "        raise OSError(5)\n"
        "machine.SPI = FailingSPI\n"
        + podside.HELPERS
        + podside.DOCTOR
        + f"_hl_doctor({json.dumps(json.dumps(config))}, 0, 0)\n"
        + f"print(json.dumps(machine._get_board().pins[{cs}].value()))\n"
    )
    (tmp_path / "script.py").write_text(script)
    # a pod without firmware, the case the doctor's own probe is for (and no Board,
    # whose SpiRegisters would raise chip select again for the battery check)
    out = run_micropython(
        [str(tmp_path / "script.py")], [tmp_path, paths.SIM_BOARD_DIR], cwd=tmp_path, timeout=60
    )
    report, cs_level = (json.loads(line) for line in out.strip().splitlines()[-2:])
    assert "OSError" in report["sensor_error"] and "who_am_i" not in report
    assert "firmware_error" in report
    assert cs_level == 1, "an SPI error left the chip selected"
