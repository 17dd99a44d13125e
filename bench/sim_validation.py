"""The gait model beside real recordings: stride times, swing pitch rate, impact, foot-flat.

Compares the simulator with ../shared/data (see its README):
- pyshoe_running: nine running trials, one pod on top of the right shoe, 200 Hz;
- gaitmap_walking: one subject walking, a pod on each shoe's lateral heel, 204.8 Hz.

Each recording is set beside a simulated run configured only with what the
recording's own annotations say about its timing and pod (cadence, speed, duty
factor, mounting, turns); everything else is the model's default. The same
analysis code runs on both, at the recording's sample rate (the simulated 416 Hz
trace is averaged down over each recorded sample's period first, as a slower
sensor would see it). Writes docs/img/sim_*.png and prints a table; the last
line is one JSON object with the headline figures.

    .venv/bin/python bench/sim_validation.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from heavylegs.sim.gait_model import (
    PodParams,
    RunParams,
    Turn,
    plan_run,
    rotation,
    simulate_foot,
    simulate_run,
)
from heavylegs.sim.importer import import_gaitmap, import_pyshoe
from heavylegs.trace import Trace

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
IMG = REPO / "docs" / "img"
QUIET_DPS = 50.0  # foot-flat: |angular velocity| below this


def toe_up_rate(trace: Trace) -> np.ndarray:
    """Pitch angular velocity, toe rising positive (deg/s), in whatever frame the trace has."""
    h = trace.header
    if h.mounting is not None:
        foot = trace.gyr_dps @ np.asarray(h.mounting)  # sensor -> foot: the transpose
        return -foot[:, 1]
    if h.source.startswith("pyshoe"):
        return trace.gyr_dps[:, 1]  # x forward, y right, z down
    return -trace.gyr_dps[:, 1]  # gaitmap: x forward, y left, z up


def at_rate(trace: Trace, rate_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true times, acc g, gyro dps) averaged over each period of a slower sensor."""
    t = trace.sample_times()
    if abs(rate_hz - trace.header.rate_hz) < 1e-6:
        return t, trace.acc_g, trace.gyr_dps
    edges = np.arange(t[0], t[-1], 1.0 / rate_hz)
    k = np.searchsorted(edges, t, side="right") - 1
    counts = np.bincount(k, minlength=len(edges))
    keep = counts > 0

    def mean(x):
        sums = np.stack([np.bincount(k, x[:, i], minlength=len(edges)) for i in range(3)], -1)
        return sums[keep] / counts[keep, None]

    return edges[keep] + 0.5 / rate_hz, mean(trace.acc_g), mean(trace.gyr_dps)


def stride_metrics(trace: Trace, anchors: np.ndarray, rate_hz: float) -> dict[str, np.ndarray]:
    """Per stride (anchor to next anchor): swing peak, impact peak, foot-flat, stride time."""
    t, acc, gyr = at_rate(trace, rate_hz)
    lite = Trace(trace.header, acc, gyr, [])
    pitch = toe_up_rate(lite)
    acc_norm = np.linalg.norm(acc, axis=1)
    gyr_norm = np.linalg.norm(gyr, axis=1)
    out: dict[str, list[float]] = {
        "stride_s": [],
        "swing_peak_dps": [],
        "impact_g": [],
        "flat_s": [],
    }
    for a, b in zip(anchors[:-1], anchors[1:], strict=True):
        if b - a > 2.0:  # a stop or a lost stride, not a stride
            continue
        w = (t >= a) & (t < b)
        if w.sum() < 10:
            continue
        out["stride_s"].append(b - a)
        out["swing_peak_dps"].append(float(pitch[w].max()))
        out["impact_g"].append(float(acc_norm[w].max()))
        quiet = gyr_norm[w] < QUIET_DPS
        longest = run = 0
        for q in quiet:
            run = run + 1 if q else 0
            longest = max(longest, run)
        out["flat_s"].append(longest / rate_hz)
    return {k: np.asarray(v) for k, v in out.items()}


