"""The record of a text or voice conversation: who said what, what was understood, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from bot.dialog.action_log import EngineAction
from bot.dialog.engine import DialogState, InputKind, TurnInput, TurnResult
from bot.dialog.model import Script


@dataclass(frozen=True)
class Exchange:
    """One turn: what the dialog engine heard (intent and confidence from the NLU) and what it decided."""

    heard: TurnInput
    result: TurnResult


class Line(BaseModel):
    speaker: str  # "robot" or "caller"
    text: str
    step: str | None = None
    intent: str | None = None
    confidence: float | None = None
    event: str | None = None


class Record(BaseModel):
    """What `voicebot chat` prints as its final JSON line; the same shape is stored per call."""

    outcome: str | None
    outcome_data: dict[str, Any]
    slots: dict[str, Any]
    actions: list[EngineAction]
    transcript: list[Line]


class Transcript:
    def __init__(self, script: Script):
        self.script = script
        self.lines: list[Line] = []
        self.actions: list[EngineAction] = []

    def add(self, exchange: Exchange, step_before: str | None) -> None:
        heard, result = exchange.heard, exchange.result
        if heard.kind is not InputKind.START:
            text = heard.digits if heard.kind is InputKind.DTMF else heard.text
            self.lines.append(
                Line(
                    speaker="caller",
                    text=text,
                    step=step_before,
                    intent=heard.intent if heard.kind is InputKind.TEXT else None,
                    confidence=round(heard.confidence, 3) if heard.kind is InputKind.TEXT else None,
                    event=result.event.value,
                )
            )
        for text in result.say:
            self.lines.append(Line(speaker="robot", text=text, step=result.state.step))
        self.actions += result.actions

    def slots(self, state: DialogState) -> dict[str, Any]:
        """Values captured from the caller (the script's variables are inputs, not slots)."""
        return {k: v for k, v in state.values.items() if k not in self.script.variables}

    def record(self, state: DialogState) -> Record:
        return Record(
            outcome=state.outcome.value if state.outcome else None,
            outcome_data=state.outcome_data,
            slots=self.slots(state),
            actions=self.actions,
            transcript=self.lines,
        )
