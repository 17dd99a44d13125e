"""The history page written beside each run report: runs, calendar, weekly trends at a
comparable pace, this run against earlier ones, and load over the weeks."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import pytest

from heavylegs.analysis import analyse_run
from heavylegs.report.history import week_figures
from heavylegs.report.html import write_report
from heavylegs.sim.strides import scenario, store_run
from heavylegs.store import Store

DAY_S = 86_400.0
# weeks of history in the past, so that nothing lands on today
START = time.time() - 60 * DAY_S
RUN_DAYS = (0, 2, 5, 9, 12, 16, 19, 23, 26, 30, 33, 36)


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "heavylegs.db") as store:
        yield store


def history_runs(store: Store) -> list[int]:
    ids = []
    for day in RUN_DAYS[:-1]:
        ids.append(
            store_run(
                store,
                scenario("steady", seed=day, minutes=12, speed_known=True),
                started_at=START + day * DAY_S,
                name=f"Easy day {day}",
            )
        )
    ids.append(
        store_run(
            store,
            scenario("fatigue_speed", seed=1),
            started_at=START + RUN_DAYS[-1] * DAY_S,
            name="Long run",
        )
    )
    return ids


def test_history_page_with_weeks_of_runs(store: Store, tmp_path: Path) -> None:
    ids = history_runs(store)
    reports = tmp_path / "reports"
    # an earlier run's report already written: the history links to it
    write_report(store, ids[3], reports / f"run-{ids[3]}.html")
    run_page = write_report(store, ids[-1], reports / f"run-{ids[-1]}.html")
    assert 'href="history.html"' in run_page.read_text(encoding="utf-8")
    page = (reports / "history.html").read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page

    rows = re.findall(r'<tr data-run="(\d+)">', page)
    assert [int(r) for r in rows] == ids[::-1], "every run, newest first"
    assert f'<a href="run-{ids[-1]}.html">Long run</a>' in page
    assert f'<a href="run-{ids[3]}.html">Easy day 9</a>' in page
    assert f'href="run-{ids[4]}.html"' not in page, "no link to a report never written"
    long_run = page[page.index(f'<tr data-run="{ids[-1]}">') :].split("</tr>")[0]
    assert "contact time" in long_run  # its flag

    # the calendar marks each run's day, the flagged one apart
    days = re.findall(r'<td class="(ran|flagged)" data-day="([0-9-]+)">', page)
    expected = {datetime.fromtimestamp(START + d * DAY_S).date().isoformat() for d in RUN_DAYS}
    assert {day for _, day in days} == expected
    flagged_day = datetime.fromtimestamp(START + RUN_DAYS[-1] * DAY_S).date().isoformat()
    assert ("flagged", flagged_day) in days

    assert 'data-plot="weekly"' in page and 'data-plot="load"' in page
    compare = page[page.index('id="compare"') :]
    assert "Previous run" in compare and "Usual (4 weeks)" in compare


def test_week_figures_add_up_and_judge_load_only_after_three_weeks(store: Store) -> None:
    ids = history_runs(store)
    analysis = analyse_run(store, store.run(ids[-1]))
    weeks = week_figures(analysis.history)
    assert sum(w.runs for w in weeks) == len(ids)
    assert sum(w.minutes for w in weeks) == pytest.approx(
        sum(r.running_min for r in analysis.history)
    )
    assert all((w.start - weeks[0].start).days % 7 == 0 for w in weeks)
    assert all(w.load_ratio is None for w in weeks[:3])
    assert all(w.load_ratio is not None for w in weeks[3:] if w.minutes)
    # contact time compared at one pace: steady weeks agree within a few ms
    gct = [w.values["gct"] for w in weeks[:-1] if w.values["gct"] is not None]
    assert max(gct) - min(gct) < 10


def test_history_page_with_one_run(store: Store, tmp_path: Path) -> None:
    run_id = store_run(store, scenario("steady", minutes=12), started_at=START)
    write_report(store, run_id, tmp_path / "run.html")
    page = (tmp_path / "history.html").read_text(encoding="utf-8")
    assert re.findall(r'<tr data-run="(\d+)">', page) == [str(run_id)]
    assert '<a href="run.html">' in page
    assert "This is the first run" in page
    assert "Weekly trends appear once you have runs in two different weeks" in page
    assert "<img" not in page


def test_history_of_an_older_run_still_lists_every_run(store: Store, tmp_path: Path) -> None:
    ids = history_runs(store)
    write_report(store, ids[2], tmp_path / "old.html")
    page = (tmp_path / "history.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<tr data-run="(\d+)">', page)) == len(ids)
    assert '<a href="old.html">' in page
