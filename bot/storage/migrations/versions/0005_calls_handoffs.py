"""calls and hand-offs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 01:20:23.128538
"""

import sqlalchemy as sa
from alembic import op

import bot.storage.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("script", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("called", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("started_at", bot.storage.models.UtcDateTime(), nullable=False),
        sa.Column("answered_at", bot.storage.models.UtcDateTime(), nullable=True),
        sa.Column("ended_at", bot.storage.models.UtcDateTime(), nullable=True),
        sa.Column("ring_seconds", sa.Float(), nullable=False),
        sa.Column("talk_seconds", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("outcome_data", sa.JSON(), nullable=False),
        sa.Column("slots", sa.JSON(), nullable=False),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("turns", sa.JSON(), nullable=False),
        sa.Column("ended_by", sa.String(length=32), nullable=False),
        sa.Column("barge_ins", sa.Integer(), nullable=False),
        sa.Column("amd", sa.String(length=64), nullable=False),
        sa.Column("recording_path", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id"),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_outcome"), ["outcome"], unique=False)
        batch_op.create_index("ix_calls_started", ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_state"), ["state"], unique=False)

    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("requested_at", bot.storage.models.UtcDateTime(), nullable=False),
        sa.Column("finished_at", bot.storage.models.UtcDateTime(), nullable=True),
        sa.Column("answer_seconds", sa.Float(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=False),
        sa.Column("callback_at", bot.storage.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoffs_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_handoffs_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoffs_state"))
        batch_op.drop_index(batch_op.f("ix_handoffs_call_id"))

    op.drop_table("handoffs")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_state"))
        batch_op.drop_index("ix_calls_started")
        batch_op.drop_index(batch_op.f("ix_calls_outcome"))
        batch_op.drop_index(batch_op.f("ix_calls_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_calls_attempt_id"))

    op.drop_table("calls")
