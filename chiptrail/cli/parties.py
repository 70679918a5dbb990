"""CLI commands of the parties capability (registered on the root app by ``register``)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this capability's commands and groups to the root app."""
