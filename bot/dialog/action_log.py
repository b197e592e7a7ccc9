"""What the turn engine did in a turn, typed: the action log a `TurnResult` carries and a call's result keeps.

Distinct from the script's `Action` (`bot.dialog.model`), which says what to do on entering a step: these say
what was done, with the slot values filled in. Each kind is a model with a `type` discriminator; the shared kinds
reuse the script's `ActionType` values, so the JSON (`model_dump(mode="json")`) is the shape the Rasa payload and
the stored `<call id>.json` always had, e.g. `{"type": "transfer", "queue": "sales", "data": {...}}`, and
`EngineAction` reads it back (an unknown `type` is a validation error naming the tags it expects).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.dialog.model import ActionType
from bot.outcomes import Outcome


class _Done(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CarriesData(_Done):
    """A kind that carries the values its script's `data:` mapping picked (what redaction masks)."""

    data: dict[str, Any] = {}


class OutcomeSet(CarriesData):
    """The call's outcome was decided (by the script's `set_outcome`, or by default when the dialog ended)."""

    type: Literal[ActionType.SET_OUTCOME] = ActionType.SET_OUTCOME
    outcome: Outcome


class CrmEventNamed(CarriesData):
    """The script named a CRM event (`{crm_event: debt.disputed}`)."""

    type: Literal[ActionType.CRM_EVENT] = ActionType.CRM_EVENT
    event: str


class CallbackScheduled(_Done):
    """The script asked for a callback at the time its slot holds."""

    type: Literal[ActionType.SCHEDULE_CALLBACK] = ActionType.SCHEDULE_CALLBACK
    when: Any = None  # the slot's value as captured (ISO text for a datetime slot); None: the slot is empty


class TransferAsked(CarriesData):
    """The dialog hands the caller to an agent queue; the dialog ends."""

    type: Literal[ActionType.TRANSFER] = ActionType.TRANSFER
    queue: str


class HangupAsked(_Done):
    """The dialog ends the call."""

    type: Literal[ActionType.HANGUP] = ActionType.HANGUP


class LeadQualified(CarriesData):
    """The script's `lead:` rule held (a `TransferAsked` to the same queue follows)."""

    type: Literal["lead_qualified"] = "lead_qualified"
    queue: str


EngineAction = Annotated[
    OutcomeSet | CrmEventNamed | CallbackScheduled | TransferAsked | HangupAsked | LeadQualified,
    Field(discriminator="type"),
]
