"""Ledger tables: the append-only Merkle log and the registry state derived from it.

The log tables (leaves, nodes, checkpoints, submissions) only ever receive INSERTs; the registry
tables (parties, keys, assets, history, anomalies) are a cache of a fold over the log and are
rebuilt from it by ``service.ledger_registry.rebuild_registry``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from chiptrail.store.metadata import metadata

# --- the log (append-only) -------------------------------------------------------------------

log_head_table = Table(
    "ledger_log_head",
    metadata,
    Column("head_id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
)
"""One row (head_id = 1): the sequencer's lock row and the committed tree size."""

log_leaves_table = Table(
    "ledger_log_leaves",
    metadata,
    Column("leaf_index", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(20), nullable=False),
    Column("event_id", String(120), nullable=True, unique=True),
    Column("party_id", String(200), nullable=True),
    Column("entry", LargeBinary, nullable=False),
    Column("appended_at", DateTime(timezone=True), nullable=False),
    Column("detail", LargeBinary, nullable=True),
)
"""Leaf ``i`` of the log: ``entry`` is the canonical entry whose leaf hash is in the tree.

``detail`` is the private body behind a v2 event entry (the event, its party and envelope), which
the public entry only commits to; v1 entries carry it in ``entry`` and leave ``detail`` empty.
"""

log_nodes_table = Table(
    "ledger_log_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("node_index", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)
"""Perfect-subtree hashes: (level, index) covers leaves [index * 2**level, (index+1) * 2**level)."""

checkpoints_table = Table(
    "ledger_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
)
"""Signed checkpoints (C2SP signed-note text), one per tree size that was checkpointed."""

submissions_table = Table(
    "ledger_submissions",
    metadata,
    Column("envelope_sha256", String(64), primary_key=True),
    Column("party_id", String(200), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    UniqueConstraint("party_id", "nonce", name="uq_ledger_submissions_party_nonce"),
)
"""Every accepted signed envelope, byte for byte: replay protection and audit evidence."""

cosignatures_table = Table(
    "ledger_cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(200), primary_key=True),
    Column("line", Text, nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)
"""Witness cosignature lines (C2SP tlog-cosignature) collected for the checkpoint of ``size``."""

# --- registry state (derived from the log) ----------------------------------------------------

parties_table = Table(
    "ledger_parties",
    metadata,
    Column("party_id", String(200), primary_key=True),
    Column("name", Text, nullable=False),
    Column("country", String(2), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("leaf_index", BigInteger, nullable=False),
)

keys_table = Table(
    "ledger_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("party_id", String(200), ForeignKey("ledger_parties.party_id"), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("added_leaf", BigInteger, nullable=False),
    Column("revoked_leaf", BigInteger, nullable=True),
    Index("ix_ledger_keys_party_id", "party_id"),
)

assets_table = Table(
    "ledger_assets",
    metadata,
    Column("epc", String(300), primary_key=True),
    Column("custodian", String(200), nullable=True),
    Column("parent_epc", String(300), nullable=True),
    Column("status", String(30), nullable=False),
    Column("country", String(2), nullable=True),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("state", Text, nullable=False),
    Column("updated_leaf", BigInteger, nullable=False),
    Index("ix_ledger_assets_custodian", "custodian"),
    Index("ix_ledger_assets_parent_epc", "parent_epc"),
)
"""Current state of each identified thing (chip, board, server, rack); ``state`` is its JSON."""

asset_history_table = Table(
    "ledger_asset_history",
    metadata,
    Column("epc", String(300), primary_key=True),
    Column("leaf_index", BigInteger, primary_key=True, autoincrement=False),
)

makers_table = Table(
    "ledger_makers",
    metadata,
    Column("maker_key", String(300), primary_key=True),
    Column("party_id", String(200), nullable=False),
    Column("leaf_index", BigInteger, nullable=False),
)
"""Product lines (``custody.maker_key``) and the party that commissioned each first."""

anomalies_table = Table(
    "ledger_anomalies",
    metadata,
    Column("anomaly_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("leaf_index", BigInteger, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_ledger_anomalies_subject", "subject"),
)
"""Custody anomalies: claims in the log that contradict custody, with leaf indexes as evidence."""
