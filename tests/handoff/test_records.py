"""Hand-off records on SQLite and PostgreSQL: a qualified lead's transfer is recorded with `lead.qualified` and
`handoff.requested`, ends `completed` or `failed` (with the robot's takeback and a callback), every outcome has
its event, and the API shows the list and the agent's screen pop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import select

from bot.api.auth import Scope, create_key
from bot.call_results.store import CallStart, CallStore
from bot.config import HandoffSettings, PathsSettings, QueueSettings, Settings
from bot.dialog.action_log import TransferAsked
from bot.dialog.catalogue import load_catalogue
from bot.dialog.engine import DialogEngine, InputKind, TurnInput, new_state
from bot.dialog.transcript import Exchange
from bot.handoff.context import HandoffReason, handoff_reason, sip_headers
from bot.handoff.desk import Handoffs
from bot.outcomes import Intent
from bot.storage.models import Handoff, WebhookEvent
from bot.web import create_app
from telephony.events import TransferResult, TransferStatus

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 10, 12, 0)
SETTINGS = HandoffSettings(
    queues={"sales": QueueSettings(target="sip:sales@pbx.example", timeout_seconds=12)}, callback_minutes=45
)


VARIABLES = {
    "offer": {"name": "Анна", "company": "Ромашка", "product": "страховку"},
    "inbound": {"company": "Ромашка"},
}


def offer_exchanges(*turns: TurnInput, script: str = "offer") -> list[tuple[str | None, Exchange]]:
    """A shipped script through the engine: (step before, exchange) per turn, as the bridge keeps them."""
    engine = DialogEngine(load_catalogue(ROOT / "dialogs", ROOT / "training_data").get(script))
    state = new_state(engine.script, "ru", VARIABLES[script])
    exchanges = []
    for turn in (TurnInput(kind=InputKind.START), *turns):
        result = engine.handle(state, turn, NOW)
        exchanges.append((state.step, Exchange(heard=turn, result=result)))
        state = result.state
    return exchanges


QUALIFYING = offer_exchanges(
    TurnInput(kind=InputKind.TEXT, text="да", intent=Intent.AFFIRM, confidence=0.9),
    TurnInput(kind=InputKind.DTMF, digits="3#", intent="dtmf"),
)


async def start_call(db) -> None:
    store = CallStore(db)
    await store.started(
        CallStart("call-1", "inbound", caller="+79161234567", called="4950001122", script="offer")
    )
    await store.answered("call-1")


def scraped(name: str, **labels: str) -> float:
    """A sample of the process's Prometheus registry (0 before the first)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def events(db) -> list[WebhookEvent]:
    with db.session() as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


async def test_a_qualified_lead_is_recorded_and_its_transfer_carries_the_context(db) -> None:
    await start_call(db)
    handoff = Handoffs(SETTINGS, db).for_call("call-1", "ru")
    transfer = await handoff.start(QUALIFYING[-1][1], QUALIFYING)
    assert (transfer.target, transfer.timeout) == ("sip:sales@pbx.example", 12)
    with db.session() as session:
        row = session.scalar(select(Handoff))
    assert (row.queue, row.reason, row.state, row.target) == (
        "sales",
        "qualified",
        "requested",
        transfer.target,
    )
    assert transfer.headers == {
        "X-Voicebot-Call-Id": "call-1",
        "X-Voicebot-Queue": "sales",
        "X-Voicebot-Reason": "qualified",
        "X-Voicebot-Handoff-Id": str(row.id),
        "X-Voicebot-Outcome": "transferred",
        "X-Voicebot-Slot-people": "3",
    }
    lead, requested = [e for e in events(db) if not e.type.startswith("call.")]
    assert lead.type == "lead.qualified" and requested.type == "handoff.requested"
    assert lead.payload["data"] == {"people": 3} and lead.payload["caller"] == "+79161234567"
    assert lead.payload["slots"]["interested"] is True and lead.payload["queue"] == "sales"
    assert requested.payload["reason"] == "qualified" and requested.payload["handoff_id"] == row.id

    joined = scraped("voicebot_handoff_agent_answer_seconds_count", queue="sales")
    handoff.finished(TransferResult(TransferStatus.SUCCEEDED, 200, "OK"), connected=False, seconds=2.5)
    await handoff.settle()
    assert scraped("voicebot_handoff_agent_answer_seconds_count", queue="sales") == joined + 1
    with db.session() as session:
        row = session.scalar(select(Handoff))
    assert (row.state, row.answer_seconds, row.callback_at) == ("completed", 2.5, None)
    completed = events(db)[-1].payload
    assert events(db)[-1].type == "handoff.completed" and completed["answer_seconds"] == 2.5
    assert (completed["ended"], completed["agent"], completed["agent_answer_seconds"]) == (
        "connected", "sip:sales@pbx.example", 2.5,
    )  # fmt: skip
    assert completed["time_to_agent_seconds"] >= 0 and completed["requested_at"] < completed["finished_at"]
    stored = (row.ended, row.agent, row.agent_answer_seconds, row.time_to_agent_seconds)
    assert stored == ("connected", "sip:sales@pbx.example", 2.5, completed["time_to_agent_seconds"])


