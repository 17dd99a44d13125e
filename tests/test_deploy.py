"""flash, pull and doctor against the test board: the unix port on a pseudo-terminal.

The commands run unmodified (through the real CLI where it matters) against
heavylegs.sim.testboard, whose `machine` is the simulated board with the
LSM6DSOX emulator and whose filesystem is a private directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import heavylegs_pod
from heavylegs.deploy import flash as flash_module
from heavylegs.deploy import manifest
from heavylegs.deploy import pull as pull_module
from heavylegs.deploy.doctor import doctor
from heavylegs.deploy.errors import (
    BoardMismatchError,
    NotMicroPythonError,
    PodFilesystemFullError,
    PodTimeoutError,
    SensorError,
)
from heavylegs.deploy.flash import flash
from heavylegs.deploy.pull import pull
from heavylegs.deploy.usb import PodConnection
from heavylegs.link.keys import KeyStore
from heavylegs.sim.testboard import SilentPort, TestBoard
from heavylegs.store import Store

WATCH_S = 0.3


def _cli(*args: str, home: Path) -> SimpleNamespace:
    """The heavylegs command line, in this process."""
    from typer.testing import CliRunner

    from heavylegs.cli import app

    result = CliRunner().invoke(app, list(args), env={"HEAVYLEGS_HOME": str(home)})
    return SimpleNamespace(returncode=result.exit_code, stdout=result.output, stderr="")


def _entry_point(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The installed `heavylegs` command, as a person runs it."""
    env = dict(os.environ, HEAVYLEGS_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "heavylegs.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _tree(root: Path) -> dict[str, str]:
    """Every file under root with its SHA-256: what a pod's filesystem holds."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module", autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory):
    """Keys and the build cache of API calls go to a folder of this module, not ~."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HEAVYLEGS_HOME", str(tmp_path_factory.mktemp("home")))
        yield


