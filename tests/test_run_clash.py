"""One rule for when two runs are the same time (store.models.spans_clash), which
`record --sim --at`, `sim --follow` and `import` all apply: touching end to start
they are two runs, a second shared or a start within a second is a clash."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from cli_run import T0, digest, heavylegs, ok

from heavylegs.sim.strides import scenario, store_run
from heavylegs.store import ImportedSummary, Store
from heavylegs.store.models import CLASH_TOLERANCE_S, spans_clash

TEN_MIN = 600.0


@pytest.mark.parametrize(
    ("other_start", "other_end", "clash"),
    [
        (TEN_MIN, 2 * TEN_MIN, False),  # starts as the first ends
        (TEN_MIN - 0.5, 2 * TEN_MIN, False),  # half a second shared: clocks to the second
        (TEN_MIN - 1.0, 2 * TEN_MIN, True),  # a second shared
        (60.0, 120.0, True),  # inside it
        (-60.0, 2 * TEN_MIN, True),  # around it
        (0.5, 0.5, True),  # no length yet, but started with it
        (1.0, 1.0, True),  # no length yet, inside it: the runner was out on the first
        (TEN_MIN - 0.5, TEN_MIN - 0.5, False),  # no length, as the first ends
        (2 * TEN_MIN, 3 * TEN_MIN, False),  # later
    ],
)
def test_two_runs_clash_when_they_share_a_second_or_start_together(
    other_start: float, other_end: float, clash: bool
) -> None:
    assert CLASH_TOLERANCE_S == 1.0
    assert spans_clash(0.0, TEN_MIN, other_start, other_end) is clash
    assert spans_clash(other_start, other_end, 0.0, TEN_MIN) is clash, "either way round"


def test_a_run_ends_where_its_runner_was_back(tmp_path: Path) -> None:
    with Store(tmp_path / "h.db") as store:
        strides = store_run(store, scenario("steady", minutes=3), started_at=T0)
        summary = ImportedSummary("w.fit", "watch", "d1", timer_s=540.0, elapsed_s=600.0,
                                  distance_m=1500.0)  # fmt: skip
        watch = store.add_summary_run("watch", "import-fit", T0 + 3600, summary)
        empty = store.start_run("empty", "live", T0 + 7200)
        by_id = {info.id: info for info in store.runs()}
    run = by_id[strides]
    assert run.duration_s is not None and run.duration_s > 170
    assert run.end_at == T0 + run.duration_s
    # a watch's summary counts its pauses: the runner was out for the elapsed time
    assert by_id[watch].end_at == T0 + 3600 + 600.0
    assert by_id[empty].end_at == T0 + 7200
    assert by_id[watch].clashes(T0 + 3600 + 590, T0 + 3600 + 620)
    assert not by_id[watch].clashes(T0 + 3600 + 600, T0 + 3600 + 620)


def _at(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s).strftime("%Y-%m-%dT%H:%M:%S")


def test_record_at_may_start_as_a_run_ends_but_not_a_second_before(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    summary = ImportedSummary("w.fit", "watch", "d1", timer_s=540.0, elapsed_s=TEN_MIN,
                              distance_m=1500.0)  # fmt: skip
    with Store(db) as store:
        store.add_summary_run("watch", "import-fit", T0, summary)
    before = digest(db)
    proc = heavylegs(tmp_path, "record", "--sim", "--minutes", "0.3", "--at", _at(T0 + TEN_MIN - 1),
                     "--db", str(db))  # fmt: skip
    assert proc.returncode == 2 and "run 1 (" in proc.stderr and "was running then" in proc.stderr
    assert digest(db) == before
    ok(heavylegs(tmp_path, "record", "--sim", "--minutes", "0.3", "--at", _at(T0 + TEN_MIN),
                 "--db", str(db)))  # fmt: skip
    with Store(db) as store:
        assert sorted(info.started_at for info in store.runs()) == [T0, T0 + TEN_MIN]
