"""A warm transfer's report as lines of the call's transcript, in ru and en."""

from __future__ import annotations

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
