"""``chiptrail serve``: the HTTP API and dashboard (FastAPI + uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from chiptrail.cli.context import DbOption, err_console, get_settings


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: DbOption = None,
) -> None:
    """Run the HTTP API (OpenAPI at /openapi.json) and the dashboard.

    Example: chiptrail serve --port 8000
    """
    import uvicorn

    from chiptrail.api.app import create_app

    settings = get_settings(db)
    application = create_app(settings)
    err_console.print(
        f"chiptrail serving on http://{host}:{port}/ (database {settings.database_url})\n"
        f"  dashboard: http://{host}:{port}/ui/   API docs: http://{host}:{port}/docs\n"
        "  get an admin key: chiptrail keys create --role admin" + (f" --db {db}" if db else "")
    )
    uvicorn.run(application, host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the root app."""
    app.command("serve")(serve)
