"""The ledger's SQL side: the Merkle node store on a Connection, the sequencer lock, row mapping.

Never commits: callers pass the Connection of their unit of work. Log tables only get INSERTs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)

from chiptrail.ledger.custody import AnomalyKind, AssetState, CustodyAnomaly
from chiptrail.ledger.keys import KeyRecord, Party, PartyKind
from chiptrail.ledger.merkle import NodeKey
from chiptrail.ledger.submission import Envelope
from chiptrail.store.ledger_tables import (
    anomalies_table,
    asset_history_table,
    assets_table,
    cosignatures_table,
    keys_table,
    log_head_table,
    log_leaves_table,
    log_nodes_table,
    makers_table,
    parties_table,
    submissions_table,
)

_CHUNK = 400


class SqlNodeStore:
    """``merkle.NodeStore`` over ``ledger_log_nodes`` in the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """Stored hashes of the wanted (level, index) nodes; missing ones are left out.

        One query, ``(level = ? AND node_index IN (...)) OR ...`` per chunk, which both engines
        answer from the primary key (a row-value ``IN`` list makes SQLite scan the table).
        """
        found: dict[NodeKey, bytes] = {}
        wanted = list(dict.fromkeys(keys))
        t = log_nodes_table
        for start in range(0, len(wanted), _CHUNK):
            by_level: dict[int, list[int]] = {}
            for level, index in wanted[start : start + _CHUNK]:
                by_level.setdefault(level, []).append(index)
            clauses = [
                and_(t.c.level == level, t.c.node_index.in_(indexes))
                for level, indexes in by_level.items()
            ]
            rows = self._conn.execute(
                select(t.c.level, t.c.node_index, t.c.hash).where(or_(*clauses))
            )
            for level, index, digest in rows:
                found[(int(level), int(index))] = bytes(digest)
        return found

    def put_nodes(self, nodes: Mapping[NodeKey, bytes]) -> None:
        """Insert new nodes (perfect subtrees never change, so this is insert-only)."""
        if nodes:
            self._conn.execute(
                insert(log_nodes_table),
                [{"level": k[0], "node_index": k[1], "hash": v} for k, v in nodes.items()],
            )


def lock_log_head(conn: Connection) -> int:
    """Serialise appends: lock the head row for this transaction; returns the committed size.

    PostgreSQL: ``SELECT ... FOR UPDATE``. SQLite: a no-op UPDATE as the first statement takes
    the database write lock (waiting up to the busy timeout), which holds until commit.
    """
    t = log_head_table
    if conn.dialect.name == "sqlite":
        conn.execute(update(t).where(t.c.head_id == 1).values(size=t.c.size))
        return int(conn.execute(select(t.c.size).where(t.c.head_id == 1)).scalar_one())
    return int(
        conn.execute(select(t.c.size).where(t.c.head_id == 1).with_for_update()).scalar_one()
    )


def log_size(conn: Connection) -> int:
    """The committed number of leaves."""
    t = log_head_table
    return int(conn.execute(select(t.c.size).where(t.c.head_id == 1)).scalar_one())


def set_log_size(conn: Connection, size: int) -> None:
    """Move the head forward after appending (under the lock)."""
    conn.execute(update(log_head_table).where(log_head_table.c.head_id == 1).values(size=size))


def read_entries(conn: Connection, start: int, end: int) -> list[bytes]:
    """Leaf bytes of ``[start, end)`` in order."""
    t = log_leaves_table
    rows = conn.execute(
        select(t.c.entry)
        .where(and_(t.c.leaf_index >= start, t.c.leaf_index < end))
        .order_by(t.c.leaf_index)
    )
    return [bytes(r[0]) for r in rows]


def read_leaves(conn: Connection, start: int, end: int) -> list[tuple[bytes, bytes | None]]:
    """``(entry, detail)`` of ``[start, end)`` in order (``detail``: a v2 event's private body)."""
    t = log_leaves_table
    rows = conn.execute(
        select(t.c.entry, t.c.detail)
        .where(and_(t.c.leaf_index >= start, t.c.leaf_index < end))
        .order_by(t.c.leaf_index)
    )
    return [(bytes(e), bytes(d) if d is not None else None) for e, d in rows]


