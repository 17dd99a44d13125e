"""Every command, given bad input, refuses it in one line on stderr with exit code 2 and
changes nothing; Ctrl-C keeps what was recorded and never leaves an empty run.

The real CLI runs as a subprocess against a real SQLite store seeded through the
Store API. No Bluetooth is simulated by pointing D-Bus at a socket that does not
exist, which is what bleak meets on a machine without BlueZ.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cli_run import stop_when, stored_rows

from heavylegs.analysis.session import load_session
from heavylegs.cli.errors import NO_BLUETOOTH
from heavylegs.export import encode_activity, to_csv
from heavylegs.export.tables import COLUMNS
from heavylegs.sim.strides import scenario, store_run
from heavylegs.store import Store
from heavylegs.store.diary import Diary

T0 = 1_780_000_000.0
POD_LEFT = "F0:00:00:00:00:01"
POD_RIGHT = "F0:00:00:00:00:02"
NAN_LINE = 5
# a real watch's activity, beside the repository (../shared/data)
WATCH_FIT = Path(__file__).resolve().parents[2] / "shared/data/watch_fit/garmin-fenix-5-run.fit"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "heavylegs.cli", *args]


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    says: str  # a part of the one error line
    system_bus: str = "no-system-bus"  # a name in home: nothing there, or a plain file


# {db}: the seeded store, {damaged}: a file of garbage named .db, {empty}: a 0-byte .db,
# {file}: a plain file, {folder}: an existing folder, {nan_csv}: an IMU recording with a
# NaN on line NAN_LINE, {good_csv}: a good one.
CASES: dict[str, Case] = {
    # sim
    "sim-unknown-scenario": Case(("sim", "nosuch"), "unknown scenario 'nosuch'; choose from easy"),
    "sim-minutes-huge": Case(("sim", "--minutes", "100000"), "at most 600 minutes"),
    "sim-minutes-just-over": Case(("sim", "--minutes", "600.0001"), "got 600.0001"),
    "sim-minutes-nan": Case(("sim", "--minutes", "nan"), "got nan"),
    "sim-out-is-a-file": Case(("sim", "--out", "{file}"), "is a file, not a folder"),
    "sim-out-unwritable": Case(("sim", "--out", "/proc/heavylegs"), "cannot write in /proc"),
    "sim-plot-seconds-zero": Case(("sim", "--plot-seconds", "0"), "more than 0"),
    "sim-plot-past-the-end": Case(
        ("sim", "easy", "--minutes", "0.5", "--plot", "--plot-from", "9999", "--out", "{folder}"),
        "--plot-from 9999 is past the run's end (0.5 min)",
    ),
    "sim-seed-negative": Case(("sim", "--seed", "-1"), "'--seed': must be 0 or more"),
    "sim-too-short-to-stride": Case(("sim", "--minutes", "0.01"), "still standing"),
    # sim-import
    "import-rate-zero": Case(("sim-import", "{nan_csv}", "--rate", "0"), "12.5 to 6664 Hz"),
    "import-rate-negative": Case(("sim-import", "{nan_csv}", "--rate", "-5"), "got -5"),
    "import-rate-nan": Case(("sim-import", "{nan_csv}", "--rate", "nan"), "got nan"),
    "import-rate-huge": Case(("sim-import", "{nan_csv}", "--rate", "1e7"), "got 1e+07"),
    "import-nan-in-csv": Case(
        ("sim-import", "{nan_csv}", "--out", "{folder}"),
        f"line {NAN_LINE}, column acc_y_mps2: 'nan' is not a finite number",
    ),
    "import-missing-file": Case(("sim-import", "{folder}/none.csv"), "does not exist"),
    "import-out-is-a-file": Case(("sim-import", "{nan_csv}", "--out", "{file}"), "not a folder"),
    "import-trace-would-replace-a-folder": Case(
        ("sim-import", "{good_csv}", "--out", "{folder}"),
        "good-right.hltrace: Is a directory",
    ),
    # scan
    "scan-no-bluetooth": Case(("scan", "--timeout", "1"), NO_BLUETOOTH),
    "scan-bus-refuses": Case(("scan", "--timeout", "1"), NO_BLUETOOTH, system_bus="plain.txt"),
    "scan-timeout-negative": Case(("scan", "--timeout", "-1"), "got -1"),
    "scan-sim-timeout-nan": Case(("scan", "--sim", "--timeout", "nan"), "got nan"),
    # record
    "record-no-bluetooth": Case(("record", "--timeout", "1", "--db", "{db}"), NO_BLUETOOTH),
    "record-pods-3": Case(("record", "--sim", "--pods", "3", "--db", "{db}"), "one of 1, 2"),
    "record-pods-0": Case(("record", "--sim", "--pods", "0", "--db", "{db}"), "one of 1, 2"),
    "record-pace-warp": Case(
        ("record", "--sim", "--pace", "warp", "--db", "{db}"),
        "Invalid value for '--pace': 'warp' is not one of 'fast', 'realtime'",
    ),
    "record-unknown-scenario": Case(
        ("record", "--sim", "--scenario", "nosuch", "--db", "{db}"), "unknown scenario 'nosuch'"
    ),
    "record-minutes-zero": Case(
        ("record", "--sim", "--minutes", "0", "--db", "{db}"), "more than 0"
    ),
    "record-minutes-inf": Case(("record", "--sim", "--minutes", "inf", "--db", "{db}"), "got inf"),
    "record-timeout-negative": Case(("record", "--sim", "--timeout", "-1"), "got -1"),
    "record-seed-negative": Case(("record", "--sim", "--seed", "-3"), "must be 0 or more"),
    "record-too-short-to-stride": Case(("record", "--sim", "--minutes", "0.01"), "still standing"),
    "record-at-impossible-day": Case(
        ("record", "--sim", "--at", "2026-02-30", "--db", "{db}"), "'2026-02-30' is not a date"
    ),
    "record-at-future": Case(
        ("record", "--sim", "--at", "2999-01-01", "--db", "{db}"), "is in the future"
    ),
    "record-at-ancient": Case(
        ("record", "--sim", "--at", "1970-01-01", "--db", "{db}"), "is before 2000"
    ),
    "record-at-overlaps-a-run": Case(
        (
            "record",
            "--sim",
            "--at",
            f"{datetime.fromtimestamp(T0 + 60):%Y-%m-%dT%H:%M}",
            "--minutes",
            "0.3",
            "--db",
            "{db}",
        ),
        "run 1 (",
    ),  # fmt: skip
    "record-at-words": Case(("record", "--sim", "--at", "last tuesday"), "is not a date"),
    "record-at-without-sim": Case(
        ("record", "--at", "2026-11-01", "--db", "{db}"), "only a simulated run"
    ),
    "record-damaged-store": Case(
        ("record", "--sim", "--minutes", "0.3", "--db", "{damaged}"), "file is not a database"
    ),
    # sync
    "sync-no-bluetooth": Case(("sync", "--timeout", "1", "--db", "{db}"), NO_BLUETOOTH),
    "sync-timeout-negative": Case(("sync", "--sim", "--timeout", "-1"), "got -1"),
    "sync-pods-3": Case(("sync", "--sim", "--pods", "3"), "one of 0, 1, 2"),
    "sync-damaged-store": Case(("sync", "--sim", "--db", "{damaged}"), "file is not a database"),
    # drop
    "drop-no-bluetooth": Case(
        ("drop", "1", "--pod", POD_LEFT, "--timeout", "1", "--db", "{db}"), NO_BLUETOOTH
    ),
    "drop-session-zero": Case(("drop", "0", "--pod", "x", "--sim"), "1 or more, got 0"),
    "drop-timeout-negative": Case(
        ("drop", "1", "--pod", "x", "--sim", "--timeout", "-1"), "got -1"
    ),
    "drop-without-pod": Case(("drop", "1", "--sim"), "Missing option '--pod'"),
    # db
    "db-check-no-store": Case(("db", "check", "--db", "{folder}/none.db"), "no store at"),
    "db-recover-out-exists": Case(
        ("db", "recover", "--db", "{db}", "--out", "{file}"), "already exists"
    ),
    "db-backup-keep-zero": Case(("db", "backup", "--keep", "0"), "got 0"),
    # report
    "report-out-is-a-folder": Case(("report", "--out", "{folder}"), "is a folder"),
    "report-out-unwritable": Case(("report", "--out", "/proc/heavylegs.html"), "cannot write in"),
    "report-out-under-a-file": Case(("report", "--out", "{file}/r.html"), "is a file, so"),
    "report-unknown-run": Case(
        ("report", "99"),
        f"unknown run 99; runs are 1, latest 1 ({datetime.fromtimestamp(T0):%Y-%m-%d}): "
        "see `heavylegs runs`",
    ),
    "report-units-silly": Case(("report", "--units", "furlongs"), "choose metric or imperial"),
    "report-units-empty": Case(("report", "--units", ""), "choose metric or imperial"),
    "report-damaged-store": Case(("report", "--db", "{damaged}"), "file is not a database"),
    # checkin
    "checkin-sleep-30": Case(("checkin", "--sleep", "30"), "0 to 24 hours"),
    "checkin-legs-9": Case(("checkin", "--legs", "9"), "legs"),
    "checkin-unknown-run": Case(("checkin", "99", "--legs", "3"), "unknown run 99"),
    "checkin-no-answer": Case(("checkin",), "give at least one answer"),
    "checkin-blank-note": Case(("checkin", "--note", "  "), "give at least one answer"),
    "checkin-empty-store": Case(
        ("checkin", "--legs", "3", "--db", "{empty}"), "is empty (0 bytes)"
    ),
    # shoe
    "shoe-km-inf": Case(("shoe", "add", "x", "--pod", POD_LEFT, "--km", "inf"), "got inf"),
    "shoe-km-negative": Case(
        ("shoe", "add", "x", "--pod", POD_LEFT, "--km", "-5"), "0 to 20000 km"
    ),
    "shoe-alert-zero": Case(
        ("shoe", "add", "x", "--pod", POD_LEFT, "--alert-km", "0"), "more than 0"
    ),
    "shoe-bad-address": Case(("shoe", "add", "x", "--pod", "left-shoe"), "is not a pod address"),
    "shoe-unknown-pod": Case(
        ("shoe", "add", "x", "--pod", "f0:00:00:00:00:09"),
        "no pod F0:00:00:00:00:09 in the store (pods: F0:00:00:00:00:01, F0:00:00:00:00:02)",
    ),
    "shoe-three-pods": Case(
        ("shoe", "add", "x", "--pod", POD_LEFT, "--pod", POD_RIGHT, "--pod", "F0:00:00:00:00:03"),
        "at most two pods",
    ),
    "shoe-pod-twice": Case(
        ("shoe", "add", "x", "--pod", POD_LEFT, "--pod", POD_LEFT.lower()), "is given twice"
    ),
    "shoe-assign-pod-twice": Case(
        ("shoe", "assign", "Road", "--pod", POD_RIGHT, "--pod", POD_RIGHT), "is given twice"
    ),
    "shoe-without-pod": Case(("shoe", "add", "x"), "Missing option '--pod'"),
    "shoe-from-silly": Case(
        ("shoe", "add", "x", "--pod", POD_LEFT, "--from", "2026-13-01"), "is not a date"
    ),
    "shoe-assign-unknown-pair": Case(
        ("shoe", "assign", "nosuch", "--pod", POD_LEFT), "no shoes named 'nosuch'"
    ),
    "shoe-retire-unknown-pair": Case(("shoe", "retire", "nosuch"), "no shoes named 'nosuch'"),
    "shoe-retire-silly-date": Case(("shoe", "retire", "x", "--on", "31/12/2025"), "is not a date"),
    "shoe-retire-twice": Case(("shoe", "retire", "Old"), "Old were retired on"),
    "shoe-retire-before-its-pods": Case(
        ("shoe", "retire", "Spare", "--on", "2026-05-01"), "pods were put on Spare on"
    ),
    "shoe-name-too-long": Case(
        ("shoe", "add", "x" * 5000, "--pod", POD_LEFT), "at most 60 characters, got 5000"
    ),
    "shoe-name-two-lines": Case(
        ("shoe", "add", "Old\nRoad", "--pod", POD_LEFT), "one line of text, without control"
    ),
    "shoe-retire-before-service": Case(
        ("shoe", "retire", "Road", "--on", "2026-01-01"), "went into service on"
    ),
    "shoe-no-store": Case(("shoe", "--db", "{folder}/none.db"), "no store at"),
    # runs
    "runs-no-store": Case(("runs", "--db", "{folder}/none.db"), "no store at"),
    "runs-damaged-store": Case(("runs", "--db", "{damaged}"), "file is not a database"),
    "runs-empty-store": Case(("runs", "--db", "{empty}"), "is empty (0 bytes)"),
    # the store refuses a cut-short file itself, so commands that write refuse it too
    "record-sim-empty-store": Case(
        ("record", "--sim", "--minutes", "0.2", "--db", "{empty}"), "is empty (0 bytes)"
    ),
    "sync-sim-empty-store": Case(("sync", "--sim", "--db", "{empty}"), "is empty (0 bytes)"),
    "report-empty-store": Case(("report", "--db", "{empty}"), "is empty (0 bytes)"),
    "runs-limit-negative": Case(("runs", "--limit", "-1"), "'--limit': must be 0 or more, got -1"),
    # import (of past runs, from our own exports)
    "import-runs-foreign-text": Case(("import", "{file}"), "is not a heavylegs stride export"),
    "import-runs-binary": Case(("import", "{damaged}"), "is not a heavylegs CSV or Parquet"),
    "import-runs-missing": Case(("import", "{folder}/none.csv"), "cannot read"),
    "import-runs-nan": Case(
        ("import", "{bad_export}"), "row 3, column gct_ms: 'nan' is not a finite number"
    ),
    "import-runs-fit-cut": Case(("import", "{cut_fit}"), "cut.fit is damaged"),
    "import-runs-fit-and-a-bad-export": Case(
        ("import", "{fit}", "{bad_export}"), "'nan' is not a finite number"
    ),
    "import-runs-one-bad-of-two": Case(
        ("import", "{good_export}", "{bad_export}"), "'nan' is not a finite number"
    ),
    "import-runs-at-silly": Case(("import", "{good_export}", "--at", "yesterday"), "not a date"),
    "import-runs-at-for-a-dated-file": Case(
        ("import", "{good_export}", "--at", "2026-01-01"), "says when its run started"
    ),
    "import-runs-clash": Case(("import", "{clashing_export}"), "holds other strides"),
    "import-runs-overlap": Case(("import", "{overlapping_export}"), "overlaps run 1"),
    "import-runs-cut-mid-line": Case(
        ("import", "{cut_export}"), "cut-export.csv is cut short at line 5"
    ),
    "import-runs-empty-store": Case(
        ("import", "{good_export}", "--db", "{empty}"), "is empty (0 bytes)"
    ),
    # export
    "export-format-xml": Case(("export", "--format", "xml"), "'xml' is not one of"),
    "export-out-is-a-folder": Case(("export", "--out", "{folder}"), "is a folder"),
    "export-out-unwritable": Case(("export", "--out", "/proc/run.fit"), "cannot write in"),
    "export-unknown-run": Case(("export", "99"), "unknown run 99; runs are 1, latest 1"),
    "export-out-a-device": Case(("export", "--out", "/dev/null"), "not a regular file"),
    "export-out-named-for-another-format": Case(
        ("export", "--format", "csv", "--out", "{folder}/run.fit"), "named for fit, but --format"
    ),
    # flash, pull, doctor
    "flash-empty-name": Case(
        ("flash", "--board", "sim-unix", "--port", "{file}", "--name", ""), "'--name': must not be"
    ),
    "flash-unknown-board": Case(
        ("flash", "--board", "nosuch", "--port", "{folder}/ttyUSB9"), "no board file"
    ),
    "flash-bad-foot": Case(
        ("flash", "--board", "sim-unix", "--port", "x", "--foot", "middle"), "'middle'"
    ),
    "flash-watch-negative": Case(
        ("flash", "--board", "sim-unix", "--port", "x", "--watch", "-1"), "got -1"
    ),
    "pull-missing-port": Case(("pull", "--port", "{folder}/ttyUSB9"), "cannot open"),
    "pull-timeout-nan": Case(("pull", "--port", "x", "--timeout", "nan"), "got nan"),
    "doctor-missing-port": Case(("doctor", "--port", "{folder}/ttyUSB9"), "cannot open"),
    "doctor-timeout-zero": Case(("doctor", "--port", "x", "--timeout", "0"), "more than 0"),
    # demo
    "demo-minutes-negative": Case(("demo", "--minutes", "-1"), "got -1"),
    "demo-minutes-huge": Case(("demo", "--minutes", "100000"), "at most 600 minutes"),
    "demo-out-is-a-file": Case(("demo", "--out", "{file}"), "is a file, not a folder"),
    # merge (a watch activity) and sim --follow
    "merge-not-fit": Case(("merge", "{file}"), "plain.txt is not a FIT file"),
    "merge-own-export": Case(("merge", "{fit}", "1"), "was written by `heavylegs export`"),
    "merge-empty-store": Case(
        ("merge", "{watch}", "--db", "{empty}"),
        "is empty (0 bytes)",
    ),
    "merge-unknown-run": Case(("merge", "{watch}", "99"), "unknown run 99; runs are 1, latest 1 ("),
    "merge-missing-file": Case(("merge", "{folder}/watch.fit"), "cannot read"),
    "sim-follow-not-fit": Case(("sim", "--follow", "{file}"), "plain.txt is not a FIT file"),
    "sim-follow-the-run-again": Case(
        ("sim", "--follow", "{fit}", "--db", "{db}"), "'--follow': run 1 ("
    ),
    "sim-follow-too-short": Case(
        ("sim", "--follow", "{watch}", "--minutes", "0.05", "--out", "{folder}"), "still standing"
    ),
    "sim-follow-too-short-to-store": Case(
        ("sim", "--follow", "{watch}", "--minutes", "0.01", "--db", "{db}"), "still standing"
    ),
    "sim-db-without-follow": Case(("sim", "--db", "{db}"), "--db goes with --follow"),
    # the command line itself
    "unknown-command": Case(("bogus",), "No such command 'bogus'"),
    "unknown-option": Case(("record", "--bogus"), "No such option: --bogus"),
}


def _seed(home: Path) -> None:
    home.mkdir(parents=True)
    with Store(home / "heavylegs.db") as store:
        store_run(
            store,
            scenario("steady", minutes=4),
            started_at=T0,
            pods={"left": POD_LEFT, "right": POD_RIGHT},
        )
        session = load_session(store, store.run(1))
    # the analysis tables exist already: a refused command must not be what adds them
    with Diary(home / "heavylegs.db") as diary:
        diary.add_pair("Road", (POD_LEFT, POD_RIGHT), in_service_at=T0)
        diary.add_pair("Old", (), in_service_at=T0 - 30 * 86_400)
        diary.retire_pair("Old", T0 - 86_400)
        # in service for a month, its pod put on it only two days after the seeded run
        diary.add_pair("Spare", (), in_service_at=T0 - 30 * 86_400)
        diary.assign_pods("Spare", (POD_RIGHT,), T0 + 2 * 86_400)
    (home / "export.csv").write_bytes(to_csv(session))
    (home / "run.fit").write_bytes(encode_activity(session))
    (home / "cut.fit").write_bytes(encode_activity(session)[:-200])
    rows = to_csv(session).decode().splitlines()
    bad = rows[2].split(",")
    bad[COLUMNS.index("gct_ms")] = "nan"
    (home / "bad-export.csv").write_text("\n".join([*rows[:2], ",".join(bad), *rows[3:]]) + "\n")
    # the seeded run's start with one stride fewer: another run claiming the same time
    (home / "clash.csv").write_text("\n".join(rows[:-1]) + "\n")
    # the same strides two minutes later: inside the stored run, not at its start
    col = rows[0].split(",").index("run_started_at")
    start = rows[1].split(",")[col]
    later = datetime.fromisoformat(start) + timedelta(minutes=2)
    (home / "overlap.csv").write_text(
        "\n".join(r.replace(start, later.isoformat()) for r in rows) + "\n"
    )
    # an export cut off in the middle of its fifth line, as a full disk leaves it
    (home / "cut-export.csv").write_text("\n".join([*rows[:4], rows[4][: len(rows[4]) // 2]]))
    (home / "damaged.db").write_bytes(bytes(range(256)) * 16)
    (home / "empty.db").write_bytes(b"")  # a store truncated to nothing
    (home / "plain.txt").write_text("not a folder\n")
    (home / "folder").mkdir()
    rows = ["t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_radps,gyr_y_radps,gyr_z_radps"]
    rows += [f"{i / 200:.4f},0,0,-9.8,0,0.1,0" for i in range(400)]
    (home / "good.csv").write_text("\n".join(rows) + "\n")
    # where sim-import would put the good recording's trace, a folder is in the way
    (home / "folder" / "good-right.hltrace").mkdir()
    rows[NAN_LINE - 1] = "0.0200,0,nan,-9.8,0,0.1,0"
    (home / "trial.csv").write_text("\n".join(rows) + "\n")


def _snapshot(home: Path) -> dict[str, str]:
    """Every file under home with its digest; the firmware build cache aside."""
    return {
        str(path.relative_to(home)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(home.rglob("*"))
        if path.is_file() and path.relative_to(home).parts[0] != "build"
    }


def _env(home: Path, system_bus: str = "no-system-bus") -> dict[str, str]:
    return dict(
        os.environ,
        HEAVYLEGS_HOME=str(home),
        COLUMNS="200",
        # the system bus as on a machine without BlueZ: no socket, or nobody on it
        DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={home / system_bus}",
    )


@dataclass(frozen=True)
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    before: dict[str, str]
    after: dict[str, str]


def _run_case(root: Path, seeded: Path, name: str, case: Case) -> Outcome:
    # Each case has its own copy of the seeded home, so cases run side by side.
    home = root / name
    shutil.copytree(seeded, home)
    cwd = home / "cwd"
    cwd.mkdir()
    places = {
        "db": home / "heavylegs.db",
        "damaged": home / "damaged.db",
        "empty": home / "empty.db",
        "file": home / "plain.txt",
        "folder": home / "folder",
        "nan_csv": home / "trial.csv",
        "good_csv": home / "good.csv",
        "good_export": home / "export.csv",
        "bad_export": home / "bad-export.csv",
        "clashing_export": home / "clash.csv",
        "overlapping_export": home / "overlap.csv",
        "cut_export": home / "cut-export.csv",
        "fit": home / "run.fit",
        "cut_fit": home / "cut.fit",
        "watch": WATCH_FIT,
    }
    args = [arg.format(**places) for arg in case.args]
    before = _snapshot(home)
    try:
        proc = subprocess.run(
            cli(*args),
            cwd=cwd,
            env=_env(home, case.system_bus),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as exc:
        # a command that never ends fails its own case, not the whole table
        return Outcome(None, str(exc.stdout), f"{exc.stderr}\n(no end in 60 s)", before, {})
    return Outcome(proc.returncode, proc.stdout, proc.stderr, before, _snapshot(home))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("cli-errors")
    seeded = root / "seeded"
    _seed(seeded)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(_run_case, root, seeded, name, case) for name, case in CASES.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    outcomes: dict[str, Outcome], name: str
) -> None:
    out = outcomes[name]
    both = out.stdout + out.stderr
    assert "Traceback" not in both, both
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ") and CASES[name].says in lines[0], lines[0]
    assert out.returncode == 2, both
    assert out.after == out.before


def test_every_command_has_a_bad_input_case() -> None:
    shown = subprocess.run(
        cli("--help"), capture_output=True, text=True, env=dict(os.environ, COLUMNS="200")
    ).stdout
    panel = shown[shown.index("Commands") :]
    commands = set(re.findall(r"^│ ([a-z][a-z-]*) {2,}", panel, flags=re.MULTILINE))
    assert {"record", "sync", "flash", "demo"} <= commands
    covered = {case.args[0] for case in CASES.values()}
    assert commands <= covered, commands - covered


# --- recording: one pod, and Ctrl-C -----------------------------------------------


def _record_until(
    tmp_path: Path, extra: list[str], ready: Callable[[Path], bool], *, group: bool = True
) -> subprocess.CompletedProcess[str]:
    """Start `record --sim`, and when `ready` says so press Ctrl-C as a terminal does
    (SIGINT to the whole process group), or send SIGINT to the host alone."""
    db = tmp_path / "heavylegs.db"

    def press_ctrl_c(host: subprocess.Popen[str]) -> None:
        if group:
            os.killpg(host.pid, signal.SIGINT)
        else:
            host.send_signal(signal.SIGINT)

    return stop_when(
        cli("record", "--sim", "--db", str(db), *extra),
        lambda: ready(db),
        press_ctrl_c,
        env=_env(tmp_path),
    )


@pytest.mark.parametrize("group", [True, False], ids=["terminal", "host-only"])
def test_ctrl_c_mid_recording_keeps_the_strides_in_their_run(tmp_path: Path, group: bool) -> None:
    def some_strides(db: Path) -> bool:
        return bool(stored_rows(db, "SELECT 1 FROM strides LIMIT 1 OFFSET 30"))

    proc = _record_until(tmp_path, ["--minutes", "3"], some_strides, group=group)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode == 130, proc.stderr
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        (run,) = store.runs()
        assert run.stride_count > 30 and run.ended_at is not None
        assert {rec.foot for rec in run.recordings} == {"left", "right"}
        for rec in run.recordings:
            seqs = [s.seq for s in store.strides(rec.id)]
            assert seqs == list(range(len(seqs))), "whole commits only"
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"interrupted; run {run.id} keeps {run.stride_count} strides"]


def test_ctrl_c_before_the_first_stride_leaves_no_run(tmp_path: Path) -> None:
    # At real-time pace the simulated runner stands for 3 s before the first stride.
    def run_started(db: Path) -> bool:
        return bool(stored_rows(db, "SELECT 1 FROM runs"))

    proc = _record_until(tmp_path, ["--minutes", "1", "--pace", "realtime"], run_started)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode == 130, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == ["interrupted; nothing recorded"]
    with Store(tmp_path / "heavylegs.db") as store:
        assert store.runs() == [] and store.latest_run() is None


def test_one_pod_records_one_pod(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    proc = subprocess.run(
        cli("record", "--sim", "--pods", "1", "--minutes", "0.3", "--db", str(db)),
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with Store(db) as store:
        (run,) = store.runs()
        (rec,) = run.recordings
        assert (rec.foot, rec.pod_address) == ("left", POD_LEFT)
        assert rec.stride_count > 5


def test_simulated_pods_leave_nothing_in_the_temp_folder(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.run(
        cli("sync", "--sim", "--timeout", "2", "--db", str(tmp_path / "heavylegs.db")),
        env=dict(_env(tmp_path), TMPDIR=str(scratch)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "heavylegs-left: 0 sessions" in proc.stdout
    # neither the fresh pods' traces (hlsim-*) nor their compiled firmware (hlmpy-*)
    assert sorted(p.name for p in scratch.iterdir()) == []
