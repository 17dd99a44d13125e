"""gaitmap's published event detection on our traces: the worker accuracy.py runs.

This file runs inside .venv-gaitmap (bench/gaitmap-requirements.txt), never in
the project's venv: gaitmap 2.6.0 needs numpy<2.1. It imports nothing from
heavylegs; accuracy.py hands it the traces in an .npz and reads back JSON:

    .venv-gaitmap/bin/python bench/gaitmap_ref.py IN.npz OUT.json

Only gaitmap's MIT-licensed part is used: `HerzerEventDetection` (initial
contact, terminal contact = toe-off, min_vel), the foot sensor frame to
foot body frame conversion and, for recordings whose mounting is only roughly known,
`align_dataset_to_gravity`. gaitmap's stride segmentation (Barth DTW, HMM) and
its forward-direction alignment live in the AGPL `gaitmap_mad` package, which is
never installed or used here; `segment` below is our own simple segmentation,
written from gaitmap's documented conventions (a "segmented" stride starts and
ends between min_vel and the toe-off minimum of gyr_ml; Herzer searches the
toe-off within a quarter stride of the start, the initial contact after the
stride's mid-swing peak).

Input .npz: `meta` (a JSON string: a list of {name, foot, rate_hz,
gravity_align}) and, per item k, `acc_k` (n, 3, m/s^2) and `gyr_k` (n, 3, deg/s)
in gaitmap's foot sensor frame (x to the toes, y left, z up). Output: per item,
the segmented strides with Herzer's events, the contacts (IC sample, toe-off
sample) paired from consecutive strides, and the seconds spent.

Run without arguments (as `make bench` does with every bench script) it only
says what it is for.
"""

from __future__ import annotations

import json
import platform
import resource
import sys
import time

# Segmentation thresholds on gyr_ml (foot body frame: dorsiflexion positive, so
# the swing is a long positive stretch and the push-off before it a trough).
SMOOTH_S = 0.02  # moving average that finds the swing's stretch of positive gyr_ml
SWING_MIN_DEG = 15.0  # a swing turns the foot up by at least this much (tight turns: 15-25)
SWING_MIN_DPS = 100.0  # and peaks at least this fast
PUSH_MAX_DPS = -50.0  # a push-off trough is at least this negative
TROUGH_DPS = 30.0  # and stands out of its surroundings by this much
PUSH_BEFORE_SWING_S = 0.3  # it lies this close before the swing's upward zero crossing
MIN_STRIDE_S = 0.45  # shorter stubs are not offered to Herzer
MAX_STRIDE_S = 2.0  # a longer gap between push-offs ends a bout (a stop)


def segment(gyr_ml, rate_hz: float):
    """Strides from one push-off trough of gyr_ml to the next, split into bouts.

    A swing is a stretch of positive (smoothed) gyr_ml that turns the foot up by
    SWING_MIN_DEG or more; the brief heel drop after a forefoot landing can peak
    higher but turns the foot far less, so peak height alone would mistake it
    for the swing. The stride starts at the last clear trough before the
    swing's upward zero crossing: the push-off, where gaitmap's segmented
    strides start (on steep ground the heel-strike slap earlier in the same
    window can be deeper). After the last push-off of a bout one more stride,
    as long as the one before it, is added so that Herzer can find the toe-off
    that closes the bout's last contact; the contact that starts in it never
    ends (the runner stopped) and is not reported.
    """
    import numpy as np
    from scipy.signal import find_peaks

    w = max(1, int(SMOOTH_S * rate_hz))
    smooth = np.convolve(gyr_ml, np.ones(w) / w, mode="same")
    positive = np.concatenate([[False], smooth > 0, [False]])
    edges = np.flatnonzero(np.diff(positive.astype(np.int8)))
    starts: list[int] = []
    previous_end = 0
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        turn_deg = smooth[a:b].sum() / rate_hz
        if turn_deg < SWING_MIN_DEG or gyr_ml[a:b].max() < SWING_MIN_DPS:
            continue
        lo = max(previous_end, int(a - PUSH_BEFORE_SWING_S * rate_hz))
        previous_end = int(b)
        troughs, _ = find_peaks(-gyr_ml[lo:a], height=-PUSH_MAX_DPS, prominence=TROUGH_DPS)
        if not len(troughs):
            continue
        k = lo + int(troughs[-1])
        if not starts or k > starts[-1]:
            starts.append(k)
    strides: list[tuple[int, int]] = []
    n = len(gyr_ml)
    bout: list[int] = []
    for k in [*starts, None]:
        if k is not None and (not bout or k - bout[-1] <= MAX_STRIDE_S * rate_hz):
            bout.append(k)
            continue
        if len(bout) >= 2:
            strides += list(zip(bout[:-1], bout[1:], strict=False))
            stub_end = min(n - 1, bout[-1] + (bout[-1] - bout[-2]))
            if stub_end - bout[-1] > MIN_STRIDE_S * rate_hz:
                strides.append((bout[-1], stub_end))
        bout = [] if k is None else [k]
    return strides


