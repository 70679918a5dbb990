"""The custody log's group append on PostgreSQL, in one process, without HTTP.

Signs and prepares (parses, verifies) single-event envelopes before the clock starts, then
appends them in groups of G with ``append_group_on`` on one ``GroupSession``, each commit reading
ahead for the next group (as the sequencer thread does). Prints, per group size, the wall and
the thread CPU time per group and the events a second: the most the sequencer can take on this
machine when nothing else runs. ``--busy-thread`` runs a pure-Python loop in a second thread
of the same process (what a server's event loop is to its sequencer thread): the interpreter lock
then delays every return from a database wait.

    PYTHONPATH=. python benchmarks/bench_sequencer.py --groups 1,3,8,32 --batches 200
    PYTHONPATH=. python benchmarks/bench_sequencer.py --groups 3 --busy-thread
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from load_http import PG_ADMIN_URL, _epcis  # noqa: E402

from chiptrail.crypto import Ed25519Signer  # noqa: E402
from chiptrail.ledger.submission import sign_submission  # noqa: E402
from chiptrail.service.ledger import events as svc  # noqa: E402
from chiptrail.service.ledger.group import GroupReads  # noqa: E402
from chiptrail.service.ledger.sequencer import (  # noqa: E402
    GroupSession,
    PreparedSubmission,
    append_group_on,
    prepare_submission,
)
from chiptrail.store.migrate import open_database  # noqa: E402


def run(group: int, batches: int, busy: bool) -> dict[str, float]:
    import psycopg

    admin_url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    name = "chiptrail_seq_" + uuid.uuid4().hex[:10]
    admin = psycopg.connect(admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        db = open_database(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
        now = datetime.now(UTC)
        signer = Ed25519Signer(os.urandom(32))
        svc.register_party(db, party_id="p1", name="p1", country="US", kind="Company", now=now)
        svc.add_party_key(db, party_id="p1", public_key=signer.public_key, now=now)
        prepared: list[PreparedSubmission] = []
        for i in range(group * batches):
            payload = _epcis(f"urn:epc:id:sgtin:0614141.seq.{i}", now - timedelta(seconds=i))
            env = sign_submission(
                payload, party_id="p1", signer=signer, nonce=f"n-{i:07d}", signed_at=now
            )
            prepared.append(prepare_submission(db, [env.to_json()], now=now))
        stop = threading.Event()

        def spin() -> None:
            x = 0
            while not stop.is_set():
                for i in range(1000):
                    x += i

        if busy:
            threading.Thread(target=spin, daemon=True).start()
        session = GroupSession(db)
        reads: GroupReads | None = None
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        for b in range(batches):
            this = prepared[b * group : (b + 1) * group]
            ahead = prepared[(b + 1) * group : (b + 2) * group]
            out = append_group_on(session, this, now, reads, (lambda a=ahead: a) if ahead else None)
            reads = out.ahead_reads
        wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
        stop.set()
        session.close()
        db.engine.dispose()
        return {
            "group": group,
            "busy_thread": busy,
            "wall_ms_per_group": round(wall / batches * 1000, 2),
            "cpu_ms_per_group": round(cpu / batches * 1000, 2),
            "events_per_s": round(group * batches / wall),
        }
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--groups", default="1,3,8,32", help="envelopes per group")
    parser.add_argument("--batches", type=int, default=200, help="groups per size")
    parser.add_argument("--busy-thread", action="store_true")
    args = parser.parse_args()
    import json

    for g in (int(x) for x in args.groups.split(",")):
        print(json.dumps(run(g, args.batches, args.busy_thread)), flush=True)


if __name__ == "__main__":
    main()
