"""attempts refer to their call: the conversation's columns (outcome, outcome_data, slots, transcript, recording,
AMD verdict) leave `attempts`; the `calls` row that names the attempt (`calls.attempt_id`) holds them

Before dropping, nothing is lost: a call row gains what only its attempt knew (empty columns filled, outcome_data
keys it lacks, e.g. `callback_at`); an attempt with a conversation but no call row (written before calls were
stored, 0005) gets one, `attempt-<id>`, built from the attempt. What stays on the attempt is the dialer's own:
state, network result, ring and talk time as the placer measured them, error, node.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 02:00:00.000000
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

MOVED = ("outcome", "outcome_data", "slots", "transcript", "recording_path", "amd")
JSON_COLUMNS = ("outcome_data", "slots", "transcript")
NO_VERDICT = ("", "not_run")  # the dialer's "no detection"; a call row says it with an empty `amd`

attempts = sa.table(
    "attempts",
    sa.column("id", sa.Integer),
    sa.column("campaign_id", sa.Integer),
    sa.column("phone", sa.String),
    sa.column("node", sa.String),
    sa.column("result", sa.String),
    sa.column("started_at", sa.DateTime),
    sa.column("finished_at", sa.DateTime),
    sa.column("ring_seconds", sa.Float),
    sa.column("talk_seconds", sa.Float),
    sa.column("error", sa.Text),
    sa.column("words_erased_at", sa.DateTime),
    *(sa.column(name, sa.JSON if name in JSON_COLUMNS else sa.String) for name in MOVED),
)
calls = sa.table(
    "calls",
    sa.column("id", sa.Integer),
    sa.column("call_id", sa.String),
    sa.column("direction", sa.String),
    sa.column("state", sa.String),
    sa.column("attempt_id", sa.Integer),
    sa.column("campaign_id", sa.Integer),
    sa.column("script", sa.String),
    sa.column("language", sa.String),
    sa.column("caller", sa.String),
    sa.column("called", sa.String),
    sa.column("node", sa.String),
    sa.column("started_at", sa.DateTime),
    sa.column("answered_at", sa.DateTime),
    sa.column("ended_at", sa.DateTime),
    sa.column("ring_seconds", sa.Float),
    sa.column("talk_seconds", sa.Float),
    sa.column("turns", sa.JSON),
    sa.column("ended_by", sa.String),
    sa.column("barge_ins", sa.Integer),
    sa.column("amd_reason", sa.String),
    sa.column("error", sa.Text),
    sa.column("test", sa.Boolean),
    sa.column("words_erased_at", sa.DateTime),
    *(sa.column(name, sa.JSON if name in JSON_COLUMNS else sa.String) for name in MOVED),
)
campaigns = sa.table(
    "campaigns", sa.column("id", sa.Integer), sa.column("script", sa.String), sa.column("language", sa.String)
)


def _has_conversation(attempt: Any) -> bool:
    return bool(attempt.outcome or attempt.slots or attempt.transcript or attempt.outcome_data)


def _filled(call: Any, attempt: Any) -> dict[str, Any]:
    """The call row's columns that only its attempt knew: empty ones filled, outcome_data keys added."""
    values: dict[str, Any] = {}
    for name in ("outcome", "slots", "transcript", "recording_path"):
        if not getattr(call, name) and getattr(attempt, name):
            values[name] = getattr(attempt, name)
    if not call.amd and attempt.amd not in NO_VERDICT:
        values["amd"] = attempt.amd
    extra = {
        key: v for key, v in (attempt.outcome_data or {}).items() if key not in (call.outcome_data or {})
    }
    if extra:
        values["outcome_data"] = {**(call.outcome_data or {}), **extra}
    return values


def _call_of(attempt: Any, script: str, language: str) -> dict[str, Any]:
    """A call row for an attempt stored before calls were (0005), from what the attempt kept."""
    answered = attempt.result == "answered"
    return {
        "call_id": f"attempt-{attempt.id}",
        "direction": "outbound",
        "state": "ended",
        "attempt_id": attempt.id,
        "campaign_id": attempt.campaign_id,
        "script": script,
        "language": language,
        "caller": "",
        "called": attempt.phone,
        "node": attempt.node,
        "started_at": attempt.started_at,
        "answered_at": attempt.started_at + timedelta(seconds=attempt.ring_seconds) if answered else None,
        "ended_at": attempt.finished_at or attempt.started_at,
        "ring_seconds": attempt.ring_seconds,
        "talk_seconds": attempt.talk_seconds,
        "outcome": attempt.outcome,
        "outcome_data": attempt.outcome_data or {},
        "slots": attempt.slots or {},
        "transcript": attempt.transcript or [],
        "turns": [],
        "ended_by": "",
        "barge_ins": 0,
        "amd": "" if attempt.amd in NO_VERDICT else attempt.amd,
        "amd_reason": "",
        "recording_path": attempt.recording_path,
        "error": attempt.error,
        "test": False,
        "words_erased_at": attempt.words_erased_at,
    }


def upgrade() -> None:
    connection = op.get_bind()
    scripts = {row.id: (row.script, row.language) for row in connection.execute(sa.select(campaigns))}
    for attempt in connection.execute(sa.select(attempts).order_by(attempts.c.id)).all():
        call = connection.execute(
            sa.select(calls).where(calls.c.attempt_id == attempt.id).order_by(calls.c.id).limit(1)
        ).first()
        if call is not None:
            if values := _filled(call, attempt):
                connection.execute(calls.update().where(calls.c.id == call.id).values(**values))
        elif _has_conversation(attempt):
            script, language = scripts.get(attempt.campaign_id, ("", ""))
            connection.execute(calls.insert().values(**_call_of(attempt, script, language)))
    with _links_kept(connection), op.batch_alter_table("attempts", schema=None) as batch_op:
        for name in MOVED:
            batch_op.drop_column(name)


@contextmanager
def _links_kept(connection: Any) -> Iterator[None]:
    """Keep `calls.attempt_id` through a batch change of `attempts`: on SQLite it copies the table and drops the
    old one, and with foreign keys on that drop sets every call's `attempt_id` NULL (`ON DELETE SET NULL`)."""
    links = connection.execute(
        sa.select(calls.c.id, calls.c.attempt_id).where(calls.c.attempt_id.is_not(None))
    )
    kept = links.all()
    yield
    for call_id, attempt_id in kept:
        connection.execute(calls.update().where(calls.c.id == call_id).values(attempt_id=attempt_id))


def downgrade() -> None:
    connection = op.get_bind()
    with _links_kept(connection), op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), server_default="", nullable=False))
        for name in JSON_COLUMNS:
            default = "[]" if name == "transcript" else "{}"
            batch_op.add_column(sa.Column(name, sa.JSON(), server_default=default, nullable=False))
        batch_op.add_column(sa.Column("recording_path", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("amd", sa.String(length=16), server_default="", nullable=False))
    rows = connection.execute(
        sa.select(calls.c.attempt_id, *(calls.c[name] for name in MOVED))
        .where(calls.c.attempt_id.is_not(None))
        .order_by(calls.c.id.desc())  # the first call row of an attempt wins, as upgrade read it
    ).all()
    for row in rows:
        values = {name: getattr(row, name) for name in MOVED}
        values["amd"] = (values["amd"] or "not_run")[:16]
        connection.execute(attempts.update().where(attempts.c.id == row.attempt_id).values(**values))
