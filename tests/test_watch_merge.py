"""A runner's watch merged into a run (issue 17), on the real Garmin files in ../shared.

The pods' run is simulated to follow the fenix 2's 9 km run (its pace, hills and
the chest strap's cadence) with the pods' clock off by a random amount; the merge
must find that offset, store the watch's pace, heart rate and elevation with the
run, and the analysis must judge the hilly final lap's contact time with grade.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import garmin_fit_sdk
import numpy as np
import pytest
from watch_files import FENIX2, FENIX5, needs_watch_files

from heavylegs.analysis.cardiac import DRIFT_MIN_PCT, cardiac_drift
from heavylegs.analysis.fatigue import GCT_PER_GRADE_PRIOR, FatigueDetector
from heavylegs.analysis.session import load_session, with_watch
from heavylegs.reprocess import strides_from_trace
from heavylegs.sim.follow import (
    GCT_PER_GRADE_PCT,
    Course,
    follow_scenario,
    follow_strides,
    store_followed_run,
)
from heavylegs.store import SCHEMA_VERSION, Store
from heavylegs.trace import read_trace
from heavylegs.watch import align, read_activity
from heavylegs.watch.merge import merge_activity

pytestmark = needs_watch_files

# The fenix 2's last lap (a 2.2 km cool-down with 50 m of climbing) starts here.
FINAL_LAP_MIN = 31.0


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "heavylegs.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def course_of(path: Path) -> Course:
    activity = read_activity(path)
    return Course(
        started_at=activity.start_s,
        t_s=activity.t_s - activity.start_s,
        speed_mps=activity.speed_mps,
        grade_pct=activity.grade_pct,
        cadence_spm=activity.cadence_spm,
    )


def dump(db: Path) -> str:
    """Everything the store holds, as SQL text: equal dumps, unchanged store."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pod_clock_offset_s() -> float:
    return float(np.random.default_rng(1708).uniform(-120.0, 120.0))


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory, pod_clock_offset_s: float) -> Path:
    """A store holding the followed run, with the fenix 2 activity merged by the CLI."""
    db = tmp_path_factory.mktemp("merge") / "heavylegs.db"
    with Store(db) as store:
        store_followed_run(store, course_of(FENIX2), clock_offset_s=pod_clock_offset_s, seed=17)
    done = cli("merge", str(FENIX2), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "merged into run 1" in done.stdout and "by cadence correlation" in done.stdout
    return db


def test_the_fenix_2_activity_reads_as_its_readme_says() -> None:
    activity = read_activity(FENIX2)
    assert activity.device == "garmin fenix2"
    assert len(activity) == 2809
    assert len(activity.laps) == 4
    assert activity.distance_m[-1] == pytest.approx(9007, abs=10)
    assert activity.laps[-1].ascent_m == 50
    assert np.nanmedian(activity.cadence_spm) == pytest.approx(167, abs=3)  # steps, not strides
    # the climb of the last lap shows in the grade; the flat laps do not climb
    final = activity.t_s >= activity.laps[-1].start_s
    assert np.nanmax(activity.grade_pct[final]) > 6
    assert abs(np.nanmedian(activity.grade_pct[~final])) < 1
    assert read_activity(FENIX5).device.startswith("garmin")


def test_the_merge_finds_the_pods_clock_offset_within_a_second(
    merged: Path, pod_clock_offset_s: float
) -> None:
    assert abs(pod_clock_offset_s) > 10  # the clocks really disagree
    with Store(merged) as store:
        held = store.watch_merge(1)
    assert held is not None and held.method == "cadence"
    assert held.offset_s == pytest.approx(pod_clock_offset_s, abs=1.0)
    assert held.correlation is not None and held.correlation > 0.8


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alignment_holds_for_other_offsets_up_to_two_minutes(tmp_path: Path, seed: int) -> None:
    offset = float(np.random.default_rng(seed).uniform(-120.0, 120.0))
    with Store(tmp_path / "s.db") as store:
        store_followed_run(store, course_of(FENIX2), clock_offset_s=offset, seed=seed)
        merged = merge_activity(store, read_activity(FENIX2))
    assert merged.alignment.offset_s == pytest.approx(offset, abs=1.0)


def test_pace_heart_rate_elevation_and_laps_are_stored_on_the_runs_clock(
    merged: Path, pod_clock_offset_s: float
) -> None:
    activity = read_activity(FENIX2)
    with Store(merged) as store:
        t_s, columns = store.watch_samples(1)
        laps = store.watch_laps(1)
        held = store.watch_merge(1)
    assert held is not None
    assert len(t_s) == len(activity)
    np.testing.assert_allclose(t_s, activity.t_s + held.offset_s)
    for name, truth in (
        ("speed_mps", activity.speed_mps),
        ("heart_rate_bpm", activity.heart_rate_bpm),
        ("altitude_m", activity.altitude_m),
        ("distance_m", activity.distance_m),
    ):
        np.testing.assert_allclose(columns[name], truth, equal_nan=True)
    assert np.isfinite(columns["heart_rate_bpm"]).mean() > 0.99
    assert [lap.lap for lap in laps] == [1, 2, 3, 4]
    assert laps[-1].start_s == pytest.approx(activity.laps[-1].start_s + held.offset_s)
    assert SCHEMA_VERSION >= 4


def test_the_report_shows_pace_and_heart_rate(merged: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    done = cli("report", "--db", str(merged), "--out", str(page))
    assert done.returncode == 0, done.stderr
    html = page.read_text()
    assert 'data-plot="watch"' in html
    assert "Pace and heart rate (watch)" in html
    assert "activity-small-fenix2-run.fit" in html
    assert 'data-watch="cardiac">Heart rate' in html
    assert "and the grade from its elevation" in html


def test_the_hilly_final_lap_is_judged_with_grade_not_flagged_as_fatigue(merged: Path) -> None:
    """Truth: nothing planted. The pods alone (no stride length, so no speed) read the
    final lap's slowdown and climb as fatigue; with the watch's speed and grade it is not."""
    with Store(merged) as store:
        session = load_session(store, store.run(1))
    assert session.watch is not None and session.watch.has_grade
    pods_alone = FatigueDetector().detect(with_watch(session, None))
    assert any(
        f.kind == "contact_time" and f.onset_min >= FINAL_LAP_MIN for f in pods_alone.flags_
    ), pods_alone.flags_
    with_grade = FatigueDetector().detect(session)
    assert not [f for f in with_grade.flags_ if f.kind == "contact_time"], with_grade.flags_
    # the coupling it learned from the run's own hills is the one planted (+1.2%/%)
    planted = 100 * GCT_PER_GRADE_PCT
    assert with_grade.couplings_["gct_per_grade"] == pytest.approx(planted, abs=0.4)
    assert GCT_PER_GRADE_PRIOR == pytest.approx(planted)  # the prior is not what is tested
    # and the speed it normalised with is the watch's GPS speed, where the pods had none
    speed = session.feet["left"].speed_mps
    assert np.isfinite(speed).mean() > 0.95


def test_fatigue_planted_on_the_final_lap_is_still_found(tmp_path: Path) -> None:
    """The reverse: contact time rising 30% over the final lap beyond pace and grade."""
    with Store(tmp_path / "s.db") as store:
        store_followed_run(store, course_of(FENIX2), seed=5, fatigue=(FINAL_LAP_MIN, 30.0))
        merge_activity(store, read_activity(FENIX2))
        session = load_session(store, store.run(1))
    found = FatigueDetector().detect(session)
    flags = [f for f in found.flags_ if f.kind == "contact_time"]
    assert flags and flags[0].onset_min >= FINAL_LAP_MIN, found.flags_


def test_merging_twice_asks_for_replace_and_never_mixes(merged: Path, tmp_path: Path) -> None:
    db = tmp_path / "twice.db"
    shutil.copy(merged, db)
    before = dump(db)
    again = cli("merge", str(FENIX2), "--db", str(db))
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        "error: run 1 already holds activity-small-fenix2-run.fit (garmin fenix2); "
        "use --replace to replace it"
    ]
    assert dump(db) == before
    replaced = cli("merge", str(FENIX2), "1", "--replace", "--db", str(db))
    assert replaced.returncode == 0, replaced.stderr
    assert "replaced the watch activity of run 1" in replaced.stdout
    with Store(db) as store:
        t_s, _ = store.watch_samples(1)
        assert len(t_s) == 2809 and len(store.watch_laps(1)) == 4


def _fit_crc(data: bytes) -> int:
    table = (0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
             0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400)  # fmt: skip
    crc = 0
    for byte in data:
        for nibble in (byte & 0xF, byte >> 4):
            tmp = table[crc & 0xF]
            crc = (crc >> 4) & 0x0FFF
            crc = crc ^ tmp ^ table[nibble]
    return crc


def _as_course_file(data: bytes) -> bytes:
    """The same FIT file with its file_id saying 'course' (6), checksum recomputed."""
    out = bytearray(data)
    pos = out[0]  # header size
    header = out[pos]
    assert header & 0x40, "the file starts with a definition message"
    arch, global_num, count = out[pos + 2], out[pos + 3 : pos + 5], out[pos + 5]
    assert arch == 0 and int.from_bytes(global_num, "little") == 0  # file_id
    fields = [tuple(out[pos + 6 + 3 * k : pos + 9 + 3 * k]) for k in range(count)]
    data_at = pos + 6 + 3 * count + (1 + 1 + 3 * out[pos + 6 + 3 * count] if header & 0x20 else 0)
    assert out[data_at] & 0x0F == header & 0x0F  # its data message follows
    offset = data_at + 1
    for number, size, _base in fields:
        if number == 0:
            out[offset] = 6
            break
        offset += size
    else:
        raise AssertionError("no type field in file_id")
    out[-2:] = _fit_crc(bytes(out[:-2])).to_bytes(2, "little")
    return bytes(out)


@pytest.mark.parametrize(
    "case, says",
    [
        ("truncated", "is damaged: its size or checksum does not match"),
        ("corrupt", "is damaged: its size or checksum does not match"),
        ("not-an-activity", "is a FIT course, not an activity"),
        ("not-fit", "is not a FIT file"),
        ("missing", "cannot read"),
        ("different-day", "do not overlap (another day's file?)"),
        ("different-day-no-run", "no run overlaps garmin-fenix-5-run.fit"),
    ],
)
def test_bad_watch_files_are_refused_in_one_line_and_change_nothing(
    merged: Path, tmp_path: Path, case: str, says: str
) -> None:
    db = tmp_path / "bad.db"
    shutil.copy(merged, db)
    with Store(db) as store:  # the bad file must not land beside or over the good one
        assert store.watch_merge(1) is not None
    fenix2 = FENIX2.read_bytes()
    bad = tmp_path / f"{case}.fit"
    run = ["1"]
    if case == "truncated":
        bad.write_bytes(fenix2[: len(fenix2) * 2 // 3])
    elif case == "corrupt":
        broken = bytearray(fenix2)
        broken[len(broken) // 2] ^= 0x5A
        bad.write_bytes(bytes(broken))
    elif case == "not-an-activity":
        bad.write_bytes(_as_course_file(FENIX5.read_bytes()))
        assert read_activity_type(bad) == "course"
    elif case == "not-fit":
        bad.write_text("date,distance\n2015-08-15,9.0\n")
    elif case == "missing":
        bad = tmp_path / "nowhere.fit"
    elif case == "different-day":
        bad = FENIX5
    elif case == "different-day-no-run":
        bad, run = FENIX5, []
    before = dump(db)
    done = cli("merge", str(bad), *run, "--replace", "--db", str(db))
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr
    assert done.returncode == 2
    assert dump(db) == before


def test_merge_into_a_store_of_summary_runs_says_no_run_has_strides(tmp_path: Path) -> None:
    db = tmp_path / "summaries.db"
    for watch_file in (FENIX2, FENIX5):
        done = cli("import", str(watch_file), "--db", str(db))
        assert done.returncode == 0, done.stderr
    with Store(db) as store:
        assert len(store.runs()) == 2 and not any(r.stride_count for r in store.runs())
    before = dump(db)
    done = cli("merge", str(FENIX2), "--db", str(db))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: no run in the store has strides to merge {FENIX2.name} into "
        "(2 runs hold only a summary, as imported from a FIT file)"
    ]
    assert dump(db) == before


def read_activity_type(path: Path) -> str:
    """The file_id type as Garmin's SDK decodes it (proves the patched file is valid FIT)."""
    from garmin_fit_sdk import Decoder, Stream

    decoder = Decoder(Stream.from_file(str(path)))
    assert decoder.check_integrity()
    messages, errors = Decoder(Stream.from_file(str(path))).read()
    assert not errors
    return str(messages["file_id_mesgs"][0]["type"])


def test_without_run_and_two_overlapping_runs_the_error_lists_them(tmp_path: Path) -> None:
    db = tmp_path / "two.db"
    with Store(db) as store:
        store_followed_run(store, course_of(FENIX2), seed=1, name="left pair")
        store_followed_run(store, course_of(FENIX2), clock_offset_s=30, seed=2, name="second")
    before = dump(db)
    done = cli("merge", str(FENIX2), "--db", str(db))
    assert done.returncode == 2
    assert "2 runs overlap activity-small-fenix2-run.fit" in done.stderr
    assert "run 1 " in done.stderr and "run 2 " in done.stderr and "name one as RUN" in done.stderr
    assert dump(db) == before


def test_sim_follow_drives_the_gait_model_and_the_firmware_on_a_slice(tmp_path: Path) -> None:
    """The firmware-in-the-loop path on the first 2 minutes (a whole 47 min run takes
    minutes of gait model here): the traces follow the watch's pace and start time,
    and the pod's own gait engine finds the strides the model planted."""
    done = cli("sim", "--follow", str(FENIX2), "--minutes", "2", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    course = course_of(FENIX2)
    trace = read_trace(tmp_path / "follow-left.hltrace")
    assert trace.header.meta["started_at"] == course.started_at
    planned = follow_scenario(course.sliced(2.0)).params.segments
    assert len(planned) == 4
    for segment in planned:
        window = (course.t_s >= segment.start_s) & (course.t_s < segment.start_s + 30)
        assert segment.speed_mps == pytest.approx(np.nanmedian(course.speed_mps[window]))
    strides = strides_from_trace(trace)
    running = [s for s in trace.truth if s.running]
    assert abs(len(strides) - len(trace.truth)) <= 3
    # pace changes show: the model's planted contact times are what the pod measures
    assert np.median([s.gct_ms for s in strides if s.running]) == pytest.approx(
        1000 * np.median([s.to_s - s.ic_s for s in running]), rel=0.1
    )


def test_sim_follow_into_a_store_then_merge_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    made = cli("sim", "--follow", str(FENIX2), "--db", str(db), "--clock-offset", "-75")
    assert made.returncode == 0, made.stderr
    done = cli("merge", str(FENIX2), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "offset -75." in done.stdout or "offset -74." in done.stdout, done.stdout


def test_without_cadence_or_correlation_the_clocks_are_kept() -> None:
    activity = read_activity(FENIX2)
    course = course_of(FENIX2)
    strides = follow_strides(course, seed=9)
    t = np.concatenate([[course.started_at + s.ic_ms / 1000 for s in v] for v in strides.values()])
    cadence = np.concatenate([[s.cadence_spm for s in v] for v in strides.values()])
    no_cadence = replace(activity, cadence_spm=np.full(len(activity), np.nan))
    kept = align(no_cadence, t + 40.0, cadence)
    assert (kept.method, kept.offset_s, kept.correlation) == ("clock", 0.0, None)
    # a pod cadence unrelated to the watch's: no lag wins, the clocks stay
    noise = np.random.default_rng(3).normal(170, 3, len(cadence))
    unrelated = align(activity, t, noise)
    assert unrelated.method == "clock" and unrelated.offset_s == 0.0
    assert "by the clocks alone" in unrelated.describe()


@pytest.mark.parametrize("rise_pct, drifts", [(0.0, False), (15.0, True)])
def test_cardiac_drift_is_found_when_planted(tmp_path: Path, rise_pct: float, drifts: bool) -> None:
    """Heart rate planted flat, or rising 15% over the run at any pace."""
    activity = read_activity(FENIX2)
    share = (activity.t_s - activity.start_s) / (activity.end_s - activity.start_s)
    planted = replace(activity, heart_rate_bpm=150.0 * (1 + rise_pct / 100 * share))
    with Store(tmp_path / "s.db") as store:
        store_followed_run(store, course_of(FENIX2), seed=4)
        merge_activity(store, planted)
        session = load_session(store, store.run(1))
    drift = cardiac_drift(FatigueDetector().detect(session))
    assert drift is not None
    assert (drift.drift_pct >= DRIFT_MIN_PCT) is drifts, drift
    assert ("no cardiac drift" in drift.text) is not drifts


def test_a_merge_renews_the_runs_cached_summary(tmp_path: Path) -> None:
    """An earlier run's summary is cached for the history; merging a watch into it
    must not leave the summary judged without the watch."""
    from heavylegs.analysis.history import ANALYSIS_VERSION, run_summary
    from heavylegs.store.diary import Diary

    db = tmp_path / "s.db"
    with Store(db) as store:
        store_followed_run(store, course_of(FENIX2), seed=6)
        run = store.run(1)
        with Diary(db) as diary:
            before = run_summary(store, diary, run)
            assert diary.cached_summary(1, ANALYSIS_VERSION, run.stride_count) is not None
        merge_activity(store, read_activity(FENIX2))
        with Diary(db) as diary:
            assert diary.cached_summary(1, ANALYSIS_VERSION, run.stride_count) is None
            after = run_summary(store, diary, run)
    assert before != after


async def test_firmware_in_the_loop_on_a_slice_aligns_within_a_second(tmp_path: Path) -> None:
    """The real firmware (MicroPython) on simulated pods over the simulated radio,
    recording 4 minutes of the fenix 2 course around its stop and walk (minute 31.5
    on); a whole 47 min run would take minutes here. The pods' clocks are then set
    as a pod without a host would date them: the watch's time plus a planted offset."""
    from heavylegs.cli.simulated import record_simulated

    course = course_of(FENIX2).sliced(4.0, from_min=31.5)
    traces = follow_scenario(course).simulate(seed=1)
    paths = {foot: trace.write(tmp_path / f"{foot}.hltrace") for foot, trace in traces.items()}
    planted = float(np.random.default_rng(31).uniform(-120.0, 120.0))
    with Store(tmp_path / "s.db") as store:
        run_id = await record_simulated(store, paths, duration_s=course.duration_s)
        for rec in store.run(run_id).recordings:
            # the pod's contact at ic_ms happened at start_offset_s + ic_ms on the course
            start = course.started_at + traces[rec.foot].header.start_offset_s
            store.set_recording_times(rec.id, clock_offset_s=start + planted, clock_rate=1.0)
        merged = merge_activity(store, read_activity(FENIX2), run_id)
        t_s, columns = store.watch_samples(run_id)
    assert merged.alignment.method == "cadence"
    assert merged.alignment.offset_s == pytest.approx(planted, abs=1.0)
    assert len(t_s) == 2809 and np.isfinite(columns["heart_rate_bpm"]).any()


def test_a_merged_runs_fit_export_carries_the_watchs_laps(merged: Path, tmp_path: Path) -> None:
    """Laps the runner pressed on the watch replace the export's km laps."""
    out = tmp_path / "merged.fit"
    result = cli("export", "1", "--format", "fit", "--out", str(out), "--db", str(merged))
    assert result.returncode == 0, result.stdout + result.stderr
    messages, errors = garmin_fit_sdk.Decoder(garmin_fit_sdk.Stream.from_file(str(out))).read()
    assert not errors
    with Store(merged) as store:
        watch_laps = store.watch_laps(1)
    laps = messages["lap_mesgs"]
    assert len(laps) == len(watch_laps) == 4
    for lap, held in zip(laps[1:], watch_laps[1:], strict=True):
        # each lap starts within a second (one record) of the watch's lap
        assert abs(lap["start_time"].timestamp() - held.start_s) <= 1.5
