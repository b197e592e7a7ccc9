"""calls.amd_reason: the answering-machine verdict (calls.amd, a voice.amd.Verdict) and its reason kept apart

Calls answered by the voice pipeline stored "machine: beep at 1000 Hz" in `amd`, the simulated network "machine":
the rows now hold the verdict in `amd` and the reason in `amd_reason`, so every reader tests the verdict one way.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 22:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

calls = sa.table(
    "calls", sa.column("id", sa.Integer), sa.column("amd", sa.String), sa.column("amd_reason", sa.String)
)


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amd_reason", sa.String(length=200), server_default="", nullable=False))
    connection = op.get_bind()
    rows = connection.execute(sa.select(calls.c.id, calls.c.amd).where(calls.c.amd.like("%: %"))).all()
    for call_id, amd in rows:
        verdict, reason = amd.split(": ", 1)
        connection.execute(calls.update().where(calls.c.id == call_id).values(amd=verdict, amd_reason=reason))


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(calls.c.id, calls.c.amd, calls.c.amd_reason).where(calls.c.amd_reason != "")
    )
    for call_id, verdict, reason in rows.all():
        connection.execute(
            calls.update().where(calls.c.id == call_id).values(amd=f"{verdict}: {reason}"[:64])
        )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("amd_reason")