def _trace(folder: Path, seconds: float) -> Path:
    from heavylegs.sim.gait_model import RunParams, simulate_run

    path = folder / "left.hltrace"
    simulate_run(RunParams(duration_s=seconds), seed=7, scenario="steady")["left"].write(path)
    return path


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough for the firmware to start up; short, as it replays after each reset."""
    return _trace(tmp_path_factory.mktemp("trace"), 12.0)


@pytest.fixture(scope="module")
def flashed(tmp_path_factory: pytest.TempPathFactory, trace: Path):
    """A test board with a sensor, flashed once through `heavylegs flash`."""
    base = tmp_path_factory.mktemp("flashed")
    board = TestBoard(base / "pod", trace=trace).start()
    try:
        cli = _entry_point(
            "flash", "--board", "sim-unix", "--port", board.port, "--foot", "left",
            "--watch", str(WATCH_S),
            home=base / "home",
        )  # fmt: skip
        yield SimpleNamespace(board=board, root=base / "pod", home=base / "home", cli=cli)
    finally:
        board.close()


# --- the test board itself ---------------------------------------------------------


def test_testboard_answers_mpremote_like_a_board(tmp_path: Path):
    with TestBoard(tmp_path / "pod") as board:
        proc = subprocess.run(
            [sys.executable, "-m", "mpremote", "connect", board.port,
             "exec", "import os; print(os.getcwd())", "+", "soft-reset"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == str(tmp_path / "pod")
        # mpremote's soft reset on connect, and the one asked for: each a new interpreter.
        assert board.boots == 3
        assert board.output.count(b"MPY: soft reboot\r\n") == 2


# --- flash -----------------------------------------------------------------------------


def test_flash_installs_exactly_the_manifest(flashed):
    assert flashed.cli.returncode == 0, flashed.cli.stdout + flashed.cli.stderr
    out = flashed.cli.stdout
    expected = {
        f.pod_path for f in manifest.firmware_files("x64", flashed.home / "build", reuse=True)
    }
    expected |= {"board.json", "pod.json", "key.bin"}
    assert f"flashed heavylegs {heavylegs_pod.VERSION} for sim-unix" in out
    assert f"{len(expected)} files written, 0 unchanged, 0 removed" in out
    assert "the firmware is running" in out
    files = set(_tree(flashed.root))
    # Whatever else is there is the firmware's own journal, made as it ran.
    assert expected <= files
    assert {f for f in files - expected if not f.startswith("journal/")} == set()
    board = json.loads((flashed.root / "board.json").read_text())
    assert board["name"] == "sim-unix" and "sources" not in board
    assert json.loads((flashed.root / "pod.json").read_text()) == {
        "foot": "left",
        "name": "heavylegs-L",
    }


def test_flashed_firmware_imports_and_runs_on_the_test_board(flashed):
    # The simulated sensor says so once the firmware has drained the whole trace.
    assert flashed.board.wait_for(b"SIM trace-end", timeout=60)
    since_start = flashed.board.output.rsplit(b"MPY: soft reboot", 1)[1]
    assert b"SIM trace-end" in since_start and b"Traceback" not in since_start


def test_the_host_keeps_the_owner_key_the_pod_got(flashed):
    keys = json.loads((flashed.home / "keys.json").read_text())
    assert len(keys) == 1
    (address, key_hex), = keys.items()  # fmt: skip
    assert (flashed.root / "key.bin").read_bytes() == bytes.fromhex(key_hex)
    assert len(bytes.fromhex(key_hex)) == 32
    assert f"BLE address {address}" in flashed.cli.stdout


def test_reflash_writes_only_what_changed_and_removes_stale_modules(flashed):
    keys_file = flashed.home / "keys.json"
    stale = flashed.root / "heavylegs_pod" / "old_module.py"
    stale.write_text("raise ImportError('a stale .py shadows the .mpy of its name')\n")
    shadow = flashed.root / "heavylegs_pod" / "wire.py"
    shadow.write_text("raise ImportError('stale source')\n")
    # What a power cut in the middle of an earlier flash leaves behind.
    torn = [flashed.root / "main.py.hl-new", flashed.root / "heavylegs_pod" / "app.mpy.hl-new"]
    for path in torn:
        path.write_bytes(b"half a file")
    key_before = (flashed.root / "key.bin").read_bytes()

    result = flash(flashed.board.port, "sim-unix", "right", keys_file=keys_file, watch_s=WATCH_S)

    assert result.written == ["pod.json"]
    assert result.removed == [
        "heavylegs_pod/app.mpy.hl-new",
        "heavylegs_pod/old_module.py",
        "heavylegs_pod/wire.py",
        "main.py.hl-new",
    ]
    assert not any(p.exists() for p in [stale, shadow, *torn])
    assert result.key_action == "kept"
    assert (flashed.root / "key.bin").read_bytes() == key_before
    assert json.loads((flashed.root / "pod.json").read_text())["name"] == "heavylegs-R"


def test_a_lost_host_key_is_adopted_and_a_new_one_replaces_it(flashed, tmp_path: Path):
    pod_key = (flashed.root / "key.bin").read_bytes()
    keys_file = tmp_path / "keys.json"  # a new computer: no keys yet
    adopted = flash(flashed.board.port, "sim-unix", keys_file=keys_file, watch_s=WATCH_S)
    assert adopted.key_action == "adopted the key already on the pod"
    assert KeyStore(keys_file).get(adopted.address) == pod_key
    assert adopted.written == []

    rotated = flash(
        flashed.board.port, "sim-unix", keys_file=keys_file, rotate_key=True, watch_s=WATCH_S
    )
    new_key = (flashed.root / "key.bin").read_bytes()
    assert rotated.written == ["key.bin"]
    assert new_key != pod_key
    assert KeyStore(keys_file).get(rotated.address) == new_key


def test_the_wrong_board_is_refused_before_anything_is_written(flashed, tmp_path: Path):
    before = {k: v for k, v in _tree(flashed.root).items() if not k.startswith("journal/")}
    with pytest.raises(BoardMismatchError, match="nano-rp2040-connect is for RP2040.*armv6m.*x64"):
        flash(flashed.board.port, "nano-rp2040-connect", keys_file=tmp_path / "k.json")
    after = {k: v for k, v in _tree(flashed.root).items() if not k.startswith("journal/")}
    assert after == before
    assert not (tmp_path / "k.json").exists()


def test_a_wrong_port_says_so_and_lists_ports(tmp_path: Path):
    result = _cli(
        "flash", "--board", "sim-unix", "--port", str(tmp_path / "ttyUSB9"), home=tmp_path
    )
    assert result.returncode == 2
    assert f"cannot open {tmp_path / 'ttyUSB9'}" in result.stdout
    assert "serial ports" in result.stdout
    assert not (tmp_path / "keys.json").exists()


def test_a_board_not_running_micropython_is_named_as_such(tmp_path: Path):
    with SilentPort() as port, pytest.raises(NotMicroPythonError) as caught:
        flash(port.port, "sim-unix", keys_file=tmp_path / "k.json", timeout_s=1.0)
    message = str(caught.value)
    assert "no MicroPython REPL answered" in message
    assert "waiting for download" in message  # what the board did say
    assert "Install MicroPython" in message


def test_a_sensor_that_does_not_answer_is_reported(tmp_path: Path):
    with TestBoard(tmp_path / "pod") as board:  # no trace: nothing on the I2C bus
        with pytest.raises(SensorError) as caught:
            flash(board.port, "sim-unix", keys_file=tmp_path / "k.json", watch_s=WATCH_S)
    message = str(caught.value)
    assert message.startswith("the firmware is installed, but the LSM6DSOX at I2C address 0x6A")
    assert "does not answer" in message and "a bus scan found nothing" in message


def test_a_silent_sensor_on_spi_is_described_by_its_spi_wiring():
    from heavylegs.deploy.boards import load_board

    board = load_board("pico-w-lsm6dso32-spi")
    floating = flash_module.describe_sensor_fault(board, {"who_am_i": 0xFF})
    assert floating.startswith("the LSM6DSO32 on SPI bus 0 with chip select GPIO17 (SCK GPIO18")
    assert "nothing drives MISO" in floating and "I2C" not in floating
    wrong = flash_module.describe_sensor_fault(board, {"who_am_i": 0x6A})
    assert "answers WHO_AM_I 0x6A, not 0x6C" in wrong
    # a bus error: SPI has no scan to report and no address jumper to check
    failed = flash_module.describe_sensor_fault(
        board, {"sensor_error": "OSError(5,)", "i2c_scan": []}
    )
    assert failed.startswith("the LSM6DSO32 on SPI bus 0 with chip select GPIO17")
    assert "does not answer (OSError(5,))" in failed and "CS/SCK/MOSI/MISO wiring" in failed
    assert "scan" not in failed and "address" not in failed and "SDA" not in failed


def _pod_files(port: str) -> dict[str, bytes]:
    with PodConnection(port) as conn:
        conn.enter_raw_repl()
        conn.load_helpers()
        names = conn.run_json("_o = []\n_hl_walk('', _o)\nprint(json.dumps(_o))")
        return {name: conn.read_file(name) for name in names}


@pytest.mark.parametrize("preflight", [True, False], ids=["space-check", "flash-fills-up"])
def test_a_full_flash_changes_nothing(tmp_path: Path, monkeypatch, preflight: bool):
    if not preflight:
        # Let the upload start, so the flash really fills up half way through it.
        monkeypatch.setattr(flash_module, "_check_space", lambda info, changed: None)
    journal = os.urandom(8000)
    with TestBoard(tmp_path / "pod", flash_kib=64) as board:
        with PodConnection(board.port) as conn:
            conn.enter_raw_repl()
            conn.write_file("journal/00000001.hls", journal)
            conn.write_file("main.py", b"print('old firmware')\n")
        before = _pod_files(board.port)
        with pytest.raises(PodFilesystemFullError) as caught:
            flash(board.port, "sim-unix", keys_file=tmp_path / "k.json", watch_s=WATCH_S)
        after = _pod_files(board.port)
    assert after == before
    assert after["journal/00000001.hls"] == journal
    if preflight:
        assert "Nothing was changed on the pod" in str(caught.value)
        assert not (tmp_path / "k.json").exists()
    else:
        assert "filled up" in str(caught.value)


# --- doctor ----------------------------------------------------------------------------


def test_doctor_on_a_healthy_pod(flashed):
    report = doctor(flashed.board.port)
    assert report.healthy
    by_name = {c.name: c for c in report.checks}
    assert by_name["micropython"].detail.startswith("micropython 1.29")
    assert by_name["firmware"].detail == f"heavylegs {heavylegs_pod.VERSION}"
    assert by_name["sensor"].ok and "WHO_AM_I 0x6C" in by_name["sensor"].detail
    fifo = report.raw["fifo"]
    assert fifo["samples"] >= 832 and fifo["overruns"] == 0 and fifo["interrupts"] > 0
    assert by_name["battery"].ok is None  # the simulated board has no battery sense


def test_doctor_names_a_silent_sensor_and_fails(tmp_path: Path):
    with TestBoard(tmp_path / "pod") as board:
        result = _cli("doctor", "--port", board.port, "--board", "sim-unix", home=tmp_path)
    assert result.returncode == 1
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.split()}
    assert lines["sensor"].startswith("FAIL") and "does not answer" in lines["sensor"]
    assert lines["firmware"].startswith("--") and "not installed" in lines["firmware"]
    assert lines["micropython"].startswith("ok")


def test_doctor_fails_a_board_file_for_another_processor_as_flash_refuses_it(tmp_path: Path):
    with TestBoard(tmp_path / "pod") as board:
        result = _entry_point(
            "doctor", "--port", board.port, "--board", "pico-w-lsm6dso32-spi", home=tmp_path
        )
    assert result.returncode == 1, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "FAIL board --board pico-w-lsm6dso32-spi is for RP2040 (mpy arch armv6m)" in text
    assert "but the pod reports mpy arch x64" in text
    assert "ok board" not in text


def test_a_pod_with_its_sensor_on_spi_flashes_and_passes_the_doctor(tmp_path: Path, trace):
    # the sim board file rewired: the emulated chip on SPI behind a chip-select pin
    from heavylegs.deploy.boards import BOARDS_DIR
    from heavylegs.sim.board import sim_board

    data = json.loads((BOARDS_DIR / "sim-unix.json").read_text())
    del data["i2c"]
    del data["imu"]["address"]  # chip select picks the chip on SPI
    data["spi"] = {
        "id": sim_board.SPI_ID,
        "cs": sim_board.SPI_CS_PIN,
        "baudrate": sim_board.SPI_BAUDRATE,
    }
    board_file = tmp_path / "sim-unix-spi.json"
    board_file.write_text(json.dumps(data))
    with TestBoard(tmp_path / "pod", trace=trace, env={"HEAVYLEGS_SIM_BUS": "spi"}) as board:
        result = flash(board.port, board_file, keys_file=tmp_path / "k.json", watch_s=WATCH_S)
        report = doctor(board.port)
    assert result.who_am_i == 0x6C
    assert report.healthy
    by_name = {c.name: c for c in report.checks}
    assert by_name["sensor"].ok and "WHO_AM_I 0x6C" in by_name["sensor"].detail
    fifo = report.raw["fifo"]
    assert fifo["samples"] >= 832 and fifo["overruns"] == 0 and fifo["interrupts"] > 0


# --- pull ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def journal_pod(tmp_path_factory: pytest.TempPathFactory):
    """A pod whose firmware recorded the trace into its journal, then stopped.

    Pulls run on a board without a sensor, so the firmware cannot record more
    sessions in between and every count is exact.
    """
    base = tmp_path_factory.mktemp("journal")
    with TestBoard(base / "pod", trace=_trace(base, 30.0)) as board:
        flash(board.port, "sim-unix", "left", keys_file=base / "keys.json", watch_s=WATCH_S)
        assert board.wait_for(b"SIM trace-end", timeout=60)
    return base / "pod"


def _pod_sessions(port: str) -> list[tuple[int, int, int]]:
    """(session, count, acked) of each session in the pod's journal."""
    from heavylegs.deploy import podside
    from heavylegs_pod import wire

    with PodConnection(port) as conn:
        conn.enter_raw_repl()
        listing = conn.run_json(podside.JOURNAL_OPEN)
    out = []
    for h in listing["sessions"]:
        s = wire.decode_session(bytes.fromhex(h))
        out.append((s["session"], s["count"], s["acked"]))
    return out


