"""Location: landmarks, chip device keys, signed measurements, location verdicts (probe work).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "landmarks",
        sa.Column("landmark_id", sa.String(100), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("uncertainty_km", sa.Float(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("landmark_id", name=op.f("pk_landmarks")),
    )
    op.create_table(
        "chip_device_keys",
        sa.Column("chip_id", sa.String(200), nullable=False),
        sa.Column("scheme", sa.String(40), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("identity_json", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chip_id", name=op.f("pk_chip_device_keys")),
    )
    op.create_table(
        "measurements",
        sa.Column("measurement_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chip_id", sa.String(200), nullable=False),
        sa.Column("landmark_id", sa.String(100), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("rtt_ns", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheme", sa.String(40), nullable=False),
        sa.Column("device_public_key", sa.LargeBinary(), nullable=False),
        sa.Column("chip_signature", sa.LargeBinary(), nullable=False),
        sa.Column("landmark_signature", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["landmark_id"],
            ["landmarks.landmark_id"],
            name=op.f("fk_measurements_landmark_id_landmarks"),
        ),
        sa.PrimaryKeyConstraint("measurement_id", name=op.f("pk_measurements")),
        sa.UniqueConstraint("nonce", name=op.f("uq_measurements_nonce")),
    )
    op.create_index(
        "ix_measurements_chip_measured", "measurements", ["chip_id", "measured_at"], unique=False
    )
    op.create_table(
        "location_verdicts",
        sa.Column("verdict_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chip_id", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("declared_lat", sa.Float(), nullable=True),
        sa.Column("declared_lon", sa.Float(), nullable=True),
        sa.Column("declared_country", sa.String(2), nullable=True),
        sa.Column("n_landmarks", sa.Integer(), nullable=False),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("verdict_id", name=op.f("pk_location_verdicts")),
    )
    op.create_index(
        "ix_location_verdicts_chip_computed",
        "location_verdicts",
        ["chip_id", "computed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_location_verdicts_chip_computed", table_name="location_verdicts")
    op.drop_table("location_verdicts")
    op.drop_index("ix_measurements_chip_measured", table_name="measurements")
    op.drop_table("measurements")
    op.drop_table("chip_device_keys")
    op.drop_table("landmarks")
