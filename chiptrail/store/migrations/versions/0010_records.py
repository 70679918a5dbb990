"""Records: trade records (orders, licences, declarations, certificates, sites, payments,
addresses), the parties each names, and the rules' thresholds (owned by the records work).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "trade_records",
        sa.Column("record_id", _ID, nullable=False, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("record_key", sa.String(300), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(300), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_trade_records")),
        sa.UniqueConstraint("kind", "record_key", name="uq_trade_records_kind_key"),
    )
    op.create_index(op.f("ix_trade_records_at"), "trade_records", ["at"])
    op.create_table(
        "trade_record_parties",
        sa.Column("record_id", _ID, nullable=False),
        sa.Column("party_id", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["trade_records.record_id"],
            name=op.f("fk_trade_record_parties_record_id_trade_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "party_id", name=op.f("pk_trade_record_parties")),
    )
    op.create_index(
        op.f("ix_trade_record_parties_party_id"), "trade_record_parties", ["party_id"]
    )
    op.create_table(
        "rule_configs",
        sa.Column("config_id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("config_id", name=op.f("pk_rule_configs")),
    )
    op.create_index(op.f("ix_rule_configs_set_at"), "rule_configs", ["set_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rule_configs_set_at"), table_name="rule_configs")
    op.drop_table("rule_configs")
    op.drop_index(op.f("ix_trade_record_parties_party_id"), table_name="trade_record_parties")
    op.drop_table("trade_record_parties")
    op.drop_index(op.f("ix_trade_records_at"), table_name="trade_records")
    op.drop_table("trade_records")