def pyshoe_sim(trial: Trace, seed: int) -> tuple[Trace, float, float]:
    """A simulated right pod set up like one pyshoe trial: its cadence, speed and turning room."""
    marks = np.array([m.t_s for m in trial.marks if m.mark != "end"])
    stride = float(np.median(np.diff(marks)))
    speed = 1.45  # from the trials' ground-contact points: about 1.1 m per 0.75 s stride
    duration = 60.0
    # Round and round a 3 x 3 m room: a quarter turn every two seconds.
    turns = tuple(Turn(at_s=4.0 + 2.0 * k, angle_deg=90.0, duration_s=1.0) for k in range(27))
    params = RunParams(
        duration_s=duration,
        speed_mps=speed,
        cadence_spm=120.0 / stride,
        gct_s=0.30,
        turns=turns,
    )
    # pyshoe's pod lies face down on the instep, pitched about 15 degrees.
    foot_from_sensor = rotation("y", 15.0) @ rotation("x", 180.0)
    pod = PodParams(mounting=tuple(map(tuple, foot_from_sensor.T)))
    plan = plan_run(params, seed=seed)
    return simulate_foot(plan, "right", pod, seed=seed), speed, 120.0 / stride


def gaitmap_sims(real: dict[str, Trace], seed: int) -> dict[str, Trace]:
    """Both feet walking with the recorded subject's cadence and duty factor."""
    strides = [s for tr in real.values() for s in tr.truth]
    stride = float(np.median([s.stride_s for s in strides]))
    duty = float(np.median([s.gct_s / s.stride_s for s in strides]))
    params = RunParams(
        duration_s=60.0,
        walk_cadence_spm=120.0 / stride,
        walk_speed_mps=1.25,
        walk_duty=duty,
        segments=(),
    )
    params = RunParams(**{**_fields(params), "segments": (_walk_all(),)})
    pods = {}
    for foot, tr in real.items():
        # The lateral-heel sensor leaves a roll in gaitmap's frame: read it from standing.
        rest = tr.acc_g[: int(0.2 * tr.header.rate_hz)].mean(axis=0)
        roll = np.degrees(np.arctan2(rest[1], rest[2]))
        # gaitmap's sensors sit on the lateral side of the heel (+y is lateral on the left).
        lateral = 0.045 if foot == "left" else -0.045
        pods[foot] = PodParams(
            mounting=tuple(map(tuple, rotation("x", -roll))), position_m=(0.05, lateral, 0.035)
        )
    return simulate_run(params, seed=seed, pods=pods)


def _walk_all():
    from heavylegs.sim.gait_model import Segment

    return Segment(0.0, gait="walk")


def _fields(params: RunParams) -> dict:
    return {name: getattr(params, name) for name in params.__dataclass_fields__}


def summarise(values: np.ndarray) -> str:
    if not len(values):
        return "-"
    return f"{np.median(values):7.3g} [{np.percentile(values, 10):.3g}, {np.percentile(values, 90):.3g}]"


