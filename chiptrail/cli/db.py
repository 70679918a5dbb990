"""``chiptrail db``: database migrations."""

from __future__ import annotations

import typer

from chiptrail.cli.context import DbOption, JsonOption, emit_json, get_settings, out_console
from chiptrail.store.database import make_engine
from chiptrail.store.migrate import current_revision, head_revision, upgrade

db_app = typer.Typer(help="Database schema management (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Apply every pending migration.

    Example: chiptrail db upgrade --db ./chiptrail.db
    """
    settings = get_settings(db)
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    engine.dispose()
    url = engine.url.render_as_string(hide_password=True)
    if json_out:
        emit_json({"database": url, "from": before, "to": after})
    else:
        out_console.print(f"{url}: {before or 'empty'} -> {after}")


@db_app.command("status")
def status_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Show the current and newest schema revision.

    Example: chiptrail db status
    """
    settings = get_settings(db)
    engine = make_engine(settings.database_url)
    cur, head = current_revision(engine), head_revision()
    engine.dispose()
    if json_out:
        emit_json({"current": cur, "head": head, "up_to_date": cur == head})
    else:
        out_console.print(f"current {cur or 'empty'}, head {head}")


def register(app: typer.Typer) -> None:
    """Add ``db`` to the root app."""
    app.add_typer(db_app, name="db")
