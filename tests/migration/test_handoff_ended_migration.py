"""Migration 0017 backfills the hand-offs' service-level columns from rows as the previous release wrote them
(its warm reports, failure texts and erased contexts), so an upgraded database answers the same metrics."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import text

from bot.storage.db import Database
from tests.migration.steps import migrate_to

T = datetime(2026, 12, 1, 10)
CALL = (
    "INSERT INTO calls (call_id, direction, state, script, language, caller, called, node, started_at,"
    " ring_seconds, talk_seconds, outcome, outcome_data, slots, transcript, turns, ended_by, barge_ins, amd,"
    " recording_path, error, test) VALUES ('c1', 'inbound', 'ended', '', '', '', '', '', :at, 0, 0, '',"
    " '{}', '{}', '[]', '[]', '', 0, '', '', '', false)"
)
HANDOFFS = sa.table(
    "handoffs",
    *(sa.column(name, sa.String) for name in ("id", "queue", "target", "reason", "state", "failure")),
    sa.column("call_id", sa.Integer),
    sa.column("context", sa.JSON),
    sa.column("requested_at", sa.DateTime),
    sa.column("finished_at", sa.DateTime),
    sa.column("callback_at", sa.DateTime),
    sa.column("answer_seconds", sa.Float),
)


def warm(legs: list[dict], accepted_by: str | None = None, wait_ended: str | None = None) -> dict:
    """The context of a warm hand-off as the previous release's records.py kept it (WarmTransfer.report())."""
    wait = None if wait_ended is None else {"queue": "sales", "joined_at": "…", "ended": wait_ended}
    report = {"mode": "warm", "summary": "Клиент Иван, телефон +79161234567.", "legs": legs,
              "accepted_by": accepted_by, "accepted_after": 6.0 if accepted_by else None, "wait_seconds": 7.0,
              "queue_wait": wait, "queue_full": False}  # fmt: skip
    return {"call_id": "c1", "caller": "+79161234567", "transcript": [], "warm": report}


ROWS = {  # id: (state, context, answer_seconds, failure, callback after)
    "warm joined": ("completed", warm([{"agent": "1001", "dialled_at": 1.0, "result": "busy", "code": 486},
                                       {"agent": "1002", "dialled_at": 1.5, "answered_at": 4.0,
                                        "result": "accepted"}], "1002"), 8.0, "", None),
    "blind joined": ("completed", {"call_id": "c1"}, 6.5, "", None),
    "left while rung": ("failed", warm([{"agent": "1001", "dialled_at": 1.0, "result": "customer_left"}]),
                        None, "failed: no agent took the call", None),
    "left in queue": ("failed", warm([], wait_ended="abandoned"), None, "failed", None),
    "call ended first": ("failed", {}, None, "the call ended before the transfer had a result", None),
    "taken back": ("failed", warm([{"agent": "1001", "dialled_at": 1.0, "result": "no_answer"}]), None,
                   "failed: 480", 60),
    "refused": ("failed", {}, None, "busy: 486 Busy Here", None),
    "ringing": ("requested", {"call_id": "c1"}, None, "", None),
    # erased by the previous release's forget/retention: only what its metrics read was kept
    "erased joined": ("completed", {"warm": {"legs": [{"agent": "1003", "dialled_at": 0.5, "answered_at": 3.5,
                                                       "result": "accepted"}], "accepted_by": "1003",
                                             "queue_wait": None}}, 9.0, "", None),
    "erased left": ("failed", {"warm": {"legs": [], "accepted_by": None, "queue_wait": {"ended": "abandoned"}}},
                    None, "", None),
}  # fmt: skip


def test_the_columns_are_backfilled_as_the_previous_release_counted(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    migrate_to(db, "0016")
    with db.engine.begin() as connection:
        connection.execute(text(CALL), {"at": T})
        call_id = connection.scalar(text("SELECT id FROM calls"))
        for number, (state, context, answer, failure, callback) in enumerate(ROWS.values()):
            connection.execute(HANDOFFS.insert().values(
                call_id=call_id, queue="sales", target="2001", reason=list(ROWS)[number], state=state,
                context=context, requested_at=T, answer_seconds=answer, failure=failure,
                finished_at=None if state == "requested" else T + timedelta(seconds=12),
                callback_at=None if callback is None else T + timedelta(minutes=callback),
            ))  # fmt: skip
    migrate_to(db, "0017")
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT reason, ended, agent, agent_answer_seconds, time_to_agent_seconds"
                                       " FROM handoffs ORDER BY id"))  # fmt: skip
        facts = {row[0]: tuple(row[1:]) for row in rows}
    migrate_to(db, "0016", down=True)
    with db.engine.connect() as connection:
        columns = list(connection.execute(text("SELECT * FROM handoffs WHERE 1 = 0")).keys())
    db.dispose()
    assert "ended" not in columns and "time_to_agent_seconds" not in columns and "failure" in columns
    assert facts == {
        "warm joined": ("connected", "1002", 2.5, 12.0),
        "blind joined": ("connected", "2001", 6.5, 12.0),
        "left while rung": ("abandoned", None, None, None),
        "left in queue": ("abandoned", None, None, None),
        "call ended first": ("abandoned", None, None, None),
        "taken back": ("taken_back", None, None, None),
        "refused": ("failed", None, None, None),
        "ringing": ("pending", None, None, None),
        "erased joined": ("connected", "1003", 3.0, 12.0),
        "erased left": ("abandoned", None, None, None),
    }
