"""Where the host keeps its data, and the --db option every command shares."""

from __future__ import annotations

import os
from pathlib import Path

import typer


def default_home() -> Path:
    return Path(os.environ.get("HEAVYLEGS_HOME", Path.home() / ".local/share/heavylegs"))


DbOption = typer.Option(None, "--db", help="SQLite store (default: $HEAVYLEGS_HOME/heavylegs.db)")


def db_path(db: Path | None) -> Path:
    return db if db is not None else default_home() / "heavylegs.db"
