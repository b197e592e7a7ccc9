"""calls.words_erased_at, attempts.words_erased_at: when retention (or forget) erased a call's words

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 19:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("calls", "attempts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("words_erased_at", bot.storage.models.UtcDateTime(), nullable=True))


def downgrade() -> None:
    for table in ("calls", "attempts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("words_erased_at")
