"""A reminder campaign over two days, hand-computed in the tests (see `reminder_campaign`)."""

from __future__ import annotations

import pytest

from bot.storage.db import Database
from tests.metrics import builders as b


@pytest.fixture
def reminder_campaign(db: Database) -> int:
    """Contacts A, B, C called, D never. 2 March: A confirms (60 s), B busy (02:00 UTC, still 1 March in New
    York), C's answering machine. 3 March: B asks not to be called (30 s), C transferred (90 s, agent answered
    in 12 s). A call still in progress on 3 March is not counted."""
    with db.session() as session:
        campaign = b.campaign(session, "Напоминание", "reminder")
        a, bb, c, d = (
            b.contact(session, campaign.id, phone, state)
            for phone, state in (
                ("+79160000001", "done"),
                ("+79160000002", "dnc"),
                ("+79160000003", "done"),
                ("+79160000004", "pending"),
            )
        )
        b.call(session, "a1", b.at(2, 10, 15), contact=a, talk=60, outcome="confirmed")
        b.call(session, "b1", b.at(2, 2), contact=bb, result="busy", ring=20, error="486 Busy Here")
        b.call(
            session,
            "c1",
            b.at(2, 11, 5),
            contact=c,
            talk=10,
            outcome="machine",
            amd="machine",
            amd_reason="beep",
        )
        b.call(session, "b2", b.at(3, 9, 30), contact=bb, talk=30, outcome="do_not_call")
        c2 = b.call(session, "c2", b.at(3, 9, 50), contact=c, talk=90, outcome="transferred")
        b.handoff(session, c2, "completed", 12.0)
        b.call(session, "d1", b.at(3, 10), contact=d, state="active")
        return campaign.id
