"""A step's values: what a capture takes from the caller's words, whether it is acceptable, and conditions.

Pure functions of the words, the call's values, the language and the clock, so the engine stays about moves.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from bot import values as parse
from bot.dialog.model import CONDITION, SLOT_REFERENCE, Capture, ValueType
from bot.dialog.render import to_number
from bot.dialog.understanding import is_question, without_negated
from bot.values.choices import choose
from bot.values.shares import parse_share


def read_capture(capture: Capture, text: str, values: dict[str, Any], lang: str, now: datetime) -> Any:
    """The value this capture takes from what the caller said (JSON-friendly), or None: never from a question
    back, nor from negated words ("не завтра")."""
    if is_question(text, lang):
        return None
    text = without_negated(text, lang)
    if capture.whole is not None:
        share = parse_share(text, lang)
        whole = values.get(capture.whole)
        if share is not None and whole is not None:
            return to_number(Decimal(str(whole)) * share)
    if not capture.options:
        return read_value(capture.type, text, lang, now)
    offered = [values.get(name) for name in capture.options]
    moments = [_moment(value, capture.type) for value in offered]
    if any(moment is None for moment in moments):
        return None
    index = choose(text, lang, moments, now.date())
    return None if index is None else offered[index]


def read_value(kind: ValueType, text: str, lang: str, now: datetime) -> Any:
    """A typed value from spoken words (JSON-friendly: dates and times as ISO text), or None."""
    match kind:
        case ValueType.DATE:
            day = parse.parse_date(text, lang, now.date())
            return day.isoformat() if day else None
        case ValueType.TIME:
            moment = parse.parse_time(text, lang)
            return moment.strftime("%H:%M") if moment else None
        case ValueType.DATETIME:
            moment = parse.parse_datetime(text, lang, now)
            return moment.isoformat(timespec="minutes") if moment else None
        case ValueType.MONEY:
            amount = parse.parse_money(text, lang)
            return to_number(amount) if amount is not None else None
        case ValueType.NUMBER:
            return parse.parse_number(text, lang)
        case ValueType.RATING:
            return parse.parse_rating(text, lang, low=-(10**9), high=10**9)
        case ValueType.DIGITS:
            return parse.parse_digits(text, lang)
    return None


def valid(capture: Capture, value: Any, today: date) -> bool:
    """Whether a captured value is within the capture's bounds (dates: days ahead of today)."""
    if capture.options:
        return True  # one of the values offered: the campaign vouches for it
    low, high = capture.min, capture.max
    if capture.type is ValueType.RATING:
        low, high = (0 if low is None else low), (10 if high is None else high)
    if capture.type in (ValueType.DATE, ValueType.DATETIME):
        days = (date.fromisoformat(str(value)[:10]) - today).days
        return (days >= (low or 0)) and (high is None or days <= high)
    if capture.type in (ValueType.NUMBER, ValueType.MONEY, ValueType.RATING):
        number = float(Decimal(str(value)))
        return (low is None or number >= low) and (high is None or number <= high)
    return True


def holds(values: dict[str, Any], condition: str) -> bool:
    """A branch or lead condition: `slot OP literal` or `slot OP {other}`; false when the slot is unknown."""
    name, op, literal = CONDITION.match(condition).groups()
    value = values.get(name)
    expected: Any = literal.strip("'\"")
    if reference := SLOT_REFERENCE.match(literal):  # `promise_date <= {due_date}`
        expected = values.get(reference.group(1))
        if expected is None:
            return False
        expected = str(expected).lower() if isinstance(expected, bool) else expected
    if isinstance(value, bool) or expected in ("true", "false"):
        expected, value = expected in ("true", True), bool(value)
    elif isinstance(value, int | float):
        expected = float(expected)
    elif value is None:
        return False
    else:
        value, expected = str(value), str(expected)
    ops = {"==": value == expected, "!=": value != expected}
    if op in ops:
        return ops[op]
    return {"<": value < expected, "<=": value <= expected, ">": value > expected, ">=": value >= expected}[
        op
    ]


def _moment(value: Any, kind: ValueType) -> date | time | datetime | None:
    """An offered value as a date, time or moment (None when not given or of another type)."""
    try:
        match kind:
            case ValueType.DATE:
                return date.fromisoformat(value)
            case ValueType.TIME:
                return time.fromisoformat(value)
            case ValueType.DATETIME:
                return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return None
