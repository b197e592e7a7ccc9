"""`forget` erases the person's conversations from the real Rasa server's tracker store (the conversation id of a
call is its call id), and `export` hands them over first."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from bot.calls.store import CallEnd, CallStart, CallStore
from bot.config import load_settings
from bot.dialog.catalogue import load_catalogue
from bot.dialog.conversation import Conversation
from bot.dialog.engine import new_state
from bot.privacy.export import export_person
from bot.privacy.forget import forget_person
from bot.rasa.client import RasaClient
from bot.rasa.server import token_path
from tests.privacy.people import PERSON, person_traces
from tests.rasa.helpers import VARIABLES

pytestmark = [pytest.mark.slow, pytest.mark.rasa]


async def test_forget_erases_the_persons_rasa_conversation(dialog_service, sqlite_db, tmp_path) -> None:
    settings = load_settings(environ=dialog_service)
    script = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).get("reminder")
    client = RasaClient(
        settings.rasa.url, token_path(settings).read_text().strip(), settings.rasa.request_timeout
    )
    try:
        conversation = Conversation(
            client, new_state(script, "ru", {**VARIABLES["reminder"], "phone": PERSON})
        )
        await conversation.start()
        await conversation.say("нет, перезвоните на 8 916 123 45 67")
        store = CallStore(sqlite_db)
        await store.started(
            CallStart(conversation.id, "inbound", "8" + PERSON[2:], "74951112233", "reminder")
        )
        await store.ended(conversation.id, CallEnd(outcome="callback"))
        held = json.dumps(await client.tracker(conversation.id), ensure_ascii=False)
        assert person_traces(held), "the tracker should hold the number before forget"

        now = datetime.now(UTC)
        archive = zipfile.ZipFile(io.BytesIO(await export_person(sqlite_db, settings, PERSON, "test", now)))
        exported = json.loads(archive.read("person.json"))["rasa_conversations"]
        assert exported["store"] == "memory" and list(exported["conversations"]) == [conversation.id]

        report = await forget_person(sqlite_db, settings, PERSON, "test", now)
        assert (report.tracker_store, report.tracker_conversations) == ("memory", 1)
        after = await client.tracker(conversation.id)
        assert person_traces(json.dumps(after, ensure_ascii=False)) == []
        assert [e for e in after["events"] if e["event"] in ("user", "bot", "slot")] == []
        assert after["slots"].get("dialog_state") is None
    finally:
        await client.close()
