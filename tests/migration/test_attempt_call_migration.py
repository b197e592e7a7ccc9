"""Migration 0018 takes the conversation's columns off `attempts` without losing any: a call row gains what only
its attempt knew, an attempt stored before calls were gets a call row of its own, the links stay; and back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.storage.db import Database
from tests.migration.steps import migrate_to

AT = datetime(2026, 12, 1, 10)
WHEN = "2026-12-02T09:00:00+00:00"


def _filled(table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
    """`values` and a plain value for every other required column of `table` as it is at this revision."""
    plain = {sa.Integer: 0, sa.Float: 0.0, sa.Boolean: False, sa.JSON: {}, sa.DateTime: AT}
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key or column.server_default is not None:
            continue
        row[column.name] = next((v for kind, v in plain.items() if isinstance(column.type, kind)), "")
    return row


def _tables(db: Database) -> dict[str, sa.Table]:
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    return dict(metadata.tables)


def _insert(db: Database, table: str, **values: Any) -> int:
    target = _tables(db)[table]
    with db.engine.begin() as connection:
        return connection.execute(target.insert().values(**_filled(target, values))).inserted_primary_key[0]


def _rows(db: Database, table: str) -> list[dict[str, Any]]:
    target = _tables(db)[table]
    with db.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(target).order_by(target.c.id))]


def test_attempts_keep_nothing_of_the_call_and_nothing_is_lost(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    migrate_to(db, "0017")
    campaign = _insert(db, "campaigns", name="c", script="reminder", language="ru", state="completed")
    contact = _insert(db, "contacts", campaign_id=campaign, phone="+79160000001", state="done")
    attempt = {"campaign_id": campaign, "contact_id": contact, "phone": "+79160000001", "state": "done"}
    before_calls = _insert(  # written before the calls table existed: its conversation is only here
        db, "attempts", **attempt, number=1, started_at=AT, finished_at=AT, result="answered", outcome="confirmed",
        slots={"confirmed": True}, transcript=[{"at": 0.4, "speaker": "robot", "text": "Здравствуйте"}],
        ring_seconds=4.0, talk_seconds=21.5, amd="human",
    )  # fmt: skip
    with_call = _insert(
        db, "attempts", **attempt, number=2, started_at=AT, result="answered", outcome="callback",
        outcome_data={"when": WHEN, "callback_at": WHEN}, amd="human",
    )  # fmt: skip
    never_dialled = _insert(
        db, "attempts", **attempt, number=3, started_at=AT, result="failed", error="not dialled"
    )
    _insert(
        db, "calls", call_id="sim-2", direction="outbound", state="ended", attempt_id=with_call,
        campaign_id=campaign, started_at=AT, outcome="callback", outcome_data={"when": WHEN}, amd="human",
    )  # fmt: skip

    migrate_to(db, "0018")
    attempts = _rows(db, "attempts")
    assert not {"outcome", "outcome_data", "slots", "transcript", "recording_path", "amd"} & set(attempts[0])
    assert [(a["id"], a["result"], a["ring_seconds"], a["error"]) for a in attempts] == [
        (before_calls, "answered", 4.0, ""),
        (with_call, "answered", 0.0, ""),
        (never_dialled, "failed", 0.0, "not dialled"),
    ]
    calls = {call["call_id"]: call for call in _rows(db, "calls")}
    assert set(calls) == {"sim-2", f"attempt-{before_calls}"}  # none for the attempt never dialled
    made = calls[f"attempt-{before_calls}"]
    assert (made["attempt_id"], made["script"], made["called"], made["outcome"], made["slots"]) == (
        before_calls, "reminder", "+79160000001", "confirmed", {"confirmed": True}
    )  # fmt: skip
    assert (made["ring_seconds"], made["talk_seconds"], made["amd"]) == (4.0, 21.5, "human")
    assert made["transcript"] == [{"at": 0.4, "speaker": "robot", "text": "Здравствуйте"}]
    kept = calls["sim-2"]
    assert kept["attempt_id"] == with_call  # the link outlives SQLite's copy of the attempts table
    assert kept["outcome_data"] == {"when": WHEN, "callback_at": WHEN}

    migrate_to(db, "0017", down=True)
    back = {a["id"]: a for a in _rows(db, "attempts")}
    assert (back[before_calls]["outcome"], back[before_calls]["slots"]) == ("confirmed", {"confirmed": True})
    assert back[with_call]["outcome_data"] == {"when": WHEN, "callback_at": WHEN}
    assert (back[never_dialled]["outcome"], back[never_dialled]["amd"]) == ("", "")
    assert {call["attempt_id"] for call in _rows(db, "calls")} == {before_calls, with_call}
    db.dispose()
