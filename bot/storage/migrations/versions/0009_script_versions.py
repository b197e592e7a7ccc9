"""script_versions: every saved text of a dialog script (studio history); campaigns.script_version pins the version
a campaign started with

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 19:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "script_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("script", sa.String(length=100), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", bot.storage.models.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("script", "number", name="uq_script_versions_script_number"),
    )
    with op.batch_alter_table("script_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_script_versions_sha256"), ["sha256"], unique=False)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("script_version", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("script_version")
    with op.batch_alter_table("script_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_script_versions_sha256"))
    op.drop_table("script_versions")