async def test_a_refused_transfer_while_the_robot_has_the_caller_is_taken_back_with_a_callback(db) -> None:
    await start_call(db)
    handoff = Handoffs(SETTINGS, db).for_call("call-1", "ru")
    await handoff.start(QUALIFYING[-1][1], QUALIFYING)
    before, taken_back = (
        datetime.now(UTC),
        scraped("voicebot_handoffs_ended_total", queue="sales", end="taken_back"),
    )
    result = TransferResult(TransferStatus.FAILED, 486, "transfer target answered 486 Busy Here")
    takeback = handoff.finished(result, connected=True, seconds=1.0)
    await handoff.settle()
    assert scraped("voicebot_handoffs_ended_total", queue="sales", end="taken_back") == taken_back + 1
    assert takeback is not None and takeback.say == SETTINGS.takeback["ru"]
    assert before + timedelta(minutes=45) <= takeback.callback_at <= datetime.now(UTC) + timedelta(minutes=45)
    with db.session() as session:
        row = session.scalar(select(Handoff))
    assert row.state == "failed" and "486 Busy Here" in row.failure
    assert (row.ended, row.agent, row.time_to_agent_seconds) == ("taken_back", None, None)
    assert row.callback_at.replace(tzinfo=UTC) == takeback.callback_at.replace(
        microsecond=row.callback_at.microsecond
    )
    failed = events(db)[-1]
    assert failed.type == "handoff.failed" and failed.payload["taken_back"] is True
    assert failed.payload["ended"] == "taken_back"
    assert failed.payload["callback_at"] == takeback.callback_at.isoformat()


async def test_a_transfer_that_left_the_robot_without_a_result_is_failed_without_a_callback(db) -> None:
    await start_call(db)
    handoff = Handoffs(SETTINGS, db).for_call("call-1", "ru")
    await handoff.start(QUALIFYING[-1][1], QUALIFYING)
    assert (
        handoff.finished(TransferResult(TransferStatus.TIMEOUT, None, "no final NOTIFY"), False, 30) is None
    )
    await handoff.settle()
    with db.session() as session:
        row = session.scalar(select(Handoff))
    assert (row.state, row.failure, row.callback_at, row.ended) == (
        "failed",
        "timeout: no final NOTIFY",
        None,
        "failed",
    )
    assert events(db)[-1].payload["taken_back"] is False and events(db)[-1].payload["ended"] == "failed"


async def test_a_call_that_ends_before_the_transfer_result_is_recorded_failed(db) -> None:
    await start_call(db)
    handoff = Handoffs(SETTINGS, db).for_call("call-1", "ru")
    await handoff.start(QUALIFYING[-1][1], QUALIFYING)
    with db.session() as session:
        assert session.scalar(select(Handoff.ended)) == "pending"
    await handoff.settle()
    with db.session() as session:
        assert session.scalar(select(Handoff.failure)) == "the call ended before the transfer had a result"
        assert session.scalar(select(Handoff.ended)) == "abandoned"
    assert events(db)[-1].payload["ended"] == "abandoned"  # the customer hung up before any agent


