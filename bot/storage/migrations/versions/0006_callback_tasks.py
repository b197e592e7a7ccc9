"""callback tasks: callers who are no campaign contact and asked to be called back

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 16:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callback_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=False),
        sa.Column("script", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("due_at", bot.storage.models.UtcDateTime(), nullable=False),
        sa.Column("created_at", bot.storage.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("callback_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callback_tasks_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_callback_tasks_due_at"), ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("callback_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_tasks_due_at"))
        batch_op.drop_index(batch_op.f("ix_callback_tasks_call_id"))

    op.drop_table("callback_tasks")