def run_item(acc, gyr, foot: str, rate_hz: float, gravity_align: bool) -> dict:
    import numpy as np
    import pandas as pd
    from gaitmap.event_detection import HerzerEventDetection
    from gaitmap.utils.coordinate_conversion import (
        convert_left_foot_to_fbf,
        convert_right_foot_to_fbf,
    )

    t0 = time.perf_counter()
    sf = pd.DataFrame(
        np.hstack([acc, gyr]), columns=["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    )
    aligned = False
    if gravity_align:
        from gaitmap.preprocessing.sensor_alignment import align_dataset_to_gravity

        try:
            sf = align_dataset_to_gravity(sf, sampling_rate_hz=rate_hz)
            aligned = True
        except ValueError:  # no static window: keep the rough frame
            pass
    convert = convert_left_foot_to_fbf if foot == "left" else convert_right_foot_to_fbf
    bf = convert(sf)
    t1 = time.perf_counter()
    strides = segment(bf["gyr_ml"].to_numpy(), rate_hz)
    t2 = time.perf_counter()
    rows: list[dict] = []
    if strides:
        stride_list = pd.DataFrame(strides, columns=["start", "end"])
        stride_list.index.name = "s_id"
        # Only IC and toe-off are compared, so min_vel is not asked for: with it,
        # the consistency check also drops every stride whose lowest-gyro-energy
        # window falls before the IC (most strides of a forefoot runner).
        ed = HerzerEventDetection(detect_only=("ic", "tc")).detect(
            bf, stride_list, sampling_rate_hz=rate_hz
        )
        found = ed.annotated_original_event_list_
        for s_id, r in found.iterrows():
            rows.append(
                {
                    "s_id": int(s_id),
                    "start": int(r["start"]),
                    "end": int(r["end"]),
                    "ic": float(r["ic"]),
                    "tc": float(r["tc"]),
                }
            )
    t3 = time.perf_counter()
    # A contact runs from the IC found in one stride to the toe-off found at the
    # start of the stride that follows it without a gap.
    by_start = {r["start"]: r for r in rows}
    contacts = []
    for r in rows:
        nxt = by_start.get(r["end"])
        if nxt is not None and nxt["tc"] > r["ic"]:
            contacts.append([r["ic"], nxt["tc"]])
    return {
        "segmented": len(strides),
        "kept": len(rows),
        "gravity_aligned": aligned,
        "strides": rows,
        "contacts": contacts,
        "seconds": {
            "frame": t1 - t0,
            "segment": t2 - t1,
            "events": t3 - t2,
            "total": t3 - t0,
        },
        "samples": len(acc),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(
            "gaitmap_ref.py is the gaitmap worker that bench/accuracy.py runs inside "
            ".venv-gaitmap; usage: gaitmap_ref.py IN.npz OUT.json",
            file=sys.stderr,
        )
        return 0
    import warnings

    import numpy as np

    warnings.simplefilter("ignore", FutureWarning)  # pandas notes inside gaitmap
    t_import = time.perf_counter()
    import gaitmap
    from gaitmap.event_detection import HerzerEventDetection  # noqa: F401

    import_s = time.perf_counter() - t_import
    src, dst = argv
    data = np.load(src)
    meta = json.loads(str(data["meta"]))
    items = []
    for k, m in enumerate(meta):
        out = run_item(
            data[f"acc_{k}"], data[f"gyr_{k}"], m["foot"], m["rate_hz"], m["gravity_align"]
        )
        out["name"] = m["name"]
        items.append(out)
    doc = {
        "gaitmap_version": gaitmap.__version__,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "import_s": import_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "items": items,
    }
    with open(dst, "w") as f:
        json.dump(doc, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
