"""One conversation with a script through the real Rasa server: what text chat and phone calls both use."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

from loguru import logger
from pydantic import ValidationError

from bot.dialog.engine import DialogState, TurnInput, TurnResult
from bot.dialog.transcript import Exchange
from bot.dialog.understanding import corrected
from bot.outcomes import Signal
from bot.rasa.actions import PAYLOAD_KEY
from bot.rasa.client import RasaClient
from bot.rasa.compiler import DIGITS_ENTITY, STATE_SLOT
from bot.rasa.errors import RasaError

# Rasa re-reads, re-featurises and re-sends a conversation's whole history on every message (~1 ms per past
# turn here), so every SESSION_TURNS turns the conversation moves to a new Rasa session carrying the dialog
# state; the in-memory tracker store then keeps only that session. Done in the background after a reply
# (the caller is speaking meanwhile) and awaited before the next message.
SESSION_TURNS = 10


class Conversation:
    def __init__(self, client: RasaClient, state: DialogState, conversation_id: str | None = None):
        self.client = client
        self.id = conversation_id or uuid.uuid4().hex
        self.state = state
        self._turns = 0
        self._new_session: asyncio.Task | None = None

    @property
    def ended(self) -> bool:
        return self.state.ended

    async def start(self) -> Exchange:
        """Hand the initial state to Rasa's tracker and run the script's first step."""
        await self.client.set_slot(self.id, STATE_SLOT, self.state.model_dump(mode="json"))
        return await self._send(f"/{Signal.START}")

    async def resume(self) -> None:
        """Carry the conversation over to a Rasa that lost it (restarted with an in-memory tracker store) or missed
        its last turn: a new Rasa session holding the dialog state this side kept."""
        if self._new_session is not None:
            task, self._new_session = self._new_session, None
            with contextlib.suppress(RasaError):
                await task  # a session move cut off by the outage: superseded by this one
        await self.client.new_session(self.id, STATE_SLOT, self.state.model_dump(mode="json"))

    async def say(self, text: str) -> Exchange:
        """What the caller said (as text); after a self-correction ("нет, то есть да") only what follows it is
        understood. A leading '/' is dropped so callers cannot send Rasa commands."""
        text = corrected(text.lstrip("/").strip(), self.state.lang)
        return await self._send(text or f"/{Signal.SILENCE}")

    async def silence(self) -> Exchange:
        return await self._send(f"/{Signal.SILENCE}")

    async def dtmf(self, digits: str) -> Exchange:
        return await self._send(f"/{Signal.DTMF}{json.dumps({DIGITS_ENTITY: digits})}")

    async def hangup(self) -> Exchange:
        return await self._send(f"/{Signal.HANGUP}")

    async def _send(self, message: str) -> Exchange:
        if self._new_session is not None:
            task, self._new_session = self._new_session, None
            await task
        replies = await self.client.message(self.id, message)
        if not _has_payload(replies):
            # a Rasa restarted since the last turn with an in-memory tracker store has forgotten the conversation
            # (it answers by listening): carry it over and say the message again
            logger.warning(
                f"conversation {self.id}: Rasa no longer knows it; carried over from the call's state"
            )
            await self.resume()
            replies = await self.client.message(self.id, message)
        payload = _payload(replies)
        result = _turn_result(payload)
        self.state = result.state
        self._turns += 1
        if self._turns % SESSION_TURNS == 0 and not self.state.ended:
            self._new_session = asyncio.create_task(
                self.client.new_session(self.id, STATE_SLOT, self.state.model_dump(mode="json"))
            )
        return Exchange(heard=TurnInput.model_validate(payload["heard"]), result=result)


def _has_payload(replies: list[dict[str, Any]]) -> bool:
    return any(isinstance(r.get("custom"), dict) and PAYLOAD_KEY in r["custom"] for r in replies)


def _turn_result(payload: dict[str, Any]) -> TurnResult:
    """The turn the action server decided, typed (its actions through `EngineAction`'s `type` tags)."""
    try:
        return TurnResult.model_validate(payload.get("turn"))
    except ValidationError as exc:
        raise RasaError(
            f"the dialog service answered with a turn this platform cannot read (an action server of another "
            f"version?): {exc}"
        ) from None


def _payload(replies: list[dict[str, Any]]) -> dict[str, Any]:
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, dict) and PAYLOAD_KEY in custom:
            return custom[PAYLOAD_KEY]
    raise RasaError(
        "Rasa answered without running the dialog turn (is the action server up, and the model current? "
        f"got {replies!r:.200})"
    )
