"""A `campaign.completed` emitted by the dialer reaches a real HTTP receiver on loopback, signed so that the
`standardwebhooks` package verifies it, with the campaign's final counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from standardwebhooks import Webhook

from bot.campaigns.rules import CampaignRules
from bot.campaigns.simulated import ScriptedPlacer
from bot.core.calendar import Hours
from bot.core.clock import SimulatedClock
from bot.crm import signing
from bot.crm.delivery import DeliveryWorker
from bot.crm.outbox import EventType
from bot.storage.db import Database
from tests.campaigns.simtools import dialer_for, make_campaign, run_until
from tests.crm.conftest import Receiver
from tests.crm.test_webhook_delivery import FAST, deliver_all, subscribe


async def test_campaign_completed_is_delivered_signed(db: Database, receiver: Receiver) -> None:
    secret = signing.new_secret()
    subscribe(db, receiver.url, [secret], [EventType.CAMPAIGN_COMPLETED.value])
    receiver.script = ["500"]  # the first attempt fails: the retry carries the same event
    clock = SimulatedClock(datetime(2025, 3, 3, 7, tzinfo=UTC))
    rules = CampaignRules(rest_day_hours=Hours(start=time(9), end=time(21)), holidays_country="")
    campaign = make_campaign(db, [("+79161110001", "Europe/Moscow")], clock.now(), rules)
    dialer = dialer_for(db, ScriptedPlacer(clock=clock), clock)
    await run_until(dialer, clock, clock.now() + timedelta(hours=1), timedelta(minutes=5))

    await deliver_all(DeliveryWorker(db, timeout=2.0, retry_delays=FAST))

    assert [r.status for r in receiver.requests] == [500, 200]
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    event = Webhook(secret).verify(receiver.requests[1].body, receiver.requests[1].headers)
    assert event == json.loads(receiver.requests[1].body)
    assert event["type"] == "campaign.completed"
    assert event["id"] == receiver.requests[1].headers["webhook-id"]
    data = event["data"]
    assert (data["campaign_id"], data["state"], data["why"]) == (
        campaign,
        "completed",
        "every contact is done",
    )
    assert (data["contacts"], data["contacts_total"], data["attempts"]) == ({"done": 1}, 1, 1)
