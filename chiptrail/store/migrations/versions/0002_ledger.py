"""Ledger: parties, keys, Merkle log leaves, checkpoints, chip registry state (owned by the ledger work).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_log_head",
        sa.Column("head_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("head_id", name=op.f("pk_ledger_log_head")),
    )
    # the sequencer's single lock row: appends lock it, then move ``size`` forward
    op.execute("INSERT INTO ledger_log_head (head_id, size) VALUES (1, 0)")
    op.create_table(
        "ledger_log_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(120), nullable=True),
        sa.Column("party_id", sa.String(200), nullable=True),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("appended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_ledger_log_leaves")),
        sa.UniqueConstraint("event_id", name=op.f("uq_ledger_log_leaves_event_id")),
    )
    op.create_table(
        "ledger_log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index", name=op.f("pk_ledger_log_nodes")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_table(
        "ledger_submissions",
        sa.Column("envelope_sha256", sa.String(64), nullable=False),
        sa.Column("party_id", sa.String(200), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("envelope_sha256", name=op.f("pk_ledger_submissions")),
        sa.UniqueConstraint("party_id", "nonce", name="uq_ledger_submissions_party_nonce"),
    )
    op.create_table(
        "ledger_parties",
        sa.Column("party_id", sa.String(200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("party_id", name=op.f("pk_ledger_parties")),
    )
    op.create_table(
        "ledger_keys",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("party_id", sa.String(200), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("added_leaf", sa.BigInteger(), nullable=False),
        sa.Column("revoked_leaf", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["ledger_parties.party_id"],
            name=op.f("fk_ledger_keys_party_id_ledger_parties"),
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_ledger_keys")),
    )
    op.create_index("ix_ledger_keys_party_id", "ledger_keys", ["party_id"])
    op.create_table(
        "ledger_assets",
        sa.Column("epc", sa.String(300), nullable=False),
        sa.Column("custodian", sa.String(200), nullable=True),
        sa.Column("parent_epc", sa.String(300), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_leaf", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("epc", name=op.f("pk_ledger_assets")),
    )
    op.create_index("ix_ledger_assets_custodian", "ledger_assets", ["custodian"])
    op.create_index("ix_ledger_assets_parent_epc", "ledger_assets", ["parent_epc"])
    op.create_table(
        "ledger_asset_history",
        sa.Column("epc", sa.String(300), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("epc", "leaf_index", name=op.f("pk_ledger_asset_history")),
    )
    op.create_table(
        "ledger_anomalies",
        sa.Column("anomaly_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("anomaly_id", name=op.f("pk_ledger_anomalies")),
    )
    op.create_index("ix_ledger_anomalies_subject", "ledger_anomalies", ["subject"])


def downgrade() -> None:
    for name in (
        "ledger_anomalies",
        "ledger_asset_history",
        "ledger_assets",
        "ledger_keys",
        "ledger_parties",
        "ledger_submissions",
        "ledger_checkpoints",
        "ledger_log_nodes",
        "ledger_log_leaves",
        "ledger_log_head",
    ):
        op.drop_table(name)
