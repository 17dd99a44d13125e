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

from heavylegs.report import print_summary, write_report
from heavylegs.report.plots import rolling_median
from heavylegs.report.summary import load_feet
from heavylegs.store import Store, StoreError, Stride

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMG = re.compile(r'<img data-plot="([^"]+)" alt="([^"]+)" src="data:image/png;base64,([^"]+)">')
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
    assert set(plotted) == {"gct-left", "gct-right", "cadence", "strike"}
    for plot, (alt, png) in plotted.items():
        assert alt.strip(), plot
        assert png.startswith(PNG_SIGNATURE), plot
        pixels = imread(io.BytesIO(png))
        colours = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
        assert len(colours) > 20, f"{plot} looks blank"

    assert cell(page, "left", "gct-median") == "250 ms"
    assert cell(page, "right", "gct-median") == "272 ms"
    assert cell(page, "left", "strides") == "603"
    assert cell(page, "left", "running-strides") == "600"
    assert cell(page, "left", "cadence-median") == "168 spm"
    # 720 / 2 - 250 ms, labelled as an approximation
    assert cell(page, "left", "flight-approx") == "110 ms"
    assert "Flight time (approx.)" in page
    strikes = {
        name: cell(page, "right", f"strike-{name}") for name in ("rearfoot", "midfoot", "forefoot")
    }
    assert strikes == {"rearfoot": "25%", "midfoot": "50%", "forefoot": "25%"}
    assert "strike-unknown" not in page
    assert not list(tmp_path.glob("reports/.*")), "no partial file left behind"


def test_one_pod_report_shows_only_that_foot(store: Store, tmp_path: Path) -> None:
    run_id = make_run(store, {"right": (300.0,)})
    page = write_report(store, run_id, tmp_path / "run.html").read_text(encoding="utf-8")
    assert set(images(page)) == {"gct-right", "cadence", "strike"}
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
    assert "603" in text and "168 spm" in text
    assert re.search(r"Strike midfoot\s+│\s+50%\s+│\s+50%", text)
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
