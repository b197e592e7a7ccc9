"""Redaction of what a call leaves behind: transcript lines, slots and payload data, with a script's sensitive slots.

A slot a script captures with `sensitive: true` is masked whole in slots and payloads, everywhere its value
appears in the transcript (as text, or as digits said in words), and the caller's lines at the steps that
capture it are masked whole. Every other text goes through `redact` (cards, passports, SNILS, INN, phones,
e-mails). The dialog keeps the real values while the call lasts: only what is stored or sent is redacted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from bot.dialog.action_log import CarriesData, EngineAction
from bot.dialog.model import Script
from bot.privacy.redact import Kind, mask, redact

_TEXT_KEYS = ("slots", "outcome_data", "data")


@dataclass(frozen=True)
class SensitiveSlots:
    """The slots a script marks `sensitive: true`, and the steps that capture them."""

    slots: frozenset[str] = frozenset()
    steps: frozenset[str] = frozenset()

    @classmethod
    def of(cls, script: Script) -> SensitiveSlots:
        captures = [(name, step.capture) for name, step in script.steps.items() if step.capture]
        marked = [(name, capture.slot) for name, capture in captures if capture.sensitive]
        return cls(frozenset(slot for _, slot in marked), frozenset(step for step, _ in marked))

    def secrets(self, values: Mapping[str, Any]) -> list[str]:
        """The texts to mask wherever they appear: the sensitive slots' values (and their digits)."""
        found = []
        for slot in self.slots:
            value = values.get(slot)
            if value is None or isinstance(value, bool | date | time):
                continue  # a date or time is masked in the slot and at its step, not searched for in words
            if isinstance(value, int | float | Decimal) and value == int(value):
                value = int(value)
            text = str(value)
            found.append(text)
            digits = "".join(ch for ch in text if ch.isdigit())
            if digits and digits != text and not isinstance(value, float | Decimal):
                found.append(digits)
        return found


NOTHING_SENSITIVE = SensitiveSlots()


def redact_value(value: Any, lang: str | None, secrets: Iterable[str] = ()) -> Any:
    """A value with identifiers masked: texts (and numbers long enough to be identifiers) through `redact`,
    dicts and lists item by item; dates, times, booleans and short numbers as they are."""
    if isinstance(value, dict):
        return {key: redact_value(item, lang, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item, lang, secrets) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, datetime | date | time):
        return value
    if isinstance(value, int) and len(str(abs(value))) < 10:
        return value
    if isinstance(value, float):
        return value
    text = str(value)
    redacted = redact(text, lang, secrets=secrets).text
    return value if redacted == text else redacted


def redact_values(
    values: Mapping[str, Any],
    lang: str | None,
    sensitive: SensitiveSlots = NOTHING_SENSITIVE,
    secrets: Sequence[str] = (),
) -> dict[str, Any]:
    """Slots (or payload data): sensitive slots and values equal to a secret masked whole, every other value
    through `redact_value`."""
    secret_set = set(secrets)
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in sensitive.slots or (value is not None and str(value) in secret_set):
            out[key] = mask(Kind.SENSITIVE_SLOT, lang)
        else:
            out[key] = redact_value(value, lang, secrets)
    return out


def redact_lines(
    lines: Iterable[Mapping[str, Any]],
    lang: str | None,
    sensitive: SensitiveSlots = NOTHING_SENSITIVE,
    secrets: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Transcript lines (`text` and `speaker` or `role`): the caller's lines at a sensitive step masked whole,
    every text through `redact`, a caller's line read after the robot's line before it (the question)."""
    out: list[dict[str, Any]] = []
    question = ""
    for line in lines:
        line = dict(line)
        text = str(line.get("text") or "")
        by_caller = line.get("speaker") == "caller"
        if by_caller and text and line.get("step") in sensitive.steps:
            line["text"] = mask(Kind.SENSITIVE_SLOT, lang)
        elif text:
            line["text"] = redact(text, lang, context=question if by_caller else "", secrets=secrets).text
        if not by_caller:
            question = text
        out.append(line)
    return out


def redact_turns(
    turns: Iterable[Mapping[str, Any]],
    lang: str | None,
    sensitive: SensitiveSlots = NOTHING_SENSITIVE,
    secrets: Sequence[str] = (),
    steps: Sequence[str | None] = (),
) -> list[dict[str, Any]]:
    """Per-turn timings with what was `heard` redacted as the caller's line at its step (`steps`, when known)."""
    turns = [dict(turn) for turn in turns]
    steps = list(steps) or [None] * len(turns)
    heard = [
        {"speaker": "caller", "text": turn.get("heard") or "", "step": step}
        for turn, step in zip(turns, steps, strict=True)
    ]
    for turn, line in zip(turns, redact_lines(heard, lang, sensitive, secrets), strict=True):
        if turn.get("heard"):
            turn["heard"] = line["text"]
    return turns


def redact_actions(
    actions: Iterable[EngineAction], lang: str | None, sensitive: SensitiveSlots, secrets: Sequence[str]
) -> list[EngineAction]:
    """The engine's actions with the payload `data` they carry (CRM events, outcomes, transfers, leads)
    redacted; what the platform acts on (a callback's time, a queue) stays."""
    return [
        action.model_copy(update={"data": redact_values(action.data, lang, sensitive, secrets)})
        if isinstance(action, CarriesData)
        else action
        for action in actions
    ]


def redact_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A CRM event's payload with the free text it carries redacted (transcript, slots, outcome data, data),
    in the payload's `language` when it names one. Ids, numbers of the call and times stay as they are."""
    lang = payload.get("language") if payload.get("language") in ("ru", "en") else None
    out = dict(payload)
    if isinstance(out.get("transcript"), list):
        out["transcript"] = redact_lines(out["transcript"], lang)
    for key in _TEXT_KEYS:
        if isinstance(out.get(key), dict):
            out[key] = redact_values(out[key], lang)
    return out
