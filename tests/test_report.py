"""The HTML run report and the terminal summary."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from rich.console import Console
from sqlite_files import run_sql
from typer.testing import CliRunner

from heavylegs.analysis import CheckIn, Diary
from heavylegs.cli import app
from heavylegs.report import print_summary, write_report
from heavylegs.report.plots import rolling_median
from heavylegs.report.summary import load_feet, summarise
from heavylegs.sim.strides import scenario, store_run
from heavylegs.store import Store, StoreError, Stride

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMG = re.compile(
    r'<img data-plot="([^"]+)" data-text="[0-9.]+" alt="([^"]+)" '
    r'src="data:image/png;base64,([^"]+)">'
)
STRIDE_MS = 720.0


def strides_for(
    foot: str,
    gct_cycle: tuple[float, ...],
    count: int,
    start_ic_ms: int = 0,
    host_start: float = 1_700_000_000.0,
) -> list[Stride]:
    """Running strides whose contact times repeat gct_cycle, plus three walking strides."""
    out = []
    for seq in range(count):
        out.append(
            Stride(
                seq=seq,
                foot=foot,
                running=True,
                clipped=seq % 50 == 0,
                strike_class=("rearfoot", "midfoot", "midfoot", "forefoot")[seq % 4],
                ic_ms=start_ic_ms + int(seq * STRIDE_MS),
                gct_ms=gct_cycle[seq % len(gct_cycle)] + 0.001 * (seq % 100),
                stride_ms=STRIDE_MS,
                cadence_spm=2 * 60_000 / STRIDE_MS + (seq % 5) * 0.5,
                strike_deg=3.0,
                impact_g=10.0,
                stride_len_m=1.3,
                host_time=host_start + seq * STRIDE_MS / 1000,
            )
        )
    for seq in range(count, count + 3):
        # a walking break at the end: its long contacts must stay out of the medians
        out.append(
            Stride(
                seq=seq,
                foot=foot,
                running=False,
                clipped=False,
                strike_class="rearfoot",
                ic_ms=start_ic_ms + int(seq * 1100),
                gct_ms=650.0,
                stride_ms=1100.0,
                cadence_spm=109.0,
                strike_deg=12.0,
                impact_g=3.0,
                stride_len_m=None,
            )
        )
    return out


def make_run(store: Store, feet: dict[str, tuple[float, ...]], count: int = 600) -> int:
    run_id = store.start_run("Sunday long run", "live-sim", 1_700_000_000.0)
    for session, (foot, cycle) in enumerate(feet.items()):
        rec_id = store.add_recording(run_id, f"AA:0{session}", f"pod-{foot}", foot, 1, "0.1.0")
        store.add_strides(rec_id, strides_for(foot, cycle, count, start_ic_ms=500 + 360 * session))
    store.finish_run(run_id, 1_700_000_000.0 + 3_600)
    return run_id


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "heavylegs.db") as store:
        yield store


def images(page: str) -> dict[str, tuple[str, bytes]]:
    return {plot: (alt, base64.b64decode(data)) for plot, alt, data in IMG.findall(page)}


def cell(page: str, foot: str, metric: str) -> str:
    found = re.search(rf'<td data-foot="{foot}" data-metric="{metric}">([^<]*)</td>', page)
    assert found, f"no {metric} cell for {foot}"
    return found.group(1)


def test_two_pod_report(store: Store, tmp_path: Path) -> None:
    run_id = make_run(store, {"left": (240.0, 250.0, 260.0), "right": (262.0, 272.0, 282.0)})
    out = write_report(store, run_id, tmp_path / "reports" / "run.html")

    assert out == tmp_path / "reports" / "run.html"
    page = out.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert 'src="file' not in page and "<link" not in page and "<script" not in page
    assert page.count("<img ") == len(IMG.findall(page)), "every image is an embedded PNG"
    # 600 running strides + the walking break, on the pod clock
    assert "Sunday long run" in page and "live-sim" in page and "0:11:02" in page

    plotted = images(page)
    # 7 minutes: too short to judge fatigue, so no drift or balance plots; one week of
    # history, so no weekly trend
    assert set(plotted) == {"gct-left", "gct-right", "cadence", "strike"}
    assert "Not enough steady running to judge tired legs" in page
    assert "at least 10 min are needed" in page
    for plot, (alt, png) in plotted.items():
        assert alt.strip(), plot
        assert png.startswith(PNG_SIGNATURE), plot
        pixels = imread(io.BytesIO(png))
        colours = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
        assert len(colours) > 20, f"{plot} looks blank"

    assert cell(page, "left", "gct-median") == "250 ms"
    assert cell(page, "right", "gct-median") == "272 ms"
    assert cell(page, "left", "strides") == "600 of 603"
    assert cell(page, "left", "cadence-median") == "168"
    assert cell(page, "left", "stride-length") == "1.30 m"
    assert cell(page, "left", "impact") == "10.0 g"
    assert cell(page, "left", "strike-angle") == "+3°"
    # 600 strides of 1.3 m per foot; 599 strides of 0.72 s of running
    assert headline_value(page, "distance") == "0.78 km"
    assert headline_value(page, "pace") == "9:13 /km"
    assert headline_value(page, "balance") == "47.9% left"  # 250 / (250 + 272)
    # 720 / 2 - 250 ms, labelled as an approximation
    assert cell(page, "left", "flight-approx") == "110 ms"
    assert "Flight time (approx.)" in page
    strikes = {
        name: cell(page, "right", f"strike-{name}") for name in ("rearfoot", "midfoot", "forefoot")
    }
    assert strikes == {"rearfoot": "25%", "midfoot": "50%", "forefoot": "25%"}
    assert "strike-unknown" not in page
    assert not list(tmp_path.glob("reports/.*")), "no partial file left behind"


def headline_value(page: str, metric: str) -> str:
    found = re.search(rf'<div data-metric="{metric}"><dt>[^<]*</dt><dd>([^<]*)</dd>', page)
    assert found, f"no headline {metric}"
    return found.group(1)


def test_one_pod_report_shows_only_that_foot(store: Store, tmp_path: Path) -> None:
    run_id = make_run(store, {"right": (300.0,)})
    page = write_report(store, run_id, tmp_path / "run.html").read_text(encoding="utf-8")
    assert set(images(page)) == {"gct-right", "cadence", "strike"}
    assert headline_value(page, "balance") == "—"  # needs both feet
    assert 'data-foot="left"' not in page
    assert cell(page, "right", "gct-median") == "300 ms"


def test_empty_run_report(store: Store, tmp_path: Path) -> None:
    run_id = store.start_run("never ran", "live", 1_700_000_000.0)
    store.add_recording(run_id, "AA", "pod", "left", 1, "0.1.0")
    page = write_report(store, run_id, tmp_path / "run.html").read_text(encoding="utf-8")
    assert "No strides recorded" in page
    assert "<img" not in page


def test_unknown_run_writes_nothing(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    out.write_text("previous report")
    with pytest.raises(StoreError, match="unknown run 42"):
        write_report(store, 42, out)
    assert out.read_text() == "previous report"


def test_run_name_is_escaped(store: Store, tmp_path: Path) -> None:
    run_id = store.start_run("<b>hills & repeats</b>", "live", 1_700_000_000.0)
    page = write_report(store, run_id, tmp_path / "run.html").read_text(encoding="utf-8")
    assert "<b>hills" not in page
    assert "&lt;b&gt;hills &amp; repeats" in page


def test_print_summary_shows_both_feet(store: Store) -> None:
    run_id = make_run(store, {"left": (240.0, 250.0, 260.0), "right": (262.0, 272.0, 282.0)})
    console = Console(record=True, width=140)
    print_summary(store, run_id, console)
    text = console.export_text()
    assert "Left" in text and "Right" in text
    assert "250 ms" in text and "272 ms" in text
    assert "600 of 603" in text and "Cadence (steps/min)" in text
    assert re.search(r"Flat strikes \(midfoot\)\s+│\s+50%\s+│\s+50%", text)
    assert "Distance 0.78 km" in text and "Pace 9:13 /km" in text
    assert "Sunday long run" in text


def test_print_summary_of_an_empty_run(store: Store) -> None:
    run_id = store.start_run("never ran", "live", 1_700_000_000.0)
    console = Console(record=True, width=100)
    print_summary(store, run_id, console)
    assert "No strides recorded" in console.export_text()


def test_later_recording_of_a_foot_follows_on_the_time_axis(store: Store) -> None:
    # the pod went to sleep at a long stop and came back with a new session
    run_id = store.start_run("with a stop", "live", 1_700_000_000.0)
    first = store.add_recording(run_id, "AA", "pod", "left", 1, "0.1.0")
    second = store.add_recording(run_id, "AA", "pod", "left", 2, "0.1.0")
    store.add_strides(first, strides_for("left", (250.0,), 100)[:100])
    store.add_strides(
        second, strides_for("left", (250.0,), 100, host_start=1_700_000_000.0 + 600)[:100]
    )
    minutes = load_feet(store, store.run(run_id))["left"].minutes
    assert len(minutes) == 200
    assert np.all(np.diff(minutes) >= 0)
    assert minutes[100] == pytest.approx(10.0, abs=0.01)


def test_synced_recordings_start_at_zero(store: Store) -> None:
    run_id = store.start_run("synced", "sync", 1_700_000_000.0)
    rec = store.add_recording(run_id, "AA", "pod", "left", 1, "0.1.0")
    strides = [s for s in strides_for("left", (250.0,), 10, start_ic_ms=90_000) if s.running]
    store.add_strides(rec, [dataclasses.replace(s, host_time=None) for s in strides])
    minutes = load_feet(store, store.run(run_id))["left"].minutes
    assert minutes[0] == 0.0
    assert minutes[-1] == pytest.approx(9 * STRIDE_MS / 60_000)


def test_rolling_median_handles_short_series() -> None:
    x = np.arange(5, dtype=float)
    assert rolling_median(x[:0], x[:0])[1].shape == (0,)
    mid_x, med = rolling_median(x, np.array([1.0, 9.0, 2.0, 3.0, 8.0]), window=3)
    assert mid_x.tolist() == [1.0, 2.0, 3.0]
    assert med.tolist() == [2.0, 3.0, 3.0]
    assert rolling_median(x[:2], x[:2])[1].tolist() == [0.0, 1.0]


# --- analysis in the report ------------------------------------------------------------

T0 = 1_700_000_000.0


def _look(png: bytes, plot: str) -> None:
    assert png.startswith(PNG_SIGNATURE), plot
    pixels = imread(io.BytesIO(png))
    colours = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
    assert len(colours) > 20, f"{plot} looks blank"


def test_report_shows_flags_onset_causes_and_trends(store: Store, tmp_path: Path) -> None:
    for day in range(0, 21, 3):
        store_run(store, scenario("steady", seed=day, minutes=45), started_at=T0 + day * 86_400)
    tired = store_run(
        store, scenario("right_leg_weakening"), started_at=T0 + 22 * 86_400, name="Hill reps"
    )
    with Diary(store.path) as diary:
        diary.record_checkin(tired, CheckIn(legs=4, fuelling=1))
    page = write_report(store, tired, tmp_path / "run.html").read_text(encoding="utf-8")
    plotted = images(page)
    assert set(plotted) >= {
        "gct-left",
        "gct-right",
        "balance",
        "cadence",
        "strike",
        "drift",
        "trends",
    }
    for plot, (_, png) in plotted.items():
        _look(png, plot)
    # the flag, with its onset and evidence, in the verdict and the flags section
    verdict = page[page.index('id="heavy-legs"') : page.index('id="summary"')]
    assert 'data-flag="asymmetry"' in verdict
    flag = re.search(r'<li data-flag="asymmetry">(.*?)</li>', verdict)
    assert flag and "from minute 2" in flag.group(1)  # planted at minute 22
    judged = page[page.index('id="how-judged"') :]
    assert "Garmin" in judged and "Baseline: minutes" in judged
    causes = re.findall(r'data-cause="([a-z_]+)"', page)
    assert causes[0] in ("weaker_leg", "fuelling")
    assert set(causes) == {"weaker_leg", "fuelling"}
    # the check-in in words, every scale drawn with its hard end the same way
    assert "heavy (4 of 5)" in page and "ran on empty (1 of 5)" in page
    assert re.search(r'data-answer="legs".*?width:75%', page)
    assert re.search(r'data-answer="fuelling".*?width:100%', page)
    assert "http://" not in page and "<script" not in page


def test_report_command_prints_flags_and_causes(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        store_run(store, scenario("heel_drift"), started_at=T0)
    result = CliRunner().invoke(app, ["report", "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert Path(lines[-1]) == (tmp_path / "reports" / "run-1.html").resolve()
    assert "Strike shifting towards the heel" in result.output
    assert "Why are my legs heavy?" in result.output
    assert "not checked: no self-report" in result.output


def test_report_command_without_a_store_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert "no store" in result.output
    assert not (tmp_path / "none.db").exists()


def test_checkin_command_records_and_merges_answers(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        run_id = store_run(store, scenario("steady", minutes=12), started_at=T0)
    runner = CliRunner()
    first = runner.invoke(app, ["checkin", "--db", str(db), "--sleep", "6.5", "--legs", "4"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["checkin", str(run_id), "--db", str(db), "--no-strength"])
    assert second.exit_code == 0, second.output
    with Diary(db) as diary:
        assert diary.checkin(run_id) == CheckIn(sleep_h=6.5, legs=4, strength_before=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--legs", "9"], "legs must be a whole number 1 to 5"),
        (["--sleep", "30"], "sleep must be 0 to 24 hours"),
        (["--effort", "0"], "effort must be a whole number 1 to 10"),
        ([], "give at least one answer"),
        (["7", "--legs", "3"], "unknown run 7"),
    ],
)
def test_checkin_command_refuses_bad_answers(tmp_path: Path, args: list[str], message: str) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        run_id = store_run(store, scenario("steady", minutes=12), started_at=T0)
    result = CliRunner().invoke(app, ["checkin", "--db", str(db), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    with Diary(db) as diary:
        assert diary.checkin(run_id) is None


def test_shoe_command_adds_a_pair_and_lists_its_history(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        for day in range(3):
            store_run(
                store,
                scenario("steady", seed=day, minutes=12, speed_known=True),
                started_at=T0 + day * 86_400,
                pods={"left": "AA:00:00:00:00:01", "right": "AA:00:00:00:00:02"},
            )
    runner = CliRunner()
    named = runner.invoke(
        app,
        [
            "shoe", "add", "Trail pair", "--pod", "aa:00:00:00:00:01", "--pod", "AA:00:00:00:00:02",
            "--km", "420", "--from", "2020-01-01", "--db", str(db),
        ],
    )  # fmt: skip
    assert named.exit_code == 0, named.output
    # one row for the pair: 3 runs of 12 minutes at 3 m/s, about 6.5 km on top of 420 km
    (row,) = [line for line in named.output.splitlines() if line.startswith("│ Trail pair")]
    assert "│ 3 " in row and "426 km" in row
    bad = runner.invoke(
        app, ["shoe", "add", "x", "--pod", "AA:00:00:00:00:01", "--km", "-5", "--db", str(db)]
    )
    assert bad.exit_code == 2 and "must be 0 to 20000 km" in bad.output


def test_diary_refuses_a_newer_analysis_schema(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    Store(db).close()
    with Diary(db):
        pass
    run_sql(db, "UPDATE analysis_schema SET version = 99")
    with pytest.raises(StoreError, match="upgrade heavylegs"):
        Diary(db)


def test_diary_refuses_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    run_sql(other, "CREATE TABLE notes (x)")
    with pytest.raises(StoreError, match="not a heavylegs store"):
        Diary(other)
    with pytest.raises(StoreError, match="does not exist"):
        Diary(tmp_path / "missing.db")


def test_checkin_asks_when_no_answer_is_given(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        run_id = store_run(store, scenario("steady", minutes=12), started_at=T0)
    from heavylegs.cli import report as commands

    monkeypatch.setattr(commands, "_interactive", lambda: True)
    # sleep, effort, legs (9 is out of range: asked again), strength, fuelling
    # (skipped), hydration, note
    answers = "6.5\n7\n9\n4\ny\n\n2\nwindy\n"
    result = CliRunner().invoke(app, ["checkin", "--db", str(db)], input=answers)
    assert result.exit_code == 0, result.output
    assert "answer 1 to 5" in result.output
    with Diary(db) as diary:
        assert diary.checkin(run_id) == CheckIn(
            sleep_h=6.5, effort=7, legs=4, strength_before=True, hydration=2, note="windy"
        )


def test_clipped_landings_are_explained_in_runner_terms(store: Store, tmp_path: Path) -> None:
    run_id = make_run(store, {"left": (250.0,), "right": (270.0,)})
    left, right = store.run(run_id).recordings
    store.set_recording_ranges(left.id, 16, 2000)  # a +-16 g pod; the right one did not say
    page = write_report(store, run_id, tmp_path / "run.html").read_text(encoding="utf-8")
    lines = dict(re.findall(r'<p class="note clipping" data-foot="(\w+)">([^<]*)</p>', page))
    # strides_for clips every 50th landing: 12 of 603
    assert lines == {
        "left": "Left foot: 12 of 603 landings hit the sensor&#x27;s 16 g limit, "
        "so impact on those is at least 16 g",
        "right": "Right foot: 12 of 603 landings hit the sensor&#x27;s limit, "
        "so impact on those is at least what is shown",
    }
    console = Console(record=True, width=200)
    print_summary(store, run_id, console)
    assert "Left foot: 12 of 603 landings hit the sensor's 16 g limit" in console.export_text()


def test_no_clipping_line_when_nothing_clipped(store: Store, tmp_path: Path) -> None:
    run_id = store.start_run("gentle", "live-sim", 1_700_000_000.0)
    rec_id = store.add_recording(run_id, "AA:01", "pod-left", "left", 1, "0.1.0")
    strides = [dataclasses.replace(s, clipped=False) for s in strides_for("left", (250.0,), 100)]
    store.add_strides(rec_id, strides)
    store.set_recording_ranges(rec_id, 32, 2000)
    page = write_report(store, run_id, tmp_path / "run.html").read_text(encoding="utf-8")
    assert "clipping" not in page and "limit" not in page


# --- runner terms, plots on a phone ----------------------------------------------------


def test_report_speaks_runner_terms_and_keeps_statistics_under_how_judged(
    store: Store, tmp_path: Path
) -> None:
    tired = store_run(store, scenario("fatigue_slowing", speed_known=True), started_at=T0)
    with Diary(store.path) as diary:
        diary.record_checkin(tired, CheckIn(legs=2, strength_before=True, hydration=5))
    page = write_report(store, tired, tmp_path / "run.html").read_text(encoding="utf-8")
    judged_at = page.index('id="how-judged"')
    runner_part, judged = page[:judged_at], page[judged_at:]
    runner_part = re.sub(r'src="data:[^"]*"', "", runner_part)  # base64 spells anything
    for jargon in ("∝", "threshold", "ramp", "source synthetic", "No contributor", "True"):
        assert jargon not in runner_part, jargon
    assert "∝" in judged and "threshold" in judged and "source synthetic" in judged
    # every headline term comes with its plain line
    for key in ("distance", "duration", "pace", "contact-time", "balance", "cadence"):
        assert re.search(rf'<div data-metric="{key}">.*?<span class="explain">[A-Z]', page)
    assert re.search(r"\d+:\d\d /km", headline_value(page, "pace"))
    # the slowdown, said and shown
    slowdown = page[page.index('id="slowdown"') :]
    assert "You slowed" in slowdown
    assert re.search(r'data-metric="speed">-\d+%', slowdown)
    assert re.search(r'data-metric="corrected-gct">\+\d+%', slowdown)
    assert "fairly fresh (2 of 5)" in page and "leg strength work the day before" in page
    assert "well hydrated (5 of 5)" in page
    # one run: no four-week average to show yet
    assert "Weekly average" not in page and "known after 3 weeks of runs" in page
    assert 'href="history.html"' in page


def test_imperial_units_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "heavylegs.db"
    with Store(db) as store:
        store_run(store, scenario("steady", minutes=15, speed_known=True), started_at=T0)
    result = CliRunner().invoke(app, ["report", "--db", str(db), "--units", "imperial"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Pace \d+:\d\d /mi", result.output)
    page = (tmp_path / "reports" / "run-1.html").read_text(encoding="utf-8")
    assert headline_value(page, "distance").endswith(" mi")
    assert re.search(r'data-metric="stride-length">\d+\.\d ft<', page)
    assert (tmp_path / "reports" / "history.html").exists()
    refused = CliRunner().invoke(app, ["report", "--db", str(db), "--units", "furlongs"])
    assert refused.exit_code == 2
    assert "choose metric or imperial" in refused.output


def _figures(store: Store) -> dict[str, object]:
    from heavylegs.analysis import analyse_run
    from heavylegs.report import history_plots, plots
    from heavylegs.report.history import week_figures

    for day in range(0, 35, 4):
        store_run(store, scenario("steady", seed=day, minutes=15), started_at=T0 + day * 86_400)
    run_id = store_run(store, scenario("right_leg_weakening", seed=2), started_at=T0 + 36 * 86_400)
    a = analyse_run(store, store.run(run_id))
    feet, det = a.session.feet, a.detector
    marks = plots.Marks((3.0, 8.0), tuple(det.flags_))
    summaries = {foot: summarise(data) for foot, data in feet.items()}
    weeks = week_figures(a.history)
    return {
        "gct-left": plots.gct_figure(feet["left"], marks),
        # a third legend row: the figure grows rather than clip it
        "gct-slowed": plots.gct_figure(
            feet["right"], marks, at_earlier_pace=(feet["right"].minutes, feet["right"].gct_ms)
        ),
        "cadence": plots.cadence_figure(feet, marks),
        "strike": plots.strike_figure(summaries),
        "balance": plots.balance_figure(det.t_min, det.balance_pct_, marks),
        "drift": plots.drift_figure(det.t_min, det.indicators_, det.flags_),
        "trends": history_plots.trends_figure(a.weeks),
        "weekly": history_plots.indicators_figure(weeks),
        "load": history_plots.load_figure(weeks),
    }


def test_plot_text_is_large_enough_and_nothing_is_clipped(store: Store) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    from heavylegs.report.figure import FONT_PT

    for name, fig in _figures(store).items():
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert texts, name
        for text in texts:
            assert text.get_fontsize() >= FONT_PT, f"{name}: {text.get_text()!r} too small"
        # everything drawn (ticks, labels, legends, titles), in inches, inside the figure
        drawn = fig.get_tightbbox(renderer)
        width, height = fig.get_size_inches()
        assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01, f"{name} runs off left or bottom"
        assert drawn.x1 <= width + 0.01, f"{name} runs off the right by {drawn.x1 - width:.2f} in"
        assert drawn.y1 <= height + 0.01, f"{name} runs off the top by {drawn.y1 - height:.2f} in"
        # legends sit above the plots, never over the strides
        top = max(ax.get_window_extent(renderer).y1 for ax in fig.axes if ax.get_visible())
        for legend in fig.legends:
            assert legend.get_window_extent(renderer).y0 >= top, f"{name}: legend over the plot"


def test_feet_share_a_scale_and_stay_distinguishable(store: Store) -> None:
    from heavylegs.report import plots

    run_id = make_run(store, {"left": (240.0, 250.0, 260.0), "right": (262.0, 272.0, 282.0)})
    feet = load_feet(store, store.run(run_id))
    ylim = plots.shared_gct_ylim(feet)
    assert ylim is not None and ylim[0] < 240 and ylim[1] > 282
    limits = {plots.gct_figure(data, ylim=ylim).axes[0].get_ylim() for data in feet.values()}
    assert len(limits) == 1
    lines = {
        line.get_label(): line.get_linestyle()
        for line in plots.cadence_figure(feet).axes[0].get_lines()
        if line.get_label() in ("left", "right")
    }
    assert lines["left"] != lines["right"]


def test_thinned_strides_are_labelled_with_a_proper_ordinal() -> None:
    from heavylegs.analysis.session import session_from_strides
    from heavylegs.report import plots
    from heavylegs.report.terms import ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "111th"
    ]  # fmt: skip
    strides = strides_for("left", (250.0,), 6000)
    data = session_from_strides(strides).feet["left"]
    labels = plots.gct_figure(data).legends[0].get_texts()
    assert "every 2nd stride" in [t.get_text() for t in labels]


def test_drift_plot_gives_each_indicator_its_own_panel(store: Store) -> None:
    fig = _figures(store)["drift"]
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 6
    assert all(len(ax.get_lines()) >= 1 for ax in panels)


def test_after_a_slowdown_the_contact_time_plot_shows_it_at_the_earlier_pace(
    store: Store,
) -> None:
    from heavylegs.analysis import analyse_run
    from heavylegs.report import plots
    from heavylegs.report.html import _at_earlier_pace

    run_id = store_run(store, scenario("fatigue_slowing", seed=2), started_at=T0)
    analysis = analyse_run(store, store.run(run_id))
    slow = analysis.slowdown
    assert slow is not None
    data = analysis.session.feet["left"]
    minutes, ms = _at_earlier_pace(analysis, "left")
    late = minutes >= slow.onset_min
    base = analysis.detector.baseline_.gct_ms["left"]
    # the dashed line rises by what the flag says, the strides by more
    corrected_rise = 100 * (np.median(ms[late]) / base - 1)
    raw_rise = 100 * (np.median(data.gct_ms[data.minutes >= slow.onset_min]) / base - 1)
    assert abs(corrected_rise - slow.corrected_gct_pct) < 2.5
    assert raw_rise > corrected_rise + 2
    figure = plots.gct_figure(data, at_earlier_pace=(minutes, ms))
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert "at earlier pace" in labels
    # no slowdown, no second line
    steady = store_run(store, scenario("steady", seed=1, speed_known=True), started_at=T0 + 9e4)
    assert _at_earlier_pace(analyse_run(store, store.run(steady)), "left") is None