def insert_leaves(conn: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert leaf rows (``leaf_index, kind, event_id, party_id, entry, appended_at, detail``)."""
    if rows:
        conn.execute(insert(log_leaves_table), list(rows))


def submission_row(envelope: Envelope, digest: str, received_at: datetime) -> dict[str, object]:
    """The ``ledger_submissions`` row of an accepted envelope (its canonical bytes included)."""
    return {
        "envelope_sha256": digest,
        "party_id": envelope.party_id,
        "key_id": envelope.key_id,
        "nonce": envelope.nonce,
        "signed_at": envelope.signed_at,
        "received_at": received_at,
        "envelope": envelope.to_bytes(),
    }


def insert_submissions(
    conn: Connection, accepted: Sequence[tuple[Envelope, str]], received_at: datetime
) -> None:
    """Insert the submission rows of ``(envelope, digest)`` pairs."""
    if accepted:
        conn.execute(
            insert(submissions_table),
            [submission_row(env, digest, received_at) for env, digest in accepted],
        )


def insert_event_leaves(
    conn: Connection,
    leaves: Sequence[tuple[int, str | None, str, bytes, bytes]],
    appended_at: datetime,
) -> None:
    """Insert event leaves given as ``(leaf_index, event_id, party_id, entry, detail)``."""
    insert_leaves(
        conn,
        [
            {
                "leaf_index": index,
                "kind": "event",
                "event_id": event_id,
                "party_id": party_id,
                "entry": entry,
                "appended_at": appended_at,
                "detail": detail,
            }
            for index, event_id, party_id, entry, detail in leaves
        ],
    )


def existing_event_leaves(conn: Connection, event_ids: Sequence[str]) -> dict[str, int]:
    """Event id -> leaf index for the ids already logged."""
    t = log_leaves_table
    found: dict[str, int] = {}
    for start in range(0, len(event_ids), _CHUNK):
        chunk = list(event_ids[start : start + _CHUNK])
        rows = conn.execute(select(t.c.event_id, t.c.leaf_index).where(t.c.event_id.in_(chunk)))
        found.update({str(e): int(i) for e, i in rows})
    return found


def get_party(conn: Connection, party_id: str) -> Party | None:
    """A registered party, or None."""
    t = parties_table
    row = conn.execute(select(t).where(t.c.party_id == party_id)).mappings().first()
    if row is None:
        return None
    return Party(row["party_id"], row["name"], row["country"], PartyKind(row["kind"]))


def insert_party(conn: Connection, party: Party, leaf_index: int) -> None:
    """Add a party row (derived from its log entry)."""
    conn.execute(
        insert(parties_table).values(
            party_id=party.party_id,
            name=party.name,
            country=party.country,
            kind=party.kind.value,
            leaf_index=leaf_index,
        )
    )


def _key_from_row(row: RowMapping) -> KeyRecord:
    revoked = row["revoked_leaf"]
    return KeyRecord(
        key_id=str(row["key_id"]),
        party_id=str(row["party_id"]),
        public_key=bytes(row["public_key"]),
        added_leaf=int(row["added_leaf"]),
        revoked_leaf=int(revoked) if revoked is not None else None,
    )


def get_keys(conn: Connection, key_ids: Sequence[str]) -> dict[str, KeyRecord]:
    """Key records by id (unknown ids left out)."""
    t = keys_table
    rows = conn.execute(select(t).where(t.c.key_id.in_(list(set(key_ids))))).mappings()
    return {str(r["key_id"]): _key_from_row(r) for r in rows}


def list_keys(conn: Connection, party_id: str) -> list[KeyRecord]:
    """A party's keys, oldest first."""
    t = keys_table
    rows = conn.execute(select(t).where(t.c.party_id == party_id).order_by(t.c.added_leaf))
    return [_key_from_row(r) for r in rows.mappings()]


def insert_key(conn: Connection, record: KeyRecord) -> None:
    """Add a key row (derived from its log entry)."""
    conn.execute(
        insert(keys_table).values(
            key_id=record.key_id,
            party_id=record.party_id,
            public_key=record.public_key,
            added_leaf=record.added_leaf,
            revoked_leaf=record.revoked_leaf,
        )
    )


def mark_key_revoked(conn: Connection, key_id: str, leaf_index: int) -> None:
    """Record the revocation (derived registry state, not the log)."""
    t = keys_table
    conn.execute(update(t).where(t.c.key_id == key_id).values(revoked_leaf=leaf_index))


def asset_state(stored: str) -> AssetState:
    """An asset state from its stored JSON (``ledger_assets.state``)."""
    return AssetState.from_json(json.loads(stored))


def load_assets(conn: Connection, epcs: Sequence[str]) -> dict[str, AssetState]:
    """Stored states of the named assets."""
    t = assets_table
    out: dict[str, AssetState] = {}
    wanted = list(set(epcs))
    for start in range(0, len(wanted), _CHUNK):
        rows = conn.execute(select(t.c.state).where(t.c.epc.in_(wanted[start : start + _CHUNK])))
        for (state,) in rows:
            parsed = asset_state(state)
            out[parsed.epc] = parsed
    return out


def child_epcs(conn: Connection, parents: Sequence[str]) -> list[str]:
    """EPCs whose stored parent is one of ``parents``."""
    t = assets_table
    wanted = list(set(parents))
    out: list[str] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        out.extend(
            str(r[0]) for r in conn.execute(select(t.c.epc).where(t.c.parent_epc.in_(chunk)))
        )
    return out


def asset_row(state: AssetState) -> dict[str, object]:
    """The ``ledger_assets`` columns of a state, the EPC under ``b_epc``."""
    site = state.site
    return {
        "b_epc": state.epc,
        "custodian": state.custodian,
        "parent_epc": state.parent,
        "status": state.status.value,
        "country": site.country if site else None,
        "lat": site.lat if site else None,
        "lon": site.lon if site else None,
        "state": json.dumps(state.to_json(), sort_keys=True),
        "updated_leaf": state.updated_leaf,
    }


def save_assets(conn: Connection, states: Sequence[AssetState], stored: set[str]) -> None:
    """Write asset rows (derived state): insert new EPCs, update those in ``stored``."""
    t = assets_table
    values = [asset_row(state) for state in states]
    new = [
        {"epc": v["b_epc"], **{k: x for k, x in v.items() if k != "b_epc"}}
        for v in values
        if v["b_epc"] not in stored
    ]
    old = [v for v in values if v["b_epc"] in stored]
    if new:
        conn.execute(insert(t), new)
    if old:
        conn.execute(update(t).where(t.c.epc == bindparam("b_epc")), old)


def save_history(conn: Connection, rows: Sequence[tuple[str, int]]) -> None:
    """Add (epc, leaf) history rows."""
    if rows:
        conn.execute(
            insert(asset_history_table), [{"epc": e, "leaf_index": i} for e, i in set(rows)]
        )


def anomaly_row(a: CustodyAnomaly) -> tuple[str, str, int, str, str]:
    """``(kind, subject, leaf_index, evidence, message)`` of an anomaly row."""
    return (a.kind.value, a.subject, a.leaf_index, json.dumps(list(a.evidence)), a.message)


def save_anomalies(conn: Connection, anomalies: Sequence[CustodyAnomaly]) -> None:
    """Add anomaly rows."""
    if anomalies:
        names = ("kind", "subject", "leaf_index", "evidence", "message")
        conn.execute(
            insert(anomalies_table),
            [dict(zip(names, anomaly_row(a), strict=True)) for a in anomalies],
        )


def load_anomalies(conn: Connection, subject: str | None = None) -> list[CustodyAnomaly]:
    """Stored anomalies in log order, optionally for one subject."""
    t = anomalies_table
    query = select(t).order_by(t.c.leaf_index, t.c.anomaly_id)
    if subject is not None:
        query = query.where(t.c.subject == subject)
    return [
        CustodyAnomaly(
            AnomalyKind(r["kind"]),
            r["subject"],
            int(r["leaf_index"]),
            tuple(json.loads(r["evidence"])),
            r["message"],
        )
        for r in conn.execute(query).mappings()
    ]


def history_leaves(conn: Connection, epc: str) -> list[int]:
    """Leaf indexes that touched ``epc``, in log order."""
    t = asset_history_table
    rows = conn.execute(select(t.c.leaf_index).where(t.c.epc == epc).order_by(t.c.leaf_index))
    return [int(r[0]) for r in rows]


def clear_registry(conn: Connection) -> None:
    """Drop derived registry rows before a rebuild (the log tables are never touched)."""
    for table in (
        anomalies_table,
        asset_history_table,
        assets_table,
        makers_table,
        keys_table,
        parties_table,
    ):
        conn.execute(delete(table))


def assets_of_party(conn: Connection, party_id: str) -> list[AssetState]:
    """Assets whose current custodian is ``party_id``."""
    t = assets_table
    rows = conn.execute(select(t.c.state).where(t.c.custodian == party_id).order_by(t.c.epc))
    return [AssetState.from_json(json.loads(r[0])) for r in rows]


def leaf_entries(conn: Connection, indexes: Sequence[int]) -> dict[int, bytes]:
    """Public leaf bytes by index (what the tree hashes)."""
    return {i: entry for i, (entry, _) in leaf_bodies(conn, indexes).items()}


def leaf_bodies(conn: Connection, indexes: Sequence[int]) -> dict[int, tuple[bytes, bytes | None]]:
    """``(entry, detail)`` by leaf index (``detail``: a v2 event's private body)."""
    t = log_leaves_table
    out: dict[int, tuple[bytes, bytes | None]] = {}
    wanted = list(indexes)
    for start in range(0, len(wanted), _CHUNK):
        rows = conn.execute(
            select(t.c.leaf_index, t.c.entry, t.c.detail).where(
                t.c.leaf_index.in_(wanted[start : start + _CHUNK])
            )
        )
        out.update({int(i): (bytes(e), bytes(d) if d is not None else None) for i, e, d in rows})
    return out


def load_makers(conn: Connection, maker_keys: Sequence[str]) -> dict[str, str]:
    """Product line -> the party that commissioned it first (unknown lines left out)."""
    t = makers_table
    wanted = list(set(maker_keys))
    out: dict[str, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = conn.execute(select(t.c.maker_key, t.c.party_id).where(t.c.maker_key.in_(chunk)))
        out.update({str(k): str(p) for k, p in rows})
    return out


def save_makers(conn: Connection, makers: Mapping[str, tuple[str, int]]) -> None:
    """Record new product lines (derived registry state)."""
    if makers:
        conn.execute(
            insert(makers_table),
            [{"maker_key": k, "party_id": p, "leaf_index": i} for k, (p, i) in makers.items()],
        )


def stored_cosignatures(conn: Connection, size: int) -> list[str]:
    """Witness cosignature lines kept for the checkpoint of ``size``, by witness name."""
    t = cosignatures_table
    rows = conn.execute(select(t.c.line).where(t.c.size == size).order_by(t.c.witness))
    return [str(r[0]) for r in rows]
