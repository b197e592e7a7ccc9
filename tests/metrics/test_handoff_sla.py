"""Hand-off service levels per queue and period against hand-computed values (SQLite and PostgreSQL); how each
row ended is decided by bot/handoff/ending.py (tests/handoff/test_ending.py)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from typer.testing import CliRunner

from bot.cli import app
from bot.metrics.filters import CallFilter, Group
from bot.metrics.handoff_sla import handoff_sla
from bot.storage.db import Database
from tests.metrics import builders as b


def warm(legs: list[dict], accepted_by: str | None = None, **extra: object) -> dict:
    return {"warm": {"mode": "warm", "summary": "…", "legs": legs, "accepted_by": accepted_by, **extra}}


def leg(agent: str, dialled: float, result: str, answered: float | None = None) -> dict:
    row = {"agent": agent, "dialled_at": dialled, "result": result}
    return row if answered is None else {**row, "answered_at": answered}


def test_service_levels_per_queue_and_day(db: Database) -> None:
    """sales on 2 March: joined after 5, 12, 18 and 30 s (answer 1, 2, 3, 4 s; 1001 twice), one abandoned, one
    taken back, one pending; support on 3 March: one blind transfer joined after 25 s; one test call ignored."""
    with db.session() as session:
        for i, (to_agent, answer, agent) in enumerate(
            [(5, 1.0, "1001"), (12, 2.0, "1002"), (18, 3.0, "1001"), (30, 4.0, "1003")]
        ):
            call = b.call(session, f"s{i}", b.at(2, 10 + i), talk=60)
            requested = call.started_at + timedelta(seconds=10)
            b.handoff(
                session, call, "completed", to_agent, queue="sales", requested_at=requested,
                finished_at=requested + timedelta(seconds=to_agent), target="2001",
                context=warm([leg(agent, 2.0, "accepted", answered=2.0 + answer)], agent),
            )  # fmt: skip
        gone = b.call(session, "gone", b.at(2, 15), talk=20)
        b.handoff(session, gone, "failed", queue="sales", failure="warm",
                  context=warm([leg("1001", 1.0, "no_answer"), leg("1002", 21.0, "customer_left")]))  # fmt: skip
        back = b.call(session, "back", b.at(2, 16), talk=20)
        b.handoff(session, back, "failed", queue="sales", failure="no agent", callback_at=b.at(2, 17))
        ringing = b.call(session, "ringing", b.at(2, 17), state="active")
        b.handoff(session, ringing, "requested", queue="sales")
        blind = b.call(session, "blind", b.at(3, 9), talk=40)
        b.handoff(session, blind, "completed", 7.0, queue="support", target="2002",
                  finished_at=blind.started_at + timedelta(seconds=25))  # fmt: skip
        test = b.call(session, "test", b.at(2, 11), talk=10, test=True)
        b.handoff(session, test, "completed", 1.0, queue="sales", finished_at=test.started_at)
    with db.session() as session:
        total, sales, support = handoff_sla(session, CallFilter())
        days = handoff_sla(session, CallFilter(), group=Group.DAY, sla_seconds=30)
        only_support = handoff_sla(session, CallFilter(), queue="support")
        empty = handoff_sla(session, CallFilter(script="survey"))
    assert (total.queue, sales.queue, support.queue) == (None, "sales", "support")
    assert (sales.requested, sales.connected, sales.abandoned, sales.taken_back, sales.pending) == (
        7,
        4,
        1,
        1,
        1,
    )
    assert sales.connect_rate == 66.67  # 4 of 6 finished
    assert (sales.agent_answer_p50, sales.agent_answer_p90) == (2.0, 4.0)
    assert (sales.to_agent_p50, sales.to_agent_p90) == (12.0, 30.0)
    assert (sales.within_sla, sales.service_level) == (3, 50.0)  # 5, 12, 18 ≤ 20 s of 6 finished
    assert sales.accepted_by == {"1001": 2, "1002": 1, "1003": 1}
    assert (support.connected, support.to_agent_p50, support.agent_answer_p50) == (1, 25.0, 7.0)
    assert support.accepted_by == {"2002": 1}
    assert (total.requested, total.connected, total.within_sla, total.service_level) == (8, 5, 3, 42.86)
    assert [(row.bucket.day, row.queue) for row in days] == [
        (2, None),
        (2, "sales"),
        (3, None),
        (3, "support"),
    ]
    assert days[1].service_level == 66.67  # within 30 s: 5, 12, 18, 30
    assert [row.queue for row in only_support] == [None, "support"]
    assert only_support[0].requested == 1
    [nothing] = empty
    assert (nothing.requested, nothing.connect_rate, nothing.to_agent_p50, nothing.service_level) == (
        0, None, None, None,
    )  # fmt: skip


def test_the_cli_prints_them(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VOICEBOT_PATHS__DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("VOICEBOT_CONFIG", str(tmp_path / "none.yml"))
    db = Database(f"sqlite:///{tmp_path / 'var' / 'voicebot.db'}")
    db.migrate()
    with db.session() as session:
        call = b.call(session, "j1", b.at(2, 10), talk=60)
        b.handoff(session, call, "completed", 2.0, queue="sales", target="2001",
                  finished_at=call.started_at + timedelta(seconds=25))  # fmt: skip
    db.dispose()
    result = CliRunner().invoke(app, ["metrics", "handoffs", "--within", "30", "--format", "csv"])
    assert result.exit_code == 0, result.output
    total, sales = csv.DictReader(io.StringIO(result.output))
    assert (total["queue"], sales["queue"], sales["to_agent_p50"], sales["service_level"]) == (
        "",
        "sales",
        "25.0",
        "100.0",
    )
    assert sales["accepted_by.2001"] == "1"
