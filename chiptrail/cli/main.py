"""The root ``chiptrail`` command: wires every capability's sub-commands and maps errors.

Each capability module exposes ``register(app)``; this module owns no command logic of its own.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer
import typer._click.exceptions as click_exceptions
from rich.markup import escape
from typer._click.core import Context as ClickContext
from typer.core import TyperGroup

from chiptrail import __version__
from chiptrail.cli import (
    audit,
    batch,
    db,
    geoloc,
    hardware,
    ledger,
    parties,
    probe,
    rules,
    serve,
    service,
)
from chiptrail.cli.context import err_console
from chiptrail.cli.errors import EXIT_INTERNAL, exit_code_for
from chiptrail.errors import ChiptrailError

log = logging.getLogger(__name__)


class GuardedGroup(TyperGroup):
    """Root group that turns chiptrail errors into a one-line message and an exit code."""

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


for module in (
    hardware,
    ledger,
    audit,
    geoloc,
    probe,
    parties,
    rules,
    batch,
    service,
    db,
    serve,
):
    module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
