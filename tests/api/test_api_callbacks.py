"""Callback tasks as a client sees them: callers who are no campaign contact and asked to be called back."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.api.auth import Scope
from tests.api.apiclient import Api
from tests.api.test_api_calls import get, store_call

MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def test_callback_tasks_are_listed_soonest_first_with_the_call_and_the_number(api: Api) -> None:
    await store_call(api, "later", outcome="callback", callback_at=MONDAY.replace(hour=15))
    await store_call(api, "sooner", outcome="callback", callback_at=MONDAY)
    await store_call(api, "none", outcome="completed")

    listed = get(api, "/callbacks").json()
    assert [(t["call_id"], t["phone"], t["script"], t["due_at"]) for t in listed] == [
        ("sooner", "+79161234567", "reminder", "2026-12-07T09:00:00Z"),
        ("later", "+79161234567", "reminder", "2026-12-07T15:00:00Z"),
    ]
    assert [t["call_id"] for t in get(api, "/callbacks", due_before="2026-12-07T12:30:00+03:00").json()] == [
        "sooner"
    ]


def test_callback_tasks_need_a_key_and_an_aware_time(api: Api) -> None:
    assert api.client.get("/api/v1/callbacks").status_code == 401
    naive = api.client.get(
        "/api/v1/callbacks", params={"due_before": "2026-12-07T12:00"}, headers=api.headers(Scope.READ)
    )
    assert naive.status_code == 422
