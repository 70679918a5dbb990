"""An append's reads and writes on PostgreSQL in two round trips (psycopg pipeline mode).

Each statement costs the sequencer a round trip to the server, and on a busy machine a round trip
is a context switch to the server process and back. So the sequencer's reads (the head lock and
then every lookup of ``group.GroupReads``) go out as one pipeline, and its writes (one statement
per table, rows passed as arrays and spread with ``unnest``) with the COMMIT as another.
The SQL is the same the SQLAlchemy path (``group_sql``) sends, written out against the
``store.ledger_tables`` schema; psycopg errors are re-raised as SQLAlchemy's so callers handle
both paths alike (a unique violation is ``IntegrityError``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
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
    wanted_of,
)

_LOCK = "SELECT size FROM ledger_log_head WHERE head_id = 1 FOR UPDATE"
_KEYS = (
    "SELECT key_id, party_id, public_key, added_leaf, revoked_leaf FROM ledger_keys"
    " WHERE key_id = ANY(%b::text[])"
)
_DIGESTS = "SELECT envelope_sha256 FROM ledger_submissions WHERE envelope_sha256 = ANY(%b::text[])"
_NONCES = (
    "SELECT s.party_id, s.nonce FROM ledger_submissions s"
    " JOIN unnest(%b::text[], %b::text[]) AS w(party_id, nonce)"
    " ON s.party_id = w.party_id AND s.nonce = w.nonce"
)
_EVENTS = "SELECT event_id, leaf_index FROM ledger_log_leaves WHERE event_id = ANY(%b::text[])"
_MAKERS = "SELECT maker_key, party_id FROM ledger_makers WHERE maker_key = ANY(%b::text[])"
_ASSETS = "SELECT epc, state FROM ledger_assets WHERE epc = ANY(%b::text[])"
_CHILDREN = "SELECT epc, state FROM ledger_assets WHERE parent_epc = ANY(%b::text[])"
_NODES = (
    "SELECT n.level, n.node_index, n.hash FROM ledger_log_nodes n"
    " JOIN unnest(%b::int[], %b::bigint[]) AS w(level, node_index)"
    " ON n.level = w.level AND n.node_index = w.node_index"
)

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


@contextmanager
def _pipeline(conn: Connection) -> Iterator[Any]:
    """The psycopg connection behind ``conn`` in pipeline mode; psycopg errors become
    SQLAlchemy's (``IntegrityError``, ``OperationalError``, ...)."""
    import psycopg  # the postgres extra; only reached on a PostgreSQL engine

    pg = conn.connection.driver_connection
    assert pg is not None  # noqa: S101 - a Connection in a transaction has its DBAPI connection
    try:
        with pg.pipeline() as pipeline:
            yield pg, pipeline
    except psycopg.Error as exc:
        raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc


def read_state(conn: Connection, checked: Sequence[Checked], frontier: FrontierCache) -> GroupReads:
    """Lock the head and read what appending ``checked`` needs: one round trip (two when the
    frontier is not the cached one, more only to walk the descendants of nested assets)."""
    want = wanted_of(checked)
    with _pipeline(conn) as (pg, _):  # leaving the block is the one sync
        cursors = [pg.cursor() for _ in range(8)]
        cursors[0].execute(_LOCK)
        cursors[1].execute(_KEYS, [want.key_ids])
        cursors[2].execute(_DIGESTS, [want.digests])
        cursors[3].execute(_NONCES, [[p for p, _ in want.nonces], [n for _, n in want.nonces]])
        cursors[4].execute(_EVENTS, [want.event_ids])
        cursors[5].execute(_MAKERS, [want.maker_keys])
        cursors[6].execute(_ASSETS, [want.epcs])
        cursors[7].execute(_CHILDREN, [want.epcs])
    size = int(cursors[0].fetchone()[0])
    keys = {
        str(k): KeyRecord(str(k), str(p), bytes(pub), int(a), None if r is None else int(r))
        for k, p, pub, a, r in cursors[1].fetchall()
    }
    digests = frozenset(str(d) for (d,) in cursors[2].fetchall())
    nonces = frozenset((str(p), str(n)) for p, n in cursors[3].fetchall())
    existing = {str(e): int(i) for e, i in cursors[4].fetchall()}
    makers = {str(k): str(p) for k, p in cursors[5].fetchall()}
    assets = _states(cursors[6].fetchall())
    kids = _states(cursors[7].fetchall())
    _add_descendants(conn, assets, kids, set(want.epcs))
    known = frontier.get(size)
    if known is None:
        known = _nodes(conn, merkle.frontier_keys(size))
    return GroupReads(size, keys, digests, nonces, existing, makers, assets, known)


