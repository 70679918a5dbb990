"""FastAPI dependencies shared by routes: the settings and the database of this app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from chiptrail.service.ledger.sequencer import Sequencer
from chiptrail.service.settings import Settings
from chiptrail.store.database import Database


def get_settings(request: Request) -> Settings:
    """The app's frozen settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    """The app's database (opened and migrated at start-up)."""
    db: Database = request.app.state.database
    return db


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def get_sequencer(request: Request) -> Sequencer:
    """The app's group-commit sequencer for the custody log (one per process)."""
    sequencer: Sequencer = request.app.state.sequencer
    return sequencer
