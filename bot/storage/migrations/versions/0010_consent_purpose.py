"""Consent and purpose: campaigns.purpose, the consent of each contact, the call and moment of a do-not-call

Existing campaigns get the purpose `debt` when their rules use the 230-FZ preset and `service` otherwise: the
purpose that keeps them dialling as they did (docs/compliance.md says why and what to review).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 19:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(16), nullable=False, server_default="service"))
    campaigns = sa.table("campaigns", sa.column("id", sa.Integer), sa.column("rules", sa.JSON))
    connection = op.get_bind()
    debt = [
        row.id
        for row in connection.execute(sa.select(campaigns.c.id, campaigns.c.rules))
        if (row.rules or {}).get("preset") == "debt_230fz"
    ]
    if debt:
        connection.execute(
            sa.text("UPDATE campaigns SET purpose = 'debt' WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": debt},
        )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_given_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("consent_channel", sa.String(16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("consent_source", sa.String(200), nullable=False, server_default=""))
    with op.batch_alter_table("do_not_call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("call_id", sa.String(64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("said_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("do_not_call", schema=None) as batch_op:
        batch_op.drop_column("said_at")
        batch_op.drop_column("call_id")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("consent_source")
        batch_op.drop_column("consent_channel")
        batch_op.drop_column("consent_given_at")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("purpose")
