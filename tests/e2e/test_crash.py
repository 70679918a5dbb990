"""Crash safety: the server is killed with SIGKILL in the middle of a load of signed custody events
and restarted on the same database. Clients retry idempotently (a replay refusal on a retry means
the first attempt landed); afterwards every acknowledged event is in the log exactly once and the
log verifies under the independent auditor.
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
    Outcome,
    audit_log,
    event_workload,
    has_route,
    register_event_parties,
    run_load,
)
from tests.conftest import fresh_pg_database

SUBMITTERS = 6
EVENTS_PER_PARTY = 8  # 48 events
KILL_AFTER_ACKS = 16
TIME_LIMIT_S = 150.0
OUT = Path(__file__).resolve().parents[2] / "test-output"

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[LiveServer, dict[str, str], str]]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'crash.db'}"])
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


async def _load_with_kill(
    server: LiveServer, work: list[tuple[dict[str, str], list[object]]], out: Outcome
) -> dict[str, float]:
    chaos: dict[str, float] = {}

    async def kill_and_restart() -> None:
        while len(out.acknowledged) < KILL_AFTER_ACKS:
            await asyncio.sleep(0.01)
        chaos["acked_before_kill"] = len(out.acknowledged)
        server.kill()  # SIGKILL: no shutdown handlers, in-flight requests lost
        chaos["requests_before_kill"] = len(out.latencies_s)
        await asyncio.to_thread(server.start)

    load = run_load(server.base_url, work, time_limit_s=TIME_LIMIT_S, out=out)  # type: ignore[arg-type]
    await asyncio.gather(load, kill_and_restart())
    return chaos


def test_kill_9_during_load_loses_no_acknowledged_event(
    served: tuple[LiveServer, dict[str, str], str], tmp_path: Path
) -> None:
    server, admin, engine = served
    if not has_route(server.base_url, "post", "/v1/events"):
        pytest.skip("the ledger's POST /v1/events is not in this build")
    parties, work = event_workload(SUBMITTERS, EVENTS_PER_PARTY)
    keys = register_event_parties(server.base_url, admin, parties)
    old_pid = server.process.pid if server.process else None

    out = Outcome()
    chaos = asyncio.run(_load_with_kill(server, list(zip(keys, work, strict=True)), out))

    assert server.process is not None
    assert server.process.pid != old_pid  # it really was restarted
    assert chaos["acked_before_kill"] >= KILL_AFTER_ACKS
    assert out.failed == []
    submitted = {s.ident for subs in work for s in subs}
    assert out.acknowledged == submitted
    db = create_engine(server.db_url)
    with db.connect() as conn:
        nonces = [r[0] for r in conn.execute(text("SELECT nonce FROM ledger_submissions"))]
    db.dispose()
    assert sorted(nonces) == sorted(submitted)  # every acknowledged event, once
    audit = audit_log(server.db_url, server.data_dir, tmp_path / "export")
    assert audit.contiguous
    assert audit.entries_checked == audit.size
    assert audit.event_leaves == audit.distinct_event_ids == len(submitted)
    figures = {"engine": engine, **chaos, **out.figures()}
    OUT.mkdir(exist_ok=True)
    (OUT / f"crash-{engine}.json").write_text(json.dumps(figures, indent=2))
    print(f"\ncrash {engine}: {figures}")  # noqa: T201
