"""Write the previous release's database and its API answers: the fixture of `test_previous_release.py`.

Run it with the code of the release being replaced on the path, from a worktree of that commit (the main `.venv`
has the same dependencies):

    git worktree add /tmp/previous <commit>
    cd /tmp/previous && PYTHONPATH=. /work/main/.venv/bin/python \
        /work/main/tests/migration/make_previous_release.py /work/main/tests/migration/previous_release

It migrates a new SQLite file with that release's migrations and fills it through that release's own services: a
campaign whose contacts the dialer calls (the simulated network storing every call as the real placer does:
confirmed, busy then a callback, an answering machine, an opt-out, no answer), an inbound call, a hand-off that
an agent took and one that failed; then it asks that release's API the questions a CRM and the dashboard ask
(campaign, results, contacts, campaign metrics, calls and each call, metrics, SLA, hand-offs) and stores the
answers beside the file (`answers.json`), with the commit and the schema revision they came from.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from bot.calls.store import CallEnd, CallStart, CallStore
from bot.campaigns.clock import SimulatedClock
from bot.contacts.phones import PhoneNormalizer
from fastapi.testclient import TestClient
from sqlalchemy import text

from bot.api.app import create_app
from bot.api.auth import Scope, create_key
from bot.campaigns import service
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import AmdResult, CallReport, TelephonyResult
from bot.campaigns.rules import CampaignRules, Hours
from bot.campaigns.simulated import ScriptedPlacer
from bot.config import DialerSettings, PathsSettings, Settings
from bot.contacts.importer import ColumnMapping
from bot.handoff.context import HandoffReason
from bot.handoff.records import HandoffRecords, HandoffRequest
from bot.outcomes import Outcome
from bot.storage.db import Database

CONFIRMED, CALLBACK, MACHINE, OPT_OUT, SILENT = (
    "+79165550001",
    "+79165550002",
    "+79165550003",
    "+79165550004",
    "+79165550005",
)
TRANSCRIPT = [
    {"role": "bot", "text": "Здравствуйте! Напоминаем о записи на завтра.", "at": 0.4},
    {"role": "caller", "text": "да приду", "at": 3.1},
    {"role": "bot", "text": "Спасибо, до свидания!", "at": 3.9},
]


def reports(callback_at: datetime) -> dict[str, list[CallReport]]:
    answered = {"result": TelephonyResult.ANSWERED, "ring_seconds": 4.0, "amd": AmdResult.HUMAN}
    return {
        CONFIRMED: [
            CallReport(
                **answered,
                outcome=Outcome.CONFIRMED,
                slots={"confirmed": True},
                transcript=TRANSCRIPT,
                talk_seconds=21.5,
            )
        ],
        CALLBACK: [
            CallReport(result=TelephonyResult.BUSY, ring_seconds=3.0),
            CallReport(
                **answered,
                outcome=Outcome.CALLBACK,
                outcome_data={"when": callback_at.isoformat()},
                callback_at=callback_at,
                talk_seconds=12.0,
            ),
        ],
        MACHINE: [
            CallReport(
                result=TelephonyResult.ANSWERED,
                outcome=Outcome.MACHINE,
                amd=AmdResult.MACHINE,
                ring_seconds=6,
            )
        ],
        OPT_OUT: [CallReport(**answered, outcome=Outcome.DO_NOT_CALL, talk_seconds=8.0)],
        SILENT: [CallReport(result=TelephonyResult.NO_ANSWER, ring_seconds=30.0)] * 3,
    }


async def dial(db, campaign_id: int, start: datetime) -> None:
    """The dialer over the simulated network, in simulated time from `start`, until no contact is open."""
    clock = SimulatedClock(start)
    placer = ScriptedPlacer(
        reports(start + timedelta(hours=2)), clock=clock, store=CallStore(db, node="fixture")
    )
    dialer = Dialer(db, placer, clock, DialerSettings())
    for _ in range(24 * 6):
        await dialer.tick()
        await dialer.drain()
        clock.advance(timedelta(minutes=10))


async def inbound_and_handoffs(db) -> tuple[str, str]:
    """An inbound call handed to an agent who answered, and an outbound call's hand-off that failed."""
    store, records = CallStore(db, node="fixture"), HandoffRecords(db)
    inbound = "inbound-0001"
    await store.started(
        CallStart(
            inbound, "inbound", caller="+79031234567", called="4951112233", script="inbound", language="ru"
        )
    )
    await store.answered(inbound)
    asked = await records.requested(
        HandoffRequest(
            inbound, "sales", "sip:sales@pbx", HandoffReason.REQUESTED, None, {}, {"topic": "тариф"}
        )
    )
    await records.completed(asked.handoff_id, 7.5)
    transcript = [
        {"at": 0.3, "speaker": "robot", "text": "Здравствуйте! Чем помочь?", "step": "start"},
        {
            "at": 2.8,
            "speaker": "caller",
            "text": "соедините с оператором",
            "step": "start",
            "intent": "operator",
        },
    ]
    turns = [
        {"index": 0, "kind": "start", "heard": "", "started": 0.0, "ms": {"first_audio_out": 310.0}},
        {
            "index": 1,
            "kind": "text",
            "heard": "соедините с оператором",
            "started": 2.2,
            "ms": {
                "asr_final": 42.0,
                "dialog_decision": 61.0,
                "first_tts_audio": 240.0,
                "first_audio_out": 402.0,
            },
        },
    ]
    end = CallEnd(
        outcome=Outcome.TRANSFERRED.value, transcript=transcript, turns=turns, ended_by="robot", barge_ins=1
    )
    await store.ended(inbound, end)
    outbound = "sim-1"  # the first attempt's call (the confirmed contact's)
    asked = await records.requested(
        HandoffRequest(outbound, "debt", "sip:debt@pbx", HandoffReason.QUALIFIED, "confirmed", {}, {})
    )
    await records.failed(asked.handoff_id, "busy: 486 Busy Here", datetime.now(UTC) + timedelta(hours=1))
    return inbound, outbound


