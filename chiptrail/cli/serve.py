"""``chiptrail serve``: the HTTP API and dashboard (FastAPI + uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from chiptrail.cli.context import DbOption, err_console, get_settings, require_database


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="TCP port (in use: exit 69, see docs).")
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes (signature checks and JSON use every core; each process "
            "group-commits its custody events, and the log lock makes their batches take turns).",
        ),
    ] = 1,
    auth_cache_s: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=60.0,
            envvar="CHIPTRAIL_AUTH_CACHE_S",
            help="Seconds a process trusts a bearer token it checked (a revoked token works "
            "this much longer; 0: one database read per request).",
        ),
    ] = 2.0,
    db: DbOption = None,
) -> None:
    """Run the HTTP API (OpenAPI at /openapi.json) and the dashboard.

    Example: chiptrail serve --port 8000 --workers 2
    """
    import os

    import uvicorn

    from chiptrail.api.app import create_app
    from chiptrail.store.migrate import open_database

    settings = get_settings(db)
    require_database(settings, db)
    _check_port_free(host, port)
    os.environ["CHIPTRAIL_AUTH_CACHE_S"] = str(auth_cache_s)
    if workers > 1:
        open_database(settings.database_url).dispose()  # migrate once, before the workers
        os.environ["CHIPTRAIL_DB"] = settings.database_url
        os.environ["CHIPTRAIL_DATA_DIR"] = str(settings.data_dir)
        err_console.print(f"chiptrail serving on http://{host}:{port}/ with {workers} workers")
        uvicorn.run(
            "chiptrail.api.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )
        return
    application = create_app(settings)
    err_console.print(
        f"chiptrail serving on http://{host}:{port}/ (database {settings.database_url})\n"
        f"  dashboard: http://{host}:{port}/ui/   API docs: http://{host}:{port}/docs\n"
        "  get an admin key: chiptrail keys create --role admin" + (f" --db {db}" if db else "")
    )
    uvicorn.run(application, host=host, port=port, log_level="info")


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on (exit 69) before starting anything.

    Raises:
        Unavailable: the address is in use or cannot be bound.
    """
    import socket

    from chiptrail.errors import Unavailable

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # as uvicorn does: connections of a killed server still in TIME_WAIT must not block a
        # restart on the same port (the kill -9 test restarts at once); a listener still does
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise Unavailable(
                f"cannot listen on {host}:{port} ({exc.strerror}); stop the other server or "
                "pick another --port",
                {"field": "port", "value": port},
            ) from exc


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the root app."""
    app.command("serve")(serve)
