"""Several server processes, one log: ``chiptrail serve --workers 2`` under concurrent signed
events. Each process group-commits its own requests and the log head's lock makes the groups take
turns, so the log stays one gapless sequence with every acknowledged event exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.live import LiveServer, create_key_in_process, live_server
from tests.api.load import audit_log, event_workload, register_event_parties, run_load
from tests.conftest import fresh_pg_database

SUBMITTERS = 8
EVENTS_PER_PARTY = 10
TIME_LIMIT_S = 150.0

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path / 'workers.db'}"])
    else:
        urls = fresh_pg_database()
    url = next(urls)
    try:
        with live_server(url, tmp_path, ("--workers", "2")) as server:
            yield server, f"Bearer {create_key_in_process(url, 'admin')}"
    finally:
        for _ in urls:  # finish the generator: drops the PostgreSQL database
            pass


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_two_worker_processes_keep_one_log(served: tuple[LiveServer, str], tmp_path: Path) -> None:
    server, admin = served
    assert server.process is not None
    assert len(_children(server.process.pid)) >= 2  # the worker processes
    parties, work = event_workload(SUBMITTERS, EVENTS_PER_PARTY)
    keys = register_event_parties(server.base_url, {"Authorization": admin}, parties)
    out = asyncio.run(
        run_load(server.base_url, list(zip(keys, work, strict=True)), time_limit_s=TIME_LIMIT_S)
    )
    assert out.failed == []
    submitted = {s.ident for subs in work for s in subs}
    assert out.acknowledged == submitted
    audit = audit_log(server.db_url, server.data_dir, tmp_path / "export")
    assert audit.contiguous
    assert audit.entries_checked == audit.size
    assert audit.event_leaves == audit.distinct_event_ids == len(submitted)
