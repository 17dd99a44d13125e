"""`heavylegs doctor`: what a pod on USB is, and whether its parts work.

Each check says what it found or why it could not look, so one broken part
does not hide the others:

- MicroPython: version, port, .mpy arch;
- flash: free and total; RAM: free after a collection;
- firmware: heavylegs version on the pod, board file;
- sensor: WHO_AM_I of the IMU the board file names (read directly over I2C,
  so it works on a pod without firmware, given --board);
- FIFO: the firmware's own driver drains the sensor for a moment on the
  watermark interrupt, counting overruns (a pod that cannot keep up at the
  sensor's rate, or an INT1 that is not wired, shows here);
- battery: cell voltage from the board's battery sense pin.

The pod's firmware is started again afterwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heavylegs.deploy import podside
from heavylegs.deploy.boards import BoardFile, load_board
from heavylegs.deploy.flash import (
    WHO_AM_I_LSM6DSO,
    PodInfo,
    arch_mismatch,
    describe_sensor_fault,
    probe,
)
from heavylegs.deploy.usb import PodConnection

DRAIN_SAMPLES = 832  # two seconds at 416 Hz
DRAIN_LIMIT_MS = 4000


@dataclass
class Check:
    name: str
    ok: bool | None  # None: could not be checked
    detail: str


@dataclass
class DoctorReport:
    info: PodInfo
    checks: list[Check] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)


def doctor(
    port: str,
    board_name: str | None = None,
    *,
    timeout_s: float = 10.0,
    drain_samples: int = DRAIN_SAMPLES,
    restart: bool = True,
) -> DoctorReport:
    board: BoardFile | None = load_board(board_name) if board_name else None
    with PodConnection(port, timeout_s) as conn:
        conn.enter_raw_repl()
        info = probe(conn)
        wrong_board = arch_mismatch(info, board) if board is not None else None
        # A board file for another processor names pins this pod does not have.
        checked_board = board if wrong_board is None else None
        board_json = json.dumps(checked_board.pod_json()) if checked_board is not None else ""
        raw = conn.run_json(
            podside.DOCTOR + f"_hl_doctor({board_json!r}, {int(drain_samples)}, {DRAIN_LIMIT_MS})",
            timeout_s=timeout_s + DRAIN_LIMIT_MS / 1000,
        )
        if restart:
            conn.restart_firmware(0.2)
    report = DoctorReport(info=info, raw=raw)
    report.checks = _checks(info, raw, checked_board, wrong_board)
    return report


def _checks(
    info: PodInfo, raw: dict[str, Any], board: BoardFile | None, wrong_board: str | None = None
) -> list[Check]:
    checks = [
        Check(
            "micropython",
            True,
            f"{info.impl} {info.version_text} on {info.machine}, mpy arch {info.arch}",
        ),
        Check(
            "flash",
            info.free_bytes > 64 * 1024,
            f"{info.free_bytes // 1024} KiB free of {info.blocks * info.block_size // 1024} KiB",
        ),
        Check("ram", True, f"{info.ram_free // 1024} KiB free, {info.ram_used // 1024} KiB in use"),
    ]
    if "firmware" in raw:
        checks.append(Check("firmware", True, f"heavylegs {raw['firmware']}"))
    else:
        checks.append(
            Check("firmware", None, "not installed: run heavylegs flash --board NAME --port PORT")
        )
    if wrong_board is not None:
        checks.append(Check("board", False, wrong_board))
    elif "board" in raw:
        checks.append(Check("board", True, str(raw["board"])))
    else:
        checks.append(
            Check("board", None, "no board.json on the pod: pass --board NAME to check the sensor")
        )
    if "who_am_i" in raw or "sensor_error" in raw:
        good = raw.get("who_am_i") == WHO_AM_I_LSM6DSO
        if good:
            detail = f"WHO_AM_I 0x{raw['who_am_i']:02X} (LSM6DSOX/LSM6DSO32)"
        else:
            sensor_board = board
            if sensor_board is None:
                sensor_board = BoardFile(str(raw["board"]), Path("board.json"), raw["board_cfg"])
            detail = describe_sensor_fault(sensor_board, raw)
        checks.append(Check("sensor", good, detail))
    else:
        checks.append(Check("sensor", None, "not checked: no board file"))
    fifo = raw.get("fifo")
    if fifo:
        interrupts = fifo["interrupts"]
        ok = fifo["overruns"] == 0 and interrupts > 0 and fifo["samples"] > 0
        rate = fifo["samples"] * 1000 / fifo["ms"] if fifo["ms"] else 0.0
        detail = (
            f"{fifo['overruns']} overruns in {fifo['samples']} samples "
            f"({interrupts} watermark interrupts, sensor at {fifo['odr_hz']} Hz)"
        )
        if interrupts == 0:
            detail += ": no interrupt arrived; is INT1 wired to the pin in the board file?"
        elif fifo["ms"]:
            detail += f", drained at {rate:.0f} samples/s"
        checks.append(Check("fifo", ok, detail))
    elif "fifo_error" in raw:
        checks.append(Check("fifo", False, f"the drain test failed: {raw['fifo_error']}"))
    else:
        checks.append(Check("fifo", None, "not checked (needs the firmware and a sensor)"))
    if raw.get("battery_mv") is not None:
        mv = int(raw["battery_mv"])
        checks.append(Check("battery", mv > 3300, f"{mv / 1000:.2f} V"))
    elif "battery_error" in raw:
        checks.append(Check("battery", None, f"cannot read: {raw['battery_error']}"))
    else:
        checks.append(Check("battery", None, "no battery sense pin in the board file"))
    return checks
