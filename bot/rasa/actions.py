"""The platform's Rasa action server: `action_dialog_turn` runs the script's turn engine for every turn.

Rasa keeps the conversation (its tracker holds the engine's state in the `dialog_state` slot) and classifies
what the caller said; this webhook turns the latest message into a `TurnInput`, asks the engine, and answers
with the new state and the whole turn (prompts included) as one custom payload for the voice layer.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from loguru import logger

from bot.dialog.catalogue import Catalogue
from bot.dialog.engine import DialogEngine, DialogError, DialogState, InputKind, TurnInput
from bot.dialog.intents import RankedIntent, own_reading, script_intents
from bot.dialog.loader import ScriptErrors
from bot.dialog.model import Script
from bot.outcomes import Signal
from bot.rasa.compiler import DIGITS_ENTITY, STATE_SLOT, TURN_ACTION
from voice.spoken import warm_up

PAYLOAD_KEY = "voicebot"
SIGNAL_INPUTS = {
    Signal.START: InputKind.START,
    Signal.SILENCE: InputKind.SILENCE,
    Signal.DTMF: InputKind.DTMF,
    Signal.HANGUP: InputKind.HANGUP,
}


def turn_input(latest: dict[str, Any], script: Script, usable: frozenset[str]) -> TurnInput:
    """What the caller did, from Rasa's `latest_message` (signals arrive as `/intent` messages); the intent is
    the script's own reading of Rasa's ranking (`bot.dialog.intents`)."""
    intent = latest.get("intent") or {}
    name = intent.get("name")
    kind = SIGNAL_INPUTS.get(name, InputKind.TEXT)
    digits = next(
        (str(e["value"]) for e in latest.get("entities", []) if e.get("entity") == DIGITS_ENTITY), ""
    )
    text = "" if kind is not InputKind.TEXT else latest.get("text") or ""
    confidence = intent.get("confidence") or 0.0
    if kind is InputKind.TEXT and name:
        ranking = (
            RankedIntent(e["name"], e.get("confidence") or 0.0) for e in latest.get("intent_ranking", [])
        )
        reading = own_reading(script, usable, RankedIntent(name, confidence), ranking)
        name, confidence = reading.name, reading.confidence
    return TurnInput(kind=kind, text=text, intent=name, confidence=confidence, digits=digits)


class Engines:
    """A turn engine per script version, made on first use: the live scripts of the catalogue (replaced when
    the studio saves one) and older versions pinned by campaigns."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self._made: dict[int, tuple[DialogEngine, frozenset[str]]] = {}

    def get(self, script_id: str, version: str) -> tuple[DialogEngine, frozenset[str]]:
        """The engine and usable intents of that version (parsing an older one is CPU work: call in a thread)."""
        script = self.catalogue.version(script_id, version)
        if id(script) not in self._made:
            self._made[id(script)] = (DialogEngine(script), script_intents(script))
        return self._made[id(script)]


def create_action_app(catalogue: Catalogue) -> FastAPI:
    engines = Engines(catalogue)
    warm_up()  # the speech-rendering dictionaries, before the first call's first prompt
    app = FastAPI(title="voicebot action server", docs_url=None, redoc_url=None, openapi_url=None)

    def refuse(message: str) -> JSONResponse:
        logger.error(f"dialog turn refused: {message}")
        return JSONResponse({"error": message, "action_name": TURN_ACTION}, status_code=400)

    @app.post("/webhook")
    async def webhook(body: dict[str, Any]) -> Any:
        if body.get("next_action") != TURN_ACTION:
            return refuse(f"unknown action {body.get('next_action')!r}")
        tracker = body["tracker"]
        raw_state = tracker.get("slots", {}).get(STATE_SLOT)
        if raw_state is None:
            return refuse("conversation has no dialog state (start it through the platform)")
        state = DialogState.model_validate(raw_state)
        try:
            engine, usable = await asyncio.to_thread(engines.get, state.script, state.version)
        except (KeyError, ScriptErrors) as exc:
            return refuse(
                f"no script '{state.script}' version '{state.version}' in this dialog service: {exc}"
            )
        turn = turn_input(tracker.get("latest_message") or {}, engine.script, usable)
        try:
            now = datetime.now(ZoneInfo(state.timezone)).replace(tzinfo=None)
            result = await asyncio.to_thread(engine.handle, state, turn, now)  # value parsing is CPU work
        except DialogError as exc:
            return refuse(str(exc))
        payload = {"turn": result.model_dump(mode="json"), "heard": turn.model_dump(mode="json")}
        # One bot message per turn: the prompts travel inside the payload (`turn.say`), and every extra message
        # would be one more event that Rasa re-reads from its tracker store on each later turn of the call.
        return {
            "events": [{"event": "slot", "name": STATE_SLOT, "value": result.state.model_dump(mode="json")}],
            "responses": [{"custom": {PAYLOAD_KEY: payload}}],
        }

    return app
