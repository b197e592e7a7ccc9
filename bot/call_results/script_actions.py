"""What a script's actions ask of the platform when its call ends, read typed from the engine's action log.

`{crm_event: NAME, data: …}` becomes a `ScriptEvent` the call's store writes to the CRM outbox;
`{schedule_callback: slot}` becomes the callback moment (aware, from the slot's local time in the dialog's time
zone) that the dialer makes the contact's next attempt, or that becomes a callback task for a caller who is no
campaign contact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.dialog.action_log import CallbackScheduled, CrmEventNamed, EngineAction


class ScriptEvent(BaseModel):
    """A CRM event named by the script (e.g. `debt.disputed`) with the values its `data` mapping picked."""

    model_config = ConfigDict(frozen=True)

    name: str
    data: dict[str, Any] = {}


@dataclass(frozen=True)
class ScriptRequests:
    """The CRM events in the order the call reached them, and the last callback asked for (None: none, or the
    slot was empty)."""

    events: tuple[ScriptEvent, ...] = ()
    callback_at: datetime | None = None


def script_requests(actions: Iterable[EngineAction], timezone: str) -> ScriptRequests:
    """Read the engine's `CrmEventNamed` and `CallbackScheduled` actions; other actions are the call's own
    business. A naive `when` is local time in `timezone`."""
    events: list[ScriptEvent] = []
    callback_at: datetime | None = None
    for action in actions:
        match action:
            case CrmEventNamed(event=name, data=data):
                events.append(ScriptEvent(name=name, data=data))
            case CallbackScheduled(when=when):
                callback_at = callback_moment(when, timezone)
    return ScriptRequests(tuple(events), callback_at)


def callback_moment(value: Any, timezone: str) -> datetime | None:
    """A datetime slot's value (`datetime` or ISO text, naive means local in `timezone`) as an aware UTC moment;
    None when the slot is empty or holds no datetime."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)
