"""How well the pod's gait engine measures strides, against ground truth.

Runs the firmware's own engine (under CPython; tests/test_gait_engine.py proves the
MicroPython build gives identical strides) over:
- the real recordings in ../shared/data, per dataset (pyshoe running: hand-marked
  stride boundaries; gaitmap walking: mocap IC and toe-off; Voisard walking:
  labelled swings), every figure scored by host/heavylegs/evaluation.py;
- every scenario of the simulated library, truth from the gait model.

Beside it, when .venv-gaitmap exists (`make bench-gaitmap`, or `--gaitmap` here
to create it from bench/gaitmap-requirements.txt), gaitmap 2.6's published
event detection (HerzerEventDetection, its MIT part, with our own simple stride
segmentation: bench/gaitmap_ref.py) runs in a subprocess on the same traces:
the same raw counts, given to it in its foot frame. Simulated traces are
rotated into the foot frame with the true mounting (gaitmap has no mounting
calibration of its own in its MIT part, so it is handed the alignment our
engine has to find); pyshoe's are turned into gaitmap's frame from the known
rough mounting and then gravity-aligned by gaitmap itself. Without the venv,
only our engine's figures are given.

Writes docs/accuracy.json and docs/accuracy.md (or --out); prints the
side-by-side table; the last line printed is one JSON object with the overall
figures.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))
sys.path.insert(0, str(REPO / "firmware"))
sys.path.insert(0, str(REPO / "bench"))

import realdata  # noqa: E402

from heavylegs import evaluation as ev  # noqa: E402
from heavylegs.reprocess import quantise, run_engine  # noqa: E402
from heavylegs.sim.scenarios import SCENARIOS, write_scenario  # noqa: E402
from heavylegs.trace import read_trace  # noqa: E402
from heavylegs_pod.gait import detector as d  # noqa: E402

ODR = 416
ONE_SAMPLE_MS = 1000 / ODR
MATCH_S = 0.05
CLASS = {"rearfoot": 1, "midfoot": 2, "forefoot": 3}
G = 9.80665
# The gait model draws each stride's toe-off lag after the push-off pitch-rate
# minimum as mean + N(0, 2 ms) (gait_model.plan_run): no signal carries that
# jitter, so no detector can beat P(|N(0, 2 ms)| <= 1 sample) on TO within 1 sample.
TO_LAG_JITTER_MS = 2.0
TO_CEILING_PCT = math.erf(ONE_SAMPLE_MS / (TO_LAG_JITTER_MS * math.sqrt(2))) * 100

GAITMAP_VENV = REPO / ".venv-gaitmap"
GAITMAP_PY = GAITMAP_VENV / "bin" / "python"
GAITMAP_REQS = REPO / "bench" / "gaitmap-requirements.txt"
GAITMAP_WORKER = REPO / "bench" / "gaitmap_ref.py"
# pyshoe's raw sensor frame is x forward, y right, z down (../shared/NOTES.md);
# gaitmap's foot sensor frame is x forward, y left, z up: a half turn about x.
PYSHOE_TO_FSF = np.diag([1.0, -1.0, -1.0])
# Voisard's Xsens sensors sit on the instep with x towards the ankle, y to the
# right, z up (gravity reads +x +z at rest; mid-swing turns about +y on both
# feet): a half turn about z, then gaitmap aligns gravity.
VOISARD_TO_FSF = np.diag([-1.0, -1.0, 1.0])
# A detected IC this close to a true one is the same contact (a walking stride is
# about 1.1 s, a running one 0.7 s per foot; labels scatter by tens of ms).
REAL_TOLERANCE_S = 0.15

KEYS = ("ic", "to", "to_obs", "to_push", "to_ideal", "gct", "cad", "strike_ok", "len")


def _pod_time(trace, true_s: float) -> float:
    convert = getattr(trace, "sensor_time", None)
    return float(convert(true_s)) if convert else true_s


def _mean_lag_s(trace, gait: str) -> float:
    params = SCENARIOS[trace.header.scenario].params
    return (params.to_lag_ms if gait == "run" else params.walk_to_lag_ms) * 1e-3


def _acc_fs(trace) -> int:
    return 32 if trace.header.part == "LSM6DSO32" else 16


def score(trace, ics, tos, cads=None, rows=None) -> dict:
    """Detected contacts (sensor time, s) against the trace's truth.

    `cads` is each contact's cadence (steps/min, 0 when unknown); `rows` the
    engine's stride rows when the detector is ours (strike and stride length).
    """
    ics = np.asarray(ics, dtype=float)
    used: set[int] = set()
    out: dict = {key: [] for key in KEYS}
    out["missed"] = 0
    for true in trace.truth:
        ic_true = _pod_time(trace, true.ic_s)
        to_true = _pod_time(trace, true.to_s)
        k = int(np.argmin(np.abs(ics - ic_true))) if len(ics) else -1
        if k < 0 or abs(ics[k] - ic_true) > MATCH_S or k in used:
            out["missed"] += 1
            continue
        used.add(k)
        out["ic"].append((ics[k] - ic_true) * 1000)
        out["to"].append((tos[k] - to_true) * 1000)
        out["gct"].append(((tos[k] - ics[k]) - (to_true - ic_true)) * 1000)
        if true.push_min_s is not None:
            push = _pod_time(trace, true.push_min_s)
            observable = _pod_time(trace, true.push_min_s + _mean_lag_s(trace, true.gait))
            out["to_obs"].append((tos[k] - observable) * 1000)
            out["to_push"].append((tos[k] - push) * 1000)
            out["to_ideal"].append((observable - to_true) * 1000)
        if true.next_ic_s is not None and cads is not None and cads[k]:
            stride = _pod_time(trace, true.next_ic_s) - ic_true
            out["cad"].append(cads[k] - 120 / stride)
        if rows is not None:
            r = rows[k]
            out["strike_ok"].append(d.strike_class(r[d.F_STRIKE_01DEG]) == CLASS[true.strike_class])
            if r[d.F_STRIDE_LEN_CM] and true.stride_len_m:
                out["len"].append(
                    (r[d.F_STRIDE_LEN_CM] / 100 - true.stride_len_m) / true.stride_len_m * 100
                )
    out["extra"] = len(ics) - len(used)
    out["strides"] = len(trace.truth)
    out["odr"] = int(round(trace.header.rate_hz))
    return out


def evaluate_trace(trace) -> dict:
    acc_fs = _acc_fs(trace)
    acc, gyr = quantise(trace, acc_fs_g=acc_fs)
    t0 = time.perf_counter()
    rows, engine = run_engine(acc, gyr, acc_fs_g=acc_fs, foot="auto")
    seconds = time.perf_counter() - t0
    odr = int(round(trace.header.rate_hz))
    ics = np.array([(r[d.F_IC_N] + r[d.F_IC_FRAC] / 64) / odr for r in rows])
    tos = ics + np.array([r[d.F_GCT_01MS] / 10000 for r in rows]) if rows else np.array([])
    cads = [r[d.F_CADENCE_CENTI] / 100 for r in rows]
    out = score(trace, ics, tos, cads, rows)
    out["seconds"] = seconds
    out["sensor_min"] = len(acc) / trace.header.rate_hz / 60
    return out


def gaitmap_item(trace) -> dict:
    """The counts our engine sees, in physical units and gaitmap's foot frame."""
    acc_fs = _acc_fs(trace)
    acc, gyr = quantise(trace, acc_fs_g=acc_fs)
    acc_g = acc * (61 * acc_fs // 2) / 1e6  # quantise's own LSB sizes
    gyr_dps = gyr * (35 * 2000 // 125) / 8000
    # header.mounting is sensor_from_foot (rows: sensor axes in foot coordinates);
    # the model's foot frame (x forward, y left, z up) is gaitmap's foot sensor frame.
    m = np.asarray(trace.header.mounting, dtype=float)
    return {
        "name": f"{trace.header.scenario}-{trace.header.foot}",
        "foot": trace.header.foot,
        "rate_hz": trace.header.rate_hz,
        "gravity_align": False,
        "acc": acc_g @ m * G,
        "gyr": gyr_dps @ m,
    }


def _contacts(item: dict, odr: float, t0_s: float = 0.0):
    c = np.asarray(item["contacts"], dtype=float).reshape(-1, 2)
    ics = t0_s + c[:, 0] / odr
    tos = t0_s + c[:, 1] / odr
    # cadence from this IC to the next one, as the engine reports it
    cads = np.zeros(len(ics))
    if len(ics) > 1:
        gaps = np.diff(ics)
        ok = gaps < 2.0
        cads[:-1][ok] = 120 / gaps[ok]
    return ics, tos, cads


def evaluate_gaitmap_trace(trace, item: dict) -> dict:
    ics, tos, cads = _contacts(item, trace.header.rate_hz)
    out = score(trace, ics, tos, cads)
    out["seconds"] = item["seconds"]["total"]
    out["sensor_min"] = item["samples"] / trace.header.rate_hz / 60
    return out


class Gaitmap:
    """Runs bench/gaitmap_ref.py inside .venv-gaitmap on a batch of traces."""

    def __init__(self, python: Path) -> None:
        self.python = python
        self.version = None
        self.import_s: list[float] = []
        self.peak_rss_mib = 0.0

    def run(self, items: list[dict]) -> list[dict]:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.json"
            meta = [
                {k: it[k] for k in ("name", "foot", "rate_hz", "gravity_align")} for it in items
            ]
            arrays = {}
            for k, it in enumerate(items):
                arrays[f"acc_{k}"] = it["acc"]
                arrays[f"gyr_{k}"] = it["gyr"]
            np.savez(src, meta=json.dumps(meta), **arrays)
            subprocess.run([str(self.python), str(GAITMAP_WORKER), str(src), str(dst)], check=True)
            doc = json.loads(dst.read_text())
        self.version = doc["gaitmap_version"]
        self.import_s.append(doc["import_s"])
        self.peak_rss_mib = max(self.peak_rss_mib, doc["peak_rss_mib"])
        return doc["items"]


def ensure_gaitmap(create: bool) -> Path | None:
    """The venv's python if gaitmap is there (or, asked to, once installed)."""
    if GAITMAP_PY.exists():
        return GAITMAP_PY
    if not create:
        return None
    print(f"creating {GAITMAP_VENV.name} from {GAITMAP_REQS.name} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(GAITMAP_VENV)], check=True)
    pip = [str(GAITMAP_PY), "-m", "pip"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip==25.3"], check=True)
    subprocess.run([*pip, "install", "--quiet", "--no-deps", "-r", str(GAITMAP_REQS)], check=True)
    subprocess.run([*pip, "check"], check=True)
    (GAITMAP_VENV / ".installed").touch()
    return GAITMAP_PY


def summarise(parts: list[dict]) -> dict:
    cat = {key: [v for p in parts for v in p[key]] for key in KEYS}

    def within(key: str) -> float:
        return float(np.mean(np.abs(cat[key]) <= ONE_SAMPLE_MS) * 100) if cat[key] else 0.0

    sensor_min = sum(p.get("sensor_min", 0.0) for p in parts)
    return {
        "strides": sum(p["strides"] for p in parts),
        "missed_strides": sum(p["missed"] for p in parts),
        "extra_strides": sum(p["extra"] for p in parts),
        "gct_bias_ms": float(np.mean(cat["gct"])) if cat["gct"] else float("nan"),
        "gct_sd_ms": float(np.std(cat["gct"])) if cat["gct"] else float("nan"),
        "ic_within_1_sample_pct": within("ic"),
        "to_within_1_sample_pct": within("to"),
        "to_within_1_sample_vs_observable_pct": within("to_obs"),
        # an ideal detector (push-off minimum + mean lag, exactly) on these strides
        "to_ideal_within_1_sample_pct": within("to_ideal"),
        "ic_err_ms": _dist(cat["ic"]),
        "to_err_ms": _dist(cat["to"]),
        "to_err_vs_observable_ms": _dist(cat["to_obs"]),
        "to_err_vs_push_min_ms": _dist(cat["to_push"]),
        "cadence_err_spm": float(np.mean(np.abs(cat["cad"]))) if cat["cad"] else float("nan"),
        "strike_agreement_pct": float(np.mean(cat["strike_ok"]) * 100) if cat["strike_ok"] else 0.0,
        "stride_len_err_pct": _dist(cat["len"]),
        "sensor_minutes": sensor_min,
        "s_per_sensor_minute": sum(p.get("seconds", 0.0) for p in parts) / sensor_min
        if sensor_min
        else float("nan"),
    }


def _dist(values: list[float]) -> dict:
    if not values:
        return {}
    v = np.asarray(values)
    return {
        "mean": float(v.mean()),
        "sd": float(v.std()),
        "p5": float(np.percentile(v, 5)),
        "p95": float(np.percentile(v, 95)),
    }


def _real_item(rec, frame: np.ndarray, gravity_align: bool) -> dict:
    acc, gyr = realdata.counts(rec)  # what the engine sees: 416 Hz, +-16 g, +-2000 dps
    return {
        "name": rec.name,
        "foot": rec.foot,
        "rate_hz": float(ODR),
        "gravity_align": gravity_align,
        "acc": (acc / 2048) @ frame.T * G,
        "gyr": (gyr * 0.070) @ frame.T,
    }


# -- real datasets, one evaluation for all -------------------------------------------


def _foot_found(engine) -> str:
    side = engine.right_foot
    return "unknown" if side is None else ("right" if side else "left")


def ours_on(rec) -> tuple[np.ndarray, np.ndarray, str]:
    acc, gyr = realdata.counts(rec)
    rows, engine = run_engine(acc, gyr, foot="auto")
    ics = np.array([rec.t0_s + (r[d.F_IC_N] + r[d.F_IC_FRAC] / 64) / ODR for r in rows])
    tos = ics + np.array([r[d.F_GCT_01MS] / 10000 for r in rows]) if rows else np.array([])
    return ics, tos, _foot_found(engine)


def score_real(rec, ics, tos, foot_found: str) -> ev.RecordingScore:
    ics = np.asarray(ics, dtype=float)
    tos = np.asarray(tos, dtype=float)
    true_ics, true_tos = rec.contacts()
    if rec.span_s is not None:
        # only the trial (TrialBoundaries): some recordings go on with the subject
        # walking off or shuffling after the trial's end, labelled or not
        lo, hi = rec.span_s
        keep = (ics > lo - REAL_TOLERANCE_S) & (ics < hi + REAL_TOLERANCE_S)
        ics, tos = ics[keep], tos[keep]
        for a, b in rec.unlabelled_s:
            keep = (ics < a) | (ics > b)
            ics, tos = ics[keep], tos[keep]
        inside = [k for k, ic in enumerate(true_ics) if lo <= ic <= hi]
        true_ics = [true_ics[k] for k in inside]
        true_tos = [true_tos[k] for k in inside]
    if rec.boundaries_s:
        t = rec.t0_s + np.arange(len(rec.gyr_dps)) / ODR
        speed = np.linalg.norm(rec.gyr_dps, axis=1)
        # a boundary is a contact only if the foot came from a swing (not the standing start)
        marks = [b for b in rec.boundaries_s if speed[(t > b - 0.6) & (t < b)].max(initial=0) > 200]
        # cadence over the same strides a detector can report: contact to contact.
        # (The standing start's foot-flat mark is not a contact; counted, it put a
        # first step from standing into the truth's median that no detector's
        # contacts hold: 1.8 instead of 1.2 steps/min of error on our engine.)
        return ev.score_marks(
            rec.name,
            ics,
            tos,
            marks,
            REAL_TOLERANCE_S,
            foot_true=rec.foot,
            foot_found=foot_found,
        )
    return ev.score_contacts(
        rec.name,
        ics,
        tos,
        true_ics,
        true_tos,
        REAL_TOLERANCE_S,
        foot_true=rec.foot,
        foot_found=foot_found,
    )


def real_datasets(gm) -> dict:
    """Per real dataset: our engine and (when its venv exists) gaitmap, scored alike."""
    sets = {
        "pyshoe_running": ([r for r in realdata.pyshoe() if r.boundaries_s], PYSHOE_TO_FSF, True),
        "gaitmap_walking": (realdata.gaitmap_walking(), np.eye(3), False),
        "voisard_walking": (realdata.voisard_walking(), VOISARD_TO_FSF, True),
    }
    out: dict = {}
    for name, (recs, frame, align) in sets.items():
        if not recs:
            continue
        t0 = time.perf_counter()
        ours = [score_real(rec, *ours_on(rec)) for rec in recs]
        seconds = time.perf_counter() - t0
        entry = {"ours": ev.summarise(ours), "ours_recordings": [_rec_public(s) for s in ours]}
        entry["ours"]["s_per_sensor_minute"] = seconds / (
            sum(len(r.acc_g) for r in recs) / ODR / 60
        )
        if gm:
            items = gm.run([_real_item(r, frame, align) for r in recs])
            theirs = []
            for rec, item in zip(recs, items, strict=True):
                ics, tos, _ = _contacts(item, ODR, rec.t0_s)
                theirs.append(score_real(rec, ics, tos, "given"))
            entry["gaitmap"] = ev.summarise(theirs)
            entry["gaitmap_recordings"] = [_rec_public(s) for s in theirs]
        out[name] = entry
    return out


def _rec_public(s: ev.RecordingScore) -> dict:
    return {
        "name": s.name,
        "truth": s.truth,
        "matched": s.matched,
        "missed": s.missed,
        "extra": s.extra,
        "stance_gross": s.stance_gross,
        "cadence_err_spm": s.cadence_err_spm,
        "foot": s.foot_found,
    }


def _fig(x, fmt: str = ".1f") -> str:
    return "–" if x is None else format(x, fmt)


def real_table(real: dict) -> str:
    """Markdown: per real dataset, ours beside gaitmap."""
    lines = [
        "| dataset | detector | truth | matched | missed | extra | IC bias ± SD ms | TO bias ± SD ms "
        "| stance bias ± SD ms | stance off > 100 ms % | cadence err spm (mean, max) | foot side |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in real.items():
        for who in ("ours", "gaitmap"):
            s = entry.get(who)
            if s is None:
                continue
            if s["foot_given"]:
                foot = "given"
            else:
                foot = (
                    f"{s['foot_right']} right, {s['foot_wrong']} wrong, {s['foot_unknown']} unknown"
                )
            label = "heavylegs" if who == "ours" else "gaitmap"
            lines.append(
                f"| {name} | {label} | {s['truth']} | {s['matched']} | {s['missed']} | {s['extra']} "
                f"| {_pm(s['ic_err_ms'])} | {_pm(s['to_err_ms'])} | {_pm(s['stance_err_ms'])} "
                f"| {_fig(s['stance_gross_pct'])} | {_fig(s['cadence_err_spm'], '.2f')}, "
                f"{_fig(s['cadence_err_max_spm'], '.2f')} | {foot} |"
            )
    return "\n".join(lines) + "\n"


def recordings_table(real: dict, most: int = 12) -> str:
    """Markdown: each recording of the small real datasets, ours / gaitmap."""
    lines = [
        "| dataset | recording | truth | matched | missed | extra | stance off > 100 ms | cadence err spm "
        "| foot found |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in real.items():
        ours = entry["ours_recordings"]
        if len(ours) > most:
            continue
        theirs = entry.get("gaitmap_recordings") or [None] * len(ours)
        for o, g in zip(ours, theirs, strict=True):
            cells = [
                " / ".join(str(r[k]) if r else "–" for r in (o, g))
                for k in ("matched", "missed", "extra", "stance_gross")
            ]
            cad = " / ".join(_fig(r and r["cadence_err_spm"], ".2f") for r in (o, g))
            lines.append(
                f"| {name} | {o['name']} | {o['truth']} | {' | '.join(cells)} | {cad} | {o['foot']} |"
            )
    return "\n".join(lines) + "\n"


def real_headline(real: dict) -> dict:
    keys = ("matched", "missed", "extra", "stance_gross_pct", "cadence_err_spm", "ic_sd_ms")
    out = {}
    for name, entry in real.items():
        out[name] = {
            who: {
                k: _round(entry[who][k], 2) if isinstance(entry[who][k], float) else entry[who][k]
                for k in keys
            }
            for who in ("ours", "gaitmap")
            if who in entry
        }
        out[name]["ours"]["foot_wrong"] = entry["ours"]["foot_wrong"]
        out[name]["ours"]["foot_unknown"] = entry["ours"]["foot_unknown"]
    return out


# -- output ---------------------------------------------------------------------------


def _pm(dist: dict, digits: int = 1) -> str:
    return f"{dist['mean']:+.{digits}f} ± {dist['sd']:.{digits}f}" if dist else "–"


def side_by_side(o: dict, g: dict | None, gm_meta: dict) -> str:
    """Our engine and gaitmap on the same simulated traces, one markdown table."""

    def both(label: str, f) -> str:
        return f"| {label} | {f(o)} | {f(g) if g else '–'} |"

    def strides(s):
        return f"{s['missed_strides']} / {s['extra_strides']} of {s['strides']}"

    head = f"gaitmap {gm_meta['version']} (HerzerEventDetection)" if g else "gaitmap (not re-run)"
    lines = [
        f"| figure | heavylegs engine | {head} |",
        "| --- | --- | --- |",
        both("sim: IC error ms (mean ± SD)", lambda s: _pm(s["ic_err_ms"], 2)),
        both("sim: IC within 1 sample (2.4 ms) %", lambda s: f"{s['ic_within_1_sample_pct']:.1f}"),
        both("sim: TO error ms (mean ± SD)", lambda s: _pm(s["to_err_ms"], 2)),
        both("sim: TO within 1 sample %", lambda s: f"{s['to_within_1_sample_pct']:.1f}"),
        both(
            "sim: TO within 1 sample of push-off min + mean lag %",
            lambda s: f"{s['to_within_1_sample_vs_observable_pct']:.1f}",
        ),
        both(
            "sim: TO within 1 sample, ceiling % (N(0, 2 ms) lag jitter; on these strides)",
            lambda s: f"{TO_CEILING_PCT:.1f}; {s['to_ideal_within_1_sample_pct']:.1f}",
        ),
        both(
            "sim: TO − push-off pitch-rate minimum ms",
            lambda s: _pm(s["to_err_vs_push_min_ms"], 2),
        ),
        both(
            "sim: GCT bias ± SD ms",
            lambda s: f"{s['gct_bias_ms']:+.2f} ± {s['gct_sd_ms']:.2f}",
        ),
        both("sim: cadence error spm (mean abs)", lambda s: f"{s['cadence_err_spm']:.2f}"),
        both("sim: missed / extra strides", strides),
        both(
            "speed, CPython: s per sensor-minute (sim suite)",
            lambda s: f"{s['s_per_sensor_minute']:.3f}",
        ),
    ]
    notes = [
        "",
        f"Same machine, same run; {o['sensor_minutes']:.0f} sensor-minutes of simulated traces "
        "at 416 Hz. Engine time is `run_engine` (sample by sample, as on the pod); gaitmap time is "
        "frame conversion + our segmentation + `HerzerEventDetection.detect`",
    ]
    if g:
        notes[-1] += (
            f", excluding its {np.mean(gm_meta['import_s']):.1f} s import per subprocess "
            f"(peak RSS {gm_meta['peak_rss_mib']:.0f} MiB)."
        )
        notes += [
            "",
            "gaitmap is given the same quantised counts, rotated into its foot frame with the "
            "simulator's TRUE mounting (our engine finds the mounting itself); pyshoe is put into "
            "its frame from the known rough mounting and gravity-aligned by gaitmap. Strides come "
            "from our own segmentation (push-off gyr_ml minimum to the next; gaitmap's segmentation "
            "is in the AGPL gaitmap_mad and is not used); Herzer is asked for IC and TC only. "
            "Herzer's TC is the push-off pitch-rate minimum by definition, so against the "
            "simulator's toe-off (a mean 7 ms running / 5 ms walking later) it reads early. "
            "Herzer (built for walking and stairs) searches the IC only up to 70% of a "
            "toe-off-to-toe-off stride; fast (4.6 m/s) and forefoot running land at 64-71%, "
            "so those ICs are cut short or missed.",
        ]
    else:
        notes[-1] += "."
        notes += [
            "",
            "gaitmap not re-run here (no .venv-gaitmap, or --no-gaitmap; `make bench-gaitmap` "
            "re-runs it).",
        ]
    return "\n".join(lines + notes) + "\n"


def markdown(sim_rows: dict, overall: dict, table: str, gm_rows: dict | None) -> str:
    lines = [
        "| scenario | strides | missed | extra | GCT bias ms | GCT SD ms | IC ≤1 sample % | TO ≤1 sample % | cadence err spm | strike agree % | stride length err % (mean ± SD) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in list(sim_rows.items()) + [("**overall**", overall)]:
        length = s["stride_len_err_pct"]
        length_text = f"{length['mean']:+.1f} ± {length['sd']:.1f}" if length else "–"
        lines.append(
            f"| {name} | {s['strides']} | {s['missed_strides']} | {s['extra_strides']} | {s['gct_bias_ms']:+.2f} | "
            f"{s['gct_sd_ms']:.2f} | {s['ic_within_1_sample_pct']:.1f} | {s['to_within_1_sample_pct']:.1f} | "
            f"{s['cadence_err_spm']:.2f} | {s['strike_agreement_pct']:.1f} | {length_text} |"
        )
    lines += [
        "",
        f"TO within 1 sample of what the signals can show (push-off pitch-rate minimum + the "
        f"scenario's mean lag): {overall['to_within_1_sample_vs_observable_pct']:.1f}%; the "
        f"simulator jitters the lag by N(0, {TO_LAG_JITTER_MS:g} ms) per stride, so no detector "
        f"can expect more than {TO_CEILING_PCT:.1f}% against the true TO (an ideal detector "
        f"scores {overall['to_ideal_within_1_sample_pct']:.1f}% on these strides).",
    ]
    lines += [
        "",
        "Our engine beside gaitmap 2.6 on the same simulated traces:",
        "",
        table.rstrip("\n"),
    ]
    if gm_rows:
        lines += [
            "",
            "Per scenario, ours / gaitmap:",
            "",
            "| scenario | missed | extra | IC ≤1 sample % | TO ≤1 sample % | GCT bias ± SD ms |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, s in sim_rows.items():
            g = gm_rows[name]
            lines.append(
                f"| {name} | {s['missed_strides']} / {g['missed_strides']} | "
                f"{s['extra_strides']} / {g['extra_strides']} | "
                f"{s['ic_within_1_sample_pct']:.1f} / {g['ic_within_1_sample_pct']:.1f} | "
                f"{s['to_within_1_sample_pct']:.1f} / {g['to_within_1_sample_pct']:.1f} | "
                f"{s['gct_bias_ms']:+.2f} ± {s['gct_sd_ms']:.2f} / "
                f"{g['gct_bias_ms']:+.2f} ± {g['gct_sd_ms']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def _round(x, digits: int):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, digits)


def _event_figures(overall: dict) -> dict:
    """The simulated-run event figures both engines' headlines give, rounded alike."""
    return {
        "gct_bias_ms": _round(overall["gct_bias_ms"], 2),
        "gct_sd_ms": _round(overall["gct_sd_ms"], 2),
        "ic_within_1_sample_pct": _round(overall["ic_within_1_sample_pct"], 1),
        "to_within_1_sample_pct": _round(overall["to_within_1_sample_pct"], 1),
        "cadence_err_spm": _round(overall["cadence_err_spm"], 2),
        "missed_strides": overall["missed_strides"],
        "extra_strides": overall["extra_strides"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--minutes",
        type=float,
        default=0.0,
        help="minutes per scenario; 0 = each scenario's own length",
    )
    parser.add_argument(
        "--scenarios", default="", help="comma-separated subset of scenarios (default: all)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--gaitmap",
        action="store_true",
        help="run gaitmap beside our engine, creating .venv-gaitmap first if it is missing",
    )
    which.add_argument(
        "--no-gaitmap", action="store_true", help="quote gaitmap's figures even if the venv exists"
    )
    parser.add_argument(
        "--real-only",
        action="store_true",
        help="only the real datasets (quick); writes nothing, prints the table and JSON",
    )
    args = parser.parse_args()
    # the real-signal fault scenarios (sim/disturbances.py) have their own tests in
    # tests/test_scenarios.py; the suite's totals stay the clean runs unless asked
    names = [n for n in args.scenarios.split(",") if n] or [
        n for n in SCENARIOS if not SCENARIOS[n].disturbances
    ]
    python = None if args.no_gaitmap else ensure_gaitmap(create=args.gaitmap)
    gm = Gaitmap(python) if python else None

    # real recordings first: they are what the engine must get right
    real_sets = real_datasets(gm)
    real_md = real_table(real_sets)
    print(real_md)
    if args.real_only:
        print(json.dumps({"real": real_headline(real_sets)}))
        return 0

    sim_rows: dict[str, dict] = {}
    gm_rows: dict[str, dict] = {}
    parts, gm_parts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            try:
                written = write_scenario(name, Path(tmp), minutes=args.minutes or None, seed=1)
            except ValueError as exc:  # e.g. a run shorter than its planted standing start
                print(f"{name:>22}: skipped at {args.minutes:g} min: {exc}")
                continue
            traces = [read_trace(p) for p in written.values()]
            scenario_parts = [evaluate_trace(t) for t in traces]
            sim_rows[name] = summarise(scenario_parts)
            parts += scenario_parts
            s = sim_rows[name]
            print(
                f"{name:>22}: {s['strides']} strides, missed {s['missed_strides']}, extra {s['extra_strides']}, "
                f"GCT {s['gct_bias_ms']:+.2f} ± {s['gct_sd_ms']:.2f} ms, cadence err {s['cadence_err_spm']:.2f} spm, "
                f"strike {s['strike_agreement_pct']:.0f}%"
            )
            if gm:
                items = gm.run([gaitmap_item(t) for t in traces])
                these = [evaluate_gaitmap_trace(t, it) for t, it in zip(traces, items, strict=True)]
                gm_rows[name] = summarise(these)
                gm_parts += these
                g = gm_rows[name]
                print(
                    f"{'gaitmap':>22}: missed {g['missed_strides']}, extra {g['extra_strides']}, "
                    f"GCT {g['gct_bias_ms']:+.2f} ± {g['gct_sd_ms']:.2f} ms, "
                    f"IC {_pm(g['ic_err_ms'], 2)} ms, TO {_pm(g['to_err_ms'], 2)} ms"
                )
            for t in written.values():
                t.unlink()
    overall = summarise(parts)

    report = {
        "real_datasets": real_sets,
        "simulated": sim_rows,
        "overall": overall,
        "to_ceiling_pct": TO_CEILING_PCT,
    }
    gm_overall = summarise(gm_parts) if gm else None
    if gm:
        report["gaitmap"] = {
            "version": gm.version,
            "simulated": gm_rows,
            "overall": gm_overall,
            "import_s": gm.import_s,
            "peak_rss_mib": gm.peak_rss_mib,
        }
    else:
        report["gaitmap"] = {"rerun": False}
    meta = {
        "version": gm.version if gm else None,
        "import_s": gm.import_s if gm else [],
        "peak_rss_mib": gm.peak_rss_mib if gm else 0.0,
    }
    table = side_by_side(overall, gm_overall, meta)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.json").write_text(json.dumps(report, indent=1))
    (args.out / "accuracy.md").write_text(
        "Real recordings, our engine beside gaitmap on the same 416 Hz counts "
        "(bench/accuracy.py, host/heavylegs/evaluation.py):\n\n"
        + real_md
        + "\nPer recording of the smaller datasets, ours / gaitmap (all recordings: "
        "accuracy.json, real_datasets):\n\n"
        + recordings_table(real_sets)
        + "\nSimulated suite:\n\n"
        + markdown(sim_rows, overall, table, gm_rows if gm else None)
    )
    print()
    print(real_md)
    print(table)
    headline = {
        "real": real_headline(real_sets),
        **_event_figures(overall),
        "strike_agreement_pct": round(overall["strike_agreement_pct"], 1),
        "to_within_1_sample_vs_observable_pct": round(
            overall["to_within_1_sample_vs_observable_pct"], 1
        ),
        "to_ceiling_pct": round(TO_CEILING_PCT, 1),
        "to_ideal_within_1_sample_pct": round(overall["to_ideal_within_1_sample_pct"], 1),
        "engine_s_per_sensor_minute": _round(overall["s_per_sensor_minute"], 4),
        "gaitmap": {"rerun": False},
    }
    if gm:
        headline["gaitmap"] = {
            "rerun": True,
            "version": gm.version,
            **_event_figures(gm_overall),
            "s_per_sensor_minute": _round(gm_overall["s_per_sensor_minute"], 4),
        }
    print(json.dumps(headline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