ASK_HUMAN = TurnInput(kind=InputKind.TEXT, text="оператор", intent=Intent.ASK_HUMAN, confidence=0.9)
MUMBLE = TurnInput(kind=InputKind.TEXT, text="э", intent="nlu_fallback")


@pytest.mark.parametrize(
    ("script", "turns", "queue", "reason"),
    [
        ("offer", [ASK_HUMAN], "sales", "requested"),
        ("inbound", [MUMBLE, MUMBLE], "operators", "stuck"),
        ("inbound", [TurnInput(kind=InputKind.DTMF, digits="4", intent="dtmf")], "support", "requested"),
        ("offer", [QUALIFYING[1][1].heard, QUALIFYING[2][1].heard], "sales", "qualified"),
    ],
    ids=["asks-for-a-person", "not-understood-twice", "menu-choice", "qualified-lead"],
)
def test_the_reason_follows_what_led_to_the_transfer(script, turns, queue, reason) -> None:
    last = offer_exchanges(*turns, script=script)[-1][1]
    (transfer,) = [a for a in last.result.actions if isinstance(a, TransferAsked)]
    assert (transfer.queue, handoff_reason(last)) == (queue, reason)


async def test_the_api_lists_hand_offs_and_shows_the_screen_pop(db, tmp_path) -> None:
    await start_call(db)
    handoff = Handoffs(SETTINGS, db).for_call("call-1", "ru")
    await handoff.start(QUALIFYING[-1][1], QUALIFYING)
    app = create_app(Settings(paths=PathsSettings(data_dir=tmp_path / "var")), db=db)
    with db.session() as session:
        key = create_key(session, "reader", [Scope.READ], datetime.now(UTC))[1]
    with TestClient(app) as client:
        listed = client.get("/api/v1/handoffs", headers={"X-API-Key": key}, params={"state": "requested"})
        assert listed.status_code == 200
        (item,) = listed.json()
        assert (item["call_id"], item["queue"], item["reason"]) == ("call-1", "sales", "qualified")
        assert (
            client.get("/api/v1/handoffs", headers={"X-API-Key": key}, params={"state": "failed"}).json()
            == []
        )
        pop = client.get(f"/api/v1/handoffs/{item['id']}", headers={"X-API-Key": key}).json()
        assert pop["caller"] == "+79161234567" and pop["script"] == "offer" and pop["data"] == {"people": 3}
        assert pop["slots"]["interested"] is True and pop["outcome"] == "transferred"
        assert [line["speaker"] for line in pop["transcript"]] == [
            "robot",
            "caller",
            "robot",
            "caller",
            "robot",
        ]
        assert pop["transcript"][3]["text"] == "[keys 3#]"
        assert client.get("/api/v1/handoffs/999", headers={"X-API-Key": key}).status_code == 404
        assert client.get("/api/v1/handoffs").status_code == 401
        bad = client.get("/api/v1/handoffs", headers={"X-API-Key": key}, params={"state": "lost"})
        assert bad.status_code == 422


def test_only_values_needing_no_escape_travel_in_the_refer_to() -> None:
    """baresip 1.0 makes a Refer-To with any %-escape an empty target: such values stay on the screen pop only."""
    data = {"people": 2, "name": "Анна", "when": "2026-12-05T10:00:00+03:00", "plan": "family-2"}
    headers = sip_headers("c1", 5, "sales", HandoffReason.QUALIFIED, 2, "transferred", data)
    assert headers == {
        "X-Voicebot-Call-Id": "c1",
        "X-Voicebot-Queue": "sales",
        "X-Voicebot-Reason": "qualified",
        "X-Voicebot-Handoff-Id": "5",
        "X-Voicebot-Campaign": "2",
        "X-Voicebot-Outcome": "transferred",
        "X-Voicebot-Slot-people": "2",
        "X-Voicebot-Slot-plan": "family-2",
    }