def _states(found: Sequence[tuple[str, str]]) -> dict[str, AssetState]:
    return {str(epc): rows.asset_state(str(state)) for epc, state in found}


def _add_descendants(
    conn: Connection,
    assets: dict[str, AssetState],
    kids: dict[str, AssetState],
    seen: set[str],
) -> None:
    """Add ``kids`` and, level by level, their stored descendants to ``assets``."""
    while True:
        new = {epc: state for epc, state in kids.items() if epc not in seen}
        if not new:
            return
        assets.update(new)
        seen.update(new)
        with _pipeline(conn) as (pg, _):
            cursor = pg.cursor()
            cursor.execute(_CHILDREN, [sorted(new)])
        kids = _states(cursor.fetchall())


def _nodes(conn: Connection, keys: Sequence[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
    with _pipeline(conn) as (pg, _):
        cursor = pg.cursor()
        cursor.execute(_NODES, [[level for level, _ in keys], [index for _, index in keys]])
    return {(int(lv), int(ix)): bytes(h) for lv, ix, h in cursor.fetchall()}


def write_rows_and_commit(conn: Connection, writes: GroupWrites) -> None:
    """Store an append's rows, move the head and commit: one round trip (the lock is held).

    The COMMIT goes out in the same pipeline, after the writes; leaving the pipeline waits for
    every answer, so this returns only once the transaction is durable, and raises (nothing
    committed) when any write failed. The caller's unit then finds nothing left to commit.
    """
    with _pipeline(conn) as (pg, _):
        cursor = pg.cursor()
        subs = writes.submissions
        cursor.execute(
            _INSERT_SUBMISSIONS,
            [
                [c.digest for c in subs],
                [c.envelope.party_id for c in subs],
                [c.envelope.key_id for c in subs],
                [c.envelope.nonce for c in subs],
                [c.envelope.signed_at for c in subs],
                [writes.received_at] * len(subs),
                [c.envelope.to_bytes() for c in subs],
            ],
        )
        if writes.leaves:
            cursor.execute(
                _INSERT_LEAVES,
                [writes.received_at, *_columns(writes.leaves, 5)],
            )
            nodes = sorted(writes.nodes.items())
            cursor.execute(
                _INSERT_NODES,
                [[k[0] for k, _ in nodes], [k[1] for k, _ in nodes], [h for _, h in nodes]],
            )
            cursor.execute(_SET_SIZE, [writes.size])
        if writes.makers:
            makers = sorted(writes.makers.items())
            cursor.execute(
                _INSERT_MAKERS,
                [[k for k, _ in makers], [p for _, (p, _) in makers], [i for _, (_, i) in makers]],
            )
        if writes.new_assets:
            cursor.execute(_INSERT_ASSETS, _asset_arrays(writes.new_assets))
        if writes.old_assets:
            cursor.execute(_UPDATE_ASSETS, _asset_arrays(writes.old_assets))
        if writes.history:
            cursor.execute(
                _INSERT_HISTORY, [[e for e, _ in writes.history], [i for _, i in writes.history]]
            )
        if writes.anomalies:
            cursor.execute(
                _INSERT_ANOMALIES,
                _columns([rows.anomaly_row(a) for a in writes.anomalies], 5),
            )
        cursor.execute("COMMIT")


def _columns(records: Sequence[Sequence[object]], width: int) -> list[list[object]]:
    """Rows turned into ``width`` column lists (what ``unnest`` spreads back into rows)."""
    return [[r[i] for r in records] for i in range(width)]


def _asset_arrays(states: Sequence[AssetState]) -> list[list[object]]:
    columns = ("b_epc", "custodian", "parent_epc", "status", "country", "lat", "lon", "state")
    found = [rows.asset_row(s) for s in states]
    return [[r[c] for r in found] for c in (*columns, "updated_leaf")]
