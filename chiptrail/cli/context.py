"""What every command shares: the ``--db`` and ``--json`` options, settings, output helpers and
the progress shown on stderr while a long command works."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from chiptrail.cli.output import emit_json as emit_json
from chiptrail.cli.output import stdout_console
from chiptrail.cli.output import to_json as to_json
from chiptrail.service.settings import Settings, load_settings
from chiptrail.store.database import Database
from chiptrail.store.migrate import open_database

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database: a SQLite file path or a postgresql+psycopg:// URL "
        "(default: $CHIPTRAIL_DB, else a file under the user data dir).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
GridOpt = Annotated[
    int,
    typer.Option(
        "--grid-size", min=4, max=256, help="Meridian scanlines per pass (K, default 24)."
    ),
]
"""The region solver's scanlines per pass (geoloc LocateOptions.grid_size)."""

err_console = Console(stderr=True, emoji=False)
out_console = stdout_console()


@contextmanager
def working(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner with the current step and the elapsed time on stderr while a command works
    (cleared when it ends; nothing drawn when stderr is not a terminal). Yields ``step(text)``,
    which draws the new step at once."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(message, total=None)

        def step(text: str) -> None:
            bar.update(task, description=text)
            bar.refresh()  # a step is news: draw it now, not at the next tick

        yield step


@contextmanager
def counting(message: str) -> Iterator[Callable[[int, int], None]]:
    """A bar with done/total and the elapsed time on stderr (as ``working``). Yields
    ``update(done, total)``."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(message, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def get_settings(db: str | None = None) -> Settings:
    """Settings from the environment and an optional ``--db`` value."""
    return load_settings(os.environ, db)


CREATE_ENV = "CHIPTRAIL_CREATE_DB"
"""Set to 1 to let any command create a missing SQLite database named by --db/CHIPTRAIL_DB."""


def require_database(settings: Settings, db: str | None, *, create: bool = False) -> None:
    """Refuse a named SQLite file that does not exist (a mistyped ``--db`` must not silently
    start an empty database); the default under the data dir, ``create`` and
    ``CHIPTRAIL_CREATE_DB=1`` may create it.

    Raises:
        InvalidInput: the file is missing (exit 2), saying how to create it.
    """
    from chiptrail.errors import InvalidInput

    named = db is not None or bool(os.environ.get("CHIPTRAIL_DB"))
    url = settings.database_url
    allowed = create or os.environ.get(CREATE_ENV, "").strip().lower() in ("1", "true", "yes")
    if not named or allowed or not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    if str(path) not in ("", ":memory:") and not path.exists():
        raise InvalidInput(
            f"no database at {path}: create it with `chiptrail db upgrade --db {path}` (or "
            f"`chiptrail demo --db {path}`), or set {CREATE_ENV}=1",
            {"field": "db", "value": str(path)},
        )


def open_db(db: str | None = None, *, create: bool = False) -> Database:
    """Open (and if needed migrate) the configured database; a named SQLite file must exist
    unless ``create`` (see ``require_database``).

    Raises:
        InvalidInput: missing or not a database (exit 2). Unavailable: cannot connect (exit 69).
    """
    settings = get_settings(db)
    require_database(settings, db, create=create)
    return open_database(settings.database_url)


def open_output(path: str) -> TextIO:
    """Open ``path`` for writing text; ``-`` means stdout."""
    if path == "-":
        return sys.stdout
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return open(path, "w", encoding="utf-8")


def read_input(path: str) -> bytes:
    """Read ``path`` as bytes; ``-`` means stdin. Missing files are bad input."""
    from chiptrail.errors import InvalidInput

    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"{path}: no such file", {"field": "path", "value": path})
    return p.read_bytes()
