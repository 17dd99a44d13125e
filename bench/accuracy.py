"""How well the pod's gait engine measures strides, against ground truth.

Runs the firmware's own engine (under CPython; tests/test_gait_engine.py proves the
MicroPython build gives identical strides) over:
- every scenario of the simulated library, truth from the gait model;
- the real recordings in ../shared/data: pyshoe running (hand-annotated stride
  boundaries: counts and cadence) and gaitmap walking (mocap IC and toe-off).

Writes docs/accuracy.json and docs/accuracy.md; the last line printed is one JSON
object with the overall figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "host"))
sys.path.insert(0, str(REPO / "firmware"))
sys.path.insert(0, str(REPO / "bench"))

import realdata  # noqa: E402

from heavylegs.reprocess import quantise, run_engine  # noqa: E402
from heavylegs.sim.scenarios import SCENARIOS, write_scenario  # noqa: E402
from heavylegs.sim.trace import read_trace  # noqa: E402
from heavylegs_pod.gait import detector as d  # noqa: E402

ODR = 416
MATCH_S = 0.05
CLASS = {"rearfoot": 1, "midfoot": 2, "forefoot": 3}


def _pod_time(trace, true_s: float) -> float:
    convert = getattr(trace, "sensor_time", None)
    return float(convert(true_s)) if convert else true_s


def evaluate_trace(trace) -> dict:
    acc_fs = 32 if trace.header.part == "LSM6DSO32" else 16
    acc, gyr = quantise(trace, acc_fs_g=acc_fs)
    rows, engine = run_engine(acc, gyr, acc_fs_g=acc_fs, foot="auto")
    odr = int(round(trace.header.rate_hz))
    ics = np.array([(r[d.F_IC_N] + r[d.F_IC_FRAC] / 64) / odr for r in rows])
    used: set[int] = set()
    out = {"ic": [], "to": [], "gct": [], "cad": [], "strike_ok": [], "len": [], "missed": 0}
    for true in trace.truth:
        ic_true = _pod_time(trace, true.ic_s)
        to_true = _pod_time(trace, true.to_s)
        k = int(np.argmin(np.abs(ics - ic_true))) if len(ics) else -1
        if k < 0 or abs(ics[k] - ic_true) > MATCH_S or k in used:
            out["missed"] += 1
            continue
        used.add(k)
        r = rows[k]
        gct = r[d.F_GCT_01MS] / 10000
        out["ic"].append((ics[k] - ic_true) * 1000)
        out["to"].append((ics[k] + gct - to_true) * 1000)
        out["gct"].append((gct - (to_true - ic_true)) * 1000)
        out["strike_ok"].append(d.strike_class(r[d.F_STRIKE_01DEG]) == CLASS[true.strike_class])
        if true.next_ic_s is not None and r[d.F_CADENCE_CENTI]:
            stride = _pod_time(trace, true.next_ic_s) - ic_true
            out["cad"].append(r[d.F_CADENCE_CENTI] / 100 - 120 / stride)
        if r[d.F_STRIDE_LEN_CM] and true.stride_len_m:
            out["len"].append(
                (r[d.F_STRIDE_LEN_CM] / 100 - true.stride_len_m) / true.stride_len_m * 100
            )
    out["extra"] = len(rows) - len(used)
    out["strides"] = len(trace.truth)
    out["odr"] = odr
    return out


def summarise(parts: list[dict]) -> dict:
    cat = {
        key: [v for p in parts for v in p[key]]
        for key in ("ic", "to", "gct", "cad", "strike_ok", "len")
    }
    one = 1000 / ODR
    return {
        "strides": sum(p["strides"] for p in parts),
        "missed_strides": sum(p["missed"] for p in parts),
        "extra_strides": sum(p["extra"] for p in parts),
        "gct_bias_ms": float(np.mean(cat["gct"])) if cat["gct"] else float("nan"),
        "gct_sd_ms": float(np.std(cat["gct"])) if cat["gct"] else float("nan"),
        "ic_within_1_sample_pct": float(np.mean(np.abs(cat["ic"]) <= one) * 100)
        if cat["ic"]
        else 0.0,
        "to_within_1_sample_pct": float(np.mean(np.abs(cat["to"]) <= one) * 100)
        if cat["to"]
        else 0.0,
        "ic_err_ms": _dist(cat["ic"]),
        "to_err_ms": _dist(cat["to"]),
        "cadence_err_spm": float(np.mean(np.abs(cat["cad"]))) if cat["cad"] else float("nan"),
        "strike_agreement_pct": float(np.mean(cat["strike_ok"]) * 100) if cat["strike_ok"] else 0.0,
        "stride_len_err_pct": _dist(cat["len"]),
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


def _engine_rows(rec):
    acc, gyr = realdata.counts(rec)
    rows, engine = run_engine(acc, gyr, foot="auto")
    ics = np.array([rec.t0_s + (r[d.F_IC_N] + r[d.F_IC_FRAC] / 64) / ODR for r in rows])
    tos = ics + np.array([r[d.F_GCT_01MS] / 10000 for r in rows]) if rows else np.array([])
    return rows, ics, tos


def evaluate_pyshoe() -> list[dict]:
    results = []
    for rec in realdata.pyshoe():
        if not rec.boundaries_s:
            continue
        rows, ics, tos = _engine_rows(rec)
        # a boundary is a contact only if the foot came from a swing (not the standing start)
        t = rec.t0_s + np.arange(len(rec.gyr_dps)) / ODR
        speed = np.linalg.norm(rec.gyr_dps, axis=1)
        contacts = [
            b for b in rec.boundaries_s if speed[(t > b - 0.6) & (t < b)].max(initial=0) > 200
        ]
        covered = sum(bool(np.any((ics <= b) & (b <= tos))) for b in contacts)
        annotated_stride = np.diff(rec.boundaries_s)
        annotated_stride = annotated_stride[annotated_stride < 1.6]
        cad = [r[d.F_CADENCE_CENTI] / 100 for r in rows if r[d.F_CADENCE_CENTI]]
        results.append(
            {
                "trial": rec.name,
                "kind": rec.kind,
                "annotated_contacts": len(contacts),
                "found": len(rows),
                "covered": covered,
                "cadence_true_spm": float(120 / np.median(annotated_stride))
                if len(annotated_stride)
                else None,
                "cadence_found_spm": float(np.median(cad)) if cad else None,
            }
        )
    return results


def evaluate_gaitmap() -> list[dict]:
    results = []
    for rec in realdata.gaitmap_walking():
        rows, ics, tos = _engine_rows(rec)
        ic_err, to_err, stance_err = [], [], []
        missed = 0
        used = set()
        for ic_true in rec.ic_s:
            k = int(np.argmin(np.abs(ics - ic_true))) if len(ics) else -1
            if k < 0 or abs(ics[k] - ic_true) > 0.15 or k in used:
                missed += 1
                continue
            used.add(k)
            ic_err.append((ics[k] - ic_true) * 1000)
            later = [to for to in rec.to_s if to > ic_true]
            if later and abs(tos[k] - later[0]) < 0.3:
                to_err.append((tos[k] - later[0]) * 1000)
                stance_err.append(((tos[k] - ics[k]) - (later[0] - ic_true)) * 1000)
        results.append(
            {
                "trial": rec.name,
                "mocap_contacts": len(rec.ic_s),
                "found": len(rows),
                "missed": missed,
                "extra": len(rows) - len(used),
                "ic_err_ms": _dist(ic_err),
                "to_err_ms": _dist(to_err),
                "stance_err_ms": _dist(stance_err),
                "walking_flagged": sum(
                    1 for r in rows if r[d.F_STRIDE_01MS] and not r[d.F_RUNNING]
                ),
            }
        )
    return results


# gaitmap 2.6 (HerzerEventDetection, MIT part) on the same recordings, as measured
# and recorded in ../shared/NOTES.md ("The open peer"). Its package pins numpy<2.1,
# which our environment cannot share; these are quoted, not re-run here.
GAITMAP_REFERENCE = {
    "walking_ic_err_ms": "+26 ± 8",
    "walking_to_err_ms": "-5 ± 6",
    "walking_stance_err_ms": "-32 ± 10",
    "walking_strides": "55 of 57, 1 extra",
    "running_cadence_err_spm": "1.5 mean, 3.0 max; first stride of every bout dropped",
    "speed_s_per_sensor_minute": 0.05,
}


def markdown(sim_rows: dict, overall: dict, pyshoe: list[dict], gaitmap: list[dict]) -> str:
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
        "Real running (pyshoe, one pod on the right shoe, hand-annotated stride boundaries):",
        "",
        "| trial | kind | annotated contacts | found | annotated contacts inside a found contact | cadence true | cadence found |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in pyshoe:
        ct = f"{r['cadence_true_spm']:.1f}" if r["cadence_true_spm"] else "–"
        cf = f"{r['cadence_found_spm']:.1f}" if r["cadence_found_spm"] else "–"
        lines.append(
            f"| {r['trial']} | {r['kind']} | {r['annotated_contacts']} | {r['found']} | {r['covered']} | {ct} | {cf} |"
        )
    lines += [
        "",
        "Real walking (gaitmap example, both feet, optical motion capture):",
        "",
        "| foot | mocap contacts | found | missed | extra | IC err ms | TO err ms | stance err ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in gaitmap:

        def fmt(dist: dict) -> str:
            return f"{dist['mean']:+.1f} ± {dist['sd']:.1f}" if dist else "–"

        lines.append(
            f"| {r['trial']} | {r['mocap_contacts']} | {r['found']} | {r['missed']} | {r['extra']} | "
            f"{fmt(r['ic_err_ms'])} | {fmt(r['to_err_ms'])} | {fmt(r['stance_err_ms'])} |"
        )
    lines += ["", "gaitmap 2.6 on the same recordings (quoted from ../shared/NOTES.md):", ""]
    lines += [f"- {k}: {v}" for k, v in GAITMAP_REFERENCE.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--minutes",
        type=float,
        default=0.0,
        help="minutes per scenario; 0 = each scenario's own length",
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args()
    sim_rows: dict[str, dict] = {}
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in SCENARIOS:
            written = write_scenario(name, Path(tmp), minutes=args.minutes or None, seed=1)
            scenario_parts = [evaluate_trace(read_trace(p)) for p in written.values()]
            sim_rows[name] = summarise(scenario_parts)
            parts += scenario_parts
            s = sim_rows[name]
            print(
                f"{name:>22}: {s['strides']} strides, missed {s['missed_strides']}, extra {s['extra_strides']}, "
                f"GCT {s['gct_bias_ms']:+.2f} ± {s['gct_sd_ms']:.2f} ms, cadence err {s['cadence_err_spm']:.2f} spm, "
                f"strike {s['strike_agreement_pct']:.0f}%"
            )
    overall = summarise(parts)
    pyshoe = evaluate_pyshoe()
    gaitmap = evaluate_gaitmap()
    runs = [r for r in pyshoe if r["kind"] == "run"]
    count_err = sum(abs(r["found"] - r["annotated_contacts"]) for r in runs) if runs else None
    cadence_gap = [
        abs(r["cadence_found_spm"] - r["cadence_true_spm"])
        for r in runs
        if r["cadence_found_spm"] and r["cadence_true_spm"]
    ]
    for r in pyshoe:
        print(
            f"pyshoe {r['trial']} ({r['kind']}): {r['found']} found, {r['annotated_contacts']} annotated, "
            f"cadence {r['cadence_found_spm']} vs {r['cadence_true_spm']}"
        )
    for r in gaitmap:
        print(
            f"gaitmap {r['trial']}: {r['found']} found of {r['mocap_contacts']}, IC {r['ic_err_ms']}"
        )
    report = {
        "simulated": sim_rows,
        "overall": overall,
        "pyshoe": pyshoe,
        "gaitmap_walking": gaitmap,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.json").write_text(json.dumps(report, indent=1))
    (args.out / "accuracy.md").write_text(markdown(sim_rows, overall, pyshoe, gaitmap))
    print(
        json.dumps(
            {
                "gct_bias_ms": round(overall["gct_bias_ms"], 2),
                "gct_sd_ms": round(overall["gct_sd_ms"], 2),
                "ic_within_1_sample_pct": round(overall["ic_within_1_sample_pct"], 1),
                "to_within_1_sample_pct": round(overall["to_within_1_sample_pct"], 1),
                "cadence_err_spm": round(overall["cadence_err_spm"], 2),
                "missed_strides": overall["missed_strides"],
                "extra_strides": overall["extra_strides"],
                "strike_agreement_pct": round(overall["strike_agreement_pct"], 1),
                "real_stride_count_err": count_err,
                "real_cadence_err_spm": round(float(np.mean(cadence_gap)), 2)
                if cadence_gap
                else None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
