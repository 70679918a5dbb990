"""Settings: --db beats CHIPTRAIL_DB beats CHIPTRAIL_DATABASE_URL beats the default file."""

from __future__ import annotations

from pathlib import Path

import pytest

from chiptrail.errors import InvalidInput
from chiptrail.service.settings import database_url_from, load_settings


def test_precedence(tmp_path: Path) -> None:
    env = {"CHIPTRAIL_DATA_DIR": str(tmp_path), "CHIPTRAIL_DATABASE_URL": "sqlite:///a.db"}
    assert load_settings(env).database_url == "sqlite:///a.db"
    env["CHIPTRAIL_DB"] = "postgresql://u@h/d"
    assert load_settings(env).database_url == "postgresql+psycopg://u@h/d"
    assert load_settings(env, "sqlite:///c.db").database_url == "sqlite:///c.db"


def test_default_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    s = load_settings({"CHIPTRAIL_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'chiptrail.db'}"


def test_empty_db_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="database"):
        database_url_from("  ")
