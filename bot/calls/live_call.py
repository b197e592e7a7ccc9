"""A call watched as it goes: the test call the campaign wizard places ("call me").

`LiveCall` is handed to `PhoneCalls.place`; its conversation adds each turn's lines (masked as the stored
transcript is) to `lines` while the call runs, so the page can show them before the call's row is complete.
"""

from __future__ import annotations

import uuid
from typing import Any

from bot.dialog.engine import DialogState
from bot.dialog.model import Script
from bot.dialog.transcript import Exchange, Transcript
from bot.privacy.records import SensitiveSlots, redact_lines
from bot.rasa.client import RasaClient
from bot.rasa.conversation import Conversation

MAX_LINES = 500  # a runaway call cannot grow the page's memory without bound


class LiveCall:
    """The lines of one call so far, in order; `id` is the call's id (its `calls` row)."""

    def __init__(self, script: Script, lang: str) -> None:
        self.id = uuid.uuid4().hex
        self.lines: list[dict[str, Any]] = []
        self._transcript = Transcript(script)
        self._sensitive = SensitiveSlots.of(script)
        self._lang = lang

    def conversation(self, client: RasaClient, state: DialogState) -> Conversation:
        """The call's conversation, reporting every turn here."""
        return _Watched(client, state, self)

    def add(self, exchange: Exchange, step_before: str | None, state: DialogState) -> None:
        if len(self._transcript.lines) >= MAX_LINES:
            return
        self._transcript.add(exchange, step_before)
        lines = [line.model_dump(exclude={"confidence"}) for line in self._transcript.lines[:MAX_LINES]]
        secrets = self._sensitive.secrets(state.values)
        # the whole transcript again: a caller's line is read after the question before it
        self.lines = redact_lines(lines, self._lang, self._sensitive, secrets)


class _Watched(Conversation):
    def __init__(self, client: RasaClient, state: DialogState, live: LiveCall) -> None:
        super().__init__(client, state, live.id)
        self._live = live

    async def _send(self, message: str) -> Exchange:
        step_before = self.state.step
        exchange = await super()._send(message)
        self._live.add(exchange, step_before, self.state)
        return exchange
