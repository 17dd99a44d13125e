"""A pod on USB without a pod: the unix port's REPL behind a pseudo-terminal.

`heavylegs flash`, `pull` and `doctor` talk to a serial port through mpremote.
TestBoard gives them one (a /dev/pts/N path) that behaves like a MicroPython
board on USB:

- a Ctrl-D soft reset prints ``MPY: soft reboot`` and restarts the interpreter
  in the REPL mode it was in, and a reset from the friendly REPL runs main.py
  first, as a board does (the unix port itself just exits on Ctrl-D);
- Ctrl-C interrupts a running main.py (the pty is the interpreter's controlling
  terminal, so the line discipline turns it into SIGINT);
- the pod's filesystem is a private directory (`root`), or, with `flash_kib`,
  a littlefs image of that size inside it, so free space and a full flash are
  real;
- `machine` is the simulated board of heavylegs.sim (the LSM6DS emulator on
  I2C, serving `trace` if one is given, with no sensor on the bus otherwise), and
  `bluetooth` is a radio nobody is in range of (testboard_pod/bluetooth.py).

Everything the board prints is also kept in `output`, so a test can see what a
person watching the serial console would see.

Run `python -m heavylegs.sim.testboard DIR` to get one for manual use: it
prints the port to pass to `heavylegs flash --port`.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import threading
import time
import tty
from pathlib import Path

from heavylegs import paths

TESTBOARD_POD_DIR = Path(__file__).resolve().parent / "testboard_pod"
BOOT_SCRIPT = TESTBOARD_POD_DIR / "_testboard_boot.py"
FLASH_IMAGE = "flash.img"

_CTRL_A = 0x01
_CTRL_B = 0x02
_CTRL_C = 0x03
_CTRL_D = 0x04
_CONTROL = (_CTRL_A, _CTRL_B, _CTRL_C, _CTRL_D)
_SOFT_REBOOT = b"MPY: soft reboot\r\n"
_FRIENDLY_PROMPT = b">>> "
# How long the board may take to reach its REPL after a reset or a Ctrl-C
# before input is passed on regardless (a hung board then shows as a hang).
_SETTLE_S = 5.0
_BOOT_S = 0.5
_POLL_S = 0.01


def _make_controlling_tty() -> None:
    # Runs in the child before exec: the pty becomes its controlling terminal,
    # so Ctrl-C reaches a running program as SIGINT, as USB-CDC's interrupt
    # character does on a board.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _baseline_termios(fd: int) -> None:
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[3] |= termios.ISIG
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


class TestBoard:
    """One simulated pod on a pseudo-terminal; use as a context manager."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        root: str | Path,
        *,
        trace: str | Path | None = None,
        part: str = "LSM6DSOX",
        pod_id: str = "testboard",
        flash_kib: int | None = None,
        heap: str = "512K",
        env: dict[str, str] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.trace = Path(trace).resolve() if trace is not None else None
        self.part = part
        self.pod_id = pod_id
        self.flash_kib = flash_kib
        self.heap = heap
        self.extra_env = dict(env or {})
        self.boots = 0
        self._output = bytearray()
        self._output_changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._raw_mode = False
        self._pending = bytearray()
        self._hold_until = 0.0  # input waits until the board reaches its REPL
        self._swallow: bytearray | None = None  # banner hidden after a raw-mode reset
        self._last_input = -1
        self.port = ""

    # -- lifetime ------------------------------------------------------------
    def start(self) -> TestBoard:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.flash_kib is not None:
            image = self.root / FLASH_IMAGE
            if not image.exists():
                # Erased NOR flash reads as 0xff; the boot script formats it.
                image.write_bytes(b"\xff" * (self.flash_kib * 1024))
        self._host_master, self._host_slave = os.openpty()
        _baseline_termios(self._host_slave)
        self.port = os.ttyname(self._host_slave)
        self._board_master, self._board_slave = os.openpty()
        for fd in (self._host_master, self._board_master):
            os.set_blocking(fd, False)
        self._spawn(run_main=True)
        self._thread = threading.Thread(target=self._pump, name=f"testboard {self.port}")
        self._thread.daemon = True
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._kill()
        for name in ("_host_master", "_host_slave", "_board_master", "_board_slave"):
            fd = getattr(self, name, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)

    def __enter__(self) -> TestBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what a test can look at ----------------------------------------------
    @property
    def output(self) -> bytes:
        with self._output_changed:
            return bytes(self._output)

    def wait_for(self, marker: bytes, timeout: float = 10.0, start: int = 0) -> bool:
        """True once `marker` appears in the output after offset `start`."""
        deadline = time.monotonic() + timeout
        with self._output_changed:
            while marker not in self._output[start:]:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._output_changed.wait(left)
        return True

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- the interpreter -------------------------------------------------------
    def _env(self, run_main: bool) -> dict[str, str]:
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("HEAVYLEGS_SIM_")]:
            del env[key]
        env.update(
            MICROPYPATH=os.pathsep.join(
                [str(TESTBOARD_POD_DIR), "", str(paths.SIM_BOARD_DIR), ".frozen"]
            ),
            HEAVYLEGS_TESTBOARD_ROOT=str(self.root),
            HEAVYLEGS_TESTBOARD_MAIN="1" if run_main else "0",
            HEAVYLEGS_SIM_PART=self.part,
            HEAVYLEGS_SIM_POD=self.pod_id,
        )
        if self.flash_kib is not None:
            env["HEAVYLEGS_TESTBOARD_FLASH"] = FLASH_IMAGE
        if self.trace is not None:
            env["HEAVYLEGS_SIM_TRACE"] = str(self.trace)
        env.update(self.extra_env)
        return env

    def _spawn(self, run_main: bool) -> None:
        _baseline_termios(self._board_slave)
        termios.tcflush(self._board_slave, termios.TCIOFLUSH)
        self.boots += 1
        self._proc = subprocess.Popen(
            [paths.micropython_binary(), "-X", f"heapsize={self.heap}", "-i", str(BOOT_SCRIPT)],
            stdin=self._board_slave,
            stdout=self._board_slave,
            stderr=self._board_slave,
            cwd=self.root,
            env=self._env(run_main),
            preexec_fn=_make_controlling_tty,
        )
        # Input waits until the REPL is up (its terminal switch would drop it),
        # or for a moment if main.py runs instead and the REPL never comes.
        self._hold_until = time.monotonic() + _BOOT_S
        self._swallow = bytearray() if self._raw_mode else None

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def _at_prompt(self) -> bool:
        # At its REPL the unix port puts the terminal in raw mode (no ISIG);
        # while a program runs the terminal is as we left it, with ISIG.
        try:
            return not termios.tcgetattr(self._board_slave)[3] & termios.ISIG
        except termios.error:
            return False

    # -- the pump thread -----------------------------------------------------
    def _pump(self) -> None:
        while not self._stop.is_set():
            proc = self._proc
            if proc is not None and proc.poll() is not None:
                self._reboot()
                continue
            try:
                readable, _, _ = select.select(
                    [self._host_master, self._board_master], [], [], _POLL_S
                )
            except (OSError, ValueError):
                return
            if self._board_master in readable:
                self._from_board()
            if self._host_master in readable:
                self._from_host()
            self._to_board()

    def _read(self, fd: int) -> bytes:
        try:
            return os.read(fd, 4096)
        except BlockingIOError:
            return b""
        except OSError as err:
            if err.errno == errno.EIO:  # nobody on the other side right now
                return b""
            raise

    def _from_board(self) -> None:
        data = self._read(self._board_master)
        if not data:
            return
        if self._swallow is not None:
            # After a reset from the raw REPL a board goes straight back to it;
            # the unix port starts at the friendly REPL, so enter raw mode for it
            # and hide the banner a board would not print.
            self._swallow.extend(data)
            if self._swallow.endswith(_FRIENDLY_PROMPT):
                self._swallow = None
                self._write(self._board_master, bytes((_CTRL_A,)))
            return
        self._to_host(data)

    def _to_host(self, data: bytes) -> None:
        with self._output_changed:
            self._output.extend(data)
            self._output_changed.notify_all()
        # A board whose USB host is not listening drops what it prints.
        self._write(self._host_master, data, give_up_s=1.0)

    def _from_host(self) -> None:
        self._pending.extend(self._read(self._host_master))

    def _to_board(self) -> None:
        while self._pending:
            if self._swallow is not None:
                return
            if time.monotonic() < self._hold_until and not self._at_prompt():
                return
            self._hold_until = 0.0
            # Pass plain bytes on in one write, up to the next control character.
            end = len(self._pending)
            for i, byte in enumerate(self._pending):
                if byte in _CONTROL:
                    end = i + 1
                    break
            chunk = bytes(self._pending[:end])
            del self._pending[:end]
            last = chunk[-1]
            if last == _CTRL_A:
                self._raw_mode = True
            elif last == _CTRL_B:
                self._raw_mode = False
            interrupting = last == _CTRL_C and not self._at_prompt()
            self._last_input = last
            self._write(self._board_master, chunk)
            if interrupting:
                # The REPL that comes up after the KeyboardInterrupt switches the
                # terminal with TCSAFLUSH and would drop whatever follows.
                self._hold_until = time.monotonic() + _SETTLE_S
                return

    def _write(self, fd: int, data: bytes, give_up_s: float = _SETTLE_S) -> None:
        deadline = time.monotonic() + give_up_s
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                select.select([], [fd], [], _POLL_S)
            except OSError:
                return

    def _reboot(self) -> None:
        while True:
            data = self._read(self._board_master)
            if not data:
                break
            if self._swallow is None:
                self._to_host(data)
        # A Ctrl-D at the raw REPL is a soft reset that stays in the raw REPL.
        # Any other end (machine.reset(), sys.exit(), a crash) is a reset that
        # runs main.py, like a board coming out of a hard reset.
        soft_raw = self._raw_mode and self._last_input == _CTRL_D
        self._raw_mode = soft_raw
        self._last_input = -1
        self._pending.clear()
        self._to_host(_SOFT_REBOOT)
        self._spawn(run_main=not soft_raw)


class SilentPort:
    """A serial port with something on it that is not MicroPython.

    It answers every byte it receives with `reply` (by default what an ESP32-S3
    in its ROM bootloader prints), so a host that expects a REPL sees bytes but
    never a prompt.
    """

    __test__ = False

    def __init__(self, reply: bytes = b"ESP-ROM:esp32s3-20210327\r\nwaiting for download\r\n"):
        self.reply = reply
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._master], [], [], _POLL_S)
            if readable:
                try:
                    if os.read(self._master, 4096) and self.reply:
                        os.write(self._master, self.reply)
                except OSError:
                    pass

    def __enter__(self) -> SilentPort:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self._master)
        os.close(self._slave)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="directory that is the pod's filesystem")
    parser.add_argument("--trace", type=Path, help="trace file the simulated sensor serves")
    parser.add_argument("--part", default="LSM6DSOX")
    parser.add_argument("--flash-kib", type=int, help="littlefs flash of this size")
    args = parser.parse_args(argv)
    board = TestBoard(args.root, trace=args.trace, part=args.part, flash_kib=args.flash_kib)
    with board:
        print(board.port, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
