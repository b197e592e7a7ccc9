"""Public names: the outcomes a call ends with and the phone-answer intents every script understands.

Scripts, CRM payloads and reports use these names; they are a public interface — never rename one.
"""

import re
from enum import StrEnum


class Outcome(StrEnum):
    """The final result of a call, recorded exactly once per call."""

    CONFIRMED = "confirmed"
    RESCHEDULED = "rescheduled"
    REFUSED = "refused"
    PROMISE_TO_PAY = "promise_to_pay"  # data: date, amount
    ALREADY_PAID = "already_paid"
    DISPUTE = "dispute"
    BOOKED = "booked"  # data: slot chosen
    COMPLETED = "completed"  # a survey or an inbound request finished
    WRONG_PERSON = "wrong_person"
    CALLBACK = "callback"  # data: when
    DO_NOT_CALL = "do_not_call"
    TRANSFERRED = "transferred"  # handed off to a human agent
    NO_ANSWER_FROM_ROBOT = "no_answer_from_robot"  # the robot got no usable answer (silence, no-match)
    ABANDONED = "abandoned"  # the caller hung up before any other outcome
    MACHINE = "machine"  # an answering machine picked up


class Intent(StrEnum):
    """Phone-answer intents trained in `training_data/` for both languages."""

    AFFIRM = "affirm"
    DENY = "deny"
    RESCHEDULE = "reschedule"
    CALLBACK_LATER = "callback_later"
    BUSY = "busy"
    WRONG_PERSON = "wrong_person"
    ASK_HUMAN = "ask_human"
    DONT_CALL = "dont_call"
    WHO_IS_CALLING = "who_is_calling"
    REPEAT = "repeat"
    THANKS = "thanks"
    UNSURE = "unsure"
    OUT_OF_SCOPE = "out_of_scope"
    GREET = "greet"
    GOODBYE = "goodbye"


class Signal(StrEnum):
    """Non-speech inputs the voice layer sends to the dialog as intents (never trained from text)."""

    START = "voicebot_start"
    SILENCE = "silence"
    DTMF = "dtmf"
    HANGUP = "hangup"
    NLU_FALLBACK = "nlu_fallback"  # Rasa's FallbackClassifier: confidence under the threshold


PLATFORM_EVENT_PREFIXES = ("call", "lead", "handoff", "contact", "campaign")
"""The first parts of the CRM event types the platform itself emits; a script's event names use others."""
SCRIPT_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
SCRIPT_EVENT_MAX = 40  # webhook_events.type


def script_event_problem(name: str) -> str | None:
    """Why `name` cannot be a script's CRM event (`{crm_event: debt.disputed}`), or None when it can."""
    if len(name) > SCRIPT_EVENT_MAX or not SCRIPT_EVENT_NAME.match(name):
        return (
            f"a CRM event name is lowercase words joined by dots, at most {SCRIPT_EVENT_MAX} characters, "
            f"e.g. debt.disputed (got {name!r})"
        )
    if name.split(".", 1)[0] in PLATFORM_EVENT_PREFIXES:
        return f"{name!r}: the platform's own events start with {', '.join(PLATFORM_EVENT_PREFIXES)}"
    return None
