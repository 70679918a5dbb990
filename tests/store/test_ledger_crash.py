"""Durability and sequencing: kill -9 mid-batch loses nothing acknowledged and leaves no partial
batch; concurrent submitters get a gap-free, duplicate-free log. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import func, select

from chiptrail.ledger import merkle
from chiptrail.ledger.entries import decode_entry
from chiptrail.service.ledger import events as svc
from chiptrail.service.ledger import rows
from chiptrail.store.database import Database
from chiptrail.store.ledger_tables import log_head_table, log_leaves_table
from chiptrail.store.migrate import open_database
from tests.ledger.helpers import NOW, chip, document, envelope, event, signer

REPO = Path(__file__).resolve().parents[2]
BATCH = 40

CHILD = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from chiptrail.service.ledger import events as svc
    from chiptrail.store.migrate import open_database
    from tests.ledger.helpers import chip, document, envelope, event
    db = open_database(sys.argv[1])
    batch = int(sys.argv[2])
    n = 0
    while True:
        events = [event("commissioning", [chip(n * batch + i)]) for i in range(batch)]
        env = envelope("vendor", 1, document(*events), f"nonce-{n:06d}", at=datetime.now(UTC))
        result = svc.submit_envelopes(db, [env.to_bytes()], now=datetime.now(UTC))
        print("ACK", " ".join(r.event_id for r in result.receipts), flush=True)
        n += 1
    """
)


def _setup(db: Database) -> None:
    svc.register_party(db, party_id="vendor", name="V", country="US", kind="Company", now=NOW)
    svc.add_party_key(db, party_id="vendor", public_key=signer(1).public_key, now=NOW)


def _check_log(db: Database) -> list[Mapping[str, object]]:
    """The head, the leaves and the stored tree agree; returns the entries' (private) bodies."""
    with db.unit() as conn:
        size = int(conn.execute(select(log_head_table.c.size)).scalar_one())
        count = conn.execute(select(func.count()).select_from(log_leaves_table)).scalar_one()
        indexes = [r[0] for r in conn.execute(select(log_leaves_table.c.leaf_index))]
        leaves = rows.read_leaves(conn, 0, size)
        root = merkle.root_at(rows.SqlNodeStore(conn), size)
    assert count == size
    assert sorted(indexes) == list(range(size))
    assert root == merkle.root_from_leaf_hashes([merkle.hash_leaf(e) for e, _ in leaves])
    return [decode_entry(e, d).body for e, d in leaves]


def test_kill_9_mid_batch_keeps_every_acknowledged_entry(db_url: str) -> None:
    db = open_database(db_url)
    _setup(db)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, str(BATCH)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert child.stdout is not None
    acked: list[str] = []
    for _ in range(3):
        line = child.stdout.readline()
        assert line.startswith("ACK"), line
        acked += line.split()[1:]
    time.sleep(0.05)  # let it get into the next batch
    child.send_signal(signal.SIGKILL)
    child.wait()
    rest = child.stdout.read()
    child.stdout.close()
    for line in rest.splitlines():  # lines printed before the kill were acknowledged too
        if line.startswith("ACK"):
            acked += line.split()[1:]
    entries = _check_log(db)
    logged = [e.get("event_id") for e in entries]
    assert set(acked) <= set(logged)
    per_envelope: dict[object, int] = {}
    for e in entries:
        body = e
        if "envelope_sha256" in body:
            per_envelope[body["envelope_sha256"]] = per_envelope.get(body["envelope_sha256"], 0) + 1
    assert set(per_envelope.values()) == {BATCH}  # no partial batch
    db.dispose()


def test_concurrent_submitters_get_no_gaps_or_duplicates(database: Database) -> None:
    _setup(database)
    errors: list[BaseException] = []

    def submit(worker: int) -> None:
        try:
            for n in range(5):
                events = [
                    event("commissioning", [chip(worker * 1000 + n * 10 + i)]) for i in range(3)
                ]
                env = envelope("vendor", 1, document(*events), f"w{worker}-n{n:04d}")
                svc.submit_envelopes(database, [env.to_bytes()], now=NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    entries = _check_log(database)
    ids = [e.get("event_id") for e in entries[2:]]
    assert len(ids) == len(set(ids)) == 4 * 5 * 3
    assert json.dumps(ids)  # every event id is a string
