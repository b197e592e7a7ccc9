"""A person with a history in every table (campaign contact, finished attempt, an outbound and an inbound call with
transcripts, turns, a hand-off, a callback task, recordings, a do-not-call entry, CRM events) and a bystander:
what the export and forget tests act on."""

from __future__ import annotations

import glob
import json
import re
import subprocess
import wave
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.call_results.result import CallResult
from bot.call_results.store import CallStart, CallStore
from bot.contacts import dnc
from bot.crm.subscriptions import create as create_subscription
from bot.storage.db import Database
from bot.storage.models import Attempt, Call, Campaign, Contact, Handoff
from bot.storage.states import HandoffEnd

PERSON = "+79161234567"
BYSTANDER = "+79035550011"
# every written form of the person's number: E.164, without +, with the trunk 8, national digits
PERSON_FORMS = (PERSON, PERSON[1:], "8" + PERSON[2:], PERSON[2:])


def person_traces(data: bytes | str) -> list[str]:
    """The forms of the person's number found in `data` (digits only: separators ignored)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    digits = re.sub(r"(?<=\d)[\s\-()]+(?=\d)", "", text)
    return [form for form in PERSON_FORMS if form in digits]


@dataclass
class History:
    campaign_id: int
    person_calls: list[str]
    bystander_calls: list[str]


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x01\x00" * 1600)


async def _call(
    db: Database, recordings: Path, call_id: str, start: CallStart, end: CallResult, name: str
) -> None:
    store = CallStore(db, node="n1")
    await store.started(start)
    await store.answered(call_id)
    wav = recordings / f"{call_id}.wav"
    _wav(wav)
    number = start.caller if start.direction == "inbound" else start.called
    (recordings / f"{call_id}.json").write_text(
        json.dumps({"id": call_id, "variables": {"name": name, "phone": number}}, ensure_ascii=False)
    )
    await store.ended(call_id, end.model_copy(update={"recording": str(wav)}))


async def write_history(db: Database, recordings: Path) -> History:
    now = datetime.now(UTC)
    with db.session() as session:
        create_subscription(session, "http://127.0.0.1:9/hook", ["*"], now=now)
        campaign = Campaign(
            name="Напоминания", script="survey", language="ru", created_at=now, updated_at=now
        )
        session.add(campaign)
        session.flush()
        ids = {}
        for phone, name in ((PERSON, "Иван Петров"), (BYSTANDER, "Анна Смирнова")):
            contact = Contact(
                campaign_id=campaign.id,
                phone=phone,
                name=name,
                variables={"name": name},
                state="done",
                attempts=1,
            )
            session.add(contact)
            session.flush()
            attempt = Attempt(
                campaign_id=campaign.id,
                contact_id=contact.id,
                phone=phone,
                number=1,
                state="done",
                started_at=now - timedelta(minutes=5),
                finished_at=now,
                result="answered",
                interaction=True,
                error=f"sip:{phone}@pbx: 480 Temporarily Unavailable",  # words with the number in them
            )
            session.add(attempt)
            session.flush()
            ids[phone] = (contact.id, attempt.id)
        campaign_id = campaign.id
    history = History(campaign_id, [], [])
    for phone, name, calls in (
        (PERSON, "Иван Петров", history.person_calls),
        (BYSTANDER, "Анна", history.bystander_calls),
    ):
        out_id, in_id = f"out-{phone[-4:]}", f"in-{phone[-4:]}"
        contact_id, attempt_id = ids[phone]
        spoken = [
            {"at": 0.4, "speaker": "robot", "text": f"Здравствуйте, {name}!", "step": "start"},
            {"at": 3.0, "speaker": "caller", "text": "да, на девять", "step": "ask_nps", "intent": "affirm"},
        ]
        turns = [{"step": "ask_nps", "heard": "да на девять", "ms": {"first_audio_out": 420}}]
        await _call(
            db,
            recordings,
            out_id,
            CallStart(
                out_id, "outbound", "74951112233", phone, "survey", "ru", campaign_id, contact_id, attempt_id
            ),
            CallResult(outcome="completed", slots={"nps": 9, "name": name}, transcript=spoken, turns=turns),
            name,
        )
        await _call(
            db,
            recordings,
            in_id,
            CallStart(in_id, "inbound", "8" + phone[2:], "74951112233", "inbound", "ru"),
            CallResult(
                outcome="callback",
                outcome_data={"when": "завтра"},
                transcript=spoken,
                turns=turns,
                callback_at=datetime.now(UTC) + timedelta(days=1),
            ),
            name,
        )
        calls += [out_id, in_id]
    with db.session() as session:
        inbound = session.scalar(select(Call).where(Call.call_id == history.person_calls[1]))
        session.add(
            Handoff(
                call_id=inbound.id,
                queue="operators",
                reason="requested",
                state="completed",
                context={
                    "phone": PERSON,
                    "name": "Иван Петров",
                    "warm": {  # the metrics' part (legs, who accepted) outlives the words (the summary)
                        "summary": f"Клиент Иван Петров, телефон {PERSON}.",
                        "legs": [
                            {"agent": "anna", "dialled_at": 0.5, "result": "busy", "code": 486},
                            {"agent": "boris", "dialled_at": 1.0, "result": "accepted", "answered_at": 2.5},
                        ],
                        "accepted_by": "boris",
                    },
                },
                requested_at=now,
                finished_at=now,
                answer_seconds=3.0,
                ended=HandoffEnd.CONNECTED.value,  # as bot/handoff/ending.py decides it from the warm report
                agent="boris",
                agent_answer_seconds=1.5,
                time_to_agent_seconds=0.0,
            )
        )
        dnc.add(session, PERSON, now, reason="asked in a call", source=dnc.Source.DIALOG)
    return history


METRICS = (
    "/api/v1/metrics",
    "/api/v1/metrics/sla",
    "/api/v1/metrics/survey",
    "/api/v1/metrics/latency",
    "/api/v1/metrics/handoffs",
)


def database_bytes(db: Database) -> bytes:
    """Everything the database holds: the SQLite file and its WAL, or a PostgreSQL dump."""
    if db.is_sqlite:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        files = sorted(glob.glob(f"{db.url.database}*"))
        return b"".join(Path(name).read_bytes() for name in files)
    [pg_dump] = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))[-1:]
    url = db.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run([pg_dump, "--data-only", url], check=True, capture_output=True).stdout


def metrics_of(client: TestClient, headers: dict[str, str], history: History) -> list:
    paths = [
        *METRICS,
        f"/api/v1/metrics/campaigns/{history.campaign_id}",
        "/api/v1/metrics/scripts/survey/steps",
    ]
    answers = [client.get(path, headers=headers) for path in paths]
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
    return [answer.json() for answer in answers]