def test_pull_survives_a_cut_and_never_duplicates(journal_pod: Path, tmp_path: Path, monkeypatch):
    db = tmp_path / "heavylegs.db"
    with TestBoard(journal_pod) as board:
        sessions = _pod_sessions(board.port)
        total = sum(count for _, count, _ in sessions)
        assert total > 20 and all(acked == 0 for _, _, acked in sessions)

        # Small batches, and the cable is pulled after the store committed the second.
        monkeypatch.setattr(pull_module, "BATCH", 8)
        real_ack = pull_module._ack
        acks = []

        def cut_after_two(conn, session, count):
            if len(acks) == 2:
                raise PodTimeoutError("the pod stopped answering (cable pulled)")
            acks.append(count)
            real_ack(conn, session, count)

        monkeypatch.setattr(pull_module, "_ack", cut_after_two)
        with pytest.raises(PodTimeoutError):
            pull(board.port, db)
        monkeypatch.setattr(pull_module, "_ack", real_ack)
        with Store(db) as store:
            stored_after_cut = sum(r.stride_count for run in store.runs() for r in run.recordings)
        assert stored_after_cut == 24  # three batches stored, two acknowledged

        result = _cli("pull", "--port", board.port, "--db", str(db), home=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"{total - 24} new strides stored" in result.stdout

        again = pull(board.port, db)
        assert again.new_strides == 0 and again.received == 0
        assert _pod_sessions(board.port) == [(s, c, c) for s, c, _ in sessions]

    with Store(db) as store:
        recordings = [r for run in store.runs() for r in run.recordings]
        assert sorted(r.pod_session for r in recordings) == [s for s, _, _ in sessions]
        assert sum(r.stride_count for r in recordings) == total
        for recording in recordings:
            seqs = [s.seq for s in store.strides(recording.id)]
            assert seqs == list(range(len(seqs)))
            assert recording.foot == "left" and recording.pod_name == "heavylegs-L"


def test_pull_from_a_pod_without_firmware_says_what_is_missing(tmp_path: Path):
    with TestBoard(tmp_path / "pod") as board:
        result = _cli("pull", "--port", board.port, "--db", str(tmp_path / "db"), home=tmp_path)
    assert result.returncode == 2
    assert "has no readable journal (is heavylegs flashed on it?)" in result.stdout
