"""`forget` erases the person's conversations from the real Rasa server's tracker store (the conversation id of a
call is its call id), and `export` hands them over first."""

from __future__ import annotations

import asyncio
import glob
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.call_results.result import CallResult
from bot.call_results.store import CallStart, CallStore
from bot.calls.simulate import CallerLine
from bot.config import load_settings
from bot.core.clock import SimulatedClock
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import new_state
from bot.privacy.export import export_person
from bot.privacy.forget import forget_person
from bot.privacy.retention import enforce_retention_periodically
from bot.rasa.client import RasaClient
from bot.rasa.conversation import Conversation
from bot.rasa.server import token_path
from bot.storage.models import Call
from tests.calls.helpers import call
from tests.conftest import TEST_DATA_DIR, TINY
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
        await store.ended(conversation.id, CallResult(outcome="callback"))
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


async def test_forget_a_caller_who_keyed_their_number_in_a_real_call(
    dialog_service, sqlite_db, tmp_path
) -> None:
    """A whole call through the pipeline and the real dialog service (the inbound script; the caller keys their
    number where an order number is asked): its recording, call file, row and Rasa conversation, then forget."""
    settings = load_settings(
        environ={
            **dialog_service,
            "VOICEBOT_VOICE__ASR_RU": str(TINY),
            "VOICEBOT_VOICE__TTS_RU": "espeak-ng:ru",
            "VOICEBOT_VOICE__RECORDINGS_DIR": str(tmp_path / "recordings"),
        }
    )
    lines = [CallerLine(dtmf="1", barge_in_after=1.0), CallerLine(dtmf="89161234567#")]
    record, _line = await call(settings, dialog_service, "inbound", lines)
    store = CallStore(sqlite_db)
    await store.started(CallStart(record.id, "inbound", PERSON, "74951112233", "inbound", "ru"))
    await store.answered(record.id)
    transcript = [line.model_dump(mode="json") for line in record.transcript]
    await store.ended(
        record.id, CallResult(outcome="transferred", transcript=transcript, recording=record.recording)
    )
    client = RasaClient(
        settings.rasa.url, token_path(settings).read_text().strip(), settings.rasa.request_timeout
    )
    try:
        assert person_traces(
            json.dumps(await client.tracker(record.id), ensure_ascii=False)
        )  # keyed, held raw
        recordings = settings.voice.recordings_dir
        assert sorted(p.name for p in recordings.iterdir()) == [f"{record.id}.json", f"{record.id}.wav"]

        report = await forget_person(sqlite_db, settings, PERSON, "test", datetime.now(UTC))
        assert (report.rows["calls"], report.files_deleted, report.tracker_conversations) == (1, 2, 1)
        assert list(recordings.iterdir()) == []
        assert person_traces(json.dumps(await client.tracker(record.id), ensure_ascii=False)) == []
    finally:
        await client.close()
    with sqlite_db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database = b"".join(Path(name).read_bytes() for name in glob.glob(f"{sqlite_db.url.database}*"))
    assert person_traces(database) == []
    logs = [
        *TEST_DATA_DIR.glob("*.log"),
        *TEST_DATA_DIR.glob("rasa/*.log"),
    ]  # the dialog service's and Rasa's
    assert logs and all(person_traces(log.read_bytes()) == [] for log in logs)


async def test_retention_erases_old_conversations_from_the_in_memory_tracker(
    dialog_service, sqlite_db
) -> None:
    """The in-memory store lives as long as its Rasa: the service's pass erases the conversations of its calls once
    `tracker_days` have passed (on a moved clock), and leaves newer ones."""
    settings = load_settings(environ=dialog_service)
    script = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).get("reminder")
    client = RasaClient(
        settings.rasa.url, token_path(settings).read_text().strip(), settings.rasa.request_timeout
    )
    store = CallStore(sqlite_db, node="worker-1")
    ids = []
    try:
        for _ in range(2):
            conversation = Conversation(
                client, new_state(script, "ru", {**VARIABLES["reminder"], "phone": PERSON})
            )
            await conversation.start()
            await conversation.say("да")
            await store.started(
                CallStart(conversation.id, "outbound", "74951112233", PERSON, "reminder", "ru")
            )
            await store.ended(conversation.id, CallResult(outcome="confirmed"))
            ids.append(conversation.id)
        clock, stop, passes = SimulatedClock(datetime.now(UTC) + timedelta(days=1)), asyncio.Event(), []
        with sqlite_db.session() as session:  # the first call ended an hour more than tracker_days (7) ago
            ended = clock.now() - timedelta(days=7, hours=1)
            session.execute(update(Call).where(Call.call_id == ids[0]).values(ended_at=ended))

        def passed(done: dict[str, int]) -> None:
            passes.append(done)
            stop.set()

        await enforce_retention_periodically(sqlite_db, settings, clock, stop, "worker-1", passed)
        assert passes[0].get("tracker_conversations_erased") == 1
        said = [
            [e.get("text") for e in (await client.tracker(call_id))["events"] if e["event"] == "user"]
            for call_id in ids
        ]
        assert said[0] == [] and "да" in said[1]
    finally:
        await client.close()
