"""Ledger custody: product-line makers, private leaf details, witness cosignatures (issue 15).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_makers",
        sa.Column("maker_key", sa.String(300), nullable=False),
        sa.Column("party_id", sa.String(200), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("maker_key", name=op.f("pk_ledger_makers")),
    )
    # the private body behind a v2 (commitment) entry; v1 entries keep it in ``entry`` itself
    with op.batch_alter_table("ledger_log_leaves") as batch:
        batch.add_column(sa.Column("detail", sa.LargeBinary(), nullable=True))
    op.create_table(
        "ledger_cosignatures",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness", name=op.f("pk_ledger_cosignatures")),
    )


def downgrade() -> None:
    op.drop_table("ledger_cosignatures")
    with op.batch_alter_table("ledger_log_leaves") as batch:
        batch.drop_column("detail")
    op.drop_table("ledger_makers")
