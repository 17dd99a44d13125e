"""The SQLite store: schema, migrations, deduplication, concurrent access."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sqlite_files import run_sql, version_1_store

from heavylegs.errors import HeavylegsError
from heavylegs.store import (
    SCHEMA_VERSION,
    PodContact,
    Store,
    StoreError,
    Stride,
    StrideWrite,
)
from heavylegs_pod import wire


def make_stride(seq: int, foot: str = "left", **changes: object) -> Stride:
    stride = Stride(
        seq=seq,
        foot=foot,
        running=True,
        clipped=False,
        strike_class="midfoot",
        ic_ms=1000 + seq * 720,
        gct_ms=240.0 + (seq % 7),
        stride_ms=720.0,
        cadence_spm=166.7,
        strike_deg=2.5,
        impact_g=9.5,
        stride_len_m=1.25,
        host_time=1_700_000_000.0 + seq * 0.72,
    )
    return dataclasses.replace(stride, **changes)  # type: ignore[arg-type]


def new_recording(store: Store, foot: str = "left", session: int = 1) -> int:
    run_id = store.start_run("easy 10k", "live-sim", 1_700_000_000.0)
    return store.add_recording(run_id, f"AA:BB:CC:DD:EE:0{session}", "pod-L", foot, session, "0.1")


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "heavylegs.db"
    strides = [make_stride(i) for i in range(5)]
    strides[2] = make_stride(2, stride_len_m=None, host_time=None, clipped=True)
    with Store(path) as store:
        run_id = store.start_run("easy 10k", "live-sim", 1_700_000_000.0)
        rec_id = store.add_recording(run_id, "AA:BB", "pod-L", "left", 7, "0.1.0")
        assert store.add_strides(rec_id, reversed(strides)) == 5
        store.finish_run(run_id, 1_700_003_600.0)

    with Store(path) as store:
        assert store.strides(rec_id) == strides
        run = store.run(run_id)
        assert (run.name, run.source, run.started_at, run.ended_at) == (
            "easy 10k",
            "live-sim",
            1_700_000_000.0,
            1_700_003_600.0,
        )
        # the runner's time comes from the pod clock, not the host's wall clock
        assert run.duration_s == pytest.approx((strides[-1].ic_ms - strides[0].ic_ms) / 1000)
        assert run.stride_count == 5
        assert run.feet() == ("left",)
        (rec,) = run.recordings
        assert (rec.id, rec.pod_address, rec.pod_name, rec.foot, rec.pod_session) == (
            rec_id,
            "AA:BB",
            "pod-L",
            "left",
            7,
        )
        assert (rec.firmware, rec.stride_count) == ("0.1.0", 5)
        assert (rec.first_ic_ms, rec.last_ic_ms) == (1000, 1000 + 4 * 720)
        assert store.runs() == [run]
        assert store.latest_run() == run
        assert store.recording(rec_id) == rec


def test_from_wire_takes_decode_stride_output() -> None:
    buf = bytearray(wire.STRIDE_SIZE)
    flags = wire.FLAG_RIGHT | wire.FLAG_RUNNING | (wire.STRIKE_FOREFOOT << wire.STRIKE_SHIFT)
    wire.encode_stride(buf, 42, flags, 123_456, 2451, 7012, 17150, -35, 19, 0, 23)
    stride = Stride.from_wire(wire.decode_stride(buf), host_time=5.0)
    assert stride == Stride(
        seq=42,
        foot="right",
        running=True,
        clipped=False,
        strike_class="forefoot",
        ic_ms=123_456,
        gct_ms=245.1,
        stride_ms=701.2,
        cadence_spm=171.5,
        strike_deg=-3.5,
        impact_g=9.5,
        stride_len_m=None,
        host_time=5.0,
        pronation_deg=11.5,
    )


def test_pronation_is_stored_and_read_back(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        rec_id = new_recording(store)
        strides = [dataclasses.replace(make_stride(1), pronation_deg=8.5), make_stride(2)]
        assert store.add_strides(rec_id, strides) == 2
        assert [s.pronation_deg for s in store.strides(rec_id)] == [8.5, None]
        table = store.stride_table(rec_id, ["pronation_deg"])["pronation_deg"]
        assert table[0] == 8.5 and np.isnan(table[1])


def test_same_seq_is_stored_once(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        rec_id = new_recording(store)
        assert store.add_strides(rec_id, [make_stride(1), make_stride(2)]) == 2
        # a journal sync after live streaming delivers the same strides again, with
        # the host's own time estimate: still the same strides
        again = [make_stride(2, host_time=5.0), make_stride(3)]
        assert store.store_strides(rec_id, again) == StrideWrite(rec_id, 1, 1, 0)
        assert store.add_strides(rec_id, [make_stride(3), make_stride(3)]) == 0
        stored = store.strides(rec_id)
    assert [s.seq for s in stored] == [1, 2, 3]
    assert stored[1].host_time == make_stride(2).host_time


def test_clashing_strides_are_kept_apart_never_dropped(tmp_path: Path) -> None:
    """Two sessions the store cannot tell apart (same identity) are never merged."""
    with Store(tmp_path / "s.db") as store:
        rec_id = new_recording(store)
        first = [make_stride(i) for i in range(3)]
        store.add_strides(rec_id, first)
        # another session under the same identity: seq 2 differs, 3 and 4 are new
        other = [make_stride(2, gct_ms=999.0), make_stride(3), make_stride(4)]
        wrote = store.store_strides(rec_id, other)
        assert wrote.recording_id != rec_id
        assert (wrote.new, wrote.repeated, wrote.conflicting) == (3, 0, 1)
        # the first session is untouched: nothing spliced onto it
        assert store.strides(rec_id) == first
        assert store.strides(wrote.recording_id) == other
        copy = store.recording(wrote.recording_id)
        orig = store.recording(rec_id)
        assert (copy.pod_address, copy.pod_session, copy.journal_epoch, copy.copy) == (
            orig.pod_address,
            orig.pod_session,
            0,
            1,
        )
        assert copy.run_id != orig.run_id
        assert "kept apart" in (store.run(copy.run_id).note or "")
        assert "differ" in (copy.note or "")
        # the rest of that session follows the copy; a third clash makes a third copy
        assert store.store_strides(wrote.recording_id, [make_stride(4)]).new == 0
        third = store.store_strides(rec_id, [make_stride(0, impact_g=1.0)])
        assert third.recording_id not in (rec_id, wrote.recording_id)
        assert store.recording(third.recording_id).copy == 2
        assert (
            store.find_recording(orig.pod_address, orig.pod_session, latest_copy=True)
            == third.recording_id
        )
        assert store.find_recording(orig.pod_address, orig.pod_session) == rec_id


def test_session_identity_includes_the_journal_epoch(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        run_id = store.start_run("r", "sync", 1.0)
        old = store.add_recording(run_id, "AA", "pod", "left", 1, "0.1", epoch=0x1234)
        new = store.add_recording(run_id, "AA", "pod", "left", 1, "0.1", epoch=0x9999)
        assert old != new
        assert store.add_recording(run_id, "AA", "pod", "left", 1, "0.1", epoch=0x9999) == new
        assert store.find_recording("AA", 1, epoch=0x1234) == old
        assert store.find_recording("AA", 1, epoch=0x9999) == new
        assert store.find_recording("AA", 1) is None
        assert store.add_strides(old, [make_stride(0)]) == 1
        assert store.add_strides(new, [make_stride(0, gct_ms=300.0)]) == 1
        assert [r.id for r in store.pod_recordings("AA", 0x9999)] == [new]


def test_gaps_and_what_the_store_holds_of_a_session(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        rec_id = new_recording(store)
        store.add_strides(rec_id, [make_stride(i) for i in (0, 1, 5, 6)])
        assert not store.holds_session(rec_id, 7)
        store.add_gap(rec_id, 2, 3)
        store.add_gap(rec_id, 2, 3)  # declared again by a resumed sync: once
        assert store.holds_session(rec_id, 7)
        assert not store.holds_session(rec_id, 8)
        (gap,) = store.gaps(rec_id)
        assert (gap.first_seq, gap.count) == (2, 3)
        assert gap.before_s == make_stride(1).host_time
        assert gap.after_s == make_stride(5).host_time
        with pytest.raises(StoreError):
            store.add_gap(rec_id, 3, 0)


def test_a_date_is_improved_never_worsened(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        rec_id = new_recording(store)
        assert store.recording(rec_id).date_quality is None
        assert store.set_recording_date(rec_id, "bounds", 150.0, 100.0, 200.0)
        assert store.set_recording_date(rec_id, "pod clock", 160.0, 159.0, 161.0)
        assert not store.set_recording_date(rec_id, "bounds", 500.0, 400.0, 600.0)
        rec = store.recording(rec_id)
        assert (rec.date_quality, rec.started_at, rec.started_at_min, rec.started_at_max) == (
            "pod clock",
            160.0,
            159.0,
            161.0,
        )
        assert rec.date_known and store.run(rec.run_id).approximate
        with pytest.raises(ValueError):
            store.set_recording_date(rec_id, "guess", 1.0, None, None)


def test_moving_a_recording_removes_the_run_it_leaves_empty(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        a = new_recording(store, "left", 1)
        b = new_recording(store, "right", 2)
        run_b = store.recording(b).run_id
        target = store.recording(a).run_id
        store.set_run_note(run_b, "right pod only")
        store.move_recording(b, target)
        assert [r.id for r in store.run(target).recordings] == [a, b]
        with pytest.raises(StoreError, match="unknown run"):
            store.run(run_b)
        store.set_pod_listed("AA", 10.0, epoch=7, last_session=3)
        store.set_pod_listed("AA", 5.0, epoch=7, last_session=1)  # an older one never wins
        contact = store.pod_contact("AA")
        assert contact == PodContact(10.0, 7, 3)
        assert store.pod_contact("BB") is None
        # what could not have been on the pod when it listed sessions 1-3 of journal 7
        assert contact.started_after(7, 4) and not contact.started_after(7, 3)
        assert contact.started_after(9, 1), "a newer journal"
        assert not contact.started_after(0, 9), "sessions from before epochs"


def test_same_pod_session_is_one_recording(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        run_id = store.start_run("r", "live", 1.0)
        first = store.add_recording(run_id, "AA", "pod", "left", 3, "0.1")
        assert store.add_recording(run_id, "AA", "pod", "left", 3, "0.1") == first
        assert store.add_recording(run_id, "AA", "pod", "left", 4, "0.1") != first
        assert store.add_recording(run_id, "BB", "pod", "right", 3, "0.1") != first
        assert len(store.run(run_id).recordings) == 3


def test_wal_mode_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()
    with Store(path) as store:
        conn = store._db
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_reopening_runs_no_migration_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        rec_id = new_recording(store)
        store.add_strides(rec_id, [make_stride(1)])
    for _ in range(3):
        with Store(path) as store:
            assert len(store.strides(rec_id)) == 1
            assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    run_sql(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="schema version .* upgrade heavylegs"):
        Store(path)
    assert path.read_bytes() == before


def test_foreign_files_are_refused_untouched(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("not a database at all, just some text that is long enough " * 20)
    before = text.read_bytes()
    with pytest.raises(StoreError, match="notes.db"):
        Store(text)
    assert text.read_bytes() == before

    other = tmp_path / "other.db"
    run_sql(other, "CREATE TABLE contacts (name TEXT)")
    with pytest.raises(StoreError, match="not a heavylegs store"):
        Store(other)
    conn = sqlite3.connect(other)
    tables = conn.execute("SELECT name FROM sqlite_master").fetchall()
    conn.close()
    assert tables == [("contacts",)]


def test_store_errors_share_the_root() -> None:
    assert issubclass(StoreError, HeavylegsError)


def test_unknown_ids_raise_store_error(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        assert store.latest_run() is None
        with pytest.raises(StoreError, match="unknown run 99"):
            store.run(99)
        with pytest.raises(StoreError, match="unknown run 99"):
            store.finish_run(99, 2.0)
        with pytest.raises(StoreError, match="unknown run 99"):
            store.add_recording(99, "AA", "pod", "left", 1, "0.1")
        with pytest.raises(StoreError, match="unknown recording 5"):
            store.add_strides(5, [make_stride(1)])
        with pytest.raises(StoreError, match="unknown recording 5"):
            store.strides(5)
        with pytest.raises(StoreError, match="unknown recording 5"):
            store.stride_table(5)


def test_bad_stride_rolls_back_the_whole_batch(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        rec_id = new_recording(store)
        store.add_strides(rec_id, [make_stride(0)])
        batch = [make_stride(1), make_stride(2, strike_class="heel"), make_stride(3)]
        with pytest.raises(StoreError, match="CHECK constraint"):
            store.add_strides(rec_id, batch)
        assert [s.seq for s in store.strides(rec_id)] == [0]
        # the store stays usable after the failed transaction
        assert store.add_strides(rec_id, [make_stride(1)]) == 1


def test_closed_store_raises_store_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.runs()


def test_latest_run_is_the_most_recent_start(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        late = store.start_run("late", "sync", 2_000.0)
        store.start_run("early", "sync", 1_000.0)
        latest = store.latest_run()
        assert latest is not None and latest.id == late
        assert [r.name for r in store.runs()] == ["early", "late"]


def test_reader_process_while_writer_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        rec_id = new_recording(store)
    batches, per_batch = 150, 40
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                from heavylegs.store import Store, Stride
                with Store({str(path)!r}) as store:
                    for b in range({batches}):
                        store.add_strides({rec_id}, [
                            Stride(seq, "left", True, False, "midfoot", seq * 700,
                                   240.0, 700.0, 171.4, 1.0, 9.0, None)
                            for seq in range(b * {per_batch}, (b + 1) * {per_batch})
                        ])
                """
            ),
        ],
    )
    counts = []
    try:
        with Store(path) as reader:
            while writer.poll() is None:
                counts.append(reader.recording(rec_id).stride_count)
                table = reader.stride_table(rec_id)
                # a reader sees whole transactions only
                assert len(table["seq"]) % per_batch == 0
    finally:
        assert writer.wait(timeout=60) == 0
    assert counts == sorted(counts)
    with Store(path) as reader:
        assert reader.recording(rec_id).stride_count == batches * per_batch


