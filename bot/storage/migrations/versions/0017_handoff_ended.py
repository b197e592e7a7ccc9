"""handoffs.ended, agent, agent_answer_seconds, time_to_agent_seconds: a hand-off's service-level facts, decided
once when it finishes (bot/handoff/ending.py), instead of re-read from its context by the SLA metrics

Existing rows are backfilled from their stored context (the warm transfer report) and failure text as the
previous release's bot/metrics/handoff_sla.py read them; the strings below are the values that release stored.
Downgrade drops the columns (rows erased after the upgrade keep no context to read them from again).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 22:58:00.000000
"""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

CALL_ENDED_FIRST = (
    "the call ended before the transfer had a result"  # the desk's failure text of that release
)

handoffs = sa.table(
    "handoffs",
    sa.column("id", sa.Integer),
    sa.column("state", sa.String),
    sa.column("context", sa.JSON),
    sa.column("requested_at", sa.DateTime),
    sa.column("finished_at", sa.DateTime),
    sa.column("answer_seconds", sa.Float),
    sa.column("failure", sa.Text),
    sa.column("callback_at", sa.DateTime),
    sa.column("target", sa.String),
    sa.column("ended", sa.String),
    sa.column("agent", sa.String),
    sa.column("agent_answer_seconds", sa.Float),
    sa.column("time_to_agent_seconds", sa.Float),
)


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ended", sa.String(length=16), server_default="pending", nullable=False)
        )
        batch_op.add_column(sa.Column("agent", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("agent_answer_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("time_to_agent_seconds", sa.Float(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            handoffs.c.id, handoffs.c.state, handoffs.c.context, handoffs.c.requested_at, handoffs.c.finished_at,
            handoffs.c.answer_seconds, handoffs.c.failure, handoffs.c.callback_at, handoffs.c.target,
        ).where(handoffs.c.state != "requested")
    ).all()  # fmt: skip
    for row in rows:
        values = _facts(*row[1:])
        connection.execute(handoffs.update().where(handoffs.c.id == row.id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("time_to_agent_seconds")
        batch_op.drop_column("agent_answer_seconds")
        batch_op.drop_column("agent")
        batch_op.drop_column("ended")


def _facts(
    state: str,
    context: Any,
    requested_at: datetime,
    finished_at: datetime | None,
    answer_seconds: float | None,
    failure: str,
    callback_at: datetime | None,
    target: str,
) -> dict[str, Any]:
    warm = context.get("warm") if isinstance(context, dict) else None
    warm = warm if isinstance(warm, dict) else None
    legs = warm.get("legs") if warm else None
    legs = [leg for leg in legs if isinstance(leg, dict)] if isinstance(legs, list) else []
    if state == "completed":
        agent, answer = target, answer_seconds
        if warm is not None:
            accepted = next((leg for leg in legs if leg.get("result") == "accepted"), None)
            agent = warm.get("accepted_by") or agent
            answer = _leg_answer(accepted) if accepted else None
        to_agent = (finished_at - requested_at).total_seconds() if finished_at else None
        return {
            "ended": "connected",
            "agent": agent,
            "agent_answer_seconds": answer,
            "time_to_agent_seconds": to_agent,
        }
    if state != "failed":
        return {"ended": "pending"}
    if callback_at is not None:
        return {"ended": "taken_back"}
    wait = warm.get("queue_wait") if warm else None
    waited_out = isinstance(wait, dict) and wait.get("ended") == "abandoned"
    left = bool(legs) and legs[-1].get("result") == "customer_left"
    return {"ended": "abandoned" if failure == CALL_ENDED_FIRST or waited_out or left else "failed"}


def _leg_answer(leg: dict[str, Any]) -> float | None:
    dialled, answered = leg.get("dialled_at"), leg.get("answered_at")
    if isinstance(dialled, int | float) and isinstance(answered, int | float):
        return round(answered - dialled, 3)
    return None
