"""Commands for the simulator: write (and plot) a scenario's traces, import a recording."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from heavylegs.cli.errors import (
    IMPORT_RATE_HZ,
    MAX_MINUTES,
    number_in,
    output_folder,
    scenario_name,
    seed_value,
)

if TYPE_CHECKING:
    from heavylegs.sim.scenarios import Scenario

console = Console()


def sim(
    scenario: str = typer.Argument(
        "easy", help="scenario name (see --list)", callback=scenario_name
    ),
    minutes: float = typer.Option(
        None,
        help="run length; default: the scenario's own",
        callback=number_in(0, MAX_MINUTES, "minutes"),
    ),
    seed: int = typer.Option(1, help="random seed of the simulation", callback=seed_value),
    out: Path = typer.Option(
        Path("out/traces"), help="directory for the trace files", callback=output_folder
    ),
    plot: bool = typer.Option(False, "--plot", help="also plot the signals with truth events"),
    plot_from: float = typer.Option(
        None,
        help="plot from this second of the run",
        callback=number_in(0, MAX_MINUTES * 60, "seconds", low_allowed=True),
    ),
    plot_seconds: float = typer.Option(
        4.0, help="length of the plotted window", callback=number_in(0, 600, "seconds")
    ),
    list_: bool = typer.Option(False, "--list", help="list the scenarios and exit"),
    follow: Path = typer.Option(
        None, "--follow", metavar="WATCH.fit", help="follow a watch activity's pace and hills"
    ),
    db: Path = typer.Option(
        None, "--db", help="with --follow: store the run's strides here instead of traces"
    ),
    clock_offset: float = typer.Option(
        0.0,
        help="with --follow --db: the pods' clock minus the watch's, in s",
        callback=number_in(-3600, 3600, "s", low_allowed=True),
    ),
) -> None:
    """Write the sensor traces (left and right pod) of a simulated run."""
    from heavylegs.sim.scenarios import SCENARIOS, write_scenario

    if db is not None and follow is None:
        raise typer.BadParameter("--db goes with --follow WATCH.fit")
    if follow is not None:
        from heavylegs.cli.watch import follow_watch

        follow_watch(follow, out, minutes=minutes, seed=seed, db=db, clock_offset_s=clock_offset)
        return
    if list_:
        _list(SCENARIOS)
        return
    if plot and plot_from is not None:
        from heavylegs.sim.scenarios import scenario_metadata

        run_min = scenario_metadata(scenario, minutes)["minutes"]
        if plot_from >= run_min * 60:
            raise typer.BadParameter(
                f"--plot-from {plot_from:g} is past the run's end ({run_min:g} min)"
            )
    try:
        written = write_scenario(scenario, out, minutes=minutes, seed=seed)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for foot, path in written.items():
        console.print(f"{foot}: {path}")
    if plot:
        image = plot_traces(
            written, out / f"{scenario}.png", start_s=plot_from, seconds=plot_seconds
        )
        console.print(f"plot: {image}")


def sim_import(
    recording: Path = typer.Argument(
        ...,
        help="a pyshoe trial CSV or gaitmap's imu_sample.csv",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
    out: Path = typer.Option(
        Path("out/traces"), help="directory for the trace files", callback=output_folder
    ),
    rate: float = typer.Option(
        416.0,
        help="resample to this rate (the pod's ODR)",
        callback=number_in(*IMPORT_RATE_HZ, "Hz", low_allowed=True),
    ),
    plot: bool = typer.Option(False, "--plot", help="also plot the signals with truth events"),
) -> None:
    """Turn a recorded foot-IMU CSV into trace files the simulated pod can replay."""
    from heavylegs.sim.importer import RecordingError, import_recording

    try:
        traces = import_recording(recording, rate_hz=rate)
    except RecordingError as exc:
        raise typer.BadParameter(str(exc)) from exc
    written = {
        foot: trace.write(out / f"{recording.stem}-{foot}.hltrace")
        for foot, trace in traces.items()
    }
    for foot, path in written.items():
        trace = traces[foot]
        console.print(
            f"{foot}: {path} ({trace.duration_s:.1f} s, {len(trace.truth)} strides, "
            f"{len(trace.marks)} marks)"
        )
    if plot:
        image = plot_traces(written, out / f"{recording.stem}.png", start_s=None, seconds=4.0)
        console.print(f"plot: {image}")


def _list(scenarios: dict[str, Scenario]) -> None:
    table = Table("scenario", "min", "fatigue", "confounders", "description")
    for name, sc in scenarios.items():
        fatigue = sc.metadata()["fatigue"]
        planted = (
            f"from {fatigue['onset_min']:g} min: {', '.join(fatigue['indicators'])}"
            if fatigue["planted"]
            else "none"
        )
        table.add_row(name, f"{sc.minutes:g}", planted, ", ".join(sc.confounders), sc.description)
    console.print(table)


def plot_traces(
    paths: dict[str, Path], image: Path, *, start_s: float | None, seconds: float
) -> Path:
    """Both pods' signals over a window of true time, IC (solid) and TO (dashed) marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from heavylegs.trace import read_trace

    traces = {foot: read_trace(path) for foot, path in paths.items()}
    if start_s is None:
        # Somewhere in steady motion: the middle of the first foot's strides.
        first = next(iter(traces.values()))
        starts = [s.ic_s for s in first.truth] or [m.t_s for m in first.marks]
        start_s = starts[len(starts) // 2] - 0.3 if starts else first.header.start_offset_s
    fig, axes = plt.subplots(
        2 * len(traces), 1, figsize=(10, 3.2 * len(traces)), sharex=True, squeeze=False
    )
    for row, (foot, trace) in enumerate(traces.items()):
        t = trace.sample_times()
        w = (t >= start_s) & (t < start_s + seconds)
        for k, (data, unit) in enumerate(((trace.acc_g, "g"), (trace.gyr_dps, "deg/s"))):
            ax = axes[2 * row + k, 0]
            for axis, colour in zip("xyz", ("C0", "C1", "C2"), strict=True):
                ax.plot(t[w], data[w, "xyz".index(axis)], colour, lw=0.9, label=axis)
            ax.set_ylabel(f"{foot} {'acc' if k == 0 else 'gyro'} ({unit})")
            for s in trace.truth:
                if start_s <= s.ic_s < start_s + seconds:
                    ax.axvline(s.ic_s, color="k", lw=0.8)
                if start_s <= s.to_s < start_s + seconds:
                    ax.axvline(s.to_s, color="k", lw=0.8, ls="--")
            for m in trace.marks:
                if start_s <= m.t_s < start_s + seconds:
                    ax.axvline(m.t_s, color="C3", lw=0.8, ls=":")
            ax.grid(alpha=0.3)
            ax.legend(loc="upper right", fontsize=7, ncol=3)
    header = next(iter(traces.values())).header
    axes[0, 0].set_title(
        f"{header.scenario or header.source}: sensor axes; IC solid, TO dashed"
        + (", marks dotted" if any(tr.marks for tr in traces.values()) else "")
    )
    axes[-1, 0].set_xlabel("true time (s)")
    axes[-1, 0].set_xlim(start_s, start_s + seconds)
    fig.tight_layout()
    image.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(image, dpi=100)
    plt.close(fig)
    return image


def register(app: typer.Typer) -> None:
    app.command()(sim)
    app.command("sim-import")(sim_import)
