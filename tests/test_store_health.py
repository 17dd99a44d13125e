"""A damaged store file: clear errors, `db check`, `db recover`, and backups.

Stores are built through the Store API and damaged with real bytes. Which strides
each damage must lose is worked out independently, by walking the file's b-tree
pages here, so recovery is held to ground truth: everything not on a damaged page.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from sqlite_files import version_1_store
from test_store import make_stride

from heavylegs.store import STRIDE_COLUMNS, Store, StoreError
from heavylegs.store.backup import backup_store, list_backups
from heavylegs.store.damage import StoreDamagedError
from heavylegs.store.pages import varint
from heavylegs.store.recover import check_store, recover_store

RUNS = 4
STRIDES_PER_RECORDING = 300
PAGE = 4096
SEVERAL_STRIDES_PER_PAGE = 20


# --- building a store and knowing what is in it --------------------------------------


def build_store(path: Path) -> dict[tuple[int, int], tuple]:
    """RUNS two-pod runs; returns every stride row by (recording_id, seq)."""
    with Store(path) as store:
        for run in range(RUNS):
            started = 1_700_000_000.0 + run * 86_400
            run_id = store.start_run(f"run {run}", "live-sim", started)
            for pod, foot in enumerate(("left", "right")):
                rec = store.add_recording(
                    run_id, f"AA:BB:CC:DD:0{pod}:0{run}", f"pod-{foot}", foot, run + 1, "0.1"
                )
                store.add_strides(
                    rec,
                    [
                        make_stride(seq, foot, gct_ms=200.0 + run + seq / 1000)
                        for seq in range(STRIDES_PER_RECORDING)
                    ],
                )
                store.set_sync_state(rec, STRIDES_PER_RECORDING, STRIDES_PER_RECORDING, started)
            store.finish_run(run_id, started + 3600)
    # Closing the last connection checkpoints the log: everything is in the main file.
    assert not path.with_name(path.name + "-wal").exists()
    return stride_rows(path)


def stride_rows(path: Path) -> dict[tuple[int, int], tuple]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    try:
        rows = conn.execute("SELECT * FROM strides").fetchall()
    finally:
        conn.close()
    return {(row[0], row[1]): row for row in rows}


def table_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    try:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("runs", "recordings", "strides", "pod_sync")
        }
    finally:
        conn.close()


def leaf_keys(page: bytes, header_at: int = 0) -> list[tuple[int, int]]:
    """(recording_id, seq) of every cell on an index-leaf page of the strides table."""
    assert page[header_at] == 0x0A
    (cells,) = struct.unpack_from(">H", page, header_at + 3)
    keys = []
    for i in range(cells):
        (cell,) = struct.unpack_from(">H", page, header_at + 8 + 2 * i)
        _, at = varint(page, cell)  # payload size
        header_size, body = varint(page, at)
        types_at, values = body, at + header_size
        key = []
        for _ in range(2):
            serial, types_at = varint(page, types_at)
            width = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 8: 0, 9: 0}[serial]
            raw = page[values : values + width]
            key.append(serial - 8 if serial in (8, 9) else int.from_bytes(raw, "big", signed=True))
            values += width
        keys.append((key[0], key[1]))
    return keys


def strides_tree(path: Path) -> tuple[dict[int, list[tuple[int, int]]], dict[int, list[int]]]:
    """The strides b-tree: keys on each leaf page, and each leaf's chain of ancestor pages."""
    data = path.read_bytes()
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'strides'").fetchone()
    conn.close()
    leaves: dict[int, list[tuple[int, int]]] = {}
    ancestors: dict[int, list[int]] = {}

    def walk(number: int, above: list[int]) -> None:
        page = data[(number - 1) * PAGE : number * PAGE]
        if page[0] == 0x0A:
            leaves[number] = leaf_keys(page)
            ancestors[number] = above
            return
        assert page[0] == 0x02, f"page {number} is not part of an index b-tree"
        (cells,) = struct.unpack_from(">H", page, 3)
        children = [
            struct.unpack_from(">I", page, struct.unpack_from(">H", page, 12 + 2 * i)[0])[0]
            for i in range(cells)
        ]
        children.append(struct.unpack_from(">I", page, 8)[0])
        for child in children:
            walk(child, [*above, number])

    walk(root, [])
    return leaves, ancestors


