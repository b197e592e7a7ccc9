"""A debtor who disputes the debt in a conversation with the real dialog service: the debt script's
`debt.disputed` is written with the call's end and reaches a real HTTP receiver on loopback, signed."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook

from bot.call_results.result import CallResult
from bot.call_results.script_actions import script_requests
from bot.call_results.store import CallStart, CallStore
from bot.crm import signing
from bot.crm.delivery import DeliveryWorker
from bot.storage.db import Database
from tests.crm.conftest import Receiver
from tests.crm.test_webhook_delivery import FAST, deliver_all, subscribe
from tests.rasa.helpers import converse

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


async def test_a_disputed_debt_reaches_the_crm_as_debt_disputed(
    dialog_service, sqlite_db: Database, receiver: Receiver
) -> None:
    secret = signing.new_secret()
    subscribe(sqlite_db, receiver.url, [secret], ["debt.disputed"])
    record = await converse(dialog_service, "debt", ["да", "я не брал никакой кредит это не мой долг"])
    requests = script_requests(record.actions, "Europe/Moscow")
    store = CallStore(sqlite_db)
    await store.started(CallStart("d1", "outbound", caller="robot", called="+79161234567", script="debt"))
    await store.answered("d1")
    await store.ended("d1", CallResult(outcome=record.outcome or "", events=requests.events))

    await deliver_all(DeliveryWorker(sqlite_db, timeout=2.0, retry_delays=FAST))

    [request] = receiver.requests
    event = Webhook(secret).verify(request.body, request.headers)
    assert event == json.loads(request.body)
    assert (event["type"], event["data"]["call_id"], event["data"]["script"]) == (
        "debt.disputed",
        "d1",
        "debt",
    )
    assert event["data"]["data"] == {"amount": 25000, "due_date": "2026-11-01"}
