"""Migration 0016 splits the calls' stored answering-machine text into verdict and reason, and joins it back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from bot.storage.db import Database
from tests.migration.steps import migrate_to


def _amd(db: Database) -> dict[str, tuple[str, ...]]:
    with db.engine.connect() as connection:
        columns = "amd, amd_reason" if "amd_reason" in _columns(db) else "amd"
        rows = connection.execute(text(f"SELECT call_id, {columns} FROM calls ORDER BY call_id"))
        return {row[0]: tuple(row[1:]) for row in rows}


def _columns(db: Database) -> list[str]:
    with db.engine.connect() as connection:
        return list(connection.execute(text("SELECT * FROM calls WHERE 1 = 0")).keys())


def test_verdict_and_reason_are_split_and_joined_back(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    migrate_to(db, "0015")
    insert = text(
        "INSERT INTO calls (call_id, direction, state, script, language, caller, called, node, started_at,"
        " ring_seconds, talk_seconds, outcome, outcome_data, slots, transcript, turns, ended_by, barge_ins, amd,"
        " recording_path, error, test) VALUES (:call_id, 'outbound', 'ended', '', '', '', '', '', :at, 0, 0, '',"
        " '{}', '{}', '[]', '[]', '', 0, :amd, '', '', false)"
    )
    with db.engine.begin() as connection:
        for call_id, amd in (("a", "machine: beep at 1000 Hz"), ("b", "human: 0.6 s greeting, then silence"),
                             ("c", "machine"), ("d", "")):  # fmt: skip
            connection.execute(insert, {"call_id": call_id, "at": datetime(2026, 12, 1, 10), "amd": amd})
    migrate_to(db, "0016")
    assert _amd(db) == {
        "a": ("machine", "beep at 1000 Hz"),
        "b": ("human", "0.6 s greeting, then silence"),
        "c": ("machine", ""),
        "d": ("", ""),
    }
    migrate_to(db, "0015", down=True)
    assert _amd(db) == {
        "a": ("machine: beep at 1000 Hz",),
        "b": ("human: 0.6 s greeting, then silence",),
        "c": ("machine",),
        "d": ("",),
    }
    db.dispose()
