"""Progress on stderr for the commands that can run long: a spinner or a bar naming the step, on a
terminal; stdout (JSON) stays clean."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from chiptrail.cli import context
from chiptrail.cli.main import app

runner = CliRunner()
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "parties"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a terminal would get it (rich draws nothing live when stderr is a pipe)."""
    screen = io.StringIO()
    fake = Console(file=screen, force_terminal=True, width=160, emoji=False)
    monkeypatch.setattr(context, "err_console", fake)
    return screen


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "p.db"
    assert runner.invoke(app, ["db", "upgrade", "--db", str(path)]).exit_code == 0
    return str(path)


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["rules", "run", "--json"], "running the rules over 0 chips and 0 events"),
        (["log", "rebuild"], "replaying log entries"),
        (["lists", "load", str(VECTORS / "csl.csv")], "loading 1 list file(s)"),
        (["log", "export", "{tmp}/export"], "exporting the log's tiles"),
    ],
    ids=["rules run", "log rebuild", "lists load", "log export"],
)
def test_long_commands_show_their_step_on_stderr(
    terminal: io.StringIO, db: str, tmp_path: Path, args: list[str], shown: str
) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(app, [*argv, "--db", db])
    assert result.exit_code == 0, result.output
    assert shown in terminal.getvalue()
    assert "\x1b[?25l" in terminal.getvalue()  # the live display hid the cursor, then cleared
    if "--json" in argv:
        json.loads(result.stdout)  # nothing but JSON on stdout


def test_progress_draws_nothing_on_a_pipe(db: str) -> None:
    result = runner.invoke(app, ["rules", "run", "--json", "--db", db])
    assert result.exit_code == 0
    assert "running the rules" not in result.output
