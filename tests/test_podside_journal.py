"""The USB pull snippets (deploy/podside.py) run on the pod, inside the real
`micropython`, over a journal with damaged records and an identity to report."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest
from micropython_run import run_micropython

from heavylegs import paths
from heavylegs.deploy import podside
from heavylegs.sim.gait_model import RunParams, simulate_run
from heavylegs_pod import wire
from heavylegs_pod.journal import Journal
from heavylegs_pod.power import rtc_record

DAMAGED = [0, 1] + list(range(40, 340)) + [399]
TOTAL = 400


def _record(seq: int) -> bytes:
    buf = bytearray(wire.STRIDE_SIZE)
    wire.encode_stride(buf, seq, 3, 700 * seq, 2500, 7000, 17000, 80, 20, 0)
    return bytes(buf)


@pytest.fixture()
def pod_dir(tmp_path: Path) -> tuple[Path, Journal, int, int]:
    journal = Journal(str(tmp_path / "journal"), 1 << 20)
    old = journal.open_session(0, 0, 0x40, 416)
    journal.append(_record(0))
    sid = journal.open_session(
        0,
        0,
        0x40,
        416,
        boot=0xCAFE0001,
        start_clock_s=50,
        clock_known=True,
        acc_fs_g=32,
        gyro_fs_dps=2000,
    )
    for seq in range(TOTAL):
        journal.append(_record(seq))
    journal.close_session()
    path = tmp_path / "journal" / f"{sid:08x}.hls"
    data = bytearray(path.read_bytes())
    for k in DAMAGED:
        data[wire.J_HEADER_SIZE + k * wire.J_STRIDE_SIZE + 7] ^= 0x01
    path.write_bytes(bytes(data))
    board = json.loads(Path("hardware/boards/sim-unix.json").read_text())
    (tmp_path / "board.json").write_text(json.dumps(board))
    return tmp_path, journal, old, sid


def _run_on_pod(folder: Path, script: str, trace: Path | None = None) -> list[str]:
    out = run_micropython(
        ["-X", "heapsize=2M", "-c", script],
        [paths.FIRMWARE_DIR, paths.SIM_BOARD_DIR],
        cwd=folder,
        timeout=120,
        env={
            "HEAVYLEGS_SIM_SOCKET": None,
            "HEAVYLEGS_SIM_TRACE": None if trace is None else str(trace),
        },
    )
    return out.splitlines()


def test_usb_listing_names_every_session_and_the_pod_now(pod_dir, tmp_path):
    folder, journal, old, sid = pod_dir
    trace = tmp_path / "t.hltrace"
    simulate_run(RunParams(duration_s=12.0), seed=1, scenario="steady")["left"].write(trace)
    # The app kept its clocks in RTC memory 7 s of sensor time ago (then a soft
    # reset gave the REPL to the host); the sensor's timestamp ran on.
    kept = rtc_record(1_800_000_000, (0 - 7 * 40000) & 0xFFFFFFFF, 0xCAFE0001, 900)
    setup = f"import machine\nmachine.RTC().memory({kept!r})\n"
    lines = _run_on_pod(folder, setup + podside.HELPERS + podside.JOURNAL_OPEN, trace)
    listing = json.loads(lines[-1])
    sessions = [wire.decode_session(bytes.fromhex(h)) for h in listing["sessions"]]
    assert [s["session"] for s in sessions] == [old, sid]
    ids = listing["identities"]
    assert [i["session"] for i in ids] == [old, sid]
    assert ids[0] | {"record": None} == {
        "session": old,
        "epoch": journal.epoch,
        "boot": 0,
        "start_clock_s": 0,
        "clock_known": False,
        "record": None,
    }
    assert ids[1]["boot"] == 0xCAFE0001 and ids[1]["start_clock_s"] == 50 and ids[1]["clock_known"]
    assert wire.decode_identity(bytes.fromhex(ids[1]["record"])) == {
        "session": sid,
        "epoch": journal.epoch,
        "boot": 0xCAFE0001,
        "start_clock_s": 50,
        # USB pull carries the sensor's ranges too
        "acc_fs_g": 32,
        "gyro_fs_dps": 2000,
    }
    pod = listing["pod"]
    assert pod["epoch"] == journal.epoch
    assert (pod["boot"], pod["clock_s"], pod["unix_s"]) == (0xCAFE0001, 907, 1_800_000_007), pod


def test_usb_listing_without_kept_clocks_says_so(pod_dir):
    folder, journal, _, _ = pod_dir
    listing = json.loads(_run_on_pod(folder, podside.HELPERS + podside.JOURNAL_OPEN)[-1])
    pod = listing["pod"]
    assert pod["epoch"] == journal.epoch
    assert pod["boot"] is None and pod["clock_s"] is None and pod["unix_s"] is None


def test_usb_send_declares_damaged_records_as_gaps(pod_dir):
    folder, _, _, sid = pod_dir
    script = podside.HELPERS + podside.JOURNAL_OPEN + podside.JOURNAL_HELPERS
    for start in range(0, TOTAL, 128):
        script += f"_hl_journal_send({sid}, {start}, 128)\n"
    lines = _run_on_pod(folder, script)
    received: list[int] = []
    gaps: list[tuple[int, int]] = []
    blob = b""
    nexts = []
    for line in lines[1:]:
        if line.startswith("{"):
            answer = json.loads(line)
            nexts.append(answer["next"])
            gaps.extend((first, count) for first, count in answer["gaps"])
            for o in range(0, len(blob), 24):
                (index,) = struct.unpack_from("<I", blob, o)
                assert blob[o + 4 : o + 24] == _record(index)
                received.append(index)
            blob = b""
        else:
            blob += base64.b64decode(line)
    assert nexts == [128, 256, 384, 400]
    assert received == [k for k in range(TOTAL) if k not in DAMAGED]
    declared = [k for first, count in gaps for k in range(first, first + count)]
    assert declared == DAMAGED
    # one run of damage per batch it crosses, not one per record
    assert gaps == [(0, 2), (40, 88), (128, 128), (256, 84), (399, 1)]
