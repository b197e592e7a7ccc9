"""End to end over SIP, the `voicebot demo` scenario (bot/devtools/demo.py) with every result checked: `voicebot serve`
(SQLite, its own Rasa, the 12-word Vosk test model), Kamailio, baresip customers answering with recorded espeak-ng
Russian, a baresip sales agent, and a CRM receiver on loopback. Everything the run writes stays in
var/test-artifacts/e2e."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from bot.devtools.demo import CALLER, CUSTOMERS, Demo, Ports, free_port, wait_for
from tests.conftest import ROOT, TEST_DATA_DIR, TINY
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
    run = Demo(ARTIFACTS, TINY, ports, env={**dialog_service, **rasa_ports})
    try:
        run.start(models_from=[TEST_DATA_DIR / "rasa" / "models"])  # trained by the dialog_service fixture
        yield run
    finally:
        run.stop()


def test_campaigns_end_to_end(demo: Demo, receiver: Receiver) -> None:
    subscription = demo.api.post("/webhooks/subscriptions", json={"url": receiver.url, "event_types": ["*"]})
    assert subscription.status_code == 201, subscription.text
    secret = subscription.json()["secrets"][0]
    campaigns = demo.run_campaigns()
    demo.wait_until_every_customer_was_called(*campaigns.values())

    contacts = demo.contacts(*campaigns.values())
    attempts, calls, handoffs = _stored(demo.data)
    for customer in CUSTOMERS:
        attempt = attempts[customer.phone]
        said = calls.get(attempt["id"], {})  # the attempt's call (none: never dialled) holds the outcome
        got = (attempt["result"], said.get("outcome", ""))
        assert got == (customer.result, customer.outcome), f"{customer.phone} ({customer.does}): {attempt}"
        if customer.result == "answered":
            assert attempt["id"] in calls, f"{customer.does}: no call row; calls: {calls}"
            call = calls[attempt["id"]]
            assert (call["outcome"], call["state"]) == (customer.outcome, "ended"), f"{customer.does}: {call}"
            assert Path(call["recording_path"]).is_file(), f"{customer.does}: no recording"
            assert call["transcript"], f"{customer.does}: no transcript"
    by_phone = {c.phone: calls.get(attempts[c.phone]["id"]) for c in CUSTOMERS}
    heard = [line["text"] for line in by_phone["+79990000001"]["transcript"] if line["speaker"] == "caller"]
    assert heard and heard[0].split()[0] == "да", heard
    assert by_phone["+79990000002"]["slots"].get("promise_date"), by_phone["+79990000002"]
    assert by_phone["+79990000004"]["amd"] == "machine"
    voicemail = [line for line in by_phone["+79990000004"]["transcript"] if line.get("event") == "voicemail"]
    assert voicemail, "no voicemail message was left after the beep"
    unanswered = contacts["+79990000005"]  # a retry is scheduled
    assert unanswered["state"] == "pending" and unanswered["attempts"] == 1, unanswered

    lead, stuck = by_phone["+79990000007"], by_phone["+79990000006"]
    got = [(h["queue"], h["reason"], h["state"]) for h in handoffs[lead["id"]]]
    assert got == [("sales", "qualified", "completed")], got
    assert lead["slots"].get("people") == 2, lead["slots"]
    # the customer's baresip plays its file from the start into the new call: the agent hears "… да … два …"
    # (the agent itself sends silence, and the robot has left the call)
    agent_heard = _words(demo.agent_heard("sales"))
    assert {"да", "два"} <= set(agent_heard), f"the agent did not hear the customer: {agent_heard}"
    [failed] = handoffs[stuck["id"]]
    assert (failed["queue"], failed["reason"], failed["state"]) == ("support", "stuck", "failed"), failed
    assert failed["callback_at"], failed
    takeback = [line for line in stuck["transcript"] if line.get("event") == "takeback"]
    assert [line["speaker"] for line in takeback] == ["robot"] and takeback[0]["text"], stuck["transcript"]
    assert contacts["+79990000006"]["state"] == "pending", contacts["+79990000006"]  # called back later

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

    # then an inbound call: routed to the inbound script, not understood twice, handed off to the operators
    demo.call_in()
    inbound = demo.wait_for_inbound_call()
    assert (inbound["script"], inbound["caller"], inbound["outcome"]) == (
        "inbound",
        CALLER.phone,
        CALLER.outcome,
    )
    _, calls, handoffs = _stored(demo.data)
    [row] = [c for c in calls.values() if c["call_id"] == inbound["call_id"]]
    got = [(h["queue"], h["reason"], h["state"]) for h in handoffs[row["id"]]]
    assert got == [("operators", "stuck", "completed")], got
    time.sleep(16)  # the caller's baresip replays its file into the new call: its first "да" comes after 13 s
    operator_heard = _words(demo.agent_heard("operators"))
    assert "да" in operator_heard, f"the operator did not hear the caller: {operator_heard}"

    types = {Webhook(secret).verify(r.body, r.headers)["type"] for r in receiver.requests}
    expected = {"call.started", "call.answered", "call.completed", "lead.qualified"}
    assert expected | {"handoff.requested", "handoff.completed", "handoff.failed"} <= types, types


def _words(pcm) -> list[str]:
    """What the 12-word test model recognises in 8 kHz PCM."""
    import vosk

    vosk.SetLogLevel(-1)
    recognizer = vosk.KaldiRecognizer(vosk.Model(str(TINY)), 8000)
    recognizer.AcceptWaveform(pcm.astype("<i2").tobytes())
    return json.loads(recognizer.FinalResult())["text"].split()


def _stored(data: Path) -> tuple[dict[str, dict], dict[int | str, dict], dict[int, list[dict]]]:
    """Attempts by phone, call rows by attempt id (inbound: call id) and hand-offs by call row id, from the
    platform's SQLite file."""
    db = sqlite3.connect(data / "voicebot.db")
    db.row_factory = sqlite3.Row
    try:
        attempts = {r["phone"]: dict(r) for r in db.execute("select * from attempts order by id")}
        calls = {}
        for row in db.execute("select * from calls"):
            call = dict(row)
            for key in ("transcript", "slots", "outcome_data", "turns"):
                call[key] = json.loads(call[key])
            calls[call["attempt_id"] or call["call_id"]] = call
        handoffs: dict[int, list[dict]] = {}
        for row in db.execute("select * from handoffs order by id"):
            handoffs.setdefault(row["call_id"], []).append(dict(row))
    finally:
        db.close()
    return attempts, calls, handoffs
