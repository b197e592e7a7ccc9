"""A warm transfer's steps as lines of the call's transcript: "соединяю" to the customer, the queue message and how
the wait ended, each agent rung and how that leg ended, the summary said to the agent who answered, the join (the
take-back is the bridge's own line)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

CONNECTING_EVENT = "handoff_connecting"
QUEUE_EVENT = "handoff_queue"
LEG_EVENT = "handoff_leg"
SUMMARY_EVENT = "handoff_summary"
JOINED_EVENT = "handoff_joined"

LEG_TEXT = {  # said at the moment the agent was dialled
    "ru": {
        "busy": "Вызов агента {agent}: занят.",
        "no_answer": "Вызов агента {agent}: не ответил.",
        "rejected": "Вызов агента {agent}: отклонил звонок.",
        "failed": "Вызов агента {agent}: звонок не прошёл.",
        "left_during_summary": "Вызов агента {agent}: положил трубку во время сводки.",
        "not_accepted": "Вызов агента {agent}: не принял звонок.",
        "customer_left": "Вызов агента {agent}: клиент положил трубку.",
    },
    "en": {
        "busy": "Calling agent {agent}: busy.",
        "no_answer": "Calling agent {agent}: no answer.",
        "rejected": "Calling agent {agent}: declined.",
        "failed": "Calling agent {agent}: the call failed.",
        "left_during_summary": "Calling agent {agent}: hung up during the summary.",
        "not_accepted": "Calling agent {agent}: did not take the call.",
        "customer_left": "Calling agent {agent}: the customer hung up.",
    },
}
WAIT_END_TEXT = {
    "ru": {"abandoned": "Клиент положил трубку в очереди.", "timed_out": "Время ожидания в очереди истекло."},
    "en": {"abandoned": "The customer hung up in the queue.", "timed_out": "The queue's wait ran out."},
}
SUMMARY_TEXT = {"ru": "Сводка агенту {agent}: {summary}", "en": "Summary to agent {agent}: {summary}"}
JOINED_TEXT = {"ru": "Клиент соединён с агентом {agent}.", "en": "The customer is joined to agent {agent}."}


@dataclass(frozen=True)
class TimelineLine:
    at: float  # seconds since the warm transfer began
    event: str
    text: str


def warm_timeline(
    report: dict[str, Any], connecting: str, lang: str, began: datetime | None = None
) -> list[TimelineLine]:
    """The lines of a warm transfer's report (`WarmTransfer.report()`), in `lang` (en when not ru), ordered by
    time; `began` (when the transfer began) places the queue wait, whose times are moments."""
    lang = lang if lang in LEG_TEXT else "en"
    lines = [TimelineLine(0.0, CONNECTING_EVENT, connecting)]
    wait = report.get("queue_wait")
    if isinstance(wait, dict) and began is not None:
        lines.append(
            TimelineLine(_since(began, wait.get("started_at")), QUEUE_EVENT, wait.get("message", ""))
        )
        if ended := WAIT_END_TEXT[lang].get(wait.get("ended") or ""):
            lines.append(TimelineLine(_since(began, wait.get("ended_at")), QUEUE_EVENT, ended))
    for leg in report.get("legs") or []:
        agent, result = leg.get("agent", "?"), leg.get("result")
        if result == "accepted":
            summary_at = leg.get("summary_at", leg.get("dialled_at", 0.0))
            text = SUMMARY_TEXT[lang].format(agent=agent, summary=report.get("summary", ""))
            lines.append(TimelineLine(summary_at, SUMMARY_EVENT, text))
            joined_at = leg.get("connected_at", summary_at)
            lines.append(TimelineLine(joined_at, JOINED_EVENT, JOINED_TEXT[lang].format(agent=agent)))
        elif result in LEG_TEXT[lang]:
            at = leg.get("dialled_at", 0.0)
            lines.append(TimelineLine(at, LEG_EVENT, LEG_TEXT[lang][result].format(agent=agent)))
    return sorted(lines, key=lambda line: line.at)


def _since(began: datetime, moment: Any) -> float:
    """Seconds from `began` to an ISO `moment` (0 when there is none)."""
    if not isinstance(moment, str):
        return 0.0
    return max(0.0, round((datetime.fromisoformat(moment) - began).total_seconds(), 3))
