"""Identifiers masked where they leave the call (issue 18 item 2): every kind, Russian and English, in digits and in
words, in the stored `calls` row (transcript, heard turns, slots, error), in the webhook bodies a real HTTP receiver
gets, in log lines and in an exported CSV file."""

from __future__ import annotations

import csv
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from loguru import logger
from sqlalchemy import select

from bot.api.schemas import CallOut
from bot.call_results.result import CallResult
from bot.call_results.script_actions import ScriptEvent
from bot.call_results.store import CallStart, CallStore
from bot.crm.delivery import DeliveryWorker
from bot.log import configure_logging
from bot.metrics.export import table_csv
from bot.privacy.live import LIVE_CALLS
from bot.privacy.records import SensitiveSlots
from bot.privacy.redact import mask
from bot.storage.db import Database
from bot.storage.models import Call
from tests.crm.conftest import Receiver
from tests.crm.test_webhook_delivery import FAST, deliver_all, subscribe
from tests.dashboard.conftest import Dashboard
from tests.privacy.test_redact import FOUND

CARD = "4276380012345679"
QUESTION = {"ru": "Назовите, пожалуйста, данные.", "en": "Please give me the details."}


def case_id(n: int) -> str:
    return f"c{n}"


def masked_in_english(kind, expected: str) -> str:
    """The mask a text of unknown language (a log line, an export cell) gets for the case's identifier."""
    return mask(kind, None, expected.split("•••• ")[1][:4] if "••••" in expected else "")


