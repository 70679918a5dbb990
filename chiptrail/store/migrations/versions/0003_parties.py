"""Parties: screening lists, FtM entities, ownership edges, tenancy reports (owned by the parties work).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "party_lists",
        sa.Column("list_id", sa.String(100), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("list_id", name=op.f("pk_party_lists")),
    )
    op.create_table(
        "party_entities",
        sa.Column("entity_id", sa.String(300), nullable=False),
        sa.Column("schema", sa.String(40), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("list_id", sa.String(100), nullable=True),
        sa.Column("countries", sa.String(300), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["party_lists.list_id"],
            name=op.f("fk_party_entities_list_id_party_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entity_id", name=op.f("pk_party_entities")),
    )
    op.create_index(op.f("ix_party_entities_list_id"), "party_entities", ["list_id"])
    op.create_table(
        "party_links",
        sa.Column("link_id", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source_id", sa.String(300), nullable=False),
        sa.Column("target_id", sa.String(300), nullable=False),
        sa.Column("percentage", sa.Float(), nullable=True),
        sa.Column("role", sa.String(300), nullable=True),
        sa.Column("list_id", sa.String(100), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["party_lists.list_id"],
            name=op.f("fk_party_links_list_id_party_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_party_links")),
    )
    op.create_index(op.f("ix_party_links_source_id"), "party_links", ["source_id"])
    op.create_index(op.f("ix_party_links_target_id"), "party_links", ["target_id"])
    op.create_index(op.f("ix_party_links_list_id"), "party_links", ["list_id"])
    op.create_table(
        "tenancy_reports",
        sa.Column("report_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operator_id", sa.String(300), nullable=False),
        sa.Column("tenant_id", sa.String(300), nullable=False),
        sa.Column("chip_model", sa.String(100), nullable=False),
        sa.Column("chip_hours", sa.Float(), nullable=False),
        sa.Column("period_start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_tenancy_reports")),
    )
    op.create_index(op.f("ix_tenancy_reports_tenant_id"), "tenancy_reports", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tenancy_reports_tenant_id"), table_name="tenancy_reports")
    op.drop_table("tenancy_reports")
    op.drop_index(op.f("ix_party_links_list_id"), table_name="party_links")
    op.drop_index(op.f("ix_party_links_target_id"), table_name="party_links")
    op.drop_index(op.f("ix_party_links_source_id"), table_name="party_links")
    op.drop_table("party_links")
    op.drop_index(op.f("ix_party_entities_list_id"), table_name="party_entities")
    op.drop_table("party_entities")
    op.drop_table("party_lists")
