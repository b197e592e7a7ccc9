"""Helpers for campaign tests: campaigns with contacts, and the dialer run in simulated time."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.campaigns import service
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallPlacer
from bot.campaigns.rules import CampaignRules
from bot.config import DialerSettings
from bot.core.clock import SimulatedClock
from bot.storage.db import Database
from bot.storage.models import Contact

SCRIPTS = {"reminder", "debt"}


def make_campaign(
    db: Database,
    contacts: list[tuple[str, str]],
    now: datetime,
    rules: CampaignRules | None = None,
    script: str = "reminder",
    start: bool = True,
) -> int:
    """A campaign with contacts given as (E.164 phone, comma-separated zones), started unless told not to."""
    with db.session() as session:
        spec = service.CampaignSpec(name="test", script=script, rules=rules or CampaignRules())
        campaign = service.create(session, spec, SCRIPTS, now)
        for phone, zones in contacts:
            session.add(
                Contact(
                    campaign_id=campaign.id,
                    phone=phone,
                    timezones=zones,
                    variables={},
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        if start:
            service.apply(session, campaign.id, service.Action.START, now)
        return campaign.id


async def run_until(dialer: Dialer, clock: SimulatedClock, until: datetime, step: timedelta) -> None:
    """Tick the dialer, let its calls finish, advance simulated time by `step`, until `until`."""
    while clock.now() < until:
        await dialer.tick()
        await dialer.drain()
        clock.advance(step)


def dialer_for(db: Database, placer: CallPlacer, clock: SimulatedClock, **settings) -> Dialer:
    return Dialer(db, placer, clock, DialerSettings(**settings))
