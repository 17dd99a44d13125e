"""Options more than one command takes."""

from __future__ import annotations

import typer

DbOption = typer.Option(None, "--db", help="SQLite store (default: $HEAVYLEGS_HOME/heavylegs.db)")
