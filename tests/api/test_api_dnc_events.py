"""Numbers put on the do-not-call list through the API emit `contact.do_not_call` naming their source."""

from __future__ import annotations

from sqlalchemy import select

from bot.api.auth import Scope
from bot.storage.models import WebhookEvent
from tests.api.apiclient import Api
from tests.api.test_api_campaigns import create


def dnc_events(api: Api) -> list[dict]:
    with api.client.app.state.db.session() as session:
        rows = session.scalars(select(WebhookEvent).where(WebhookEvent.type == "contact.do_not_call"))
        return [row.payload for row in rows]


def test_api_and_import_entries_emit_once_each(api: Api) -> None:
    cid = create(api)["id"]
    pushed = api.client.post(
        f"/api/v1/campaigns/{cid}/contacts",
        json={"contacts": [{"phone": "+79161234567"}, {"phone": "+79031112233"}]},
        headers=api.headers(),
    ).json()
    ids = {r["phone"]: r["contact_id"] for r in pushed["results"]}
    body = {"phone": "8 916 123-45-67", "campaign_id": cid, "reason": "complaint"}
    for _ in range(2):  # the second time it is already listed: no event
        assert api.client.post("/api/v1/dnc", json=body, headers=api.headers()).status_code == 201
    imported = api.client.post(
        "/api/v1/dnc/import",
        files={"file": ("dnc.csv", b"phone\n+79031112233\n+79161234567\n", "text/csv")},
        headers=api.headers(Scope.WRITE),
    )
    assert imported.json()["created"] == 2  # the campaign entry does not list the number globally
    assert dnc_events(api) == [
        {
            "phone": "+79161234567",
            "campaign_id": cid,
            "reason": "complaint",
            "source": "api",
            "contact_ids": [ids["+79161234567"]],
            "call_id": "",
            "said_at": None,
        },
        {
            "phone": "+79031112233",
            "campaign_id": None,
            "reason": "imported",
            "source": "import",
            "contact_ids": [ids["+79031112233"]],
            "call_id": "",
            "said_at": None,
        },
        {
            "phone": "+79161234567",
            "campaign_id": None,
            "reason": "imported",
            "source": "import",
            "contact_ids": [],
            "call_id": "",
            "said_at": None,
        },
    ]
