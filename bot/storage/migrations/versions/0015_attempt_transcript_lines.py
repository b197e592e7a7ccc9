"""attempts.transcript in the one transcript shape of calls ({at, speaker: robot|caller, text, …}), not {role: bot|caller}

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 22:40:00.000000
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

attempts = sa.table("attempts", sa.column("id", sa.Integer), sa.column("transcript", sa.JSON))


def _rewrite(line_of: Any) -> None:
    connection = op.get_bind()
    for attempt_id, transcript in connection.execute(sa.select(attempts.c.id, attempts.c.transcript)).all():
        lines = [line_of(line) if isinstance(line, dict) else line for line in transcript or []]
        if lines != (transcript or []):
            connection.execute(attempts.update().where(attempts.c.id == attempt_id).values(transcript=lines))


def _speaker_line(line: dict[str, Any]) -> dict[str, Any]:
    if "role" not in line:
        return line
    rest = {key: value for key, value in line.items() if key != "role"}
    return {**rest, "speaker": "robot" if line["role"] == "bot" else "caller"}


def _role_line(line: dict[str, Any]) -> dict[str, Any]:
    if "speaker" not in line:
        return line
    rest = {key: value for key, value in line.items() if key != "speaker"}
    return {**rest, "role": "bot" if line["speaker"] == "robot" else "caller"}


def upgrade() -> None:
    _rewrite(_speaker_line)


def downgrade() -> None:
    _rewrite(_role_line)
