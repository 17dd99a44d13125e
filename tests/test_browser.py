"""The HTML report as a person sees it: rendered by headless Chromium.

Needs Debian's chromium (`apt-get install -y chromium`). Without it the test skips
on a developer's machine, but fails under CI=true, where the set-up installs it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from heavylegs.analysis import CheckIn, Diary
from heavylegs.report.html import write_report
from heavylegs.report.plots import FOOT_COLOURS
from heavylegs.sim.strides import scenario, store_run
from heavylegs.store import Store

T0 = 1_700_000_000.0
PLOTS = {"gct-left", "gct-right", "balance", "cadence", "strike", "drift", "trends"}
# a phone (iPhone 12 to 15) and a desk
WIDTHS = (390, 1280)
MIN_TEXT_PX = 10.0
# Only loopback is reachable: without these, Chromium's background services knock
# on closed doors at every start.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed; the CI set-up must `apt-get install -y chromium`")
    pytest.skip("chromium not installed (apt-get install -y chromium); CI=true makes this fail")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("browser")
    with Store(base / "heavylegs.db") as store:
        for day in range(0, 21, 3):
            store_run(store, scenario("steady", seed=day, minutes=15), started_at=T0 + day * 86_400)
        run_id = store_run(
            store, scenario("right_leg_weakening", seed=2), started_at=T0 + 22 * 86_400
        )
        with Diary(store.path) as diary:
            diary.record_checkin(run_id, CheckIn(sleep_h=5.5, legs=4, fuelling=2))
        return write_report(store, run_id, base / "report.html")


@pytest.fixture(scope="module")
def history(report: Path) -> Path:
    page = report.parent / "history.html"
    assert page.exists()
    return page


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_report_renders_with_every_plot_decoded(report: Path, tmp_path: Path) -> None:
    binary = chromium()
    # The report itself has no script; a copy gets one that records, after load,
    # which images the browser actually decoded.
    probe = tmp_path / "probe.html"
    page = report.read_text(encoding="utf-8")
    script = (
        "<script>window.addEventListener('load', () => {"
        "const ok = [...document.images].filter(i => i.complete && i.naturalWidth > 100)"
        ".map(i => i.dataset.plot);"
        "document.body.setAttribute('data-decoded', ok.join(' '));});</script>"
    )
    probe.write_text(page.replace("</body>", script + "</body>"), encoding="utf-8")
    proc = run_chromium(
        binary, tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    decoded = re.search(r'data-decoded="([^"]*)"', proc.stdout)
    assert decoded, "the page did not finish loading"
    assert set(decoded.group(1).split()) == PLOTS
    assert "Why are my legs heavy?" in proc.stdout


def test_screenshot_is_not_blank_and_shows_the_plots(report: Path, tmp_path: Path) -> None:
    binary = chromium()
    shot = tmp_path / "shot.png"
    proc = run_chromium(
        binary,
        tmp_path / "profile",
        "--window-size=1000,5600",
        f"--screenshot={shot}",
        report.as_uri(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    pixels = imread(shot)[:, :, :3]
    assert pixels.shape[0] >= 5000 and pixels.shape[1] >= 900
    rgb = np.round(pixels * 255).astype(int)
    non_white = np.any(rgb < 245, axis=2)
    assert non_white.mean() > 0.05, "the page looks blank"
    colours = {tuple(c) for c in np.unique(rgb.reshape(-1, 3), axis=0)}
    assert len(colours) > 200

    def painted(hex_colour: str, tolerance: int = 12) -> int:
        target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
        return int(np.count_nonzero(np.all(np.abs(rgb - target) <= tolerance, axis=2)))

    # each foot's strides, the balance line and the flag's onset line reach the screen
    assert painted(FOOT_COLOURS["left"]) > 500
    assert painted(FOOT_COLOURS["right"]) > 500
    assert painted("#5e3c99") > 200  # balance and the asymmetry flag


def measure(binary: str, profile: Path, page: Path, width: int) -> dict:
    """Lay `page` out `width` CSS px wide and measure it in the browser.

    Headless windows are at least 500 px wide, so the page is laid out inside an
    iframe of exactly `width` px (srcdoc: same origin, so the probe can read it).
    Returns the page's scroll width, its viewport width, and per plot its shown
    width and the size its smallest text is shown at (data-text x shown width).
    """
    probe = page.with_name(f"probe-{page.stem}-{width}.html")
    script = (
        "<script>window.addEventListener('load', () => {"
        "const d = document.getElementById('page').contentDocument;"
        "const imgs = [...d.images].map(i => ({plot: i.dataset.plot,"
        " shown: i.getBoundingClientRect().width, natural: i.naturalWidth,"
        " text: parseFloat(i.dataset.text) * i.getBoundingClientRect().width}));"
        "document.body.setAttribute('data-probe', JSON.stringify({"
        "viewport: d.documentElement.clientWidth, scroll: d.documentElement.scrollWidth,"
        " imgs}));});</script>"
    )
    probe.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe id="page" style="width:{width}px;height:900px;border:0" '
        f'srcdoc="{html.escape(page.read_text(encoding="utf-8"), quote=True)}"></iframe>'
        f"{script}</body></html>",
        encoding="utf-8",
    )
    proc = run_chromium(
        binary, profile, "--window-size=1400,1000", "--virtual-time-budget=10000", "--dump-dom",
        probe.as_uri(),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert found, "the probe did not run"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("which", ["report", "history"])
def test_pages_fit_the_width_and_plot_text_stays_readable(
    report: Path, history: Path, tmp_path: Path, which: str, width: int
) -> None:
    binary = chromium()
    page = report if which == "report" else history
    facts = measure(binary, tmp_path / "profile", page, width)
    assert facts["viewport"] == width
    # no sideways scrolling of the page: wide tables scroll inside their own box
    assert facts["scroll"] <= facts["viewport"], f"{which} overflows at {width} px"
    plots = {i["plot"]: i for i in facts["imgs"]}
    assert set(plots) == (PLOTS if which == "report" else {"weekly", "load"})
    for plot, shown in plots.items():
        assert shown["natural"] > 100, f"{plot} not decoded"
        assert shown["shown"] <= width, plot
        assert shown["text"] >= MIN_TEXT_PX, f"{plot} text {shown['text']:.1f} px at {width}"
