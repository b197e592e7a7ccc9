"""One person in the database, found by phone number: every row that holds the number or belongs to a call of it
(contacts, attempts, calls, hand-offs, callback tasks, do-not-call entries, CRM outbox events) — what `export`
reads and `forget` erases."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import phonenumbers
from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session

from bot.storage.models import (
    Attempt,
    Call,
    CallbackTask,
    Contact,
    DoNotCall,
    Handoff,
    WebhookEvent,
)

HASH_MARK = "#"  # a do-not-call entry kept as a hash starts with it (a number never does)


def phone_hash(e164: str) -> str:
    """The stand-in kept for a forgotten number where it must stay recognisable (the do-not-call list): `#` and 19
    hex digits of its SHA-256 (fits the 20-character phone columns). A number can be tested against it — that is
    its purpose — but it is not stored."""
    return HASH_MARK + hashlib.sha256(f"voicebot-phone:{e164}".encode()).hexdigest()[:19]


def phone_forms(e164: str) -> tuple[str, ...]:
    """The ways a number appears: +79161234567, 79161234567, 89161234567 (Russian trunk prefix), 9161234567."""
    parsed = phonenumbers.parse(e164)
    national = str(parsed.national_number)
    forms = [e164, e164.lstrip("+"), national]
    if parsed.country_code == 7:
        forms.append("8" + national)
    return tuple(dict.fromkeys(forms))


def national_digits(e164: str) -> str:
    """The national significant number: a substring of every written form of it."""
    return str(phonenumbers.parse(e164).national_number)


@dataclass
class PersonRecords:
    """Every row held about one number (rows of the caller's session; changes to them commit with it)."""

    phone: str
    contacts: list[Contact] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)
    callbacks: list[CallbackTask] = field(default_factory=list)
    do_not_call: list[DoNotCall] = field(default_factory=list)
    events: list[WebhookEvent] = field(default_factory=list)

    @property
    def call_ids(self) -> list[str]:
        """The calls' conversation ids: Rasa tracker conversations and recording file names."""
        return [call.call_id for call in self.calls]

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in COUNTED}

    @property
    def empty(self) -> bool:
        return not any(self.counts().values())


COUNTED = ("contacts", "attempts", "calls", "handoffs", "callbacks", "do_not_call", "events")


def find_person(session: Session, e164: str) -> PersonRecords:
    """Every row about the number `e164` (normalised E.164). Calls are found by their numbers in any written form
    and through the person's attempts; outbox events by the number or one of those calls in their payload."""
    forms, digits = phone_forms(e164), national_digits(e164)
    found = PersonRecords(phone=e164)
    found.contacts = list(
        session.scalars(select(Contact).where(Contact.phone.in_(forms)).order_by(Contact.id))
    )
    found.attempts = list(
        session.scalars(select(Attempt).where(Attempt.phone.in_(forms)).order_by(Attempt.id))
    )
    attempt_ids = [attempt.id for attempt in found.attempts]
    found.calls = list(
        session.scalars(
            select(Call)
            .where(
                or_(
                    Call.caller.contains(digits, autoescape=True),
                    Call.called.contains(digits, autoescape=True),
                    Call.attempt_id.in_(attempt_ids),
                )
            )
            .order_by(Call.id)
        )
    )
    call_keys = [call.id for call in found.calls]
    found.handoffs = list(
        session.scalars(select(Handoff).where(Handoff.call_id.in_(call_keys)).order_by(Handoff.id))
    )
    found.callbacks = list(
        session.scalars(
            select(CallbackTask)
            .where(or_(CallbackTask.phone.in_(forms), CallbackTask.call_id.in_(call_keys)))
            .order_by(CallbackTask.id)
        )
    )
    found.do_not_call = list(
        session.scalars(
            select(DoNotCall).where(DoNotCall.phone.in_([*forms, phone_hash(e164)])).order_by(DoNotCall.id)
        )
    )
    payload = cast(WebhookEvent.payload, Text)
    mentions = [payload.contains(digits, autoescape=True)]
    mentions += [payload.contains(call_id, autoescape=True) for call_id in found.call_ids]
    found.events = list(session.scalars(select(WebhookEvent).where(or_(*mentions)).order_by(WebhookEvent.id)))
    return found
