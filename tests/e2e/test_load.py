"""A bounded load test on loopback: concurrent submitters against a real ``chiptrail serve``.

N submitters, each with its own API key, push signed custody events and signed measurements
through an async httpx client. Afterwards every acknowledged submission is stored exactly once and
the log verifies under the independent auditor. Figures go to test-output/load-*.json (and
docs/reliability.md); nothing here asserts a timing.
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
    audit_log,
    create_role_keys,
    event_workload,
    has_route,
    measurement_workload,
    register_event_parties,
    register_measurement_fixtures,
    run_load,
    split,
)
from tests.conftest import fresh_pg_database

SUBMITTERS = 8
CHIPS, ROUNDS = 8, 10  # 80 measurement submissions
EVENTS_PER_PARTY = 12  # 96 event submissions
TIME_LIMIT_S = 120.0
OUT = Path(__file__).resolve().parents[2] / "test-output"

pytestmark = pytest.mark.slow


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, str], str]]:
    tmp_path = tmp_path_factory.mktemp(f"load-{request.param}")
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'load.db'}"])
    else:
        urls = fresh_pg_database()
    url = next(urls)
    try:
        with live_server(url, tmp_path) as server:
            admin = {"Authorization": f"Bearer {create_key_in_process(url, 'admin')}"}
            yield server, admin, request.param
    finally:
        for _ in urls:  # finish the generator: drops the PostgreSQL database
            pass


def _record(name: str, figures: dict[str, object]) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / f"load-{name}.json").write_text(json.dumps(figures, indent=2))
    print(f"\nload {name}: {figures}")  # noqa: T201


def test_concurrent_event_submitters_lose_and_duplicate_nothing(
    served: tuple[LiveServer, dict[str, str], str], tmp_path: Path
) -> None:
    server, admin, engine = served
    if not has_route(server.base_url, "post", "/v1/events"):
        pytest.skip("the ledger's POST /v1/events is not in this build")
    parties, work = event_workload(SUBMITTERS, EVENTS_PER_PARTY)
    keys = register_event_parties(server.base_url, admin, parties)
    before = audit_log(server.db_url, server.data_dir, tmp_path / "before")

    out = asyncio.run(
        run_load(server.base_url, list(zip(keys, work, strict=True)), time_limit_s=TIME_LIMIT_S)
    )

    assert out.failed == []
    submitted = {s.ident for subs in work for s in subs}
    assert out.acknowledged == submitted
    after = audit_log(server.db_url, server.data_dir, tmp_path / "after")
    assert after.contiguous
    assert after.entries_checked == after.size
    assert after.event_leaves - before.event_leaves == len(submitted)
    assert after.distinct_event_ids == after.event_leaves
    _record(f"events-{engine}", {"engine": engine, "submitters": SUBMITTERS, **out.figures()})


def test_concurrent_measurement_submitters_lose_and_duplicate_nothing(
    served: tuple[LiveServer, dict[str, str], str],
) -> None:
    server, admin, engine = served
    devices, subs = measurement_workload(CHIPS, ROUNDS)
    register_measurement_fixtures(server.base_url, admin, devices)
    keys = create_role_keys(server.base_url, admin, "landmark", "landmark-org", SUBMITTERS)

    work = list(zip(keys, split(subs, SUBMITTERS), strict=True))
    out = asyncio.run(run_load(server.base_url, work, time_limit_s=TIME_LIMIT_S))

    assert out.failed == []
    assert out.acknowledged == {s.ident for s in subs}
    engine_ = create_engine(server.db_url)
    with engine_.connect() as conn:
        stored, distinct = conn.execute(
            text("SELECT COUNT(*), COUNT(DISTINCT nonce) FROM measurements")
        ).one()
    engine_.dispose()
    assert stored == distinct == len(subs)  # nothing lost, nothing duplicated
    _record(f"measurements-{engine}", {"engine": engine, "submitters": SUBMITTERS, **out.figures()})
