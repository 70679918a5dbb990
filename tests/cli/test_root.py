"""The root command: version, help everywhere, db upgrade, error mapping to exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer._click.core import Command as ClickCommand
from typer._click.core import Context as ClickContext
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from chiptrail import __version__
from chiptrail.cli.main import COMMAND_MODULES, app

runner = CliRunner()


def _all_command_paths() -> list[list[str]]:
    root = get_command(app)
    paths: list[list[str]] = []

    def walk(cmd: ClickCommand, path: list[str]) -> None:
        paths.append(path)
        if isinstance(cmd, TyperGroup):
            ctx = ClickContext(cmd)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None, f"{name} is listed but cannot be loaded"
                walk(sub, [*path, name])

    walk(root, [])
    return paths


def test_every_capability_is_reachable() -> None:
    names = {p[0] for p in _all_command_paths() if p}
    assert set(COMMAND_MODULES) <= names
    assert {"classify", "demo", "screen", "geoloc", "audit", "events", "batch", "serve"} <= names


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize("path", _all_command_paths(), ids=lambda p: " ".join(p) or "root")
def test_help_everywhere(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_db_upgrade_then_status(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    up = runner.invoke(app, ["db", "upgrade", "--db", db, "--json"])
    assert up.exit_code == 0, up.output
    assert json.loads(up.stdout)["from"] is None
    st = runner.invoke(app, ["db", "status", "--db", db, "--json"])
    assert json.loads(st.stdout)["up_to_date"] is True


def test_bad_database_url_exits_2() -> None:
    result = runner.invoke(app, ["db", "status", "--db", "mysql://h/d"])
    assert result.exit_code == 2
    assert "unsupported database" in result.output
