"""`heavylegs shoe`: pairs of shoes, the pods on them from a date, mileage alerts."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from heavylegs.analysis.history import ShoeHistory, history_until, shoe_histories
from heavylegs.cli.errors import MAX_SHOE_KM, date_value, number_in, parse_date, pod_address
from heavylegs.cli.options import DbOption
from heavylegs.cli.runs import open_store
from heavylegs.errors import HeavylegsError
from heavylegs.paths import db_path
from heavylegs.store import Store
from heavylegs.store.diary import Diary
from heavylegs.store.models import local_day
from heavylegs.store.shoes import DEFAULT_ALERT_KM, no_such_pod

console = Console()

shoe_app = typer.Typer(
    help=(
        "Shoes as pairs. A pair has a name, a start distance, an in-service date and "
        "maybe a retired date; pods are assigned to a pair from a date, so earlier runs "
        "keep the shoes they were run in. Without a subcommand: the list."
    ),
    invoke_without_command=True,
)

PodsOption = typer.Option(
    ..., "--pod", help="address of a pod on these shoes (give --pod twice for a pair)"
)


def _pods(values: list[str]) -> tuple[str, ...]:
    """Addresses as bleak spells them (capitals); a malformed one is refused."""
    out = []
    for value in values:
        address = pod_address(value)
        assert address is not None
        if address in out:
            # a pair's second pod mistyped as its first: quietly using one would lose a foot
            raise typer.BadParameter(
                f"{address} is given twice; a pair's two pods are two addresses",
                param_hint="'--pod'",
            )
        out.append(address)
    if len(out) > 2:
        raise typer.BadParameter("a pair of shoes carries at most two pods", param_hint="'--pod'")
    return tuple(out)


def _known_pods(store: Store, pods: tuple[str, ...]) -> tuple[str, ...]:
    """The pods as the store spells them; one that never recorded into this store is
    refused, since a typo would match no run."""
    known = {rec.pod_address for run in store.runs() for rec in run.recordings}
    by_upper = {address.upper(): address for address in known}
    for pod in pods:
        if pod not in by_upper:
            raise no_such_pod(pod, known)
    return tuple(by_upper[pod] for pod in pods)


@shoe_app.callback()
def _default(ctx: typer.Context, db: Path | None = DbOption) -> None:
    if ctx.invoked_subcommand is None:
        _show_store(db_path(db))


@shoe_app.command("list")
def list_(db: Path | None = DbOption) -> None:
    """Every pair with its runs, distance, impact trend and mileage alert."""
    _show_store(db_path(db))


@shoe_app.command()
def add(
    name: str = typer.Argument(..., help="what to call the pair, e.g. 'Pegasus 41 blue'"),
    pod: list[str] = PodsOption,
    km: float = typer.Option(
        0.0,
        help="distance already on the shoes before the pods",
        callback=number_in(0, MAX_SHOE_KM, "km", low_allowed=True),
    ),
    from_: str | None = typer.Option(
        None,
        "--from",
        help="in service from this date (default: now; earlier runs keep their shoes)",
        callback=date_value,
    ),
    alert_km: float = typer.Option(
        DEFAULT_ALERT_KM,
        help="warn when the shoes pass this distance",
        callback=number_in(0, MAX_SHOE_KM, "km"),
    ),
    db: Path | None = DbOption,
) -> None:
    """A new pair, with the pods on it from its in-service date."""
    path = db_path(db)
    pods = _pods(pod)
    if not name.strip():
        raise typer.BadParameter("give the shoes a name", param_hint="'NAME'")
    with open_store(path) as store:
        pods = _known_pods(store, pods)
        with Diary(path) as diary:
            try:
                pair = diary.add_pair(
                    name,
                    pods,
                    start_km=km,
                    in_service_at=None if from_ is None else parse_date(from_),
                    alert_km=alert_km,
                )
            except ValueError as exc:
                raise HeavylegsError(str(exc)) from exc
            console.print(
                f"{pair.name}: pods {', '.join(pods)} from {local_day(pair.in_service_at)}",
                highlight=False,
            )
            _show(store, diary)


@shoe_app.command()
def assign(
    name: str = typer.Argument(..., help="the pair the pods move to"),
    pod: list[str] = PodsOption,
    from_: str | None = typer.Option(
        None, "--from", help="from this date (default: now)", callback=date_value
    ),
    db: Path | None = DbOption,
) -> None:
    """Move pods onto a pair from a date; runs before it keep their shoes."""
    path = db_path(db)
    pods = _pods(pod)
    since = time.time() if from_ is None else parse_date(from_)
    with open_store(path) as store:
        pods = _known_pods(store, pods)
        with Diary(path) as diary:
            try:
                before = diary.shoe_shelf().by_name(name)
                pair = diary.assign_pods(name, pods, since)
            except ValueError as exc:
                raise HeavylegsError(str(exc)) from exc
            console.print(
                f"{pair.name}: pods {', '.join(pods)} from {local_day(since)}", highlight=False
            )
            if before is not None and pair.in_service_at < before.in_service_at:
                console.print(
                    f"{pair.name}: in service from {local_day(pair.in_service_at)} now "
                    f"(was {local_day(before.in_service_at)})",
                    highlight=False,
                )
            _show(store, diary)


@shoe_app.command()
def retire(
    name: str = typer.Argument(..., help="the pair to retire"),
    on: str | None = typer.Option(
        None, "--on", help="retired on this date (default: now)", callback=date_value
    ),
    db: Path | None = DbOption,
) -> None:
    """Retire a pair: runs after the date no longer count on it."""
    path = db_path(db)
    at = time.time() if on is None else parse_date(on)
    with open_store(path) as store, Diary(path) as diary:
        try:
            pair = diary.retire_pair(name, at)
        except ValueError as exc:
            raise HeavylegsError(str(exc)) from exc
        console.print(f"{pair.name}: retired {local_day(at)}", highlight=False)
        _show(store, diary)


def _show_store(path: Path) -> None:
    with open_store(path) as store, Diary(path) as diary:
        _show(store, diary)


def _show(store: Store, diary: Diary) -> None:
    """The shelf as it stands, from the store and diary a command already has open."""
    latest = store.latest_run()
    history = [] if latest is None else history_until(store, diary, latest)
    shelf = diary.shoe_shelf()
    shoes = shoe_histories(history, shelf)
    worn = {s.name for s in shoes if s.named}
    table = Table(title="Shoes", title_justify="left")
    for column in ("Shoes", "Pods", "In service", "Runs", "Time", "Distance", "Impact trend"):
        table.add_column(column)
    for s in shoes:
        pair = shelf.by_name(s.name) if s.named else None
        since = "—" if pair is None else _span(pair.in_service_at, pair.retired_at)
        table.add_row(*shoe_row(s, since))
    # pairs named but not yet run in
    for pair in shelf.pairs:
        if pair.name not in worn:
            table.add_row(
                pair.name,
                ", ".join(shelf.pods_of(pair.id)),
                _span(pair.in_service_at, pair.retired_at),
                "0",
                "0.0 h",
                f"{pair.start_km:.0f} km",
                "—",
            )
    console.print(table)
    for s in shoes:
        if s.past_alert:
            total = s.prior_km + s.known_km
            console.print(
                f"[yellow]{s.name}: {total:.0f} km, past the {s.alert_km:.0f} km alert; "
                "time for a new pair?[/]",
                highlight=False,
            )


def shoe_row(s: ShoeHistory, since: str) -> list[str]:
    distance = "—" if s.total_km is None else f"{s.total_km:.0f} km"
    if s.past_alert:
        distance += " ⚠"
    return [
        s.name,
        ", ".join(s.pods),
        since,
        str(s.runs),
        f"{s.minutes / 60:.1f} h",
        distance,
        "—" if s.impact_trend_pct is None else f"{s.impact_trend_pct:+.0f}%",
    ]


def _span(start: float, end: float | None) -> str:
    return (
        f"{local_day(start)} to {local_day(end)}"
        if end is not None
        else f"since {local_day(start)}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(shoe_app, name="shoe")