def middle_leaf(path: Path) -> tuple[int, list[tuple[int, int]]]:
    leaves, _ = strides_tree(path)
    ordered = sorted(leaves.items(), key=lambda item: item[1][0])
    page, keys = ordered[len(ordered) // 2]
    assert len(keys) >= SEVERAL_STRIDES_PER_PAGE
    return page, keys


# --- running the CLI -------------------------------------------------------------------


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "heavylegs.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=dict(os.environ, HEAVYLEGS_HOME="/nonexistent-heavylegs-home"),
    )


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The error the person sees, with the terminal's line wrapping undone."""
    return " ".join((proc.stdout + proc.stderr).split())


def assert_clear_damage_error(proc: subprocess.CompletedProcess[str], db: Path, reason: str):
    assert proc.returncode == 2, proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    said = one_line(proc)
    assert f"{db.name} is damaged ({reason})" in said, said
    assert "run `heavylegs db check` to see what is readable" in said
    assert "`heavylegs db recover` to salvage it into a new file" in said


def recover(damaged: Path, out: Path) -> subprocess.CompletedProcess[str]:
    before = damaged.read_bytes()
    beside = sorted(p.name for p in damaged.parent.iterdir())
    around = sorted(p.name for p in out.parent.iterdir())
    proc = cli("db", "recover", "--db", damaged, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert damaged.read_bytes() == before, "recovery changed the damaged file"
    assert sorted(p.name for p in damaged.parent.iterdir()) == beside
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([*around, out.name]), (
        "recovery left files beside its output"
    )
    with Store(out) as store:
        assert store.runs()
    conn = sqlite3.connect(out)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()
    return proc


def assert_recovered_exactly(out: Path, truth: dict[tuple[int, int], tuple], lost: set) -> None:
    """Every stride not lost came back with identical values, and nothing else did."""
    got = stride_rows(out)
    assert set(got) == set(truth) - lost
    # a store recovered from an older schema is upgraded: its new columns are empty
    assert all(got[key][: len(truth[key])] == truth[key] for key in got)
    assert all(v is None for key in got for v in got[key][len(truth[key]) :])


# --- damage of each kind ---------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict[tuple[int, int], tuple]]:
    path = tmp_path / "store" / "heavylegs.db"
    truth = build_store(path)
    assert len(truth) == RUNS * 2 * STRIDES_PER_RECORDING
    return path, truth


def test_a_damaged_leaf_page_loses_only_its_strides(store, tmp_path):
    db, truth = store
    keys = flip_middle_of_a_leaf(db)
    (damaged_recording,) = {key[0] for key in keys[len(keys) // 2 :]}

    # The store opens; the first query that meets the bad page says what to do, and
    # the recordings on good pages stay readable.
    with Store(db) as opened:
        with pytest.raises(StoreDamagedError, match="is damaged .*heavylegs db recover"):
            opened.strides(damaged_recording)
        intact = next(r for r in range(1, 2 * RUNS + 1) if r not in {k[0] for k in keys})
        assert len(opened.strides(intact)) == STRIDES_PER_RECORDING

    assert_clear_damage_error(cli("report", "--db", db), db, "database disk image is malformed")
    run_of_damage = (damaged_recording + 1) // 2
    assert_clear_damage_error(
        cli("export", str(run_of_damage), "--format", "csv", "--db", db, "--out", tmp_path / "x"),
        db,
        "database disk image is malformed",
    )

    check = cli("db", "check", "--db", db)
    assert check.returncode == 2, check.stdout + check.stderr
    assert "DAMAGED" in check.stdout
    assert "the check found" in check.stdout

    out = tmp_path / "recovered.db"
    proc = recover(db, out)
    lost = set(truth) - set(stride_rows(out))
    assert lost, "the damaged page lost nothing: the test did not damage what it meant to"
    # Only rows of the damaged page are lost, and they are said to be lost.
    assert lost <= set(keys)
    assert_recovered_exactly(out, truth, lost)
    kept = len(truth) - len(lost)
    assert f"strides: {kept} of {len(truth)} kept, {len(lost)} lost" in proc.stdout
    # `db check` had counted the same loss before anything was recovered.
    assert f"strides: {kept} of {len(truth)} readable, {len(lost)} lost" in check.stdout
    counts = table_counts(out)
    assert (counts["runs"], counts["recordings"], counts["pod_sync"]) == (RUNS, 2 * RUNS, 2 * RUNS)


def test_a_truncated_store_keeps_every_stride_before_the_cut(store, tmp_path):
    db, truth = store
    leaves, ancestors = strides_tree(db)
    pages = db.stat().st_size // PAGE
    cut = pages * 3 // 4
    os.truncate(db, cut * PAGE)
    # Strides on pages that survived the cut; readable by a b-tree walk only when
    # every page above them survived too, found by a page scan otherwise.
    survived = {key for page, keys in leaves.items() if page <= cut for key in keys}
    assert 0 < len(survived) < len(truth)

    with pytest.raises(StoreDamagedError, match=r"heavylegs\.db is damaged \(database disk"):
        Store(db)
    assert_clear_damage_error(cli("report", "--db", db), db, "database disk image is malformed")
    assert_clear_damage_error(
        cli("export", "--db", db, "--out", tmp_path / "x.fit"),
        db,
        "database disk image is malformed",
    )
    check = cli("db", "check", "--db", db)
    assert check.returncode == 2
    assert "DAMAGED" in check.stdout

    out = tmp_path / "recovered.db"
    recover(db, out)
    assert_recovered_exactly(out, truth, set(truth) - survived)
    # Every run whose strides all survived is whole again.
    with Store(out) as recovered:
        whole = {r.id for r in recovered.runs() if r.stride_count == 2 * STRIDES_PER_RECORDING}
    survived_runs = {
        run
        for run in range(1, RUNS + 1)
        for recs in [(2 * run - 1, 2 * run)]
        if all((rec, seq) in survived for rec in recs for seq in range(STRIDES_PER_RECORDING))
    }
    assert whole == survived_runs


def test_a_store_whose_header_is_overwritten_is_recovered_whole(store, tmp_path):
    db, truth = store
    with db.open("r+b") as f:
        f.write(b"\x00" * 100)

    with pytest.raises(StoreDamagedError, match=r"is damaged \(file is not a database\)"):
        Store(db)
    # Relative paths, as a person types them, from the store's own folder.
    relative = cli("db", "recover", "--db", db.name, "--out", "here.db", cwd=db.parent)
    assert relative.returncode == 0, relative.stdout + relative.stderr
    assert stride_rows(db.parent / "here.db") == truth
    (db.parent / "here.db").unlink()
    assert_clear_damage_error(cli("report", "--db", db), db, "file is not a database")
    assert_clear_damage_error(
        cli("export", "--db", db, "--out", tmp_path / "x.fit"), db, "file is not a database"
    )
    check = cli("db", "check", "--db", db)
    assert check.returncode == 2
    assert "header was damaged" in check.stdout
    assert f"strides: {len(truth)} readable, none lost" in check.stdout

    out = tmp_path / "recovered.db"
    recover(db, out)
    assert_recovered_exactly(out, truth, set())
    assert table_counts(out) == {
        "runs": RUNS,
        "recordings": 2 * RUNS,
        "strides": len(truth),
        "pod_sync": 2 * RUNS,
    }


def test_a_lost_runs_page_hides_no_stride(store, tmp_path):
    """Every run's row sits on one page; losing it must not lose the runs' strides."""
    db, truth = store
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?immutable=1", uri=True)
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()
    conn.close()
    with db.open("r+b") as f:
        f.seek((root - 1) * PAGE)
        f.write(b"\xa5" * 16)

    assert_clear_damage_error(cli("report", "--db", db), db, "database disk image is malformed")
    check = cli("db", "check", "--db", db)
    assert check.returncode == 2
    assert "runs: 0 readable" in check.stdout
    assert f"strides: {len(truth)} readable, none lost" in check.stdout

    out = tmp_path / "recovered.db"
    proc = recover(db, out)
    assert "kept as runs named 'recovered run N'" in proc.stdout
    assert_recovered_exactly(out, truth, set())
    with Store(out) as recovered:
        runs = recovered.runs()
        assert [run.name for run in runs] == [f"recovered run {i}" for i in range(1, RUNS + 1)]
        assert all(run.stride_count == 2 * STRIDES_PER_RECORDING for run in runs)
    # And the recovered store reports: the point of recovering.
    report = cli("report", "--db", out, "--out", tmp_path / "r.html")
    assert report.returncode == 0, report.stdout + report.stderr


def test_a_garbage_write_ahead_log_is_ignored_and_loses_nothing(store, tmp_path):
    db, truth = store
    wal = db.with_name(db.name + "-wal")
    wal.write_bytes(bytes(range(256)) * 40)
    # SQLite trusts a log only under a valid header and checksums: this one holds no
    # commits, so the store is whole and every command works.
    with Store(db) as opened:
        assert len(opened.runs()) == RUNS
    wal.write_bytes(bytes(range(256)) * 40)
    check = cli("db", "check", "--db", db)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"strides: {len(truth)} readable, none lost" in check.stdout
    report = cli("report", "--db", db, "--out", tmp_path / "r.html")
    assert report.returncode == 0, report.stdout + report.stderr
    assert stride_rows(db) == truth


def test_a_damaged_page_in_the_write_ahead_log_is_found_and_salvaged(tmp_path):
    """Commits still in the log, one of whose pages is damaged behind valid checksums."""
    live = tmp_path / "live" / "heavylegs.db"
    build_store(live)
    db = tmp_path / "store" / "heavylegs.db"
    db.parent.mkdir()
    holder = Store(live)  # keeps the log from being checkpointed into the file
    try:
        run_id = holder.start_run("late run", "live-sim", 1_800_000_000.0)
        rec = holder.add_recording(run_id, "AA:BB:CC:DD:09:09", "pod-left", "left", 99, "0.1")
        holder.add_strides(rec, [make_stride(seq) for seq in range(STRIDES_PER_RECORDING)])
        shutil.copyfile(live, db)
        shutil.copyfile(live.with_name(live.name + "-wal"), db.with_name(db.name + "-wal"))
    finally:
        holder.close()
    truth = stride_rows(live)
    wal = db.with_name(db.name + "-wal")
    log = bytearray(wal.read_bytes())
    frame, page_keys = damage_last_strides_frame(log)
    wal.write_bytes(bytes(log))
    assert page_keys and {key[0] for key in page_keys} == {rec}

    # check and recover first: closing a Store checkpoints the log into the file.
    before = (db.read_bytes(), wal.read_bytes())
    check = cli("db", "check", "--db", db)
    assert check.returncode == 2
    out = tmp_path / "recovered.db"
    proc = cli("db", "recover", "--db", db, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (db.read_bytes(), wal.read_bytes()) == before
    lost = set(truth) - set(stride_rows(out))
    assert lost and lost <= set(page_keys), proc.stdout
    assert_recovered_exactly(out, truth, lost)
    # The late run lives only in the log: reading through the log brought it back.
    assert table_counts(out)["runs"] == RUNS + 1

    with Store(db) as opened:
        with pytest.raises(StoreDamagedError):
            opened.strides(rec)
    assert_clear_damage_error(
        cli("export", str(run_id), "--db", db, "--out", tmp_path / "x.fit"),
        db,
        "database disk image is malformed",
    )


def damage_last_strides_frame(log: bytearray) -> tuple[int, list[tuple[int, int]]]:
    """Fill the latest logged image of a strides leaf with garbage cells, checksums kept valid."""
    magic, _, page_size = struct.unpack_from(">III", log, 0)
    assert page_size == PAGE
    order = ">" if magic & 1 else "<"
    frames = (len(log) - 32) // (24 + PAGE)
    chosen = None
    for i in range(frames):
        start = 32 + i * (24 + PAGE)
        image = bytes(log[start + 24 : start + 24 + PAGE])
        if image[0] == 0x0A and record_columns(image) == 1 + len(STRIDE_COLUMNS):
            chosen = i
    assert chosen is not None
    start = 32 + chosen * (24 + PAGE)
    keys = leaf_keys(bytes(log[start + 24 : start + 24 + PAGE]))
    body = start + 24 + PAGE // 2
    log[body : body + 64] = bytes(b ^ 0xFF for b in log[body : body + 64])
    # Frame checksums chain from the log header through every frame.
    s0, s1 = struct.unpack_from(">II", log, 24)
    for i in range(frames):
        at = 32 + i * (24 + PAGE)
        s0, s1 = wal_checksum(log[at : at + 8] + log[at + 24 : at + 24 + PAGE], s0, s1, order)
        struct.pack_into(">II", log, at + 16, s0, s1)
    return chosen, keys


def wal_checksum(data: bytes, s0: int, s1: int, order: str) -> tuple[int, int]:
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    for x0, x1 in zip(words[0::2], words[1::2], strict=True):
        s0 = (s0 + x0 + s1) & 0xFFFFFFFF
        s1 = (s1 + x1 + s0) & 0xFFFFFFFF
    return s0, s1


def record_columns(page: bytes) -> int:
    (cell,) = struct.unpack_from(">H", page, 8)
    _, at = varint(page, cell)
    header_size, types_at = varint(page, at)
    count = 0
    while types_at < at + header_size:
        _, types_at = varint(page, types_at)
        count += 1
    return count


# --- bad arguments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["db", "check", "--db", "{missing}"], "no store at"),
        (["db", "recover", "--db", "{missing}"], "no store at"),
        (["db", "recover", "--db", "{db}", "--out", "{db}"], "already exists"),
        (["db", "recover", "--db", "{db}", "--out", "{folder}"], "is a folder"),
        (["db", "recover", "--db", "{db}", "--out", "{missing}/x.db"], "is not a folder"),
        (["db", "check", "--db", "{folder}"], "is not a file"),
        (["db", "recover", "--db", "{text}"], "nothing in"),
        (["db", "backup", "--db", "{db}", "--keep", "0"], "--keep must be 1 or more"),
        (["db", "backup", "--db", "{missing}"], "nothing to back up"),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(tmp_path, args, says):
    db = tmp_path / "heavylegs.db"
    build_small(db)
    before = db.read_bytes()
    text = tmp_path / "notes.txt"
    text.write_text("not a store, whatever --db says\n" * 300)
    names = {"db": db, "folder": tmp_path, "missing": tmp_path / "missing", "text": text}
    proc = cli(*(arg.format(**names) for arg in args))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], proc.stderr
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heavylegs.db", "notes.txt"]


def test_check_refuses_files_that_are_not_stores(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    text = tmp_path / "notes.txt"
    text.write_text("not a store\n" * 300)
    # an empty file opens as an SQLite database with no tables; text is not SQLite at all
    problems = {
        empty: ["    it holds no heavylegs tables (is it the right file?)"],
        text: [
            "    file is not a database",
            "  note: the file header is damaged and could not be rebuilt",
        ],
    }
    for path, says in problems.items():
        proc = cli("db", "check", "--db", path)
        assert proc.returncode == 2 and proc.stderr == "", proc.stdout + proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0] == f"{path}: DAMAGED", proc.stdout
        found = lines.index("  the check found 1 problem(s):")
        # what it found, and nothing else, before what is readable of it: nothing
        assert lines[found + 1 : lines.index("  readable: nothing")] == says, proc.stdout
        # nothing readable: nothing for `db recover` to copy, so it is not offered
        assert "db recover" not in proc.stdout, proc.stdout
    assert empty.read_bytes() == b"" and text.read_text() == "not a store\n" * 300


def build_small(path: Path) -> None:
    with Store(path) as store:
        run_id = store.start_run("easy", "live-sim", 1_700_000_000.0)
        rec = store.add_recording(run_id, "AA:BB:CC:DD:EE:01", "pod-L", "left", 1, "0.1")
        store.add_strides(rec, [make_stride(seq) for seq in range(10)])


def test_recover_replace_puts_the_recovered_store_in_place(store, tmp_path):
    db, truth = store
    with db.open("r+b") as f:
        f.write(b"\x00" * 100)
    damaged = db.read_bytes()
    proc = cli("db", "recover", "--db", db, "--replace")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (aside,) = [p for p in db.parent.iterdir() if ".damaged-" in p.name]
    assert aside.read_bytes() == damaged
    assert sorted(p.name for p in db.parent.iterdir()) == sorted([db.name, aside.name])
    assert stride_rows(db) == truth
    assert cli("db", "check", "--db", db).returncode == 0


def test_check_says_ok_for_a_sound_store(store):
    db, truth = store
    report = check_store(db)
    assert report.ok
    assert {t.table: t.kept for t in report.tables}["strides"] == len(truth)
    proc = cli("db", "check", "--db", db)
    assert proc.returncode == 0
    assert f"{db}: ok" in proc.stdout


def test_recover_keeps_tables_without_an_integer_key(store, tmp_path):
    """Watch samples (run, time) and shoe assignments (pod, date) are keyed by more than
    integers; a sound store's recovery keeps every row of them too."""
    import numpy as np

    from heavylegs.store.diary import Diary
    from heavylegs.store.watch import WATCH_COLUMNS, WatchMerge

    db, _ = store
    with Store(db) as st:
        run_id = st.runs()[0].id
        t_s = np.arange(60, dtype=float) + 1_700_000_000.0
        merge = WatchMerge(
            "watch.fit", "garmin fenix5", 1_700_000_000.0, 0.0, None, 60.0, "clock", 0.0
        )
        st.set_watch(run_id, merge, t_s, {name: t_s * 0 for name in WATCH_COLUMNS}, [])
    with Diary(db) as diary:
        diary.add_pair("Road", ("F0:00:00:00:00:01", "F0:00:00:00:00:02"), in_service_at=1.7e9)
    report = check_store(db)
    counts = {t.table: (t.kept, t.unreadable) for t in report.tables}
    assert counts["watch_samples"] == (60, None) and counts["shoe_pods"] == (2, None)
    out = tmp_path / "recovered.db"
    recover_store(db, out)
    conn = sqlite3.connect(out)
    try:
        assert conn.execute("SELECT COUNT(*) FROM watch_samples").fetchone() == (60,)
        assert conn.execute("SELECT COUNT(*) FROM shoe_pods").fetchone() == (2,)
    finally:
        conn.close()


def test_recover_refuses_an_existing_target(store, tmp_path):
    db, _ = store
    out = tmp_path / "taken.db"
    out.write_bytes(b"mine")
    with pytest.raises(StoreError, match="already exists"):
        recover_store(db, out)
    assert out.read_bytes() == b"mine"


# --- backups -----------------------------------------------------------------------------


def test_backup_is_a_verified_copy(store):
    db, truth = store
    made = backup_store(db, "sync")
    assert made is not None and made.parent == db.parent / "backups"
    assert made.name.startswith("heavylegs-") and made.name.endswith("-sync.db")
    assert stride_rows(made) == truth
    conn = sqlite3.connect(made)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # One self-contained file: no log beside it to lose.
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()
    assert sorted(p.name for p in made.parent.iterdir()) == [made.name]
    assert sorted(p.name for p in db.parent.iterdir()) == ["backups", db.name]


def test_backup_rotation_keeps_the_last_n(store):
    db, _ = store
    made = [backup_store(db, "sync", keep=3) for _ in range(5)]
    assert len(set(made)) == 5, "a backup overwrote another"
    assert list_backups(db) == made[-3:]
    assert sorted(p.name for p in (db.parent / "backups").iterdir()) == sorted(
        p.name for p in made[-3:]
    )


def test_backup_while_another_connection_is_mid_transaction(store):
    db, truth = store
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM strides WHERE recording_id = 1")
    writer.execute("UPDATE runs SET name = 'half written'")
    try:
        made = backup_store(db, "erase")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    # The copy holds the last commit, none of the transaction still open.
    assert stride_rows(made) == truth
    conn = sqlite3.connect(made)
    assert {row[0] for row in conn.execute("SELECT name FROM runs")} == {
        f"run {i}" for i in range(RUNS)
    }
    conn.close()


def test_a_damaged_store_is_not_backed_up_over_good_backups(store):
    db, _ = store
    good = [backup_store(db, "sync", keep=2) for _ in range(2)]
    page, _ = middle_leaf(db)
    with db.open("r+b") as f:
        f.seek((page - 1) * PAGE + PAGE // 2)
        f.write(b"\xff" * 64)
    with pytest.raises(StoreDamagedError, match="no backup taken, older backups kept"):
        backup_store(db, "sync", keep=2)
    assert list_backups(db) == good
    proc = cli("db", "backup", "--db", db)
    assert proc.returncode == 2
    assert "older backups kept" in proc.stderr
    assert list_backups(db) == good
    # The person looking at the damage is told where the last good copy is.
    check = cli("db", "check", "--db", db)
    assert check.returncode == 2
    assert f"the newest is {good[-1].name}" in check.stdout


def test_no_store_yet_means_nothing_to_back_up(tmp_path):
    assert backup_store(tmp_path / "heavylegs.db", "sync") is None
    assert not (tmp_path / "backups").exists()
    with pytest.raises(ValueError):
        backup_store(tmp_path / "heavylegs.db", "Sync now")


def test_an_older_store_without_its_header_is_recovered_and_upgraded(tmp_path):
    """A header lost with its schema version: the version is told from the tables' shape."""
    from heavylegs.store import SCHEMA_VERSION

    db = tmp_path / "store" / "heavylegs.db"
    db.parent.mkdir()
    conn = version_1_store(db)
    conn.execute("INSERT INTO runs VALUES (1, 'old run', 'live-sim', 1600000000.0, NULL)")
    conn.execute("INSERT INTO recordings VALUES (1, 1, 'AA:BB', 'pod-L', 'left', 3, '0.0.9')")
    for seq in range(50):
        conn.execute(
            "INSERT INTO strides VALUES (1, ?, 'left', 1, 0, 'rearfoot', ?, 250.0, 730.0, "
            "164.0, 12.0, 10.5, NULL, NULL)",
            (seq, 1000 + 730 * seq),
        )
    conn.close()
    truth = stride_rows(db)
    with db.open("r+b") as f:
        f.write(b"\x00" * 100)

    out = tmp_path / "recovered.db"
    recover(db, out)
    assert_recovered_exactly(out, truth, set())
    conn = sqlite3.connect(out)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()
    with Store(out) as recovered:
        (run,) = recovered.runs()
        assert (run.name, run.stride_count) == ("old run", 50)
        (recording,) = run.recordings
        assert (recording.pod_session, recording.started_at) == (3, None)


def flip_middle_of_a_leaf(db: Path) -> list[tuple[int, int]]:
    """Flips 64 bytes in the middle of a strides leaf; returns the keys that leaf held."""
    page, keys = middle_leaf(db)
    with db.open("r+b") as f:
        f.seek((page - 1) * PAGE + PAGE // 2)
        middle = f.read(64)
        f.seek((page - 1) * PAGE + PAGE // 2)
        f.write(bytes(b ^ 0xFF for b in middle))
    return keys


def cut_the_last_quarter(db: Path) -> None:
    os.truncate(db, db.stat().st_size // PAGE * 3 // 4 * PAGE)


def zero_the_header(db: Path) -> None:
    with db.open("r+b") as f:
        f.write(b"\x00" * 100)


@pytest.mark.parametrize("damage", [flip_middle_of_a_leaf, cut_the_last_quarter, zero_the_header])
def test_each_kind_of_damage_stops_a_backup_before_anything_writes(store, damage):
    """Sync and erase call backup_store first: on a damaged store it refuses, so they stop."""
    db, _ = store
    good = backup_store(db, "sync")
    damage(db)
    damaged = db.read_bytes()
    with pytest.raises(StoreDamagedError, match="is damaged .*no backup taken, older backups kept"):
        backup_store(db, "sync")
    assert list_backups(db) == [good]
    assert db.read_bytes() == damaged