def test_three_hour_two_pod_run(tmp_path: Path) -> None:
    n = 16_500  # per foot: about 33,000 strides in all
    rng = np.random.default_rng(1)
    gct = np.round(rng.normal(250.0, 12.0, n), 1)
    with Store(tmp_path / "s.db") as store:
        run_id = store.start_run("long run", "live-sim", 1_700_000_000.0)
        recs = {}
        for session, foot in enumerate(("left", "right")):
            rec_id = store.add_recording(run_id, f"AA:0{session}", foot, foot, session, "0.1")
            recs[foot] = rec_id
            strides = [
                make_stride(i, foot, ic_ms=360 * session + 720 * i, gct_ms=float(gct[i]))
                for i in range(n)
            ]
            assert store.add_strides(rec_id, strides) == n
        run = store.run(run_id)
        assert run.stride_count == 2 * n
        for rec_id in recs.values():
            table = store.stride_table(rec_id)
            assert set(table) == {f.name for f in dataclasses.fields(Stride)}
            assert len(table["ic_ms"]) == n
            assert table["ic_ms"].dtype == np.int64
            assert np.all(np.diff(table["ic_ms"]) > 0)
            np.testing.assert_array_equal(table["gct_ms"], gct)
            assert table["running"].dtype == np.bool_
            assert set(table["foot"].tolist()) == {store.recording(rec_id).foot}
        assert len(store.strides(recs["right"])) == n


