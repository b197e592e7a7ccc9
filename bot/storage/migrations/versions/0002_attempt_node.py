"""attempts remember the dialer node that claimed them

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:01:20.208163
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("node", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("node")
