"""Screenshots of the run report and the history page at a phone's and a desk's width.

Builds five weeks of simulated runs ending in a long run where the legs get heavy,
writes its report and history page, and has headless Chromium (Debian's `chromium`)
photograph both at 390 and 1280 CSS px into docs/img/. The dates are fixed, so the
pictures change only when the report does.

    .venv/bin/python bench/report_screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from matplotlib.image import imread, imsave

from heavylegs.analysis import CheckIn, Diary
from heavylegs.report.html import write_report
from heavylegs.sim.strides import scenario, store_run
from heavylegs.store import Store

# Monday 2 November 2026, 07:00 UTC
T0 = 1_793_602_800.0
DAY_S = 86_400.0
WIDTHS = (390, 1280)
# tall enough for the verdict, the figures and the first plots; the rest is more of the same
HEIGHT = {390: 2600, 1280: 2000}


def build(folder: Path) -> tuple[Path, Path]:
    with Store(folder / "heavylegs.db") as store:
        for day in (0, 2, 4, 7, 9, 11, 14, 16, 18, 21, 23, 25, 28, 30):
            store_run(
                store,
                scenario("steady", seed=day, minutes=30, speed_known=True),
                started_at=T0 + day * DAY_S,
                name="Easy run",
            )
        run_id = store_run(
            store,
            scenario("fatigue_slowing", seed=2),
            started_at=T0 + 33 * DAY_S,
            name="Sunday long run",
        )
        with Diary(store.path) as diary:
            diary.record_checkin(run_id, CheckIn(sleep_h=5.5, legs=4, fuelling=2))
        report = write_report(store, run_id, folder / f"run-{run_id}.html")
    return report, folder / "history.html"


def shoot(
    binary: str, page: Path, width: int, out: Path, profile: Path, height: int | None = None
) -> None:
    raw = out.with_suffix(".raw.png")
    subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height or HEIGHT[width]}",
            f"--screenshot={raw}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    imsave(out, imread(raw)[:, :, :3])
    raw.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        sys.exit("error: chromium is not installed (apt-get install -y chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        report, history = build(Path(tmp))
        for name, page in (("report", report), ("history", history)):
            for width in WIDTHS:
                target = args.out / f"{name}_{width}px.png"
                shoot(binary, page, width, target, Path(tmp) / "profile")
                written.append(str(target))
                print(target)
        # on a phone the plots come after the figures: one more picture, from the first
        # plot on (found by its baseline band: green at 15% over white)
        target = args.out / "report_390px_plots.png"
        shoot(binary, report, 390, target, Path(tmp) / "profile", height=9000)
        pixels = imread(target)[:, :, :3]
        band = 0.85 + 0.15 * np.array([0x2C, 0xA0, 0x2C]) / 255
        rows = np.flatnonzero((np.abs(pixels - band).max(axis=2) < 0.02).sum(axis=1) > 5)
        first = max(0, int(rows[0]) - 200) if len(rows) else 0
        imsave(target, pixels[first : first + 1800])
        written.append(str(target))
        print(target)
    print(json.dumps({"screenshots": written}))


if __name__ == "__main__":
    main()
