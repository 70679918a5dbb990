"""Service: API keys, roles, audit of refused requests, signed-request nonces (owned by the service work).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_api_keys",
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(32), nullable=True),
        sa.Column("public_key", sa.LargeBinary(32), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("party_id", sa.String(200), nullable=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_service_api_keys")),
    )
    op.create_table(
        "service_refused_requests",
        sa.Column(
            "refusal_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=True),
        sa.Column("role", sa.String(20), nullable=True),
        sa.Column("party_id", sa.String(200), nullable=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("refusal_id", name=op.f("pk_service_refused_requests")),
    )
    op.create_index(
        "ix_service_refused_requests_refused_at", "service_refused_requests", ["refused_at"]
    )
    op.create_table(
        "service_request_nonces",
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("nonce", sa.String(100), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "nonce", name=op.f("pk_service_request_nonces")),
    )


def downgrade() -> None:
    op.drop_table("service_request_nonces")
    op.drop_index("ix_service_refused_requests_refused_at", "service_refused_requests")
    op.drop_table("service_refused_requests")
    op.drop_table("service_api_keys")
