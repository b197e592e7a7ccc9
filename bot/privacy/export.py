"""`export`: everything held about one person as one zip — `person.json` (their contacts, attempts, calls with
transcripts, hand-offs, callback tasks, do-not-call entries, CRM outbox events, Rasa conversations) and
`recordings/` (each call's WAV and call file). Writing it leaves an audit entry."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect

from bot.audit import AuditAction, record
from bot.config import Settings
from bot.privacy import tracker
from bot.privacy.forget import call_ids_of, recording_files
from bot.privacy.person import COUNTED, find_person, phone_hash
from bot.storage.db import Database
from bot.storage.models import Base

FORMAT = "voicebot-person-export/1"


def row_dict(row: Base) -> dict[str, Any]:
    """A table row as JSON-ready data (every column; times as ISO 8601)."""
    out: dict[str, Any] = {}
    for column in inspect(row).mapper.column_attrs:
        value = getattr(row, column.key)
        out[column.key] = value.isoformat() if isinstance(value, datetime | date) else value
    return out


def _collect(
    db: Database, settings: Settings, e164: str, actor: str, now: datetime, conversations: dict
) -> bytes:
    with db.session() as session:
        person = find_person(session, e164)
        files = recording_files(settings, person)
        document = {
            "format": FORMAT,
            "phone": e164,
            "exported_at": now.isoformat(),
            **{name: [row_dict(row) for row in getattr(person, name)] for name in COUNTED},
            "rasa_conversations": conversations,
            "recordings": [f"recordings/{path.name}" for path in files],
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("person.json", json.dumps(document, ensure_ascii=False, indent=2, default=str))
            for path in files:
                archive.write(path, f"recordings/{path.name}")
        detail = {"rows": person.counts(), "files": len(files), "bytes": buffer.tell()}
        record(
            session, AuditAction.PRIVACY_EXPORT, actor=actor, at=now, target=phone_hash(e164), detail=detail
        )
    return buffer.getvalue()


async def export_person(db: Database, settings: Settings, e164: str, actor: str, now: datetime) -> bytes:
    """The zip of everything held about the number `e164` (normalised), and its audit entry."""
    call_ids = await asyncio.to_thread(call_ids_of, db, e164)
    held = await tracker.conversations(settings, call_ids)
    return await asyncio.to_thread(_collect, db, settings, e164, actor, now, held)