async def test_a_stored_call_and_its_webhooks_carry_no_identifier(
    sqlite_db: Database, receiver: Receiver
) -> None:
    subscribe(sqlite_db, receiver.url, ["whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], ["*"])
    store = CallStore(sqlite_db)
    for n, (_, lang, text, _) in enumerate(FOUND):
        await store.started(
            CallStart(case_id(n), "inbound", caller="+79161234567", called="100", language=lang)
        )
        await store.answered(case_id(n))
        end = CallResult(
            outcome="completed",
            outcome_data={"said": text},
            slots={"said": text},
            transcript=[
                {"at": 0.4, "speaker": "robot", "text": QUESTION[lang], "step": "ask"},
                {"at": 3.0, "speaker": "caller", "text": text, "step": "ask"},
            ],
            turns=[{"index": 1, "kind": "text", "heard": text, "ms": {}}],
            events=(ScriptEvent(name="complaint.received", data={"said": text}),),
            error=f"lookup failed: {text}",
        )
        await store.ended(case_id(n), end)
    await deliver_all(DeliveryWorker(sqlite_db, timeout=2.0, retry_delays=FAST))

    with sqlite_db.session() as session:
        calls = {call.call_id: call for call in session.scalars(select(Call))}
    bodies = [json.loads(request.body) for request in receiver.requests]
    for n, (kind, lang, text, expected) in enumerate(FOUND):
        call = calls[case_id(n)]
        assert call.transcript[1]["text"] == expected, (kind, lang, text)
        assert call.turns[0]["heard"] == expected and call.slots == call.outcome_data == {"said": expected}
        assert call.error == f"lookup failed: {expected}"
        sent = [b["data"] for b in bodies if b["data"]["call_id"] == case_id(n)]
        completed = next(d for d in sent if "transcript" in d)
        assert completed["transcript"][1]["text"] == expected and completed["slots"] == {"said": expected}
        assert next(d for d in sent if "data" in d)["data"] == {"said": expected}
        assert all(text not in json.dumps(d, ensure_ascii=False) for d in sent), (kind, lang, text)
        assert completed["caller"] == "+79161234567"  # the call's own number is the CRM's key, not redacted


@pytest.fixture
def log_lines():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO")
    seen: list[str] = []
    sink = logger.add(lambda m: seen.append(str(m)), format="{message}\n{exception}")
    yield seen
    logger.remove(sink)
    root.handlers[:], root.level = handlers, level


@pytest.mark.parametrize(("kind", "lang", "text", "expected"), FOUND)
def test_a_log_line_carries_no_identifier(log_lines: list[str], kind, lang, text, expected) -> None:
    logger.info(f"call c1 heard: {text}")
    logging.getLogger("telephony.call").warning("caller said %s", text)
    masked = masked_in_english(kind, expected)
    assert len(log_lines) == 2
    for line in log_lines:
        assert text not in line and masked in line, line


def test_a_log_line_carries_no_sensitive_value_of_a_call_in_progress(log_lines: list[str]) -> None:
    values = {"codeword": "ромашка", "pin": "4321"}
    LIVE_CALLS.hold("c1", SensitiveSlots(frozenset({"codeword", "pin"}), frozenset()), lambda: values)
    try:
        logger.info("call c1 turn 3 text 'это ромашка'")
        logger.info("call c1 turn 4 text 'четыре три два один'")
    finally:
        LIVE_CALLS.release("c1")
    logger.info("call c2 turn 1 text 'ромашка'")  # a call with no such script: a word like any other
    assert [line.strip() for line in log_lines] == [
        "call c1 turn 3 text 'это [hidden]'",
        "call c1 turn 4 text '[hidden]'",
        "call c2 turn 1 text 'ромашка'",
    ]


def test_a_traceback_on_stderr_carries_no_identifier(log_lines: list[str], capsys) -> None:
    try:
        raise ValueError("not an order number: 4276380012345679")
    except ValueError:
        logger.exception("lookup failed for ivan.petrov@mail.ru")
    written = capsys.readouterr().err
    assert "Traceback" in written and "4276380012345679" not in written and "ivan.petrov" not in written
    assert "ValueError: not an order number: [card •••• 5679]" in written and "[e-mail]" in written


NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
CALL_ROW = {
    "direction": "inbound", "state": "ended", "campaign_id": None, "attempt_id": None, "script": "inbound",
    "caller": "+79161234567", "called": "100", "started_at": NOW, "answered_at": NOW, "ended_at": NOW,
    "ring_seconds": 1.0, "talk_seconds": 2.0, "outcome": "completed", "ended_by": "caller", "amd": "",
}  # fmt: skip


def test_an_exported_csv_file_carries_no_identifier(tmp_path: Path) -> None:
    rows = [
        CallOut(**CALL_ROW, call_id=case_id(n), language=lang, error=f"lookup failed: {text}")
        for n, (_, lang, text, _) in enumerate(FOUND)
    ]
    export = tmp_path / "calls.csv"
    export.write_text(table_csv(rows, CallOut), encoding="utf-8")
    exported = list(csv.DictReader(export.open(encoding="utf-8")))
    for row, (kind, lang, text, expected) in zip(exported, FOUND, strict=True):
        assert text not in row["error"] and masked_in_english(kind, expected) in row["error"], (
            kind,
            lang,
            text,
        )
        assert row["caller"] == "'+79161234567"  # the call's own number stays (quoted: never a formula)


async def test_the_dashboards_call_page_shows_the_stored_masked_values(dashboard: Dashboard) -> None:
    store = CallStore(dashboard.db)
    await store.started(
        CallStart("c-9", "inbound", caller="+79161234567", called="100", script="inbound", language="ru")
    )
    await store.answered("c-9")
    said = "карта четыре два семь шесть три восемь ноль ноль один два три четыре пять шесть семь девять"
    line = {"at": 2.5, "speaker": "caller", "text": said, "step": "ask_order_number", "intent": "dtmf"}
    end = CallResult(outcome="transferred", slots={"order_number": CARD}, transcript=[line])
    await store.ended("c-9", end)
    dashboard.login()
    page = dashboard.client.get("/dashboard/calls/c-9", headers={"accept-language": "ru"}).text
    assert CARD not in page and "четыре два семь" not in page
    assert page.count("[карта •••• 5679]") == 2  # the transcript line and the slot
