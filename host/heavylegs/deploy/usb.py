"""A pod on a USB serial port, through mpremote's Python API.

PodConnection wraps mpremote's SerialTransport (raw REPL, raw-paste) with what
heavylegs needs on top: errors that say what to do, file transfer in base64
batches (mpremote's own sends 256 bytes per round trip), JSON results from code
run on the pod, and a restart that lets the firmware run and watches it start.
The port is always named explicitly: mpremote's `connect auto` finds USB
devices by vendor id, which a test board on a pseudo-terminal does not have.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import time
from typing import Any

from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from heavylegs.deploy import podside
from heavylegs.deploy.errors import (
    NotMicroPythonError,
    PodCommandError,
    PodFilesystemFullError,
    PodTimeoutError,
    PortError,
)

_BAUD = 115200
# Serial read timeout: how long one read may wait. mpremote blocks in read()
# on a pseudo-terminal, so this also bounds how late a timeout is noticed.
_READ_TIMEOUT_S = 1.0
# Bytes of file data per exec when writing; base64 makes the code 4/3 larger.
_WRITE_CHUNK = 3072
_READ_CHUNK = 1536
_ENOSPC_NAMES = ("ENOSPC", "Errno 28", "OSError: 28")


def available_ports() -> list[str]:
    from serial.tools import list_ports

    return sorted(p.device for p in list_ports.comports())


def _ports_hint() -> str:
    ports = available_ports()
    if not ports:
        return "no serial ports are present: is the pod plugged in, with a data (not charge-only) cable?"
    return "serial ports present: " + ", ".join(ports)


class PodConnection:
    """One session with a pod; use as a context manager."""

    def __init__(self, port: str, timeout_s: float = 10.0) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self._transport: SerialTransport | None = None
        self._helpers_loaded = False

    # -- opening ---------------------------------------------------------------
    def open(self) -> PodConnection:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._transport = SerialTransport(
                    self.port, baudrate=_BAUD, timeout=_READ_TIMEOUT_S
                )
        except Exception as err:  # pyserial raises OSError, termios.error or ValueError
            text = str(err)
            if "lock" in text.lower() or "busy" in text.lower():
                raise PortError(
                    f"{self.port} is busy: another program has it open "
                    "(a serial monitor, Thonny, `mpremote repl`?); close it and try again"
                ) from err
            raise PortError(f"cannot open {self.port}: {text}. {_ports_hint()}") from err
        return self

    def enter_raw_repl(self, soft_reset: bool = True) -> None:
        """Interrupt whatever runs, soft-reset, and take the raw REPL."""
        transport = self._require()
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured):
                transport.enter_raw_repl(soft_reset=soft_reset, timeout_overall=self.timeout_s)
        except (TransportError, OSError) as err:
            seen = captured.getvalue().strip()
            detail = f" It sent: {seen[-200:]}" if seen and seen != "b''" else " It sent nothing."
            raise NotMicroPythonError(
                f"no MicroPython REPL answered on {self.port} within {self.timeout_s:g} s.{detail} "
                "Is MicroPython installed on the board (hardware/README.md, 'Install MicroPython'), "
                "and is this the board's port rather than another serial device?"
            ) from err
        self._helpers_loaded = False

    def __enter__(self) -> PodConnection:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._transport is not None:
            transport, self._transport = self._transport, None
            with contextlib.suppress(Exception):
                if transport.in_raw_repl:
                    transport.exit_raw_repl()
            with contextlib.suppress(Exception):
                transport.close()

    def _require(self) -> SerialTransport:
        if self._transport is None:
            raise PortError(f"{self.port} is not open")
        return self._transport

    # -- running code ------------------------------------------------------------
    def run(self, code: str, timeout_s: float | None = None) -> bytes:
        """Run code in the raw REPL; returns its output, raises PodCommandError."""
        transport = self._require()
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            out, err = transport.exec_raw(code, timeout=timeout)
        except TransportError as exc:
            raise PodTimeoutError(
                f"the pod on {self.port} stopped answering ({exc}); unplug it, plug it back "
                "in and try again"
            ) from exc
        if err:
            raise PodCommandError(err.decode(errors="replace").strip())
        return bytes(out)

    def run_json(self, code: str, timeout_s: float | None = None) -> Any:
        """Run code that prints one JSON line last (the helpers loaded); returns it decoded."""
        self.load_helpers()
        out = self.run(code, timeout_s).decode(errors="replace").strip()
        last = out.splitlines()[-1] if out else ""
        try:
            return json.loads(last)
        except json.JSONDecodeError as err:
            raise PodCommandError(f"unexpected answer from the pod: {out[-300:]!r}") from err

    def load_helpers(self) -> None:
        if not self._helpers_loaded:
            self.run(podside.HELPERS)
            self._helpers_loaded = True

    # -- files -------------------------------------------------------------------
    def write_file(self, path: str, data: bytes) -> None:
        """Write a file on the pod (creating its folders); ENOSPC -> PodFilesystemFullError."""
        self.load_helpers()
        try:
            self.run(f"_hl_mkdirs({path!r})\n_hl_f = open({path!r}, 'wb')")
            for start in range(0, len(data), _WRITE_CHUNK):
                chunk = base64.b64encode(data[start : start + _WRITE_CHUNK]).decode()
                self.run(f"_hl_f.write(binascii.a2b_base64({chunk!r}))")
            self.run("_hl_f.close()")
        except PodCommandError as err:
            with contextlib.suppress(PodCommandError):
                self.run("_hl_f.close()")
            if any(name in str(err) for name in _ENOSPC_NAMES):
                raise PodFilesystemFullError(f"the pod's flash filled up writing {path}") from err
            raise

    def read_file(self, path: str) -> bytes | None:
        """A file's contents, or None if the pod has no such file."""
        self.load_helpers()
        try:
            out = self.run(f"_hl_cat({path!r}, {_READ_CHUNK})")
        except PodCommandError as err:
            if "ENOENT" in str(err) or "Errno 2" in str(err):
                return None
            raise
        return b"".join(base64.b64decode(line) for line in out.split() if line)

    # -- letting the firmware run ------------------------------------------------
    def restart_firmware(self, watch_s: float) -> str:
        """Soft-reset from the friendly REPL, so main.py runs; returns what it printed.

        Watches for `watch_s` seconds, or until a traceback has been printed in full.
        """
        transport = self._require()
        if transport.in_raw_repl:
            transport.exit_raw_repl()
        serial = transport.serial
        serial.timeout = 0.05
        try:
            serial.write(b"\x04")
            seen = bytearray()
            deadline = time.monotonic() + watch_s
            while time.monotonic() < deadline:
                seen.extend(serial.read(max(1, serial.in_waiting)))
                if b"Traceback" in seen and seen.rstrip().endswith(b">>>"):
                    break
        finally:
            serial.timeout = _READ_TIMEOUT_S
        return seen.decode(errors="replace")
