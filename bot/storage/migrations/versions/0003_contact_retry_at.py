"""contacts keep the retry time apart from the scheduling cursor

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 23:11:57.194112
"""

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_at", bot.storage.models.UtcDateTime(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("retry_at")
