"""Commands for boards on USB: flash, pull, doctor (issue 7)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """No USB commands yet."""
