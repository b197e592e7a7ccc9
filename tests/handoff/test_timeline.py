"""A warm transfer's report as lines of the call's transcript, in ru and en."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.handoff.timeline import warm_timeline

REPORT = {
    "mode": "warm",
    "summary": "Клиент Анна, заинтересована.",
    "legs": [
        {"agent": "anna", "dialled_at": 0.4, "result": "busy", "code": 486},
        {"agent": "boris", "dialled_at": 0.9, "result": "accepted", "answered_at": 3.1, "summary_at": 3.1,
         "connected_at": 7.6},
    ],
    "accepted_by": "boris",
}  # fmt: skip


def test_each_step_is_a_line_at_its_moment() -> None:
    lines = warm_timeline(REPORT, "Соединяю вас…", "ru")
    assert [(line.at, line.event, line.text) for line in lines] == [
        (0.0, "handoff_connecting", "Соединяю вас…"),
        (0.4, "handoff_leg", "Вызов агента anna: занят."),
        (3.1, "handoff_summary", "Сводка агенту boris: Клиент Анна, заинтересована."),
        (7.6, "handoff_joined", "Клиент соединён с агентом boris."),
    ]


def test_the_customer_leaving_is_said_and_other_languages_read_english() -> None:
    report = {"summary": "x", "legs": [{"agent": "anna", "dialled_at": 0.5, "result": "customer_left"}]}
    lines = warm_timeline(report, "Connecting you, please hold.", "de")
    assert [line.text for line in lines] == [
        "Connecting you, please hold.",
        "Calling agent anna: the customer hung up.",
    ]


def test_a_queue_wait_is_placed_by_its_moments() -> None:
    began = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    wait = {
        "started_at": (began + timedelta(seconds=2.5)).isoformat(),
        "ended_at": (began + timedelta(seconds=40)).isoformat(),
        "ended": "abandoned",
        "message": "Все специалисты заняты. Примерное время ожидания — две минуты.",
    }
    lines = warm_timeline({"summary": "x", "legs": [], "queue_wait": wait}, "Соединяю…", "ru", began)
    assert [(line.at, line.event, line.text) for line in lines] == [
        (0.0, "handoff_connecting", "Соединяю…"),
        (2.5, "handoff_queue", "Все специалисты заняты. Примерное время ожидания — две минуты."),
        (40.0, "handoff_queue", "Клиент положил трубку в очереди."),
    ]
