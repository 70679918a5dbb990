"""The unit of work lands whole or not at all, on every engine."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chiptrail.errors import InvalidInput
from chiptrail.store.base_tables import meta_table
from chiptrail.store.database import Database, make_engine


def test_unit_commits(database: Database) -> None:
    with database.unit() as conn:
        conn.execute(meta_table.insert().values(key="k", value="v"))
    with database.unit() as conn:
        assert conn.execute(select(meta_table.c.value)).scalar_one() == "v"


def test_unit_rolls_back_on_error(database: Database) -> None:
    def write_then_fail() -> None:
        with database.unit() as conn:
            conn.execute(meta_table.insert().values(key="half", value="written"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_then_fail()
    with database.unit() as conn:
        assert conn.execute(select(meta_table)).all() == []


@pytest.mark.parametrize("url", ["mysql://x/y", "not a url"], ids=["unsupported", "garbage"])
def test_bad_urls_are_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInput, match="database"):
        make_engine(url)
