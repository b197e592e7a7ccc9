"""Survey, latency, per-step script quality and SLA against hand-computed values (SQLite and PostgreSQL)."""

from __future__ import annotations

from bot.metrics.filters import CallFilter, Group
from bot.metrics.latency import latency
from bot.metrics.sla import sla
from bot.metrics.steps import steps
from bot.metrics.survey import survey
from bot.storage.db import Database
from tests.metrics import builders as b


def test_nps_and_csat_count_valid_answers_only(db: Database) -> None:
    answers = [
        {"nps": 10, "csat": True},
        {"nps": 9, "csat": True},
        {"nps": 8, "csat": False},
        {"nps": 3, "csat": 4},  # CSAT on a 1–5 scale: 4 is positive
        {"csat": 2},
        {"nps": "десять", "csat": "yes"},  # not a score, not an answer
        {"nps": 11, "csat": True},  # out of range: no NPS answer; CSAT still counted
    ]
    with db.session() as session:
        for i, slots in enumerate(answers):
            b.call(session, f"s{i}", b.at(2 + i % 2, 12), script="survey", talk=40, slots=slots)
        b.call(session, "unanswered", b.at(2, 13), script="survey", result="no_answer", slots={"nps": 0})
    with db.session() as session:
        [total] = survey(session, CallFilter(script="survey"))
        days = survey(session, CallFilter(script="survey"), Group.DAY)
    assert (total.nps_answers, total.promoters, total.passives, total.detractors) == (4, 2, 1, 1)
    assert total.nps == 25.0  # 50 % promoters − 25 % detractors
    assert (total.csat_answers, total.csat_positive, total.csat) == (6, 4, 66.67)
    assert [(d.bucket.day, d.nps_answers, d.csat_answers) for d in days] == [(2, 2, 4), (3, 2, 2)]


def test_a_survey_with_no_answers(db: Database) -> None:
    with db.session() as session:
        b.call(session, "declined", b.at(2, 12), script="survey", talk=5, outcome="refused")
    with db.session() as session:
        [row] = survey(session, CallFilter(script="survey"))
    assert (row.nps_answers, row.nps, row.csat_answers, row.csat) == (0, None, 0, None)


def test_latency_percentiles_use_spoken_turns_only(db: Database) -> None:
    def turn(kind: str, **ms: float) -> dict:
        return {"index": 0, "kind": kind, "heard": "", "started": 1.0, "ms": ms}

    with db.session() as session:
        b.call(
            session,
            "l1",
            b.at(2, 12),
            talk=30,
            turns=[
                turn("start", first_audio_out=100),
                turn("text", first_audio_out=500),
                turn("text", first_audio_out=700),
                turn("silence", first_audio_out=50),
            ],
        )
        b.call(
            session,
            "l2",
            b.at(3, 12),
            talk=30,
            turns=[
                turn("text", first_audio_out=600),
                turn("text", first_audio_out=900),
                turn("text"),
                turn("text", asr_final=80, first_audio_out=1500),
                "garbage",
            ],
        )
    with db.session() as session:
        [total] = latency(session, CallFilter())
        days = latency(session, CallFilter(), Group.DAY)
    assert (total.turns, total.p50_ms, total.p95_ms) == (5, 700.0, 1500.0)  # sorted 500 600 700 900 1500
    assert [(d.bucket.day, d.turns, d.p50_ms, d.p95_ms) for d in days] == [
        (2, 2, 500.0, 700.0),
        (3, 3, 900.0, 1500.0),
    ]


def robot(step: str) -> dict:
    return {"at": 0.0, "speaker": "robot", "text": "…", "step": step}


def caller(step: str, event: str) -> dict:
    return {"at": 1.0, "speaker": "caller", "text": "…", "step": step, "intent": None, "event": event}


def test_step_quality_no_match_silence_and_reprompts(db: Database) -> None:
    retried = [
        robot("greet"),
        caller("greet", "no_match"),
        robot("greet"),  # re-asked
        caller("greet", "silence"),
        robot("greet"),  # re-asked
        caller("greet", "answered"),
        robot("ask_date"),
        caller("ask_date", "invalid"),
        robot("ask_date"),  # re-asked
        caller("ask_date", "captured"),
        robot("promised"),
    ]
    gave_up = [robot("greet"), caller("greet", "no_match"), robot("handoff"), caller("handoff", "hangup")]
    with db.session() as session:
        b.call(session, "q1", b.at(2, 12), talk=40, transcript=retried)
        b.call(session, "q2", b.at(2, 13), talk=20, transcript=gave_up)
        b.call(session, "q3", b.at(2, 14), talk=20, transcript={"not": "a list"})
        b.call(session, "other", b.at(2, 14), talk=20, script="survey", transcript=gave_up)
    with db.session() as session:
        rows = steps(session, "reminder", CallFilter())
    assert [r.step for r in rows] == ["greet", "ask_date", "handoff", "promised"]
    greet, ask_date, handoff, promised = rows
    assert (greet.calls, greet.visits, greet.turns, greet.no_match, greet.silence) == (2, 2, 4, 2, 1)
    assert (greet.no_match_rate, greet.silence_rate, greet.reprompts, greet.avg_reprompts) == (
        50.0,
        25.0,
        2,
        1.0,
    )
    assert (ask_date.turns, ask_date.invalid, ask_date.reprompts, ask_date.avg_reprompts) == (2, 1, 1, 1.0)
    assert (handoff.hangups, handoff.no_match_rate) == (1, 0.0)
    assert (promised.visits, promised.turns, promised.no_match_rate, promised.avg_reprompts) == (
        1,
        0,
        None,
        0.0,
    )


def test_service_levels_of_the_robot_and_the_agents(db: Database) -> None:
    with db.session() as session:
        fast = b.call(session, "i1", b.at(2, 12), direction="inbound", script="inbound", ring=2.0, talk=60)
        slow = b.call(session, "i2", b.at(2, 13), direction="inbound", script="inbound", ring=8.0, talk=60)
        b.call(
            session, "i3", b.at(2, 14), direction="inbound", script="inbound", result="abandoned", ring=15.0
        )
        b.call(
            session,
            "i4",
            b.at(2, 15),
            direction="inbound",
            script="inbound",
            result="ringing",
            state="ringing",
        )
        b.call(session, "o1", b.at(2, 15), ring=30.0, talk=10)  # outbound: no robot SLA
        b.handoff(session, fast, "completed", 12.0)
        b.handoff(session, slow, "failed")
        b.handoff(session, slow, "completed", 30.0)
        b.handoff(session, slow, "requested")  # still waiting: not counted
    with db.session() as session:
        default = sla(session, CallFilter())
        wider = sla(session, CallFilter(), robot_seconds=10, agent_seconds=30)
        empty = sla(session, CallFilter(script="survey"))
    assert (default.inbound_offered, default.inbound_answered, default.inbound_answered_within) == (3, 2, 1)
    assert (default.robot_sla, default.avg_ring_seconds) == (33.33, 5.0)
    assert (default.handoffs_finished, default.handoffs_answered_within, default.agent_sla) == (3, 1, 33.33)
    assert default.avg_agent_answer_seconds == 21.0
    assert (wider.robot_sla, wider.agent_sla) == (66.67, 66.67)
    assert (empty.inbound_offered, empty.robot_sla, empty.agent_sla, empty.avg_ring_seconds) == (
        0,
        None,
        None,
        None,
    )
