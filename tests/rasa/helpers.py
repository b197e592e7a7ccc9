"""Talking to the session's real dialog service from tests, in-process (no CLI start-up per conversation)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from bot.config import load_settings
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import new_state
from bot.dialog.transcript import Record, Transcript
from bot.rasa.client import RasaClient
from bot.rasa.conversation import Conversation
from bot.rasa.server import token_path

Done = TypeVar("Done", bound=BaseModel)

VARIABLES: dict[str, dict[str, str]] = {
    "reminder": {"name": "Анна", "company": "Банк Восток", "amount": "10500", "due_date": "2026-12-01"},
    "debt": {"name": "Иван Петров", "company": "Банк Восток", "amount": "25000", "due_date": "2026-11-01"},
    "survey": {"name": "Анна", "company": "Магазин Уют"},
    "appointment": {
        "name": "Анна",
        "clinic": "Здоровье",
        "slot1": "2026-12-02T10:00",
        "slot2": "2026-12-03T15:30",
        "slot3": "2026-12-04T09:00",
    },
    "inbound": {"company": "Магазин Уют"},
    "offer": {"name": "Анна", "company": "Связь Плюс", "product": "семейный тариф"},
}


def client_for(env: dict[str, str]) -> RasaClient:
    settings = load_settings(environ=env)
    return RasaClient(settings.rasa.url, token_path(settings).read_text(), settings.rasa.request_timeout)


async def converse(env: dict[str, str], script_id: str, lines: list[str | None], lang: str = "ru") -> Record:
    """Run a conversation through the real Rasa server.

    Each line is what the caller says; `None` or "" is silence, "dtmf:1" presses keys. If the script has
    not ended when the lines run out, the caller hangs up.
    """
    settings = load_settings(environ=env)
    script = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).get(script_id)
    client = client_for(env)
    transcript = Transcript(script)
    conversation = Conversation(client, new_state(script, lang, VARIABLES[script_id]))
    try:
        transcript.add(await conversation.start(), None)
        for line in lines:
            assert not conversation.ended, f"the call ended before the caller said {line!r}"
            step = conversation.state.step
            if not line:
                exchange = await conversation.silence()
            elif line.startswith("dtmf:"):
                exchange = await conversation.dtmf(line.removeprefix("dtmf:"))
            else:
                exchange = await conversation.say(line)
            transcript.add(exchange, step)
        if not conversation.ended:
            transcript.add(await conversation.hangup(), conversation.state.step)
    finally:
        await client.close()
    return transcript.record(conversation.state)


def robot_lines(record: Record) -> list[str]:
    return [line.text for line in record.transcript if line.speaker == "robot"]


def caller_events(record: Record) -> list[tuple[str | None, str | None]]:
    return [(line.intent, line.event) for line in record.transcript if line.speaker == "caller"]


def actions_of(record: Record, kind: type[Done]) -> list[Done]:
    """The actions of one kind the engine took in the conversation."""
    return [a for a in record.actions if isinstance(a, kind)]
