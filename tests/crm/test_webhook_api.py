"""The webhook API: subscriptions by admins only, secret rotation, events and deliveries with their log, replay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from bot.api.auth import Scope, create_key
from bot.config import PathsSettings, Settings
from bot.crm.delivery import DeliveryWorker
from bot.crm.outbox import EventType, emit
from bot.web import create_app
from tests.crm.conftest import Receiver
from tests.crm.test_webhook_delivery import deliver_all


class Api:
    def __init__(self, client: TestClient, keys: dict[Scope, str], app) -> None:
        self.client, self.keys, self.app = client, keys, app

    def call(self, method: str, path: str, scope: Scope = Scope.ADMIN, **kwargs):
        return self.client.request(
            method, f"/api/v1{path}", headers={"X-API-Key": self.keys[scope]}, **kwargs
        )


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    app = create_app(Settings(paths=PathsSettings(data_dir=tmp_path / "var", dialogs_dir=tmp_path)))
    with app.state.db.session() as session:
        keys = {scope: create_key(session, str(scope), [scope], datetime.now(UTC))[1] for scope in Scope}
    with TestClient(app) as client:
        yield Api(client, keys, app)
    app.state.db.dispose()


def test_subscriptions_are_managed_by_admins_only(api: Api) -> None:
    body = {"url": "http://crm.example/hook", "event_types": ["call.completed", "lead.qualified"]}
    assert api.call("POST", "/webhooks/subscriptions", Scope.WRITE, json=body).status_code == 403
    created = api.call("POST", "/webhooks/subscriptions", json=body)
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["secrets"][0].startswith("whsec_") and sub["active"] is True
    assert api.call("GET", "/webhooks/subscriptions").json() == [sub]
    bad = api.call("POST", "/webhooks/subscriptions", json=body | {"event_types": ["call.exploded"]})
    assert bad.status_code == 422
    assert api.call("POST", "/webhooks/subscriptions", json=body | {"url": "ftp://x"}).status_code == 422
    patched = api.call("PATCH", f"/webhooks/subscriptions/{sub['id']}", json={"active": False}).json()
    assert patched["active"] is False
    assert api.call("DELETE", f"/webhooks/subscriptions/{sub['id']}").status_code == 204
    assert api.call("GET", f"/webhooks/subscriptions/{sub['id']}").status_code == 404


def test_a_subscription_may_name_the_events_scripts_emit(api: Api) -> None:
    body = {"url": "http://crm.example/hook", "event_types": ["debt.disputed", "call.completed"]}
    created = api.call("POST", "/webhooks/subscriptions", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["event_types"] == ["call.completed", "debt.disputed"]
    for bad in ("disputed", "Debt.Disputed", "handoff.whatever"):
        answer = api.call("POST", "/webhooks/subscriptions", json=body | {"event_types": [bad]})
        assert answer.status_code == 422, bad


async def test_rotation_dead_delivery_log_and_replay(api: Api, receiver: Receiver) -> None:
    body = {"url": receiver.url, "event_types": ["*"]}
    sub = api.call("POST", "/webhooks/subscriptions", json=body).json()
    rotated = api.call("POST", f"/webhooks/subscriptions/{sub['id']}/secrets", json={}).json()
    old, new = rotated["secrets"]
    db = api.app.state.db
    with db.session() as session:
        event_id = emit(session, EventType.HANDOFF_FAILED, {"queue": "sales"}).event_id
    receiver.script = ["410"]
    worker = DeliveryWorker(db, timeout=1, lease=2, retry_delays=(0.05,))
    await deliver_all(worker)

    [dead] = api.call("GET", "/webhooks/deliveries?state=dead", Scope.READ).json()
    assert dead["event_id"] == event_id and dead["last_status"] == 410
    assert [(a["number"], a["status"], a["result"]) for a in dead["log"]] == [(1, 410, "dead")]
    assert api.call("POST", f"/webhooks/deliveries/{dead['id']}/replay", Scope.READ).status_code == 403
    replayed = api.call("POST", f"/webhooks/deliveries/{dead['id']}/replay", Scope.WRITE)
    assert replayed.status_code == 200 and replayed.json()["state"] == "pending"
    assert api.call("POST", f"/webhooks/deliveries/{dead['id']}/replay", Scope.WRITE).status_code == 409
    await deliver_all(worker)

    detail = api.call("GET", f"/webhooks/events/{event_id}", Scope.READ).json()
    [delivery] = detail["deliveries"]
    assert delivery["state"] == "delivered" and [a["result"] for a in delivery["log"]] == [
        "dead",
        "delivered",
    ]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {event_id}
    last = receiver.requests[-1]
    assert Webhook(old).verify(last.body, last.headers)["data"] == {"queue": "sales"}
    assert Webhook(new).verify(last.body, last.headers)["type"] == "handoff.failed"

    api.call("DELETE", f"/webhooks/subscriptions/{sub['id']}/secrets/0")
    with db.session() as session:
        emit(session, EventType.CAMPAIGN_COMPLETED, {"campaign_id": 1})
    await deliver_all(worker)
    newest = receiver.requests[-1]
    assert Webhook(new).verify(newest.body, newest.headers)["type"] == "campaign.completed"
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old).verify(newest.body, newest.headers)
    listed = api.call("GET", "/webhooks/events", Scope.READ).json()
    assert [e["type"] for e in listed] == ["campaign.completed", "handoff.failed"]
