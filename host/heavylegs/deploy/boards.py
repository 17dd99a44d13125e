"""Supported hardware, as data: the board files in hardware/boards/.

A board file is JSON because the pod reads it too: flash copies it to the pod
as board.json, where firmware/heavylegs_pod/hal/board.py builds the hardware
objects from it. The host reads it here to choose the mpy-cross arch, to check
that the board on the port is the one named, and to describe the wiring.

Keys (pins are GPIO numbers, as machine.Pin takes them):

  name          file name without .json
  title         what it is, for people
  mcu           chip family, e.g. "ESP32-S3", "RP2040"
  mpy_arch      mpy-cross -march for this MCU (see build.ARCHS)
  i2c           {id, scl, sda, freq}: the bus the IMU is on (scl/sda may be left
                out where the port's default pins for that bus are the right ones)
  spi           {id, cs, sck, mosi, miso, baudrate}: or the IMU on 4-wire SPI, mode 3,
                chip select on GPIO cs (sck/mosi/miso as scl/sda above); a board has
                'i2c' or 'spi', never both. On SPI a board file has no imu.address
                (refused: the pod ignores it there). No GPIO may be wired to two things
  imu           {part, address, int1, int2?, deep_sleep_wake?, acc_fs_g, gyro_fs_dps}:
                sensor variant, 7-bit I2C address, the GPIOs its INT1 (FIFO
                watermark) and INT2 pins are wired to, and the full scales the pod
                runs the sensor at (g, dps; each session records them, so the host
                knows where an impact was clipped)
  led           {pin, kind: "pin"|"neopixel", active_low?} or null
  button        {pin, active_low, pull: "up"|"down"|null} or null
  battery       {adc, divider}: ADC-capable GPIO and the divider ratio (volts at
                the cell per volt at the pin), or null when not wired
  sources       where each fact comes from; stays on the host
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heavylegs.deploy.errors import BoardFileError
from heavylegs.paths import FIRMWARE_DIR

BOARDS_DIR = FIRMWARE_DIR.parent / "hardware" / "boards"
# mpy-cross arch names in the order of sys.implementation._mpy's arch field
# (py/persistentcode.h, MP_NATIVE_ARCH_*): how the pod tells us what it is.
MPY_ARCH_BY_INDEX = (
    None,
    "x86",
    "x64",
    "armv6",
    "armv6m",
    "armv7m",
    "armv7em",
    "armv7emsp",
    "armv7emdp",
    "xtensa",
    "xtensawin",
    "rv32imc",
    "rv64imc",
)
IMU_PARTS = ("LSM6DSOX", "LSM6DSO32")
# Full scales each part offers (ST datasheets, FS_XL and FS_G), as hal/lsm6ds.py codes them.
ACC_RANGES_G = {"LSM6DSOX": (2, 4, 8, 16), "LSM6DSO32": (4, 8, 16, 32)}
GYRO_RANGES_DPS = (250, 500, 1000, 2000)
IMU_ADDRESSES = (0x6A, 0x6B)
# The LSM6DSOX/DSO32's SPI clock limit (datasheets, SPI slave timing: fc(SPC) max 10 MHz).
SPI_MAX_HZ = 10_000_000
SPI_PINS = ("sck", "mosi", "miso")
# Keys only people need; left out of the copy that goes onto the pod, where
# every byte of board.json is parsed into RAM at boot.
HOST_ONLY_KEYS = ("title", "sources", "notes")


@dataclass(frozen=True)
class BoardFile:
    name: str
    path: Path
    data: dict[str, Any]

    @property
    def mpy_arch(self) -> str:
        return str(self.data["mpy_arch"])

    @property
    def title(self) -> str:
        return str(self.data.get("title", self.name))

    @property
    def imu_part(self) -> str:
        return str(self.data["imu"]["part"])

    @property
    def acc_fs_g(self) -> int:
        return int(self.data["imu"]["acc_fs_g"])

    @property
    def gyro_fs_dps(self) -> int:
        return int(self.data["imu"]["gyro_fs_dps"])

    @property
    def bus_kind(self) -> str:
        """'i2c' or 'spi': how the IMU is wired."""
        return "spi" if self.data.get("spi") is not None else "i2c"

    @property
    def bus_hz(self) -> int:
        """The IMU bus's clock, as the firmware sets it (hal/board.py's defaults)."""
        if self.bus_kind == "spi":
            return int(self.data["spi"].get("baudrate", SPI_MAX_HZ))
        return int(self.data["i2c"].get("freq", 400000))

    @property
    def simulated(self) -> bool:
        return bool(self.data.get("simulated", False))

    def pod_json(self) -> dict[str, Any]:
        """What goes onto the pod as board.json."""
        pod = {k: v for k, v in self.data.items() if k not in HOST_ONLY_KEYS}
        pod["name"] = self.name
        return pod


def board_names() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def load_board(name_or_path: str | Path) -> BoardFile:
    """A board by name (hardware/boards/NAME.json) or by path; raises BoardFileError."""
    text = str(name_or_path)
    candidate = Path(text)
    if text.endswith(".json") or candidate.parent != Path("."):
        path = candidate
    else:
        path = BOARDS_DIR / f"{text}.json"
    if not path.is_file():
        known = ", ".join(board_names()) or "none"
        raise BoardFileError(f"no board file {path}; supported boards: {known}")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BoardFileError(f"{path}: not a readable JSON board file: {err}") from err
    if not isinstance(data, dict):
        raise BoardFileError(f"{path}: a board file is a JSON object")
    validate(data, str(path))
    return BoardFile(name=path.stem, path=path, data=data)


def _pin(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 63:
        raise BoardFileError(f"{where} must be a GPIO number (0..63), not {value!r}")
    return value


def _section(source: str, data: dict[str, Any], key: str, *, required: bool) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise BoardFileError(f"{source}: '{key}' is missing")
        return {}
    if not isinstance(value, dict):
        raise BoardFileError(f"{source}: '{key}' must be an object")
    return value


def validate(data: dict[str, Any], source: str = "board file") -> None:
    """Raise BoardFileError naming the first thing wrong with a board file."""
    from heavylegs.deploy.build import ALL_ARCHS

    arch = data.get("mpy_arch")
    if arch not in ALL_ARCHS:
        raise BoardFileError(
            f"{source}: mpy_arch must be one of {', '.join(ALL_ARCHS)}, not {arch!r}"
        )
    if data.get("spi") is not None:
        if data.get("i2c") is not None:
            raise BoardFileError(f"{source}: the IMU is on 'i2c' or on 'spi', not both")
        _validate_spi(source, _section(source, data, "spi", required=True))
    else:
        if data.get("i2c") is None:
            raise BoardFileError(f"{source}: the IMU's bus, 'i2c' or 'spi', is missing")
        _validate_i2c(source, _section(source, data, "i2c", required=True))
    imu = _section(source, data, "imu", required=True)
    if imu.get("part") not in IMU_PARTS:
        raise BoardFileError(
            f"{source}: imu.part must be one of {', '.join(IMU_PARTS)}, not {imu.get('part')!r}"
        )
    if data.get("spi") is not None:
        # the pod ignores it there, so a value in the file could only mislead people
        if "address" in imu:
            raise BoardFileError(
                f"{source}: imu.address does not apply on SPI: the chip is chosen by spi.cs"
            )
    else:
        address = imu.get("address", 0x6A)
        if isinstance(address, str):
            try:
                address = int(address, 0)
            except ValueError:
                address = None
        if address not in IMU_ADDRESSES:
            raise BoardFileError(
                f"{source}: imu.address must be 0x6A or 0x6B (SDO/SA0 low or high), "
                f"not {imu.get('address')!r}"
            )
    if "int1" not in imu:
        raise BoardFileError(f"{source}: imu.int1 is missing: the FIFO watermark needs a GPIO")
    _pin(f"{source}: imu.int1", imu["int1"])
    if "int2" in imu:
        _pin(f"{source}: imu.int2", imu["int2"])
    acc_ranges = ACC_RANGES_G[imu["part"]]
    if imu.get("acc_fs_g") not in acc_ranges:
        raise BoardFileError(
            f"{source}: imu.acc_fs_g must be one of {', '.join(map(str, acc_ranges))} "
            f"(g, the {imu['part']}'s ranges), not {imu.get('acc_fs_g')!r}"
        )
    if imu.get("gyro_fs_dps") not in GYRO_RANGES_DPS:
        raise BoardFileError(
            f"{source}: imu.gyro_fs_dps must be one of "
            f"{', '.join(map(str, GYRO_RANGES_DPS))}, not {imu.get('gyro_fs_dps')!r}"
        )
    if not isinstance(imu.get("deep_sleep_wake", False), bool):
        raise BoardFileError(f"{source}: imu.deep_sleep_wake must be true or false")
    led = _section(source, data, "led", required=False)
    if led:
        _pin(f"{source}: led.pin", led.get("pin"))
        if led.get("kind", "pin") not in ("pin", "neopixel"):
            raise BoardFileError(f"{source}: led.kind must be 'pin' or 'neopixel'")
    button = _section(source, data, "button", required=False)
    if button:
        _pin(f"{source}: button.pin", button.get("pin"))
        if button.get("pull") not in ("up", "down", None):
            raise BoardFileError(f"{source}: button.pull must be 'up', 'down' or null")
    battery = _section(source, data, "battery", required=False)
    if battery:
        _pin(f"{source}: battery.adc", battery.get("adc"))
        divider = battery.get("divider", 1.0)
        if isinstance(divider, bool) or not isinstance(divider, int | float) or divider < 1:
            raise BoardFileError(f"{source}: battery.divider must be a number >= 1")
    _check_no_pin_wired_twice(source, data)


def _check_no_pin_wired_twice(source: str, data: dict[str, Any]) -> None:
    wired: dict[int, str] = {}
    bus_name = "spi" if data.get("spi") is not None else "i2c"
    places = [(bus_name, key) for key in ("scl", "sda", "cs", *SPI_PINS)]
    places += [("imu", "int1"), ("imu", "int2"), ("led", "pin"), ("button", "pin")]
    places += [("battery", "adc")]
    for section, key in places:
        pin = (data.get(section) or {}).get(key)
        if pin is None:
            continue
        where = f"{section}.{key}"
        if pin in wired:
            raise BoardFileError(f"{source}: GPIO {pin} is wired to both {wired[pin]} and {where}")
        wired[pin] = where


def _validate_i2c(source: str, i2c: dict[str, Any]) -> None:
    if not isinstance(i2c.get("id", 0), int):
        raise BoardFileError(f"{source}: i2c.id must be an integer")
    if ("scl" in i2c) != ("sda" in i2c):
        raise BoardFileError(f"{source}: i2c needs both scl and sda, or neither")
    for key in ("scl", "sda"):
        if key in i2c:
            _pin(f"{source}: i2c.{key}", i2c[key])
    freq = i2c.get("freq", 400000)
    if not isinstance(freq, int) or not 10_000 <= freq <= 1_000_000:
        raise BoardFileError(f"{source}: i2c.freq must be 10000..1000000 Hz, not {freq!r}")


def _validate_spi(source: str, spi: dict[str, Any]) -> None:
    if not isinstance(spi.get("id", 0), int):
        raise BoardFileError(f"{source}: spi.id must be an integer")
    if "cs" not in spi:
        raise BoardFileError(f"{source}: spi.cs is missing: SPI needs a chip-select GPIO")
    _pin(f"{source}: spi.cs", spi["cs"])
    given = [key for key in SPI_PINS if key in spi]
    if given and len(given) != len(SPI_PINS):
        raise BoardFileError(f"{source}: spi needs all of sck, mosi and miso, or none")
    for key in given:
        _pin(f"{source}: spi.{key}", spi[key])
    baudrate = spi.get("baudrate", SPI_MAX_HZ)
    if isinstance(baudrate, bool) or not isinstance(baudrate, int):
        baudrate = 0
    if not 100_000 <= baudrate <= SPI_MAX_HZ:
        raise BoardFileError(
            f"{source}: spi.baudrate must be 100000..{SPI_MAX_HZ} Hz (the LSM6DS's "
            f"SPI limit), not {spi.get('baudrate')!r}"
        )


def arch_from_mpy(mpy: int) -> str | None:
    """The mpy-cross arch a pod reports in sys.implementation._mpy, if any."""
    index = (mpy >> 10) & 0x0F
    return MPY_ARCH_BY_INDEX[index] if index < len(MPY_ARCH_BY_INDEX) else None
