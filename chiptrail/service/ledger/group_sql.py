"""An append's reads and writes on any engine (SQLAlchemy Core, one statement per table).

``read_state`` gathers the ``GroupReads`` of ``group.plan_append`` under the held head lock,
``write_rows`` stores its ``GroupWrites``; ``append_checked`` is the three in a row, the path of
``submit_envelopes``. ``SqlGroupStore`` runs them for the sequencer on SQLite; PostgreSQL's
sequencer uses ``group_pg.PgGroupStore``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, RootTransaction, select

from chiptrail.ledger import merkle
from chiptrail.ledger.custody import AssetState
from chiptrail.service.ledger import rows
from chiptrail.service.ledger.group import (
    Checked,
    FrontierCache,
    GroupReads,
    GroupWrites,
    SubmissionResult,
    plan_append,
    wanted_of,
)
from chiptrail.store.database import Database
from chiptrail.store.ledger_tables import submissions_table

_CHUNK = 400


def read_state(
    conn: Connection, size: int, checked: Sequence[Checked], frontier: FrontierCache | None = None
) -> GroupReads:
    """What appending ``checked`` to the log of ``size`` leaves reads (the head lock is held)."""
    want = wanted_of(checked)
    digests, nonces = _used(conn, want.digests, want.nonces)
    known = frontier.get(size) if frontier is not None else None
    if known is None:
        known = rows.SqlNodeStore(conn).get_nodes(merkle.frontier_keys(size))
    return GroupReads(
        size=size,
        keys=rows.get_keys(conn, want.key_ids),
        used_digests=frozenset(digests),
        used_nonces=frozenset(nonces),
        existing=rows.existing_event_leaves(conn, want.event_ids),
        makers=rows.load_makers(conn, want.maker_keys),
        assets=_assets_and_descendants(conn, want.epcs),
        frontier=known,
    )


def _assets_and_descendants(conn: Connection, epcs: Sequence[str]) -> dict[str, AssetState]:
    states = rows.load_assets(conn, epcs)
    parents = list(epcs)
    seen = set(epcs)
    while parents:
        kids = [k for k in rows.child_epcs(conn, parents) if k not in seen]
        seen.update(kids)
        states.update(rows.load_assets(conn, kids))
        parents = kids
    return states


def _used(
    conn: Connection, digests: Sequence[str], pairs: Sequence[tuple[str, str]]
) -> tuple[set[str], set[tuple[str, str]]]:
    """Envelope digests and (party, nonce) pairs already in the submissions table."""
    t = submissions_table
    found: set[str] = set()
    for start in range(0, len(digests), _CHUNK):
        chunk = list(digests[start : start + _CHUNK])
        query = select(t.c.envelope_sha256).where(t.c.envelope_sha256.in_(chunk))
        found.update(str(d) for d in conn.execute(query).scalars())
    # both IN lists use the (party_id, nonce) unique index; pairs of one party's id with
    # another party's nonce are dropped below
    wanted = set(pairs)
    parties = sorted({p for p, _ in wanted})
    all_nonces = sorted({n for _, n in wanted})
    nonces: set[tuple[str, str]] = set()
    for start in range(0, len(all_nonces), _CHUNK):
        chunk = all_nonces[start : start + _CHUNK]
        query = select(t.c.party_id, t.c.nonce).where(
            t.c.party_id.in_(parties), t.c.nonce.in_(chunk)
        )
        nonces.update((str(p), str(n)) for p, n in conn.execute(query) if (p, n) in wanted)
    return found, nonces


def write_rows(conn: Connection, writes: GroupWrites) -> None:
    """Store an append's rows and move the head (under the held lock)."""
    accepted = [(c.envelope, c.digest) for c in writes.submissions]
    rows.insert_submissions(conn, accepted, writes.received_at)
    if writes.leaves:
        rows.insert_event_leaves(conn, writes.leaves, writes.received_at)
        rows.SqlNodeStore(conn).put_nodes(writes.nodes)
        rows.set_log_size(conn, writes.size)
    rows.save_makers(conn, writes.makers)
    stored = {s.epc for s in writes.old_assets}
    rows.save_assets(conn, [*writes.new_assets, *writes.old_assets], stored)
    rows.save_history(conn, writes.history)
    rows.save_anomalies(conn, writes.anomalies)


def append_checked(
    conn: Connection, size: int, checked: Sequence[Checked], now: datetime
) -> SubmissionResult:
    """Append verified envelopes to the log of ``size`` leaves (the head lock is held).

    Raises:
        PermissionDenied: the custody chain refuses an event.
    """
    result, writes = plan_append(checked, read_state(conn, size, checked), now)
    write_rows(conn, writes)
    return result


class SqlGroupStore:
    """The sequencer's connection on any engine (kept between groups, dropped after a
    failure): one transaction a group, the head lock its first statement."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: Connection | None = None
        self._txn: RootTransaction | None = None

    def begin(self, checked: Sequence[Checked], frontier: FrontierCache) -> GroupReads:
        """Open a transaction, lock the head and read for ``checked``."""
        with self._db.failures():
            if self._conn is None:
                self._conn = self._db.engine.connect()
            self._txn = self._conn.begin()
            size = rows.lock_log_head(self._conn)
            return read_state(self._conn, size, checked, frontier)

    def commit(
        self,
        writes: GroupWrites,
        reads: GroupReads,
        ahead: Sequence[Checked],
        frontier: FrontierCache,
    ) -> GroupReads | None:
        """Store ``writes`` and commit (``frontier`` advanced); nothing is read ahead."""
        del ahead  # each group here begins with its own round trips
        assert self._conn is not None  # noqa: S101 - begin() ran
        assert self._txn is not None  # noqa: S101
        with self._db.failures():
            write_rows(self._conn, writes)
            self._txn.commit()
        self._txn = None
        frontier.advance(reads, writes)
        return None

    def rollback(self) -> None:
        """End the open transaction, if any, writing nothing."""
        txn, self._txn = self._txn, None
        if txn is not None and txn.is_active:
            try:
                txn.rollback()
            except Exception:  # a broken connection: open a new one next time
                self.close()
                raise

    def close(self) -> None:
        """Give the connection back to the pool."""
        self._txn = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
