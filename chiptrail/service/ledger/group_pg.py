"""The sequencer's appends on PostgreSQL: one round trip a group (psycopg pipeline mode).

Each statement costs the sequencer a round trip to the server, and on a busy machine a round trip
is a context switch to the server process and back. So the sequencer keeps its own connection and
drives its transactions by hand (``BEGIN``/``COMMIT`` sent as statements, the connection in
autocommit mode): one pipeline carries a group's writes (one statement per table, rows passed as
arrays and spread with ``unnest``), its ``COMMIT``, and then the next group's ``BEGIN``, the head
lock and every lookup of ``group.GroupReads``. PostgreSQL runs them in order, so the next group's
reads see this group's commit; if a write fails, the server skips the rest of the pipeline and the
next group starts afresh. Leaving a pipeline waits for every answer, so ``commit`` returns only
once the group is durable. The SQL is what ``group_sql`` sends through SQLAlchemy, written out
against the ``store.ledger_tables`` schema; psycopg errors are re-raised as SQLAlchemy's
(``IntegrityError``) inside ``Database.failures`` (``Unavailable``, ``InvalidInput``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError

from chiptrail.ledger import merkle
from chiptrail.ledger.custody import AssetState
from chiptrail.ledger.keys import KeyRecord
from chiptrail.service.ledger import rows
from chiptrail.service.ledger.group import (
    Checked,
    FrontierCache,
    GroupReads,
    GroupWrites,
    Wanted,
    wanted_of,
)
from chiptrail.store.database import Database

_LOCK = "SELECT size FROM ledger_log_head WHERE head_id = 1 FOR UPDATE"
_CHILDREN = "SELECT epc, state FROM ledger_assets WHERE parent_epc = ANY(%b::text[])"
_NODES = (
    "SELECT n.level, n.node_index, n.hash FROM ledger_log_nodes n"
    " JOIN unnest(%b::int[], %b::bigint[]) AS w(level, node_index)"
    " ON n.level = w.level AND n.node_index = w.node_index"
)

_READS = (
    "SELECT 1, key_id::text, party_id::text, public_key, added_leaf, revoked_leaf"
    " FROM ledger_keys WHERE key_id = ANY(%b::text[])"
    " UNION ALL SELECT 2, envelope_sha256::text, NULL, NULL, NULL, NULL"
    " FROM ledger_submissions WHERE envelope_sha256 = ANY(%b::text[])"
    " UNION ALL SELECT 3, s.party_id::text, s.nonce::text, NULL, NULL, NULL"
    " FROM ledger_submissions s JOIN unnest(%b::text[], %b::text[]) AS w(party_id, nonce)"
    " ON s.party_id = w.party_id AND s.nonce = w.nonce"
    " UNION ALL SELECT 4, event_id::text, NULL, NULL, leaf_index, NULL"
    " FROM ledger_log_leaves WHERE event_id = ANY(%b::text[])"
    " UNION ALL SELECT 5, maker_key::text, party_id::text, NULL, NULL, NULL"
    " FROM ledger_makers WHERE maker_key = ANY(%b::text[])"
    " UNION ALL SELECT 6, epc::text, state, NULL, NULL, NULL"
    " FROM ledger_assets WHERE epc = ANY(%b::text[])"
    " UNION ALL SELECT 7, epc::text, state, NULL, NULL, NULL"
    " FROM ledger_assets WHERE parent_epc = ANY(%b::text[])"
)
"""Every lookup of ``group.GroupReads`` but the head in one statement, rows tagged by kind:
1 keys, 2 envelope digests, 3 (party, nonce), 4 event ids, 5 product lines, 6 assets, 7 their
children (``FOR UPDATE`` cannot join a ``UNION``, so the head is locked by its own statement)."""

_INSERT_SUBMISSIONS = (
    "INSERT INTO ledger_submissions"
    " (envelope_sha256, party_id, key_id, nonce, signed_at, received_at, envelope)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[],"
    " %b::timestamptz[], %b::timestamptz[], %b::bytea[])"
)
_INSERT_LEAVES = (
    "INSERT INTO ledger_log_leaves"
    " (leaf_index, kind, event_id, party_id, entry, appended_at, detail)"
    " SELECT i, 'event', e, p, b, %b::timestamptz, d"
    " FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::bytea[], %b::bytea[])"
    " AS u(i, e, p, b, d)"
)
_INSERT_NODES = (
    "INSERT INTO ledger_log_nodes (level, node_index, hash)"
    " SELECT * FROM unnest(%b::int[], %b::bigint[], %b::bytea[])"
)
_SET_SIZE = "UPDATE ledger_log_head SET size = %b WHERE head_id = 1"
_INSERT_MAKERS = (
    "INSERT INTO ledger_makers (maker_key, party_id, leaf_index)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[])"
)
_INSERT_ASSETS = (
    "INSERT INTO ledger_assets"
    " (epc, custodian, parent_epc, status, country, lat, lon, state, updated_leaf)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
    " %b::float8[], %b::float8[], %b::text[], %b::bigint[])"
)
_UPDATE_ASSETS = (
    "UPDATE ledger_assets a"
    " SET (custodian, parent_epc, status, country, lat, lon, state, updated_leaf) ="
    " (u.custodian, u.parent_epc, u.status, u.country, u.lat, u.lon, u.state, u.updated_leaf)"
    " FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
    " %b::float8[], %b::float8[], %b::text[], %b::bigint[])"
    " AS u(epc, custodian, parent_epc, status, country, lat, lon, state, updated_leaf)"
    " WHERE a.epc = u.epc"
)
_INSERT_HISTORY = (
    "INSERT INTO ledger_asset_history (epc, leaf_index)"
    " SELECT * FROM unnest(%b::text[], %b::bigint[])"
)
_INSERT_ANOMALIES = (
    "INSERT INTO ledger_anomalies (kind, subject, leaf_index, evidence, message)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[], %b::text[])"
)


def _cte(name: str, statement: str) -> str:
    return f"{name} AS ({statement})"


_WRITES = (
    "WITH "
    + ", ".join(
        (
            _cte("s", _INSERT_SUBMISSIONS),
            _cte("l", _INSERT_LEAVES),
            _cte("n", _INSERT_NODES),
            _cte("h", _SET_SIZE),
            _cte("m", _INSERT_MAKERS),
            _cte("a", _INSERT_ASSETS),
            _cte("u", _UPDATE_ASSETS),
            _cte("y", _INSERT_HISTORY),
            _cte("x", _INSERT_ANOMALIES),
        )
    )
    + " SELECT 1"
)
"""A group's writes as one statement (data-modifying CTEs; an empty array writes nothing): one
parse, one plan (prepared after a few groups) and one message instead of one per table. The
parts touch different rows (new assets are inserted, known ones updated), so the single
snapshot they share changes nothing."""


class PgGroupStore:
    """The sequencer's PostgreSQL connection (opened on first use, dropped after a failure).

    ``begin`` opens a group's transaction and reads; ``commit`` writes, commits and, given the
    next group, begins it and reads for it in the same round trip; ``rollback`` ends an open
    transaction without writing.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pg: Any = None

    def _connection(self) -> Any:
        if self._pg is None:
            import psycopg  # the postgres extra; only reached on a PostgreSQL engine

            url = self._db.engine.url.set(drivername="postgresql")
            self._pg = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
            # The same few statements run for every group with arrays of any length: without
            # this, PostgreSQL keeps planning the reads afresh (about 1 ms a group) because a
            # generic plan's estimate for ``= ANY($1)`` looks worse than a custom plan's.
            self._pg.execute("SET plan_cache_mode = force_generic_plan")
        return self._pg

    @contextmanager
    def _pipeline(self) -> Iterator[Any]:
        """The connection in pipeline mode; psycopg errors become SQLAlchemy's and then
        chiptrail's (``Database.failures``); after one, the connection is dropped."""
        import psycopg

        with self._db.failures():
            try:
                pg = self._connection()
                with pg.pipeline():
                    yield pg
            except psycopg.Error as exc:
                self.close()  # a failed transaction or a broken link: start clean next time
                raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc

    def begin(self, checked: Sequence[Checked], frontier: FrontierCache) -> GroupReads:
        """Open a transaction, lock the head and read for ``checked``: one round trip (more
        only to fetch a frontier this process did not commit, or nested assets)."""
        want = wanted_of(checked)
        with self._pipeline() as pg:
            pg.execute("BEGIN")
            cursors = _send_reads(pg, want)
        return self._collect(cursors, want, frontier)

    def commit(
        self,
        writes: GroupWrites,
        reads: GroupReads,
        ahead: Sequence[Checked],
        frontier: FrontierCache,
    ) -> GroupReads | None:
        """Store ``writes`` (planned on ``reads``), move the head and commit; returns once
        durable, with ``frontier`` advanced. With ``ahead`` (the next group's envelopes), the
        same round trip begins its transaction, locks the head and reads for it (returned;
        None without ``ahead``)."""
        want = wanted_of(ahead) if ahead else None
        cursors: list[Any] = []
        with self._pipeline() as pg:
            _send_writes(pg, writes)
            pg.execute("COMMIT")
            if want is not None:
                pg.execute("BEGIN")
                cursors = _send_reads(pg, want)
        frontier.advance(reads, writes)
        if want is None:
            return None
        return self._collect(cursors, want, frontier)

    def rollback(self) -> None:
        """End the open transaction, if any, writing nothing."""
        from psycopg.pq import TransactionStatus

        pg = self._pg
        idle = pg is None or pg.closed or pg.info.transaction_status == TransactionStatus.IDLE
        if not idle:
            with self._pipeline() as link:
                link.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back by the server)."""
        if self._pg is not None:
            self._pg.close()
            self._pg = None

    def _collect(self, cursors: Sequence[Any], want: Wanted, frontier: FrontierCache) -> GroupReads:
        size = int(cursors[0].fetchone()[0])
        keys: dict[str, KeyRecord] = {}
        digests: set[str] = set()
        nonces: set[tuple[str, str]] = set()
        existing: dict[str, int] = {}
        makers: dict[str, str] = {}
        assets: dict[str, AssetState] = {}
        kids: dict[str, AssetState] = {}
        for kind, a, b, c, d, e in cursors[1].fetchall():
            if kind == 1:
                keys[a] = KeyRecord(a, b, bytes(c), int(d), None if e is None else int(e))
            elif kind == 2:
                digests.add(a)
            elif kind == 3:
                nonces.add((a, b))
            elif kind == 4:
                existing[a] = int(d)
            elif kind == 5:
                makers[a] = b
            elif kind == 6:
                assets[a] = rows.asset_state(b)
            else:
                kids[a] = rows.asset_state(b)
        seen = set(want.epcs)
        while new := {epc: state for epc, state in kids.items() if epc not in seen}:
            assets.update(new)  # nested assets: walk down one level a round trip
            seen.update(new)
            kids = _states(self._fetch(_CHILDREN, [sorted(new)]))
        known = frontier.get(size)
        if known is None:
            keys_wanted = merkle.frontier_keys(size)
            params = [[level for level, _ in keys_wanted], [index for _, index in keys_wanted]]
            known = {(int(lv), int(ix)): bytes(h) for lv, ix, h in self._fetch(_NODES, params)}
        return GroupReads(
            size, keys, frozenset(digests), frozenset(nonces), existing, makers, assets, known
        )

    def _fetch(self, query: str, params: Sequence[object]) -> list[Any]:
        with self._pipeline() as pg:
            cursor = pg.cursor()
            cursor.execute(query, params)
        return list(cursor.fetchall())


def _send_reads(pg: Any, want: Wanted) -> list[Any]:
    cursors = [pg.cursor() for _ in range(2)]
    cursors[0].execute(_LOCK)
    cursors[1].execute(
        _READS,
        [
            want.key_ids,
            want.digests,
            [p for p, _ in want.nonces],
            [n for _, n in want.nonces],
            want.event_ids,
            want.maker_keys,
            want.epcs,
            want.epcs,
        ],
    )
    return cursors


def _states(found: Sequence[tuple[str, str]]) -> dict[str, AssetState]:
    return {str(epc): rows.asset_state(str(state)) for epc, state in found}


def _send_writes(pg: Any, writes: GroupWrites) -> None:
    subs = writes.submissions
    nodes = sorted(writes.nodes.items())
    makers = sorted(writes.makers.items())
    params: list[object] = [
        [c.digest for c in subs],
        [c.envelope.party_id for c in subs],
        [c.envelope.key_id for c in subs],
        [c.envelope.nonce for c in subs],
        [c.envelope.signed_at for c in subs],
        [writes.received_at] * len(subs),
        [c.envelope.to_bytes() for c in subs],
        writes.received_at,
        *_columns(writes.leaves, 5),
        [k[0] for k, _ in nodes],
        [k[1] for k, _ in nodes],
        [h for _, h in nodes],
        writes.size,
        [k for k, _ in makers],
        [p for _, (p, _) in makers],
        [i for _, (_, i) in makers],
        *_asset_arrays(writes.new_assets),
        *_asset_arrays(writes.old_assets),
        [e for e, _ in writes.history],
        [i for _, i in writes.history],
        *_columns([rows.anomaly_row(a) for a in writes.anomalies], 5),
    ]
    pg.cursor().execute(_WRITES, params)


def _columns(records: Sequence[Sequence[object]], width: int) -> list[list[object]]:
    """Rows turned into ``width`` column lists (what ``unnest`` spreads back into rows)."""
    return [[r[i] for r in records] for i in range(width)]


def _asset_arrays(states: Sequence[AssetState]) -> list[list[object]]:
    columns = ("b_epc", "custodian", "parent_epc", "status", "country", "lat", "lon", "state")
    found = [rows.asset_row(s) for s in states]
    return [[r[c] for r in found] for c in (*columns, "updated_leaf")]