def questions(campaign_id: int, day: datetime, call_ids: list[str]) -> list[str]:
    """What is asked of the API, each a path with its query."""
    period = f"date_from={(day - timedelta(days=1)).date()}&date_to={(day + timedelta(days=1)).date()}&tz=UTC"
    return [
        f"/api/v1/campaigns/{campaign_id}",
        f"/api/v1/campaigns/{campaign_id}/results.csv",
        f"/api/v1/campaigns/{campaign_id}/contacts",
        f"/api/v1/metrics/campaigns/{campaign_id}",
        "/api/v1/calls",
        *(f"/api/v1/calls/{call_id}" for call_id in call_ids),
        f"/api/v1/metrics?{period}",
        f"/api/v1/metrics?{period}&group=day&direction=outbound",
        f"/api/v1/metrics/latency?{period}",
        f"/api/v1/metrics/sla?{period}",
        "/api/v1/handoffs",
    ]


def answer(client: TestClient, key: str, path: str) -> object:
    response = client.get(path, headers={"X-API-Key": key})
    if response.status_code != 200:
        sys.exit(f"{path}: {response.status_code} {response.text}")
    is_json = response.headers["content-type"].startswith("application/json")
    return response.json() if is_json else response.text


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "voicebot.db"
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    code = Path(service.__file__).resolve().parents[2]
    settings = Settings(paths=PathsSettings(data_dir=out / "var", dialogs_dir=code / "dialogs"))
    app = create_app(
        settings, Database(f"sqlite:///{path}")
    )  # migrates the new file with this release's migrations
    db = app.state.db
    now = datetime.now(UTC).replace(microsecond=0)
    every_hour = Hours(start=time(0), end=time(23, 59, 59))
    rules = CampaignRules(
        working_hours=every_hour, rest_day_hours=every_hour, holidays_country="", max_attempts=3
    )
    with db.session() as session:
        key = create_key(session, "fixture", [Scope.READ], now)[1]
        spec = service.CampaignSpec(name="Напоминание о записи", script="reminder", rules=rules)
        campaign_id = service.create(session, spec, {"reminder"}, now).id
    rows = "".join(f"{phone},Клиент {n},Europe/Moscow\n" for n, phone in enumerate(reports(now)))
    table = f"phone,name,timezone\n{rows}".encode()
    service.import_contacts(db, campaign_id, table, ColumnMapping(), PhoneNormalizer("RU"), now)
    with db.session() as session:
        service.apply(session, campaign_id, service.Action.START, now)
    asyncio.run(dial(db, campaign_id, now))
    asyncio.run(inbound_and_handoffs(db))
    with db.session() as session:
        call_ids = list(session.scalars(text("SELECT call_id FROM calls ORDER BY id")))
        revision = session.scalar(text("SELECT version_num FROM alembic_version"))
    with TestClient(app) as client:
        answers = {path: answer(client, key, path) for path in questions(campaign_id, now, call_ids)}
    db.dispose()
    with sqlite3.connect(path) as connection:  # one self-contained file: no write-ahead log beside it
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("VACUUM")
    shutil.rmtree(out / "var", ignore_errors=True)
    shutil.rmtree(Path(f"{path}.nodes"), ignore_errors=True)
    Path(f"{path}.migrate.lock").unlink(missing_ok=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=code, capture_output=True, text=True).stdout
    fixture = {"commit": commit.strip(), "revision": revision, "key": key, "answers": answers}
    (out / "answers.json").write_text(
        json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"{path}: revision {revision}, {len(call_ids)} calls, {len(answers)} answers")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
