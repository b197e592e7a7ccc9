"""End to end over SIP, the `voicebot demo` scenario (bot/demo.py) with every result checked: `voicebot serve`
(SQLite, its own Rasa, the 12-word Vosk test model), Kamailio, baresip customers answering with recorded espeak-ng
Russian, and a CRM receiver on loopback. Everything the run writes stays in var/test-artifacts/e2e."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from bot.demo import CUSTOMERS, Demo, Ports, free_port, wait_for
from tests.conftest import ROOT, TEST_DATA_DIR
from tests.crm.conftest import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.rasa, pytest.mark.sip]

ARTIFACTS = ROOT / "var" / "test-artifacts" / "e2e"
PORTS = Ports(
    pbx=5700, robot_sip=5710, robot_rtp=33000, customers=5720, api=0
)  # away from other tests' ports


@pytest.fixture
def demo(dialog_service) -> Demo:
    ports = dataclasses.replace(PORTS, api=free_port())
    rasa_ports = {"VOICEBOT_RASA__PORT": str(free_port()), "VOICEBOT_RASA__ACTION_PORT": str(free_port())}
    run = Demo(ARTIFACTS, ports, env={**dialog_service, **rasa_ports})
    try:
        run.start(models_from=[TEST_DATA_DIR / "rasa" / "models"])  # trained by the dialog_service fixture
        yield run
    finally:
        run.stop()


def test_a_reminder_campaign_end_to_end(demo: Demo, receiver: Receiver) -> None:
    subscription = demo.api.post("/webhooks/subscriptions", json={"url": receiver.url, "event_types": ["*"]})
    assert subscription.status_code == 201, subscription.text
    secret = subscription.json()["secrets"][0]
    campaign_id = demo.run_campaign()
    demo.wait_until_every_customer_was_called(campaign_id)

    contacts = demo.contacts(campaign_id)
    attempts, calls = _stored(demo.data)
    for customer in CUSTOMERS:
        attempt = attempts[customer.phone]
        got = (attempt["result"], attempt["outcome"])
        assert got == (customer.result, customer.outcome), f"{customer.phone} ({customer.does}): {attempt}"
        if customer.result == "answered":
            assert attempt["id"] in calls, f"{customer.does}: no call row; calls: {calls}"
            call = calls[attempt["id"]]
            assert call["outcome"] == customer.outcome and call["state"] == "ended", (
                f"{customer.does}: {call}"
            )
            assert Path(call["recording_path"]).is_file(), f"{customer.does}: no recording"
            assert call["transcript"], f"{customer.does}: no transcript"
    by_phone = {c.phone: calls.get(attempts[c.phone]["id"]) for c in CUSTOMERS}
    heard = [line["text"] for line in by_phone["+79990000001"]["transcript"] if line["speaker"] == "caller"]
    assert heard and heard[0].split()[0] == "да", heard
    assert by_phone["+79990000002"]["slots"].get("promise_date"), by_phone["+79990000002"]
    assert attempts["+79990000004"]["amd"] == "machine"
    voicemail = [line for line in by_phone["+79990000004"]["transcript"] if line.get("event") == "voicemail"]
    assert voicemail, "no voicemail message was left after the beep"
    unanswered = contacts["+79990000005"]
    assert unanswered["state"] == "pending" and unanswered["attempts"] == 1, (
        unanswered
    )  # a retry is scheduled

    completed: dict[str, dict] = {}

    def every_call_reported() -> bool:  # each call's completion reaches the CRM, signed
        for request in list(receiver.requests):
            event = Webhook(secret).verify(request.body, request.headers)
            if event["type"] == "call.completed":
                completed[event["data"]["called"]] = event["data"]
        return len(completed) == len(CUSTOMERS)

    wait_for(every_call_reported, 30, "not every call.completed webhook arrived")
    for customer in CUSTOMERS:
        assert completed[customer.phone]["outcome"] == customer.outcome


def _stored(data: Path) -> tuple[dict[str, dict], dict[int, dict]]:
    """Attempts by phone and call rows by attempt id, read from the platform's SQLite file."""
    db = sqlite3.connect(data / "voicebot.db")
    db.row_factory = sqlite3.Row
    try:
        attempts = {r["phone"]: dict(r) for r in db.execute("select * from attempts order by id")}
        calls = {}
        for row in db.execute("select * from calls"):
            call = dict(row)
            for key in ("transcript", "slots", "outcome_data", "turns"):
                call[key] = json.loads(call[key])
            calls[call["attempt_id"]] = call
    finally:
        db.close()
    return attempts, calls