def plot_stride(path: Path, title: str, pairs, rate_hz: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    for label, trace, t0, style in pairs:
        t, acc, gyr = at_rate(trace, rate_hz)
        lite = Trace(trace.header, acc, gyr, [])
        w = (t >= t0 - 0.15) & (t < t0 + 0.85)
        axes[0].plot((t[w] - t0) * 1000, toe_up_rate(lite)[w], style, label=label, lw=1.3)
        axes[1].plot((t[w] - t0) * 1000, np.linalg.norm(acc[w], axis=1), style, label=label, lw=1.3)
    axes[0].set_ylabel("pitch rate, toe up (deg/s)")
    axes[1].set_ylabel("|acceleration| (g)")
    axes[1].set_xlabel("time from the aligning event (ms)")
    axes[0].set_title(title)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.axvline(0, color="k", lw=0.6)
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_distributions(path: Path, groups: dict[str, dict[str, dict[str, np.ndarray]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [
        ("stride_s", "stride time (s)"),
        ("swing_peak_dps", "swing peak pitch rate (deg/s)"),
        ("impact_g", "peak |acc| per stride (g)"),
        ("flat_s", "foot-flat, |gyro| < 50 deg/s (s)"),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    for ax, (key, label) in zip(axes, metrics, strict=True):
        data, names = [], []
        for dataset, pair in groups.items():
            for who in ("real", "sim"):
                data.append(pair[who][key])
                names.append(f"{'run' if 'running' in dataset else 'walk'}\n{who}")
        ax.boxplot(data, tick_labels=names, showfliers=True, flierprops={"markersize": 2})
        ax.set_title(label, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_stride_times(path: Path, groups) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(groups), figsize=(9, 3.2))
    for ax, (dataset, pair) in zip(np.atleast_1d(axes), groups.items(), strict=True):
        both = np.concatenate([pair["real"]["stride_s"], pair["sim"]["stride_s"]])
        bins = np.linspace(both.min(), both.max(), 25)
        ax.hist(pair["real"]["stride_s"], bins=bins, alpha=0.6, label="real", density=True)
        ax.hist(pair["sim"]["stride_s"], bins=bins, alpha=0.6, label="simulated", density=True)
        ax.set_title(f"{dataset}: stride time", fontsize=9)
        ax.set_xlabel("s")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def generation_speed() -> tuple[float, float]:
    """Best of three (wall s, CPU s) for the demo's 20-minute two-foot easy run."""
    from heavylegs.sim.scenarios import SCENARIOS

    best_wall = best_cpu = float("inf")
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        SCENARIOS["easy"].simulate(minutes=20.0, seed=1)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def impacts_at_the_pod() -> dict[str, dict[str, float]]:
    """What the pod's accelerometer meets at 416 Hz, per strike type: size and clipping."""
    from heavylegs.sim.scenarios import SCENARIOS

    out = {}
    for name in ("easy", "heel-striker", "forefoot-striker", "tempo"):
        minutes = 12.0 if name == "tempo" else 3.0
        from_s = 9 * 60.0 if name == "tempo" else 20.0  # tempo: the fast part
        peaks = np.array(
            [
                s.impact_g
                for s in SCENARIOS[name].simulate(minutes=minutes, seed=1)["left"].truth
                if s.ic_s > from_s
            ]
        )
        out[name] = {
            "median_g": round(float(np.median(peaks)), 1),
            "p90_g": round(float(np.percentile(peaks, 90)), 1),
            "over_16g": round(float(np.mean(peaks > 16.0)), 2),
            "over_32g": round(float(np.mean(peaks > 32.0)), 2),
        }
    return out


def main() -> int:
    gen_wall, gen_cpu = generation_speed()
    impacts = impacts_at_the_pod()
    print("impact peaks at the pod, 416 Hz (g): " + json.dumps(impacts))
    speed = {"generate_20min_two_feet_s": round(gen_wall, 2), "generate_cpu_s": round(gen_cpu, 2)}
    if not (DATA / "pyshoe_running").is_dir() or not (DATA / "gaitmap_walking").is_dir():
        print(f"no recordings at {DATA}: only the simulator's own figures were measured")
        print(json.dumps({"skipped": "no ../shared/data", **speed}))
        return 0
    IMG.mkdir(parents=True, exist_ok=True)
    groups: dict[str, dict[str, dict[str, np.ndarray]]] = {}

    # Running: every pyshoe running trial against a simulated run of the same cadence.
    real_parts, sim_parts = [], []
    example = None
    trials = sorted((DATA / "pyshoe_running" / "csv").glob("*.csv"))
    for k, path in enumerate(trials):
        real = import_pyshoe(path)
        if real.header.meta.get("label") != "run" or len(real.marks) < 4:
            continue
        marks = np.array([m.t_s for m in real.marks if m.mark != "end"])
        real_parts.append(stride_metrics(real, marks, 200.0))
        sim, _, _ = pyshoe_sim(real, seed=k)
        ics = np.array([s.ic_s for s in sim.truth])
        sim_parts.append(stride_metrics(sim, ics, 200.0))
        if example is None:
            example = (real, marks, sim)
    groups["pyshoe running"] = {
        "real": _concat(real_parts),
        "sim": _concat(sim_parts),
    }

    # Walking: gaitmap's two feet against a simulated walk.
    gm_real = import_gaitmap(DATA / "gaitmap_walking" / "imu_sample.csv")
    gm_sim = gaitmap_sims(gm_real, seed=5)
    groups["gaitmap walking"] = {
        "real": _concat(
            [
                stride_metrics(tr, np.array([s.ic_s for s in tr.truth]), 204.8)
                for tr in gm_real.values()
            ]
        ),
        "sim": _concat(
            [
                stride_metrics(tr, np.array([s.ic_s for s in tr.truth]), 204.8)
                for tr in gm_sim.values()
            ]
        ),
    }

    plot_stride_times(IMG / "sim_stride_times.png", groups)
    plot_distributions(IMG / "sim_metrics.png", groups)
    # One stride of each, aligned on the push-off pitch-rate minimum (running) or IC (walking).
    assert example is not None
    real, marks, sim = example
    real_t0 = _push_minimum(real, marks[len(marks) // 2], 200.0)
    sim_stride = sim.truth[len(sim.truth) // 2]
    sim_t0 = _push_minimum(sim, sim_stride.ic_s + 0.1, 200.0)
    plot_stride(
        IMG / "sim_stride_pyshoe.png",
        "running: pyshoe trial vs simulated (200 Hz), aligned on the push-off minimum",
        [(f"real {real.header.scenario}", real, real_t0, "C0-"), ("simulated", sim, sim_t0, "C1-")],
        200.0,
    )
    real_l = gm_real["left"]
    sim_l = gm_sim["left"]
    plot_stride(
        IMG / "sim_stride_gaitmap.png",
        "walking: gaitmap left foot vs simulated (204.8 Hz), aligned on IC",
        [
            ("real (mocap IC)", real_l, real_l.truth[len(real_l.truth) // 2].ic_s, "C0-"),
            ("simulated", sim_l, sim_l.truth[len(sim_l.truth) // 2].ic_s, "C1-"),
        ],
        204.8,
    )

    print(f"{'':34} {'median [p10, p90]':>26}")
    headline: dict[str, object] = dict(speed)
    headline["easy_impact_median_g"] = impacts["easy"]["median_g"]
    headline["heel_striker_impact_median_g"] = impacts["heel-striker"]["median_g"]
    headline["forefoot_impact_median_g"] = impacts["forefoot-striker"]["median_g"]
    for dataset, pair in groups.items():
        print(f"-- {dataset}")
        for key in ("stride_s", "swing_peak_dps", "impact_g", "flat_s"):
            for who in ("real", "sim"):
                values = pair[who][key]
                print(f"{key:>18} {who:>5} n={len(values):4d} {summarise(values):>30}")
                tag = dataset.split()[0]
                headline[f"{tag}_{key}_{who}"] = round(float(np.median(values)), 3)
            cv = {
                w: float(np.std(pair[w]["stride_s"]) / np.mean(pair[w]["stride_s"]))
                for w in ("real", "sim")
            }
        headline[f"{dataset.split()[0]}_stride_cv_real"] = round(cv["real"], 4)
        headline[f"{dataset.split()[0]}_stride_cv_sim"] = round(cv["sim"], 4)
        print(f"{'stride time CV':>18} real {cv['real']:.3f}   sim {cv['sim']:.3f}")
    print(f"20-minute two-foot run generated in {gen_wall:.2f} s ({gen_cpu:.2f} s CPU), best of 3")
    print(json.dumps(headline))
    return 0


def _push_minimum(trace: Trace, after_s: float, rate_hz: float) -> float:
    t, acc, gyr = at_rate(trace, rate_hz)
    pitch = toe_up_rate(Trace(trace.header, acc, gyr, []))
    w = (t >= after_s) & (t < after_s + 0.6)
    return float(t[w][np.argmin(pitch[w])])


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


if __name__ == "__main__":
    sys.exit(main())
