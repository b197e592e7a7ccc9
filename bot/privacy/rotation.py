"""Re-encryption of the secrets stored in the database under the newest key of the ring (after a rotation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.audit import AuditAction, record
from bot.core.secrets import SecretKeyError
from bot.storage.models import WebhookSubscription


def reencrypt_stored(session: Session, actor: str, now: datetime) -> int:
    """Read every webhook subscription's secrets with any key of the ring and write them back under the first (plain
    rows get encrypted); returns the number of rows, with an audit entry."""
    rows = session.execute(select(WebhookSubscription.id, WebhookSubscription.secrets)).all()
    for row_id, secrets in rows:
        session.execute(
            update(WebhookSubscription).where(WebhookSubscription.id == row_id).values(secrets=secrets)
        )
    record(
        session,
        AuditAction.SECRETS_REENCRYPT,
        actor=actor,
        at=now,
        target="webhook_subscriptions",
        detail={"rows": len(rows)},
    )
    return len(rows)


def check_readable(session: Session) -> None:
    """Raise SecretKeyError, naming the way out, when the key ring cannot decrypt a stored secret (a worker
    started with the wrong keys would fail every delivery)."""
    try:
        session.execute(select(WebhookSubscription.secrets)).all()
    except SecretKeyError as exc:
        raise SecretKeyError(
            f"{exc}: give this worker the keys the others use (VOICEBOT_SECRET_KEYS or the key file)"
        ) from exc
