"""The dialer while its PostgreSQL restarts: a real cluster stopped at once with calls up and restarted seconds
later. The dialer pauses (nothing claimed, the calls up go on), keeps the reports of calls that end meanwhile,
takes its node lease again and resumes: every contact dialled once, no report lost."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from datetime import time as dt_time

from sqlalchemy import func, select

from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import CampaignRules
from bot.config import DialerSettings
from bot.core.calendar import Hours
from bot.core.clock import SystemClock
from bot.outcomes import Outcome
from bot.storage.models import Attempt, Contact
from tests.campaigns.simtools import make_campaign
from tests.chaos import RESULTS_ENV, ChaosRow, record

ALL_DAY = Hours(start=dt_time(0), end=dt_time(23, 59, 59))
RULES = CampaignRules(
    working_hours=ALL_DAY, rest_day_hours=ALL_DAY, holidays_country="", max_concurrent=3, pacing_cps=10.0
)
CONTACTS = 8
# 4 s in the suite; the 30 s when `voicebot chaos` runs it
OUTAGE = 30.0 if os.environ.get(RESULTS_ENV) else 4.0


class SlowPlacer:
    """Every call answered and confirmed after `seconds` of talk; dials counted per contact."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.dials: list[int] = []
        self.up = 0

    async def place(self, request: CallRequest) -> CallReport:
        self.dials.append(request.contact_id)
        self.up += 1
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.up -= 1
        return CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.CONFIRMED)


async def test_the_dialer_pauses_while_postgresql_restarts_and_loses_nothing(own_postgres):
    cluster, db = own_postgres
    phones = [(f"+7916000{n:04d}", "Europe/Moscow") for n in range(CONTACTS)]
    campaign = make_campaign(db, phones, datetime.now(UTC), RULES)
    placer = SlowPlacer(seconds=2.0)
    dialer = Dialer(db, placer, SystemClock(), DialerSettings(node="a", tick_seconds=0.1, max_lines=3))
    stop = asyncio.Event()
    running = asyncio.create_task(dialer.run(stop, until_idle=True))

    async def calls_up() -> None:
        while placer.up < 3:
            assert not running.done(), (placer.dials, running.result())
            await asyncio.sleep(0.05)

    await asyncio.wait_for(calls_up(), 30)
    await asyncio.to_thread(cluster.stop)
    stopped_at = datetime.now(UTC)
    await asyncio.sleep(OUTAGE)  # the calls up end while the database is down
    assert dialer.paused and not running.done()
    dials_while_down = len(placer.dials)
    await asyncio.to_thread(cluster.start)

    await asyncio.wait_for(running, 120)
    with db.session() as session:
        first_after = session.scalar(
            select(func.min(Attempt.started_at)).where(Attempt.started_at > stopped_at)
        )
    record(
        ChaosRow(
            fault=f"PostgreSQL stopped at once for {OUTAGE:.0f} s (dialer)",
            calls_up=3,
            contacts=CONTACTS,
            lost=CONTACTS - len(set(placer.dials)),
            dialled_twice=len(placer.dials) - len(set(placer.dials)),
            events_lost=None,
            calls_left_live=None,
            seconds_to_recover=round((first_after.replace(tzinfo=UTC) - stopped_at).total_seconds(), 1)
            if first_after
            else None,
        )
    )
    assert dials_while_down == 3, "nothing may be claimed while the database is down"
    assert sorted(placer.dials) == sorted(set(placer.dials)) and len(placer.dials) == CONTACTS
    assert dialer.paused is None
    with db.session() as session:
        outcomes = session.execute(  # the outcome each report gave, as its contact's last result
            select(Contact.last_result, func.count())
            .where(Contact.campaign_id == campaign)
            .group_by(Contact.last_result)
        ).all()
        states = set(session.scalars(select(Contact.state).where(Contact.campaign_id == campaign)))
    assert dict(outcomes) == {"confirmed": CONTACTS}, "every report kept and recorded, none dialled again"
    assert states == {"done"}
    db.dispose()