def test_stride_table_marks_unknowns_as_nan(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        rec_id = new_recording(store)
        assert store.stride_table(rec_id)["gct_ms"].shape == (0,)
        store.add_strides(rec_id, [make_stride(0), make_stride(1, stride_len_m=None)])
        table = store.stride_table(rec_id)
    assert table["stride_len_m"][0] == 1.25
    assert np.isnan(table["stride_len_m"][1])
    assert table["strike_class"].tolist() == ["midfoot", "midfoot"]


def test_stride_table_can_fetch_some_columns(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        rec_id = new_recording(store)
        store.add_strides(rec_id, [make_stride(1), make_stride(0)])
        table = store.stride_table(rec_id, ["gct_ms", "seq"])
        assert list(table) == ["gct_ms", "seq"]
        assert table["seq"].tolist() == [0, 1]
        with pytest.raises(ValueError, match="no stride field named bogus"):
            store.stride_table(rec_id, ["seq", "bogus"])


def test_run_without_strides_falls_back_to_wall_clock(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        run_id = store.start_run("aborted", "live", 1_700_000_000.0)
        store.add_recording(run_id, "AA:BB", "pod-L", "left", 1, "0.1.0")
        store.finish_run(run_id, 1_700_000_042.0)
        assert store.run(run_id).duration_s == 42.0


def test_version_1_store_upgrades_in_place_keeping_its_strides(tmp_path: Path) -> None:

    path = tmp_path / "old.db"
    conn = version_1_store(path)
    conn.execute("INSERT INTO runs (id, name, source, started_at) VALUES (1, 'r', 'live', 1.0)")
    conn.execute("INSERT INTO recordings VALUES (1, 1, 'AA', 'pod', 'left', 3, '0.1')")
    conn.execute(
        "INSERT INTO strides VALUES (1, 0, 'left', 1, 0, 'midfoot', 1000, 250.0, 700.0,"
        " 171.0, 2.0, 9.0, NULL, NULL)"
    )
    conn.close()
    with Store(path) as store:
        rec = store.recording(1)
        assert (rec.stride_count, rec.started_at, rec.clock_rate) == (1, None, None)
        assert store.sync_state(1) is None
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_version_2_store_upgrades_to_session_identity_keeping_everything(tmp_path: Path) -> None:
    """Rebuilding the recordings table must not cascade into strides or sync state."""
    from heavylegs.store.migrations import MIGRATIONS

    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0] + MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("INSERT INTO runs (id, name, source, started_at) VALUES (1, 'r', 'sync', 1.0)")
    conn.execute(
        "INSERT INTO recordings VALUES (1, 1, 'AA', 'pod', 'left', 3, '0.1', 50.0, NULL, NULL)"
    )
    conn.execute(
        "INSERT INTO recordings VALUES (2, 1, 'AA', 'pod', 'left', 4, '0.1', NULL, NULL, NULL)"
    )
    conn.execute(
        "INSERT INTO strides VALUES (1, 0, 'left', 1, 0, 'midfoot', 1000, 250.0, 700.0,"
        " 171.0, 2.0, 9.0, NULL, NULL)"
    )
    conn.execute("INSERT INTO pod_sync VALUES (1, 1, 1, 60.0)")
    conn.close()
    with Store(path) as store:
        rec = store.recording(1)
        assert (rec.stride_count, rec.journal_epoch, rec.copy) == (1, 0, 0)
        assert (rec.date_quality, rec.started_at) == ("exact", 50.0)
        assert store.recording(2).date_quality is None
        assert store.sync_state(1) == (1, 1)
        assert store.find_recording("AA", 3) == 1
        assert store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store._db.execute("PRAGMA foreign_key_check").fetchall() == []
        # the new key: same session id under another epoch is another recording
        assert store.add_recording(1, "AA", "pod", "left", 3, "0.1", epoch=7) != 1
        # and cascades still work on the rebuilt table
        store._db.execute("DELETE FROM runs WHERE id = 1")
        assert store._db.execute("SELECT COUNT(*) FROM strides").fetchone()[0] == 0


def test_sync_state_contiguous_prefix_and_clock(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        rec_id = new_recording(store)
        assert store.contiguous_count(rec_id) == 0
        store.add_strides(rec_id, [make_stride(i) for i in (1, 2)])
        assert store.contiguous_count(rec_id) == 0, "no seq 0 yet"
        store.add_strides(rec_id, [make_stride(i) for i in (0, 3, 5)])
        assert store.contiguous_count(rec_id) == 4
        store.set_sync_state(rec_id, 4, 6, 10.0)
        store.set_sync_state(rec_id, 2, 6, 11.0)  # an older acknowledgement never wins
        assert store.sync_state(rec_id) == (4, 6)
        store.set_recording_times(rec_id, started_at=50.0, clock_offset_s=100.0, clock_rate=2.0)
        rec = store.recording(rec_id)
        assert (rec.started_at, rec.clock_offset_s, rec.clock_rate) == (50.0, 100.0, 2.0)
        first = store.strides(rec_id)[0]
        assert first.host_time == pytest.approx(100.0 + 2.0 * first.ic_ms / 1000)
        assert store.find_recording(rec.pod_address, rec.pod_session) == rec_id
        assert store.find_recording(rec.pod_address, 999) is None
