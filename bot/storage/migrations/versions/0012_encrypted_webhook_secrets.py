"""webhook_subscriptions.secrets encrypted at rest: existing plain lists become one Fernet token each

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 20:10:00.000000
"""

import json

import sqlalchemy as sa
from alembic import op

from bot.core.secrets import PREFIX, decrypt, encrypt

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    table = sa.table("webhook_subscriptions", sa.column("id", sa.Integer), sa.column("secrets", sa.JSON))
    for row_id, stored in connection.execute(sa.select(table.c.id, table.c.secrets)).all():
        if isinstance(stored, str) and stored.startswith(PREFIX):
            continue  # encrypted already
        token = encrypt(json.dumps(stored))
        connection.execute(table.update().where(table.c.id == row_id).values(secrets=token))


def downgrade() -> None:
    connection = op.get_bind()
    table = sa.table("webhook_subscriptions", sa.column("id", sa.Integer), sa.column("secrets", sa.JSON))
    for row_id, stored in connection.execute(sa.select(table.c.id, table.c.secrets)).all():
        if isinstance(stored, str) and stored.startswith(PREFIX):
            plain = json.loads(decrypt(stored))
            connection.execute(table.update().where(table.c.id == row_id).values(secrets=plain))
