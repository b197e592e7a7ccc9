"""CRM events of campaigns and the do-not-call list, on SQLite and PostgreSQL: `campaign.completed` and
`contact.do_not_call` are written in the transaction of the state change they report (both or neither)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.campaigns import service
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import CampaignRules
from bot.campaigns.simulated import ScriptedPlacer
from bot.contacts import dnc
from bot.core.calendar import Hours
from bot.core.clock import SimulatedClock
from bot.core.errors import Conflict
from bot.crm import outbox
from bot.outcomes import Outcome
from bot.storage.db import Database
from bot.storage.models import Attempt, Campaign, Contact, DoNotCall, WebhookEvent
from tests.campaigns.simtools import dialer_for, make_campaign, run_until

MONDAY_10_MSK = datetime(2025, 3, 3, 7, tzinfo=UTC)
MSK = "Europe/Moscow"
A, B, C = "+79161110001", "+79161110002", "+79161110003"
BUSY = CallReport(result=TelephonyResult.BUSY, ring_seconds=3)
EVERY_DAY = CampaignRules(rest_day_hours=Hours(start=time(9), end=time(21)), holidays_country="")


def events(db: Database, type: outbox.EventType) -> list[dict[str, Any]]:
    with db.session() as session:
        rows = session.scalars(
            select(WebhookEvent).where(WebhookEvent.type == type).order_by(WebhookEvent.id)
        )
        return [row.payload for row in rows]


def campaign_state(db: Database, campaign_id: int) -> str:
    with db.session() as session:
        return session.get(Campaign, campaign_id).state


def contact_states(db: Database, campaign_id: int) -> dict[str, str]:
    with db.session() as session:
        rows = session.execute(select(Contact.phone, Contact.state).where(Contact.campaign_id == campaign_id))
        return dict(rows.all())


def fail_after(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
    """Make `module.name` do its work and then raise, as a crash right after it would."""
    original = getattr(module, name)

    def broken(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise RuntimeError("crash after the event was written")

    monkeypatch.setattr(module, name, broken)


async def test_campaign_completed_is_emitted_once_with_the_completion(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimulatedClock(MONDAY_10_MSK)
    placer = ScriptedPlacer({B: [BUSY, BUSY, BUSY]}, clock=clock)
    campaign = make_campaign(db, [(A, MSK), (B, MSK)], clock.now(), EVERY_DAY)
    dialer = dialer_for(db, placer, clock)
    fail_after(monkeypatch, service, "finish")
    with pytest.raises(RuntimeError, match="crash after"):
        await run_until(dialer, clock, clock.now() + timedelta(days=1), timedelta(minutes=5))
    assert (campaign_state(db, campaign), events(db, outbox.EventType.CAMPAIGN_COMPLETED)) == ("running", [])

    monkeypatch.undo()
    await run_until(dialer, clock, clock.now() + timedelta(hours=1), timedelta(minutes=5))
    with db.session() as session:
        completed = session.get(Campaign, campaign)
    assert completed.state == "completed"
    [data] = events(db, outbox.EventType.CAMPAIGN_COMPLETED)
    assert data == {
        "campaign_id": campaign,
        "name": "test",
        "script": "reminder",
        "state": "completed",
        "why": "every contact is done",
        "contacts": {"done": 1, "exhausted": 1},
        "contacts_total": 2,
        "attempts": 4,
        "started_at": MONDAY_10_MSK.isoformat().replace("+00:00", "Z"),
        "finished_at": completed.updated_at.isoformat().replace("+00:00", "Z"),
    }


async def test_end_date_expires_pending_contacts_and_waits_for_calls_in_flight(db: Database) -> None:
    clock = SimulatedClock(MONDAY_10_MSK)
    rules = EVERY_DAY.model_copy(update={"end_at": MONDAY_10_MSK + timedelta(hours=1), "pacing_cps": 1 / 600})
    release = asyncio.Event()

    class HeldBusy:
        async def place(self, request: CallRequest) -> CallReport:
            await release.wait()
            return BUSY

    campaign = make_campaign(db, [(A, MSK), (B, MSK), (C, MSK)], clock.now(), rules)
    dialer = dialer_for(db, HeldBusy(), clock)
    await dialer.tick()  # one call placed (pacing), then the end date passes while it is up
    clock.advance(timedelta(hours=2))
    await dialer.tick()
    assert campaign_state(db, campaign) == "running"
    assert sorted(contact_states(db, campaign).values()) == ["expired", "expired", "in_flight"]

    release.set()
    await dialer.drain()  # the busy report would retry the contact: it expires instead
    await dialer.tick()
    assert campaign_state(db, campaign) == "completed"
    [data] = events(db, outbox.EventType.CAMPAIGN_COMPLETED)
    assert (data["why"], data["contacts"], data["attempts"]) == ("end date passed", {"expired": 3}, 1)
    with db.session() as session:
        notes = set(session.scalars(select(Contact.note).where(Contact.campaign_id == campaign)))
    assert notes == {"end date passed"}


async def test_operator_stop_cancels_pending_contacts_and_emits_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimulatedClock(MONDAY_10_MSK)
    campaign = make_campaign(db, [(A, MSK), (B, MSK)], clock.now(), EVERY_DAY)
    fail_after(monkeypatch, service, "emit")
    with pytest.raises(RuntimeError), db.session() as session:
        service.apply(session, campaign, service.Action.STOP, clock.now())
    assert campaign_state(db, campaign) == "running"
    assert contact_states(db, campaign) == {A: "pending", B: "pending"}
    assert events(db, outbox.EventType.CAMPAIGN_COMPLETED) == []

    monkeypatch.undo()
    with db.session() as session:
        service.apply(session, campaign, service.Action.STOP, clock.now())
    assert contact_states(db, campaign) == {A: "cancelled", B: "cancelled"}
    [data] = events(db, outbox.EventType.CAMPAIGN_COMPLETED)
    assert (data["state"], data["why"], data["contacts"]) == (
        "stopped",
        "stopped by an operator",
        {"cancelled": 2},
    )
    assert (data["attempts"], data["started_at"]) == (0, None)
    with pytest.raises(Conflict), db.session() as session:
        service.apply(session, campaign, service.Action.STOP, clock.now())
    assert len(events(db, outbox.EventType.CAMPAIGN_COMPLETED)) == 1


async def test_a_call_reported_after_a_stop_does_not_reopen_its_contact(db: Database) -> None:
    clock = SimulatedClock(MONDAY_10_MSK)
    release = asyncio.Event()

    class HeldBusy:
        async def place(self, request: CallRequest) -> CallReport:
            await release.wait()
            return BUSY

    campaign = make_campaign(db, [(A, MSK)], clock.now(), EVERY_DAY)
    dialer = dialer_for(db, HeldBusy(), clock)
    await dialer.tick()
    with db.session() as session:
        service.apply(session, campaign, service.Action.STOP, clock.now())
    release.set()
    await dialer.drain()
    assert contact_states(db, campaign) == {A: "cancelled"}


async def test_do_not_call_from_the_dialog_emits_with_the_blocked_contacts(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimulatedClock(MONDAY_10_MSK)
    refuse = CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.DO_NOT_CALL)
    first = make_campaign(db, [(A, MSK)], clock.now(), EVERY_DAY)
    second = make_campaign(db, [(A, MSK), (B, MSK)], clock.now(), EVERY_DAY, start=False)
    dialer = dialer_for(db, ScriptedPlacer({A: [refuse]}, clock=clock), clock)
    fail_after(monkeypatch, dnc, "emit")
    with pytest.raises(RuntimeError):
        await dialer.tick()
        await dialer.drain()
    with db.session() as session:
        assert session.scalars(select(DoNotCall)).all() == []
    assert events(db, outbox.EventType.CONTACT_DO_NOT_CALL) == []
    assert contact_states(db, first) == {A: "in_flight"}  # its report did not commit

    monkeypatch.undo()
    with db.session() as session:
        attempt_id = session.scalar(select(Attempt.id).where(Attempt.campaign_id == first))
        ids = dict(session.execute(select(Contact.campaign_id, Contact.id).where(Contact.phone == A)).all())
    dialer.record(attempt_id, refuse, EVERY_DAY)  # the call's report, recorded again
    [data] = events(db, outbox.EventType.CONTACT_DO_NOT_CALL)
    assert data == {
        "phone": A,
        "campaign_id": None,
        "reason": f"asked during call {attempt_id}",
        "source": "dialog",
        "contact_ids": sorted(ids.values()),
        "call_id": "",  # this placer writes no call row
        "said_at": data["said_at"],
    }
    assert datetime.fromisoformat(data["said_at"]) == clock.now()  # no line has a time: the report's moment
    assert contact_states(db, first) == {A: "dnc"}
    assert contact_states(db, second) == {A: "dnc", B: "pending"}


def test_only_a_new_entry_emits_and_its_scope_is_kept(db: Database) -> None:
    now = MONDAY_10_MSK
    campaign = make_campaign(db, [(A, MSK), (B, MSK)], now, EVERY_DAY, start=False)
    with db.session() as session:
        first = dnc.add(session, B, now, campaign, "complaint", dnc.Source.CLI)
        again = dnc.add(session, B, now, campaign, "complaint", dnc.Source.CLI)
    assert (first.added, again.added, again.contact_ids) == (True, False, [])
    [data] = events(db, outbox.EventType.CONTACT_DO_NOT_CALL)
    assert (data["campaign_id"], data["source"], data["reason"]) == (campaign, "cli", "complaint")
    assert data["contact_ids"] == first.contact_ids and len(first.contact_ids) == 1
