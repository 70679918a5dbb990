"""A bounded load test on loopback: concurrent submitters against a real ``chiptrail serve``.

N submitters (each with its own key) push signed measurements (and custody events, once the
ledger's ``POST /v1/events`` exists) through an async httpx client; afterwards the store holds
each acknowledged submission exactly once. Figures go to test-output/load-*.json and
docs/reliability.md; nothing here asserts a timing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.api.live import LiveServer, create_key_in_process, live_server
from tests.api.load import (
    create_role_keys,
    measurement_workload,
    register_measurement_fixtures,
    run_load,
)
from tests.conftest import fresh_pg_database

SUBMITTERS = 8
CHIPS = 16
ROUNDS = 10  # measurements per chip: 160 submissions
TIME_LIMIT_S = 120.0
OUT = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'load.db'}"])
    else:
        urls = fresh_pg_database()
    url = next(urls)
    try:
        with live_server(url, tmp_path) as server:
            yield server, request.param
    finally:
        for _ in urls:  # finish the generator: drops the PostgreSQL database
            pass


def _count(db_url: str, sql: str) -> tuple[int, ...]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(sql)).one()
    finally:
        engine.dispose()
    return tuple(int(v) for v in row)


@pytest.mark.slow
def test_concurrent_measurements_are_stored_exactly_once(served: tuple[LiveServer, str]) -> None:
    server, engine = served
    admin = {"Authorization": f"Bearer {create_key_in_process(server.db_url, 'admin')}"}
    devices, subs = measurement_workload(CHIPS, ROUNDS)
    register_measurement_fixtures(server.base_url, admin, devices)
    submitters = create_role_keys(server.base_url, admin, "landmark", "landmark-org", SUBMITTERS)

    out = asyncio.run(run_load(server.base_url, submitters, subs, time_limit_s=TIME_LIMIT_S))

    assert out.failed == []
    assert out.acknowledged == {s.ident for s in subs}
    stored, distinct = _count(
        server.db_url, "SELECT COUNT(*), COUNT(DISTINCT nonce) FROM measurements"
    )
    assert stored == distinct == len(subs)  # nothing lost, nothing duplicated
    figures = {"engine": engine, "submitters": SUBMITTERS, **out.figures()}
    OUT.mkdir(exist_ok=True)
    (OUT / f"load-measurements-{engine}.json").write_text(json.dumps(figures, indent=2))
    print(f"\nload measurements {figures}")  # noqa: T201
