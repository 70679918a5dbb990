"""Cases as incidents: contents for the queue, priority, history; stored screening matches.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TEXT_COLUMNS = ("title", "channels", "countries", "chips", "parties", "search_text")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for name in _TEXT_COLUMNS[:1]:
            batch.add_column(sa.Column(name, sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("priority", sa.String(2), nullable=False, server_default="P3"))
        for name in _TEXT_COLUMNS[1:]:
            batch.add_column(sa.Column(name, sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("finding_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("first_detected_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_detected_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "case_events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.case_id"],
            name=op.f("fk_case_events_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_case_events")),
    )
    op.create_index(op.f("ix_case_events_case_id"), "case_events", ["case_id"])
    op.create_table(
        "party_screening",
        sa.Column("party_id", sa.String(300), nullable=False),
        sa.Column("list_id", sa.String(100), nullable=False),
        sa.Column("entry_name", sa.String(1000), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("list_sha256", sa.String(64), nullable=False),
        sa.Column("list_loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "party_id", "list_id", "entry_name", name=op.f("pk_party_screening")
        ),
    )


def downgrade() -> None:
    op.drop_table("party_screening")
    op.drop_index(op.f("ix_case_events_case_id"), table_name="case_events")
    op.drop_table("case_events")
    with op.batch_alter_table("cases") as batch:
        for name in (
            *_TEXT_COLUMNS,
            "priority",
            "finding_count",
            "first_detected_at",
            "last_detected_at",
        ):
            batch.drop_column(name)
