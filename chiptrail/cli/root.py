"""The root ``chiptrail`` command: wires every capability's sub-commands and maps errors.

Each capability module exposes ``register(app)``; this module owns no command logic of its own.
The console script enters through ``chiptrail.cli.main``, which answers ``chiptrail screen NAME``
without importing this module when it can.
"""

from __future__ import annotations

import importlib
import logging
from functools import cache
from typing import Annotated, Any

import typer
import typer._click.exceptions as click_exceptions
import typer.main
from rich.markup import escape
from typer._click.core import Command as ClickCommand
from typer._click.core import Context as ClickContext
from typer.core import TyperGroup

from chiptrail import __version__
from chiptrail.cli.context import err_console
from chiptrail.cli.errors import EXIT_INTERNAL, exit_code_for
from chiptrail.errors import ChiptrailError

log = logging.getLogger(__name__)


# Top-level command name -> the chiptrail.cli module whose ``register(app)`` defines it. Modules
# are imported only when one of their commands runs, so ``chiptrail db status`` does not pay for
# importing Spark, FollowTheMoney and matplotlib.
COMMAND_MODULES: dict[str, str] = {
    "classify": "hardware",
    "license-check": "hardware",
    "hardware": "hardware",
    "party": "ledger",
    "events": "ledger",
    "chip": "ledger",
    "log": "ledger",
    "audit": "audit",
    "witness": "witness",
    "geoloc": "geoloc",
    "landmark": "probe",
    "agent": "probe",
    "measurements": "probe",
    "screen": "parties",
    "lists": "parties",
    "parties": "parties",
    "records": "records",
    "demo": "rules",
    "evaluate": "rules",
    "redteam": "rules",
    "rules": "rules",
    "findings": "rules",
    "cases": "cases",
    "batch": "batch",
    "keys": "service",
    "db": "db",
    "serve": "serve",
}


@cache
def _module_commands(module: str) -> dict[str, ClickCommand]:
    """Import ``chiptrail.cli.<module>`` and build the click commands its ``register`` adds."""
    sub = typer.Typer()
    importlib.import_module(f"chiptrail.cli.{module}").register(sub)
    built = typer.main.get_command(sub)
    commands: dict[str, ClickCommand] | None = getattr(built, "commands", None)
    if commands is None:  # a Typer with one command collapses to that command
        return {built.name or module: built}
    return dict(commands)


class GuardedGroup(TyperGroup):
    """Root group: loads capability commands lazily and turns chiptrail errors into a one-line
    message and an exit code."""

    def list_commands(self, ctx: ClickContext) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: ClickContext, cmd_name: str) -> ClickCommand | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in COMMAND_MODULES:
            found = _module_commands(COMMAND_MODULES[cmd_name]).get(cmd_name)
        return found

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except ChiptrailError as exc:
            err_console.print(
                f"[bold red]error[/] {escape(f'[{exc.code}]')}: {escape(exc.message)}",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(exit_code_for(exc)) from exc
        except (typer.Exit, typer.Abort, click_exceptions.ClickException):
            raise
        except Exception as exc:
            log.exception("internal error")
            err_console.print(
                f"[bold red]internal error[/]: {type(exc).__name__}: {escape(str(exc))}"
            )
            raise typer.Exit(EXIT_INTERNAL) from exc


app = typer.Typer(
    cls=GuardedGroup,
    name="chiptrail",
    help="Trace export-controlled AI accelerators after sale: custody ledger, location "
    "verification, restricted-party screening and diversion rules.\n\n"
    "Exit codes: 0 ok, 1 finding or verification failure, 2 bad input, 69 unavailable, "
    "70 internal error.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chiptrail {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log to stderr.")] = False,
) -> None:
    """chiptrail: custody ledger, location verification, screening and diversion rules."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
