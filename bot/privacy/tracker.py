"""A person's conversations in Rasa's tracker store (the conversation id of a call is its `call_id`): read for an
export, erased for `forget`. An SQL tracker store (`rasa.tracker_store`) is read and cleaned directly in its
`events` table; the in-memory store through the running Rasa server's HTTP API (without a running server it
holds nothing: it lives and dies with the Rasa process)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import bindparam, create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.rasa.client import RasaClient, RasaUnavailable
from bot.rasa.server import token_path

EVENTS_TABLE = "events"  # Rasa 3.6 SQLTrackerStore: one row per event, `sender_id` = the conversation id


def sql_url(store: str) -> str:
    """The tracker store's URL for this process's SQLAlchemy (psycopg 3 for PostgreSQL)."""
    url = make_url(store)
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _sql_events(store: str, call_ids: list[str], erase: bool) -> dict[str, list[Any]]:
    engine = create_engine(sql_url(store))
    try:
        with engine.begin() as connection:
            if not call_ids or not inspect(connection).has_table(EVENTS_TABLE):
                return {}
            ids = bindparam("ids", expanding=True)
            rows = connection.execute(
                text(
                    f"SELECT sender_id, data FROM {EVENTS_TABLE} WHERE sender_id IN :ids ORDER BY id"
                ).bindparams(ids),
                {"ids": call_ids},
            )
            found: dict[str, list[Any]] = {}
            for sender, data in rows:
                found.setdefault(sender, []).append(json.loads(data) if data else None)
            if erase:
                if (
                    connection.dialect.name == "sqlite"
                ):  # deleted rows zeroed in the file, not left in free pages
                    connection.exec_driver_sql("PRAGMA secure_delete=ON")
                connection.execute(
                    text(f"DELETE FROM {EVENTS_TABLE} WHERE sender_id IN :ids").bindparams(ids),
                    {"ids": call_ids},
                )
            return found
    finally:
        engine.dispose()


def _client(settings: Settings) -> RasaClient | None:
    token = token_path(settings)
    if not token.exists():
        return None
    return RasaClient(settings.rasa.url, token.read_text().strip(), settings.rasa.request_timeout)


async def _memory_events(settings: Settings, call_ids: list[str], erase: bool) -> dict[str, list[Any]] | None:
    """None when no Rasa server is running (an in-memory store then holds nothing)."""
    client = _client(settings)
    if client is None:
        return None
    try:
        found: dict[str, list[Any]] = {}
        for call_id in call_ids:
            events = (await client.tracker(call_id)).get("events") or []
            meaningful = [e for e in events if e.get("event") not in ("action", "session_started")]
            if meaningful:
                found[call_id] = events
            if erase:
                await client.erase(call_id)
        return found
    except RasaUnavailable:
        return None
    finally:
        await client.close()


async def conversations(settings: Settings, call_ids: list[str], erase: bool = False) -> dict[str, Any]:
    """The events of each call's conversation held by the tracker store (`erase`: and delete them), with where
    they were read: `{"store": "sql" | "memory" | "memory (no Rasa running: nothing held)", "conversations":
    {call_id: [event, …]}}`. Run it on a thread for an SQL store (blocking database work)."""
    store = settings.rasa.tracker_store
    if store != "memory":
        found = await asyncio.to_thread(_sql_events, store, call_ids, erase)
        return {"store": "sql", "conversations": found}
    held = await _memory_events(settings, call_ids, erase)
    if held is None:
        return {"store": "memory (no Rasa running: nothing held)", "conversations": {}}
    return {"store": "memory", "conversations": held}
