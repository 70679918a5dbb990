"""The FastAPI application factory: one app per Settings, every capability's router included."""

from __future__ import annotations

from fastapi import FastAPI

from chiptrail import __version__
from chiptrail.api.errors import install_error_handlers
from chiptrail.api.routes import geoloc, hardware, health, ledger, parties, probe, rules, service
from chiptrail.service.settings import Settings
from chiptrail.store.migrate import open_database


def create_app(settings: Settings) -> FastAPI:
    """Build the app; opens (and migrates) the database named in ``settings``."""
    app = FastAPI(
        title="chiptrail",
        version=__version__,
        description="Traceability for export-controlled AI accelerators.",
    )
    app.state.settings = settings
    app.state.database = open_database(settings.database_url)
    install_error_handlers(app)
    for module in (health, hardware, ledger, geoloc, probe, parties, rules, service):
        app.include_router(module.router)
    return app
